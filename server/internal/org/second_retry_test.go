package org_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// A secondment whose transaction the database aborts to break a deadlock
// is run again; the member it adds must be answered (and audited) once.
// (The first attempt's member used to stay in the answer beside the
// retry's, so the secretary saw the same member added twice.)
func TestSecondingRetriedAfterADeadlockAddsTheMemberOnce(t *testing.T) {
	w := newWorld(t)
	var temp orgJSON
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", w.A), w.SecA,
		map[string]any{"name": "卡口临时党支部", "kind": "temporary"}), 201).JSON(t, &temp)

	// The first audit row written after arming fails as a deadlock victim
	// would (PostgreSQL 40P01), which the transaction helper retries.
	var armed atomic.Bool
	cb := w.App.DB.Callback().Create()
	if err := cb.Before("gorm:create").Register("test:deadlock-audit-once", func(db *gorm.DB) {
		if db.Statement.Table == "audit_logs" && armed.CompareAndSwap(true, false) {
			_ = db.AddError(&pgconn.PgError{Code: "40P01", Message: "deadlock detected"})
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cb.Remove("test:deadlock-audit-once") })

	armed.Store(true)
	var res struct {
		Added []membership `json:"added"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID), w.SecA,
		map[string][]int64{"user_ids": {w.MemberA.ID}}), 200).JSON(t, &res)
	if armed.Load() {
		t.Fatal("the secondment wrote no audit row, so no deadlock was injected")
	}
	if len(res.Added) != 1 {
		t.Fatalf("added = %+v, want the member once", res.Added)
	}
	var audits int64
	w.Must(w.App.DB.Table("audit_logs").Where("org_id = ? AND action = ?", temp.ID, "member.second").Count(&audits).Error)
	if audits != 1 {
		t.Errorf("%d secondment audit rows, want 1", audits)
	}
}
