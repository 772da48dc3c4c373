package checkin_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/redisdb"
)

// recordKeys are the Redis keys of the members' check-in records of a day (kind
// "ckday") or generations ("ckgen").
func (w *world) recordKeys(kind string) []string {
	w.t.Helper()
	w.App.Board.Flush() // records are kept after the answer
	keys, err := redisdb.Keys(context.Background(), w.App.Redis, w.App.Config.Redis.KeyPrefix+kind+":*")
	if err != nil {
		w.t.Fatal(err)
	}
	return keys
}

func (w *world) dropKeys(keys []string) {
	w.t.Helper()
	if len(keys) == 0 {
		w.t.Fatal("no keys to drop")
	}
	if err := redisdb.Del(context.Background(), w.App.Redis, keys...); err != nil {
		w.t.Fatal(err)
	}
}

func TestRepeatedCheckinsFromTheRecord(t *testing.T) {
	w := newWorld(t)
	first := w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{
		"request_id": "phone-1", "lat": 36.0671, "lng": 120.3826, "accuracy_m": 15.5}), 201)

	repeat := func(t *testing.T, requestID string) []byte {
		t.Helper()
		r := w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"request_id": requestID})
		if r.Status != 200 {
			t.Fatalf("a repeat answered %d %s", r.Status, r.Body)
		}
		return r.Body
	}
	same := func(t *testing.T, got []byte) {
		t.Helper()
		if !bytes.Equal(got, first.Body) {
			t.Errorf("a repeat answered %s, want the first check-in %s", got, first.Body)
		}
		if rows := w.rows(w.MemberA.ID); rows != 1 {
			t.Errorf("%d rows, want 1", rows)
		}
	}

	t.Run("the first check-in leaves its record, and repeats answer it as the database would", func(t *testing.T) {
		w := w.in(t)
		if keys := w.recordKeys("ckday"); len(keys) != 1 {
			t.Fatalf("record keys %v, want one", keys)
		}
		same(t, repeat(t, "phone-1"))
		same(t, repeat(t, "phone-2"))
	})

	t.Run("a record Redis lost falls back to the database, which keeps it again", func(t *testing.T) {
		w := w.in(t)
		w.dropKeys(w.recordKeys("ckday"))
		same(t, repeat(t, "phone-3"))
		if keys := w.recordKeys("ckday"); len(keys) != 1 {
			t.Errorf("record keys %v after the fallback, want one", keys)
		}
		same(t, repeat(t, "phone-4"))
	})

	t.Run("a record whose generation Redis lost does not answer", func(t *testing.T) {
		w := w.in(t)
		w.dropKeys(w.recordKeys("ckgen"))
		same(t, repeat(t, "phone-5"))
		same(t, repeat(t, "phone-6"))
	})

	t.Run("a removed member is refused although the day's record is in Redis", func(t *testing.T) {
		w := w.in(t)
		if keys := w.recordKeys("ckday"); len(keys) != 1 {
			t.Fatalf("record keys %v, want one", keys)
		}
		w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)
		for _, org := range []int64{0, w.A} {
			r := w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"request_id": "phone-1", "org_id": org})
			if r.Status != 404 || r.ErrorCode() != "not_member" {
				t.Errorf("org_id %d: a removed member's repeat answered %d %s", org, r.Status, r.Body)
			}
		}
		if rows := w.rows(w.MemberA.ID); rows != 1 {
			t.Errorf("%d rows, want 1", rows)
		}
	})
}

func TestARepeatAtAnEndedOrgIsRefused(t *testing.T) {
	w := newWorld(t)
	var temp struct {
		ID int64 `json:"id"`
	}
	ends := w.clock.Now().Add(2 * time.Hour)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", w.A), w.SecA,
		map[string]any{"name": "卡口临时党支部", "kind": "temporary", "ends_at": ends}), 201).JSON(t, &temp)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID), w.SecA, map[string][]int64{"user_ids": {w.MemberA.ID}}), 200)
	body := map[string]any{"org_id": temp.ID, "request_id": "at-the-post"}
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, body), 201)
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, body), 200)

	// The end date passes; no job has ended the memberships yet.
	w.clock.Set(ends)
	r := w.DoAs("POST", "/api/v1/checkins", w.MemberA, body)
	if r.Status != 404 || r.ErrorCode() != "not_member" {
		t.Errorf("a repeat at an ended org answered %d %s", r.Status, r.Body)
	}
	// Home still takes the day's check-in.
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"request_id": "at-home"}), 201)
}

// roundTrips counts the commands and pipelines sent to Redis: each is one
// round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// A phone on a bad network retries: the repeat must cost Redis only the
// session lookup, which reads the day's record with the session, and a new
// check-in only that and the write of its record and count (a pipeline
// sent after the answer, shared with the check-ins answered meanwhile).
func TestACheckinReadsItsRecordWithTheSession(t *testing.T) {
	w := newWorld(t)
	if redisdb.IsCluster(w.App.Redis) {
		t.Skip("on Redis Cluster the session script may not name the member's keys")
	}
	// Scripts are loaded by the first requests.
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberB, map[string]any{"request_id": "warm-1"}), 201)
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberB, map[string]any{"request_id": "warm-2"}), 200)

	w.App.Board.Flush()
	trips := &roundTrips{}
	w.App.Redis.AddHook(trips)
	count := func(t *testing.T, status int, requestID string) {
		t.Helper()
		before := trips.n.Load()
		w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"request_id": requestID}), status)
		w.App.Board.Flush()
		t.Logf("%s: %d Redis round trips", requestID, trips.n.Load()-before)
		if got, want := trips.n.Load()-before, map[int]int64{201: 2, 200: 1}[status]; got != want {
			t.Errorf("a check-in answered %d after %d Redis round trips, want %d", status, got, want)
		}
	}
	count(t, 201, "first")
	count(t, 200, "retry")
}
