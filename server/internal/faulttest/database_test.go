//go:build faults

package faulttest

import (
	"net/http"
	"testing"
	"time"

	"xianfeng/server/internal/testenv"
)

// TestDatabaseOutage checks in while the database refuses connections, is
// starting up, or commits a check-in whose answer never arrives: each is 503
// with Retry-After (never 500), and the phone's retry with the same request
// id gets its saved record.
func TestDatabaseOutage(t *testing.T) {
	gate(t)
	var proxy *testenv.Proxy
	env := testenv.New(t, testenv.Options{Configure: dbProxy(t, &proxy)})
	tree := env.BuildTree()
	checkin := func(id string) testenv.Response {
		return env.DoAs("POST", "/api/v1/checkins", tree.MemberA, map[string]any{"request_id": id, "org_id": tree.A})
	}
	unavailable := func(t *testing.T, r testenv.Response) {
		t.Helper()
		if r.Status != http.StatusServiceUnavailable || r.ErrorCode() != "unavailable" {
			t.Fatalf("got %d %s, want 503 unavailable", r.Status, r.Body)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Error("the 503 has no Retry-After")
		}
	}

	t.Run("a check-in while the database refuses connections is 503 with Retry-After", func(t *testing.T) {
		proxy.Set(testenv.Refuse)
		defer proxy.Set(testenv.Pass)
		unavailable(t, checkin("outage-refused"))
	})

	t.Run("a check-in while PostgreSQL is starting up (57P03) is 503 with Retry-After", func(t *testing.T) {
		if !postgres() {
			t.Skip("57P03 is PostgreSQL's")
		}
		proxy.Set(testenv.StartingUp)
		defer proxy.Set(testenv.Pass)
		unavailable(t, checkin("outage-starting"))
	})

	t.Run("a check-in while MySQL is shutting down (1053) is 503 with Retry-After", func(t *testing.T) {
		if postgres() {
			t.Skip("1053 is MySQL's")
		}
		proxy.Set(testenv.ShuttingDown)
		defer proxy.Set(testenv.Pass)
		unavailable(t, checkin("outage-shutdown"))
	})

	t.Run("a check-in committed before the connection dropped is 503, and its retry gets the saved record", func(t *testing.T) {
		env := env.In(t)
		if !postgres() {
			t.Skip("the cut is found in PostgreSQL's reply to the check-in's statement")
		}
		// The check-in is one statement on PostgreSQL that returns the row it
		// saved: its reply is the one holding the request id.
		cut := proxy.CutAfterReply([]byte("outage-cut"))
		unavailable(t, checkin("outage-cut"))
		select {
		case <-cut:
		case <-time.After(5 * time.Second):
			t.Fatal("the proxy never saw the insert's answer")
		}
		var saved int64
		if err := env.App.DB.Table("checkins").Where("user_id = ? AND request_id = ?", tree.MemberA.ID, "outage-cut").Count(&saved).Error; err != nil {
			t.Fatal(err)
		}
		if saved != 1 {
			t.Fatalf("%d saved check-ins, want the one the database committed", saved)
		}
		r := checkin("outage-cut")
		if r.Status != http.StatusOK {
			t.Fatalf("retry got %d %s, want 200 with the saved record", r.Status, r.Body)
		}
		var c struct {
			RequestID string `json:"request_id"`
		}
		r.JSON(t, &c)
		if c.RequestID != "outage-cut" {
			t.Errorf("retry returned request_id %q", c.RequestID)
		}
	})

	t.Run("after the outage check-ins succeed again", func(t *testing.T) {
		env := env.In(t)
		proxy.Set(testenv.Pass)
		r := env.DoAs("GET", "/api/v1/me/checkins", tree.MemberA, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("listing got %d %s", r.Status, r.Body)
		}
	})
}
