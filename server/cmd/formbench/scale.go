package main

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/sync/errgroup"

	"xianfeng/scripts/benchfig"
	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/cmd/internal/drive"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/org"
)

// loaded is what the bulk load writes for each variant of the answers:
// the stored answers and alert, as Submit stores them, and the form_totals
// rows they add to (form.EntryTotals), by slot.
type loaded struct {
	answers string
	alert   bool
	rows    []slotRow
}

type slotRow struct {
	slot int
	row  form.TotalRow
}

// bulk is a bulk load of one entry per member and day into a form.
type bulk struct {
	formID  int64
	users   []int64
	orgOf   []int32 // index into orgIDs, per user
	orgIDs  []int64 // ascending
	loc     *time.Location
	loaded  [variants]loaded
	slots   [][2]string // (field key, choice) in key order
	entries int64
	totals  int64
}

// newBulk creates a daily form titled title (see createForm), reads its
// audience (the approved memberships, one per user, as org.Seed makes them)
// and works out every variant's rows of a bulk load into it.
func newBulk(ctx context.Context, a *app.App, res org.SeedResult, title string) (form.Form, *bulk, error) {
	f, err := createForm(ctx, a, res, title)
	if err != nil {
		return form.Form{}, nil, err
	}
	b, err := bulkInto(ctx, a, f.ID)
	return f, b, err
}

// bulkInto reads the audience of the form formID and works out the rows.
func bulkInto(ctx context.Context, a *app.App, formID int64) (*bulk, error) {
	b := &bulk{formID: formID, loc: a.Config.Location()}
	var ms []struct {
		UserID, OrgID int64
	}
	if err := a.DB.WithContext(ctx).Scopes(org.LiveMemberships(time.Now())).Select("m.user_id, m.org_id").
		Order("m.id").Scan(&ms).Error; err != nil {
		return nil, err
	}
	idx := map[int64]int32{}
	for _, m := range ms {
		if _, ok := idx[m.OrgID]; !ok {
			idx[m.OrgID] = 0
			b.orgIDs = append(b.orgIDs, m.OrgID)
		}
	}
	slices.Sort(b.orgIDs)
	for i, id := range b.orgIDs {
		idx[id] = int32(i)
	}
	seen := map[int64]bool{}
	for _, m := range ms {
		if seen[m.UserID] {
			continue // the oldest membership, as Submit picks it
		}
		seen[m.UserID] = true
		b.users = append(b.users, m.UserID)
		b.orgOf = append(b.orgOf, idx[m.OrgID])
	}
	slot := map[[2]string]int{}
	var all [][]form.TotalRow
	for c := range variants {
		v := variant{temp: c / 90, status: c / 30 % 3, note: c / 10 % 3, visits: c % 10}
		problems := map[string]string{}
		stored, alert := form.Check(fields, v.raw(), problems)
		if len(problems) > 0 {
			return nil, fmt.Errorf("variant %d: %v", c, problems)
		}
		aj, err := json.Marshal(stored)
		if err != nil {
			return nil, err
		}
		rows, err := form.EntryTotals(fields, string(aj), alert)
		if err != nil {
			return nil, err
		}
		b.loaded[c] = loaded{answers: string(aj), alert: alert}
		all = append(all, rows)
		for _, r := range rows {
			k := [2]string{r.FieldKey, r.Choice}
			if _, ok := slot[k]; !ok {
				slot[k] = 0
				b.slots = append(b.slots, k)
			}
		}
	}
	slices.SortFunc(b.slots, func(x, y [2]string) int {
		return cmp.Or(strings.Compare(x[0], y[0]), strings.Compare(x[1], y[1]))
	})
	for i, k := range b.slots {
		slot[k] = i
	}
	for c, rows := range all {
		for _, r := range rows {
			b.loaded[c].rows = append(b.loaded[c].rows, slotRow{slot: slot[[2]string{r.FieldKey, r.Choice}], row: r})
		}
	}
	return b, nil
}

// sum is one form_totals row being added up.
type sum struct {
	n, alerts int64
	total     float64
	lo, hi    *float64
}

// day adds up the totals of one day's entries by org and slot, as the
// service would have after each member's entry.
func (b *bulk) day(day string, users int) []sum {
	acc := make([]sum, len(b.orgIDs)*len(b.slots))
	for u := range users {
		base := int(b.orgOf[u]) * len(b.slots)
		for _, r := range b.loaded[pick(b.users[u], day).code()].rows {
			s := &acc[base+r.slot]
			s.n += r.row.N
			s.alerts += r.row.Alerts
			s.total += r.row.Total
			if r.row.Lo != nil && (s.lo == nil || *r.row.Lo < *s.lo) {
				s.lo = r.row.Lo
			}
			if r.row.Hi != nil && (s.hi == nil || *r.row.Hi > *s.hi) {
				s.hi = r.row.Hi
			}
		}
	}
	return acc
}

var (
	entryColumns = []string{"form_id", "user_id", "slot", "request_id", "org_id", "day", "answers", "alert", "version", "created_at", "updated_at"}
	totalColumns = []string{"form_id", "day", "org_id", "field_key", "choice", "n", "alerts", "total", "lo", "hi"}
)

// copyFrom runs a COPY into table on a connection of db of its own.
func copyFrom(ctx context.Context, db *sql.DB, table string, cols []string, next func() ([]any, error)) (int64, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int64
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("COPY needs PostgreSQL through pgx, not %T", dc)
		}
		n, err = c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromFunc(next))
		return err
	})
	return n, err
}

// entries is the COPY source of the entries of the first users members
// on days, in day and member order (the order of their ids).
func (b *bulk) entriesOf(days []string, users int) func() ([]any, error) {
	d, u := 0, 0
	var start time.Time
	return func() ([]any, error) {
		if u == users {
			d, u = d+1, 0
		}
		if d == len(days) {
			return nil, nil
		}
		day := days[d]
		if u == 0 {
			t, err := time.ParseInLocation(time.DateOnly, day, b.loc)
			if err != nil {
				return nil, err
			}
			start = t.Add(7 * time.Hour)
		}
		uid := b.users[u]
		l := &b.loaded[pick(uid, day).code()]
		at := start.Add(time.Duration(uint64(uid)*7919%10800) * time.Second).UTC()
		orgID := b.orgIDs[b.orgOf[u]]
		u++
		return []any{b.formID, uid, day, "seed-" + day + "-" + strconv.FormatInt(uid, 10), orgID, day,
			l.answers, l.alert, 1, at, at}, nil
	}
}

// totalsOf is the COPY source of the form_totals rows of the entries of
// the first users members on days, in key order: each day's rows of the
// whole form (org 0) and then of each org, as the service's folds write
// them.
func (b *bulk) totalsOf(days []string, users int) func() ([]any, error) {
	d, i := -1, 0
	var acc []sum
	return func() ([]any, error) {
		for {
			if acc == nil || i == len(acc) {
				if d++; d == len(days) {
					return nil, nil
				}
				acc, i = b.day(days[d], users), 0
				acc = append(whole(acc, len(b.slots)), acc...)
			}
			s := acc[i]
			k := b.slots[i%len(b.slots)]
			org := int64(0)
			if i >= len(b.slots) {
				org = b.orgIDs[i/len(b.slots)-1]
			}
			i++
			if s.n == 0 {
				continue
			}
			return []any{b.formID, days[d], org, k[0], k[1], s.n, s.alerts, s.total, s.lo, s.hi}, nil
		}
	}
}

// whole adds up the rows of every org of acc (slots a row each) by slot.
func whole(acc []sum, slots int) []sum {
	out := make([]sum, slots)
	for i, s := range acc {
		w := &out[i%slots]
		w.n += s.n
		w.alerts += s.alerts
		w.total += s.total
		if s.lo != nil && (w.lo == nil || *s.lo < *w.lo) {
			w.lo = s.lo
		}
		if s.hi != nil && (w.hi == nil || *s.hi > *w.hi) {
			w.hi = s.hi
		}
	}
	return out
}

// load writes the entries of the first users members on days and their
// totals: the entries in two COPY streams (the days halved) beside the
// totals in a third.
func (b *bulk) load(ctx context.Context, db *sql.DB, days []string, users int) error {
	g, ctx := errgroup.WithContext(ctx)
	half := (len(days) + 1) / 2
	var n [3]int64
	for i, part := range [][]string{days[:half], days[half:]} {
		if len(part) == 0 {
			continue
		}
		g.Go(func() (err error) {
			n[i], err = copyFrom(ctx, db, "form_entries", entryColumns, b.entriesOf(part, users))
			return err
		})
	}
	g.Go(func() (err error) {
		n[2], err = copyFrom(ctx, db, "form_totals", totalColumns, b.totalsOf(days, users))
		return err
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("COPY: %w", err)
	}
	b.entries += n[0] + n[1]
	b.totals += n[2]
	return nil
}

// withoutIndexes drops the secondary indexes of table (all but those of
// its constraints), runs fn, and builds them again from their own
// definitions, two at a time.
func withoutIndexes(ctx context.Context, db *sql.DB, table string, fn func() error) error {
	rows, err := db.QueryContext(ctx, `SELECT indexname, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename = $1
		AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass)`, table)
	if err != nil {
		return err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, name), append(defs, def)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return err
		}
	}
	if err := fn(); err != nil {
		return err
	}
	t0 := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for _, def := range defs {
		g.Go(func() error {
			conn, err := db.Conn(gctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if _, err := conn.ExecContext(gctx, "SET maintenance_work_mem = '256MB'"); err != nil {
				return err
			}
			_, err = conn.ExecContext(gctx, def)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("build the indexes of %s again: %w", table, err)
	}
	fmt.Printf("  %d indexes of %s (%s) built again in %s\n", len(defs), table, strings.Join(names, ", "), time.Since(t0).Round(time.Millisecond))
	return nil
}

// ---------------------------------------------------------------- scale

func scale(ctx context.Context, o options) error {
	if dialect, ok, err := benchapp.Postgres(o.DB); err != nil || !ok {
		return fmt.Errorf("the bulk load is PostgreSQL's COPY: -db must be postgres://, got %s (%v)", dialect, err)
	}
	a, err := open(ctx, o, o.namespace, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := benchapp.Machine(ctx, a, "; time zone "+a.Config.Location().String()); err != nil {
		return err
	}
	start := time.Now()
	res, err := seedTree(ctx, a, o)
	if err != nil {
		return err
	}
	sqlDB, err := a.DB.DB.DB()
	if err != nil {
		return err
	}
	if err := sample(ctx, a, sqlDB, res, o.sample); err != nil {
		return err
	}

	f, b, err := newBulk(ctx, a, res, "每日健康打卡")
	if err != nil {
		return err
	}
	today := time.Now().In(b.loc)
	days := make([]string, o.days)
	for i := range days {
		days[i] = time.Date(today.Year(), today.Month(), today.Day()-(o.days-1-i), 12, 0, 0, 0, b.loc).Format(time.DateOnly)
	}
	fmt.Printf("loading %d days (%s..%s) of one entry a day for each of the %d members of the audience (%d orgs with members) into daily form %d...\n",
		len(days), days[0], days[len(days)-1], len(b.users), len(b.orgIDs), f.ID)
	t0 := time.Now()
	err = withoutIndexes(ctx, sqlDB, "form_entries", func() error {
		if err := b.load(ctx, sqlDB, days, len(b.users)); err != nil {
			return err
		}
		fmt.Printf("  COPY of %d entries and %d form_totals rows in %s\n", b.entries, b.totals, time.Since(t0).Round(time.Millisecond))
		return nil
	})
	if err != nil {
		return err
	}
	t1 := time.Now()
	for _, table := range []string{"form_entries", "form_totals"} {
		if _, err := sqlDB.ExecContext(ctx, "VACUUM ANALYZE "+table); err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	var size string
	if err := sqlDB.QueryRowContext(ctx, `SELECT pg_size_pretty(pg_total_relation_size('form_entries')) || ' entries, ' ||
		pg_size_pretty(pg_total_relation_size('form_totals')) || ' totals'`).Scan(&size); err != nil {
		return err
	}
	fmt.Printf("  VACUUM ANALYZE in %s; %s with their indexes\n", time.Since(t1).Round(time.Millisecond), size)
	fmt.Printf("seeded in %s in all (entries loaded in %s)\n", time.Since(start).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))

	return measure(ctx, a, o, res, b, f, days[len(days)-1])
}

// measure times the root's summary of day and its export, and checks them.
func measure(ctx context.Context, a *app.App, o options, res org.SeedResult, b *bulk, f form.Form, day string) error {
	get, stop, err := benchapp.Serve(ctx, a, res.RootSecretaryUserID)
	if err != nil {
		return err
	}
	defer stop()
	path := fmt.Sprintf("/api/v1/forms/%d/summary?day=%s", f.ID, day)
	var body strings.Builder
	first, took, err := drive.Repeat(get, path, &body, o.n)
	if err != nil {
		return err
	}
	var lat []float64
	for _, d := range took {
		lat = append(lat, benchfig.Ms(d))
	}
	sumFig := benchfig.Figure{Name: fmt.Sprintf("form summary of one day (root, %s members × %d days)", benchfig.Format(benchfig.Count, float64(len(b.users))), o.days),
		Unit: benchfig.Millis, Values: lat, Goal: benchfig.Goal{Max: benchfig.Ms(goalSummary)}}
	lo, hi := benchfig.Spread(lat)
	fmt.Printf("GET /forms/{id}/summary?day=%s as the root's secretary: first %s; then n=%d min=%s median=%s max=%s  [median < %s: %s]\n",
		day, benchfig.Latency(first), o.n, benchfig.Format(benchfig.Millis, lo), benchfig.Format(benchfig.Millis, benchfig.Median(lat)),
		benchfig.Format(benchfig.Millis, hi), goalSummary, sumFig.Verdict())
	failed := false
	if err := checkSummary(b, day, path, body.String(), get); err != nil {
		failed = true
		fmt.Fprintf(os.Stderr, "formbench: %v\n", err)
	}

	out, peak, remove, err := benchapp.ChildExport(ctx, "-mode", "export-child", "-db", o.DB, "-redis", o.Redis, "-prefix", o.prefix, "-namespace", o.namespace,
		"-form", strconv.FormatInt(f.ID, 10), "-user", strconv.FormatInt(res.RootSecretaryUserID, 10), "-day", day)
	if err != nil {
		return err
	}
	defer remove()
	rssFig := benchfig.Figure{Name: "form export of one day: peak RSS of the exporting process, MB", Unit: benchfig.Count,
		Values: []float64{float64(peak) / 1024}, Goal: benchfig.Goal{Max: goalRSSKB / 1024}}
	t1 := time.Now()
	sheets, err := benchapp.SheetRows(out)
	if err != nil {
		return err
	}
	var rows int64
	var names []string
	for _, s := range sheets {
		rows += s.Rows
		names = append(names, fmt.Sprintf("%s %d", s.Name, s.Rows))
	}
	var want int64
	if err := a.DB.WithContext(ctx).Table("form_entries").Where("form_id = ? AND day = ?", f.ID, day).Count(&want).Error; err != nil {
		return err
	}
	fmt.Printf("workbook: %s: %d rows, %d entries of the day in the database; read back in %s\n",
		strings.Join(names, ", "), rows, want, time.Since(t1).Round(time.Millisecond))
	if rows != want || want != int64(len(b.users)) {
		failed = true
		fmt.Fprintln(os.Stderr, "formbench: the workbook's rows differ from the day's entries")
	}
	if err := benchfig.Table(os.Stdout, fmt.Sprintf("summary of formbench scale (%d orgs, %d members, %d days; summary: %d calls after one unmeasured; export: 1 run in a child process)",
		res.Orgs, len(b.users), o.days, o.n), []benchfig.Figure{sumFig, rssFig}); err != nil {
		return err
	}
	if failed {
		return errors.New("some figures disagree with what was loaded")
	}
	return nil
}

// checkSummary holds the summary's figures, and its list of orgs read
// page by page from path, to the totals of what was loaded on day.
func checkSummary(b *bulk, day, path, body string, get drive.Get) error {
	// The cursor is opaque: passed back as it came.
	type summary struct {
		form.Summary
		OrgsNext string `json:"orgs_next_cursor"`
	}
	var got summary
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	acc := b.day(day, len(b.users))
	want := map[[2]string]int64{}
	var alerts int64
	for i, s := range acc {
		want[b.slots[i%len(b.slots)]] += s.n
		alerts += s.alerts
	}
	first := len(got.Orgs)
	orgs, pages := got.Orgs, 1
	for next := got.OrgsNext; next != ""; pages++ {
		var page strings.Builder
		if _, err := get(path+"&limit=200&cursor="+url.QueryEscape(next), &page); err != nil {
			return err
		}
		var p summary
		if err := json.Unmarshal([]byte(page.String()), &p); err != nil {
			return fmt.Errorf("summary page: %w", err)
		}
		orgs, next = append(orgs, p.Orgs...), p.OrgsNext
	}
	submitted := 0
	for i, o := range orgs {
		submitted += o.Submitted
		if i > 0 && o.OrgID <= orgs[i-1].OrgID {
			return fmt.Errorf("summary pages: org %d after %d", o.OrgID, orgs[i-1].OrgID)
		}
	}
	got.Orgs = orgs
	ok := int64(got.Entries) == want[[2]string{}] && got.Entries == len(b.users) && got.Submitted == got.Entries &&
		submitted == got.Entries && got.Audience == len(b.users) && int64(got.Alerts) == alerts && len(got.Orgs) == len(b.orgIDs)
	var fs []string
	for _, fd := range got.Fields {
		ok = ok && int64(fd.Answered) == want[[2]string{fd.Key, ""}]
		for c, n := range fd.Counts {
			ok = ok && int64(n) == want[[2]string{fd.Key, c}]
		}
		s := fmt.Sprintf("%s answered %d", fd.Key, fd.Answered)
		if fd.Counts != nil {
			s += fmt.Sprintf(" %v", fd.Counts)
		}
		if fd.Mean != nil {
			s += fmt.Sprintf(" min %g max %g mean %g", *fd.Min, *fd.Max, *fd.Mean)
		}
		fs = append(fs, s)
	}
	fmt.Printf("summary of %s: entries %d, submitted %d of an audience of %d, alerts %d; %s; %d bytes with the first %d orgs; %d orgs in %d pages\n",
		got.Day, got.Entries, got.Submitted, got.Audience, got.Alerts, strings.Join(fs, "; "), len(body), first, len(got.Orgs), pages)
	fmt.Printf("check: the summary against what was loaded: %s\n", benchfig.Verdict(ok))
	if !ok {
		return errors.New("the summary differs from what was loaded")
	}
	return nil
}

// exportChild runs one export and prints its time and the process's peak RSS.
func exportChild(ctx context.Context, o options) error {
	a, err := open(ctx, o, o.namespace, false)
	if err != nil {
		return err
	}
	defer a.Close()
	return benchapp.Export(ctx, a, o.user, fmt.Sprintf("/api/v1/forms/%d/export.xlsx?from=%s&to=%s", o.form, o.day, o.day), o.output,
		"GET /forms/{id}/export.xlsx of one day", goalRSSKB)
}

// ---------------------------------------------------------------- sample

// sample checks the bulk load against the service on n members: the same
// answers of today submitted through form.Service.Submit to one form and
// bulk-loaded into another must give the same entries, the same
// form_totals rows and the same summary.
func sample(ctx context.Context, a *app.App, db *sql.DB, res org.SeedResult, n int) error {
	t0 := time.Now()
	served, err := createForm(ctx, a, res, "核对（服务写入）")
	if err != nil {
		return err
	}
	bulked, b, err := newBulk(ctx, a, res, "核对（批量写入）")
	if err != nil {
		return err
	}
	n = min(n, len(b.users))
	day := a.Form.Day(time.Now())
	for u := range n {
		uid := b.users[u]
		if _, _, err := a.Form.Submit(ctx, uid, served.ID, form.SubmitInput{RequestID: "check-" + strconv.FormatInt(uid, 10), Answers: pick(uid, day).raw()}); err != nil {
			return fmt.Errorf("submit as user %d: %w", uid, err)
		}
	}
	if err := b.load(ctx, db, []string{day}, n); err != nil {
		return err
	}
	// The service's totals are written by a fold (the server's workers fold
	// every few seconds; here nothing else runs).
	if _, err := a.Form.Fold(ctx, served.ID); err != nil {
		return err
	}
	var diff struct{ Entries, Totals, Rows, Alerts int64 }
	err = a.DB.WithContext(ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM ((SELECT user_id, org_id, day, slot, answers, alert FROM form_entries WHERE form_id = @s
			EXCEPT SELECT user_id, org_id, day, slot, answers, alert FROM form_entries WHERE form_id = @b)
			UNION ALL (SELECT user_id, org_id, day, slot, answers, alert FROM form_entries WHERE form_id = @b
			EXCEPT SELECT user_id, org_id, day, slot, answers, alert FROM form_entries WHERE form_id = @s)) x) AS entries,
		(SELECT COUNT(*) FROM ((SELECT day, org_id, field_key, choice, n, alerts, ROUND(total::numeric, 6), lo, hi FROM form_totals WHERE form_id = @s
			EXCEPT SELECT day, org_id, field_key, choice, n, alerts, ROUND(total::numeric, 6), lo, hi FROM form_totals WHERE form_id = @b)
			UNION ALL (SELECT day, org_id, field_key, choice, n, alerts, ROUND(total::numeric, 6), lo, hi FROM form_totals WHERE form_id = @b
			EXCEPT SELECT day, org_id, field_key, choice, n, alerts, ROUND(total::numeric, 6), lo, hi FROM form_totals WHERE form_id = @s)) x) AS totals,
		(SELECT COUNT(*) FROM form_totals WHERE form_id = @s) AS rows,
		(SELECT COUNT(*) FROM form_entries WHERE form_id = @s AND alert) AS alerts`,
		map[string]any{"s": served.ID, "b": bulked.ID}).Scan(&diff).Error
	if err != nil {
		return err
	}
	s1, err := a.Form.Summarize(ctx, res.RootSecretaryUserID, served.ID, day)
	if err != nil {
		return err
	}
	s2, err := a.Form.Summarize(ctx, res.RootSecretaryUserID, bulked.ID, day)
	if err != nil {
		return err
	}
	j1, _ := json.Marshal(s1)
	j2, _ := json.Marshal(s2)
	ok := diff.Entries == 0 && diff.Totals == 0 && diff.Rows > 0 && string(j1) == string(j2) && s1.Entries == n
	fmt.Printf("check: %d members' entries of %s submitted through the service (%d alerting) and bulk-loaded: entries differing %d, form_totals rows differing %d of %d, summaries equal %v: %s (%s)\n",
		n, day, diff.Alerts, diff.Entries, diff.Totals, diff.Rows, string(j1) == string(j2), benchfig.Verdict(ok), time.Since(t0).Round(time.Millisecond))
	if !ok {
		return fmt.Errorf("the bulk load differs from the service:\nservice: %s\nbulk:    %s", j1, j2)
	}
	return nil
}
