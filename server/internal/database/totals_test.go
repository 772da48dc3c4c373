package database_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
)

// TestMigrationSumsUpTheFormEntriesWrittenBefore writes entries of a daily
// form as they were before form totals were kept, and checks migration 11
// counts them: entries and alerts per day and org, answers per field, the
// options chosen, and the sum, least and greatest of a temperature; and
// that migration 13 sums those rows up for the whole form (org 0).
func TestMigrationSumsUpTheFormEntriesWrittenBefore(t *testing.T) {
	ctx := context.Background()
	db, exec := migratedTo(t, 10)
	now := time.Date(2020, 2, 3, 1, 0, 0, 0, time.UTC)
	exec(`INSERT INTO forms (id, org_id, created_by, title, mode, target, include_suborgs, fields, status, created_at, updated_at)
		VALUES (1, 1, 1, '健康', 'daily', '{}', true, ?, 'open', ?, ?)`,
		`[{"key":"temp","label":"体温","type":"temperature"},{"key":"sym","label":"症状","type":"multi","options":["咳嗽","发热"]},{"key":"note","label":"备注","type":"text"}]`, now, now)
	for i, e := range []struct {
		user, org int64
		day       string
		answers   string
		alert     bool
	}{
		{1, 2, "2020-02-03", `{"temp":36.5,"sym":["咳嗽"]}`, false},
		{2, 2, "2020-02-03", `{"temp":38.1,"sym":["咳嗽","发热"],"note":"x"}`, true},
		{3, 3, "2020-02-03", `{"temp":36.9}`, false},
		{1, 2, "2020-02-04", `{"temp":36.6}`, false},
	} {
		exec(`INSERT INTO form_entries (form_id, user_id, slot, request_id, org_id, day, answers, alert, version, created_at, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`, e.user, e.day, fmt.Sprint("r", i), e.org, e.day, e.answers, e.alert, now, now)
	}
	if err := database.Migrate(ctx, db, database.Migrations, logging.Discard()); err != nil {
		t.Fatal(err)
	}
	type total struct {
		Day      string
		OrgID    int64
		FieldKey string
		Choice   string
		N        int64
		Alerts   int64
		Total    float64
		Lo, Hi   *float64
	}
	var got []total
	if err := db.Table("form_totals").Where("form_id = 1").Order("day, org_id, field_key, choice").Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	f := func(x float64) *float64 { return &x }
	want := []total{
		{"2020-02-03", 0, "", "", 3, 1, 0, nil, nil},
		{"2020-02-03", 0, "note", "", 1, 0, 0, nil, nil},
		{"2020-02-03", 0, "sym", "", 2, 0, 0, nil, nil},
		{"2020-02-03", 0, "sym", "发热", 1, 0, 0, nil, nil},
		{"2020-02-03", 0, "sym", "咳嗽", 2, 0, 0, nil, nil},
		{"2020-02-03", 0, "temp", "", 3, 0, 111.5, f(36.5), f(38.1)},
		{"2020-02-03", 2, "", "", 2, 1, 0, nil, nil},
		{"2020-02-03", 2, "note", "", 1, 0, 0, nil, nil},
		{"2020-02-03", 2, "sym", "", 2, 0, 0, nil, nil},
		{"2020-02-03", 2, "sym", "发热", 1, 0, 0, nil, nil},
		{"2020-02-03", 2, "sym", "咳嗽", 2, 0, 0, nil, nil},
		{"2020-02-03", 2, "temp", "", 2, 0, 74.6, f(36.5), f(38.1)},
		{"2020-02-03", 3, "", "", 1, 0, 0, nil, nil},
		{"2020-02-03", 3, "temp", "", 1, 0, 36.9, f(36.9), f(36.9)},
		{"2020-02-04", 0, "", "", 1, 0, 0, nil, nil},
		{"2020-02-04", 0, "temp", "", 1, 0, 36.6, f(36.6), f(36.6)},
		{"2020-02-04", 2, "", "", 1, 0, 0, nil, nil},
		{"2020-02-04", 2, "temp", "", 1, 0, 36.6, f(36.6), f(36.6)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d totals after the migration, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		same := func(a, b *float64) bool {
			return a == nil && b == nil || a != nil && b != nil && *a-*b < 1e-9 && *b-*a < 1e-9
		}
		if g.Day != w.Day || g.OrgID != w.OrgID || g.FieldKey != w.FieldKey || g.Choice != w.Choice || g.N != w.N || g.Alerts != w.Alerts ||
			!same(&g.Total, &w.Total) || !same(g.Lo, w.Lo) || !same(g.Hi, w.Hi) {
			t.Errorf("total %d = %+v, want %+v", i, g, w)
		}
	}
}
