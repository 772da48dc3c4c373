//go:build faults

package faulttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/task"
	"xianfeng/server/internal/testenv"
)

// topologyGate skips t unless the fault tests were asked for on a Redis
// Cluster (sentinel false: TEST_REDIS_ADDRS names several masters) or a
// Sentinel setup (TEST_REDIS_ADDRS names the sentinels, TEST_REDIS_MASTER
// the master), and returns the addresses and the master's name.
func topologyGate(t *testing.T, sentinel bool) (addrs []string, master string) {
	t.Helper()
	if os.Getenv("XF_FAULT_TESTS") != "1" {
		t.Skip("fault test: set XF_FAULT_TESTS=1 with a Redis Cluster or Sentinel setup in TEST_REDIS_ADDRS (and TEST_REDIS_MASTER)")
	}
	addrs, master = strings.Split(os.Getenv("TEST_REDIS_ADDRS"), ","), os.Getenv("TEST_REDIS_MASTER")
	switch {
	case sentinel && (master == "" || addrs[0] == ""):
		t.Skip("needs a Sentinel setup: TEST_REDIS_ADDRS (sentinels) and TEST_REDIS_MASTER")
	case !sentinel && (master != "" || len(addrs) < 2):
		t.Skip("needs a Redis Cluster: TEST_REDIS_ADDRS with several masters")
	}
	return addrs, master
}

// TestClusterSlotMoves moves the Redis Cluster slots holding a member's
// session, their check-in records and the critical job queue (holding a
// task's fan-out that no worker has taken yet) to another master, key by
// key (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, then SETSLOT NODE: what
// redis-cli --cluster reshard does), while the member checks in and reads
// /me. The client must follow ASK and MOVED: no request fails, the member
// has one check-in, and a worker started afterwards delivers the task. It runs in the Cluster step of .ci/run
// (TEST_REDIS_ADDRS names the masters).
func TestClusterSlotMoves(t *testing.T) {
	addrs, _ := topologyGate(t, false)
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()

	w := testenv.NewWorld(t, testenv.Options{})
	member := w.NewMember(w.A, "frontline")
	prefix := w.App.Config.Redis.KeyPrefix
	sum := sha256.Sum256([]byte(member.Token))
	keys := map[string]string{
		"the session":         prefix + "sess:" + hex.EncodeToString(sum[:]),
		"the check-in record": prefix + "ckgen:{" + strconv.FormatInt(member.ID, 10) + "}",
		"the critical queue":  "asynq:{" + w.App.Config.Queue.Namespace + ":critical}:pending",
	}
	w.Expect(w.DoAs("POST", "/api/v1/checkins", member, map[string]any{"request_id": "before"}), http.StatusCreated)

	var (
		stop     atomic.Bool
		failed   []string
		mu       sync.Mutex
		requests atomic.Int64
		wg       sync.WaitGroup
	)
	// However the test ends, the load stops before the server does.
	defer func() { stop.Store(true); wg.Wait() }()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				for _, r := range []struct{ method, path string }{{"POST", "/api/v1/checkins"}, {"GET", "/api/v1/me"}} {
					var body any
					if r.method == "POST" {
						body = map[string]any{"request_id": "during"}
					}
					got := w.Unchecked().DoAs(r.method, r.path, member, body)
					requests.Add(1)
					if got.Status != http.StatusOK {
						mu.Lock()
						failed = append(failed, fmt.Sprintf("%s %s: %d %s", r.method, r.path, got.Status, got.Body))
						mu.Unlock()
					}
				}
			}
		}()
	}

	// A task published before the moves waits in the critical queue (no
	// worker runs yet): its job's keys move with the queue's slot.
	tk, _, err := w.App.Task.Create(ctx, w.RootSec.ID, w.Root, task.Input{
		Title: "卡口值守", Kind: task.KindScreening, Target: task.Target{IncludeSuborgs: true},
	})
	if err != nil {
		t.Fatalf("publishing a task: %v", err)
	}
	for _, what := range []string{"the session", "the check-in record", "the critical queue"} {
		from, to, slot, moved, err := moveSlot(ctx, cc, keys[what])
		if err != nil {
			t.Fatalf("moving the slot of %s (%s): %v", what, keys[what], err)
		}
		t.Logf("moved slot %d (%s) from %s to %s: %d keys", slot, what, from, to, moved)
		if moved == 0 {
			t.Errorf("the slot of %s held no key to move", what)
		}
	}
	// A worker started after the moves finds the job on the new master.
	startWorker(t, w.App.Config, "worker")
	var n int64
	testenv.Eventually(t, 30*time.Second, "the task published before the queue's slot moved reaching the member", func() bool {
		w.App.DB.Table("assignments").Where("task_id = ? AND user_id = ?", tk.ID, member.ID).Count(&n)
		return n == 1
	})
	stop.Store(true)
	wg.Wait()
	t.Logf("%d requests during the moves", requests.Load())
	for _, f := range failed {
		t.Error(f)
	}
	var rows int64
	w.App.DB.Table("checkins").Where("user_id = ?", member.ID).Count(&rows)
	if rows != 1 {
		t.Errorf("%d check-ins, want 1", rows)
	}
}

// moveSlot moves the slot of key from the master that holds it to another,
// one batch of keys at a time, and returns the two masters, the slot and
// the number of keys moved.
func moveSlot(ctx context.Context, cc *redis.ClusterClient, key string) (from, to string, slot int64, moved int, err error) {
	slot, err = cc.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", "", 0, 0, err
	}
	type master struct {
		id, addr string
		client   *redis.Client
	}
	var masters []master
	shards, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		return "", "", 0, 0, err
	}
	var src, dst master
	seen := map[string]bool{}
	for _, s := range shards {
		m := s.Nodes[0]
		if !seen[m.ID] {
			seen[m.ID] = true
			c := redis.NewClient(&redis.Options{Addr: m.Addr})
			defer c.Close()
			masters = append(masters, master{m.ID, m.Addr, c})
		}
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			src.id = m.ID
		}
	}
	for _, m := range masters {
		if m.id == src.id {
			src = m
		}
	}
	for _, m := range masters {
		if m.id != src.id {
			dst = m
			break
		}
	}
	if src.client == nil || dst.client == nil {
		return "", "", slot, 0, fmt.Errorf("no two masters for slot %d", slot)
	}
	host, port, _ := strings.Cut(dst.addr, ":")
	if err := dst.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.id).Err(); err != nil {
		return "", "", slot, 0, err
	}
	if err := src.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.id).Err(); err != nil {
		return "", "", slot, 0, err
	}
	for {
		batch, err := src.client.ClusterGetKeysInSlot(ctx, int(slot), 2).Result()
		if err != nil {
			return "", "", slot, moved, err
		}
		if len(batch) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range batch {
			args = append(args, k)
		}
		if err := src.client.Do(ctx, args...).Err(); err != nil {
			return "", "", slot, moved, err
		}
		moved += len(batch)
		time.Sleep(20 * time.Millisecond) // requests run between the batches, against a slot half here, half there
	}
	for _, m := range masters {
		if err := m.client.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dst.id).Err(); err != nil {
			return "", "", slot, moved, err
		}
	}
	return src.addr, dst.addr, slot, moved, nil
}

// TestSentinelFailover promotes the replica (SENTINEL FAILOVER) while
// members check in, each retrying with the same request id until answered,
// as the mini-program does: requests may fail only with 503 and only while
// the failover lasts, then succeed without a restart, and every member ends
// with exactly one check-in. Tasks published across the failover may lose
// their queued fan-out job (replication is asynchronous): the test prints
// how many, and a worker started afterwards must deliver every task the
// database holds. It runs in the Sentinel step of .ci/run
// (TEST_REDIS_ADDRS names the sentinels, TEST_REDIS_MASTER the master).
func TestSentinelFailover(t *testing.T) {
	addrs, master := topologyGate(t, true)
	ctx := context.Background()
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: addrs[0]})
	defer sentinel.Close()
	masterAddr := func() string {
		a, err := sentinel.GetMasterAddrByName(ctx, master).Result()
		if err != nil || len(a) != 2 {
			return ""
		}
		return a[0] + ":" + a[1]
	}
	before := masterAddr()
	if before == "" {
		t.Fatalf("sentinel does not name master %q", master)
	}

	w := testenv.NewWorld(t, testenv.Options{})
	const n = 160
	members := make([]testenv.Person, n)
	for i := range members {
		members[i] = w.NewMember(w.A, "frontline")
	}

	type outcome struct {
		status int
		at     time.Time
	}
	var (
		mu       sync.Mutex
		failures []outcome // every answer but 200/201, and every request with no answer (status 0)
		answered = make([]int, n)
		next     atomic.Int64
		client   = &http.Client{Timeout: 10 * time.Second}
	)
	checkin := func(i int) int {
		body, _ := json.Marshal(map[string]any{"request_id": fmt.Sprintf("failover-%d", i)})
		req, _ := http.NewRequest("POST", w.Server.URL+"/api/v1/checkins", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+members[i].Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Eight phones take the members in turn, a check-in every 250 ms each:
	// the load spans the failover.
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				for time.Now().Before(deadline) {
					s := checkin(i)
					if s == http.StatusOK || s == http.StatusCreated {
						answered[i] = s
						break
					}
					mu.Lock()
					failures = append(failures, outcome{s, time.Now()})
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(250 * time.Millisecond)
			}
		}()
	}

	// A secretary publishes a task every 20 ms across the failover: each is
	// committed, then its fan-out job enqueued (no worker runs yet). Redis
	// replicates asynchronously, so a job written to the old master just
	// before the switch may be gone on the new one.
	var published atomic.Int64
	publishing := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for {
			select {
			case <-publishing:
				return
			default:
			}
			if _, _, err := w.App.Task.Create(ctx, w.SecA.ID, w.A, task.Input{Title: "卡口值守", Kind: task.KindScreening,
				Target: task.Target{UserIDs: []int64{members[0].ID}}}); err == nil {
				published.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	time.Sleep(time.Second)
	failoverAt := time.Now()
	if err := sentinel.Failover(ctx, master).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	for masterAddr() == before {
		if time.Since(failoverAt) > 30*time.Second {
			t.Fatal("sentinel did not promote the replica within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	promoted := time.Since(failoverAt)
	time.Sleep(time.Second)
	close(publishing)
	<-pubDone
	wg.Wait()

	// Jobs lost: tasks committed (dispatching) without their job in Redis.
	var committed int64
	w.Must(w.App.DB.Table("tasks").Where("org_id = ?", w.A).Count(&committed).Error)
	queued, err := w.App.Redis.LLen(ctx, "asynq:{"+w.App.Config.Queue.Namespace+":critical}:pending").Result()
	w.Must(err)
	t.Logf("tasks published across the failover: %d committed (%d answered without error), %d fan-out jobs on the new master: %d lost",
		committed, published.Load(), queued, committed-queued)
	// A worker started now re-creates every fan-out the database holds
	// (task.ResumeFanOuts at start; the sweep does it every minute too).
	startWorker(t, w.App.Config, "worker")
	testenv.Eventually(t, 30*time.Second, "every task published across the failover reaching its member", func() bool {
		var assigned int64
		w.App.DB.Table("assignments").Joins("JOIN tasks ON tasks.id = assignments.task_id").
			Where("tasks.org_id = ?", w.A).Count(&assigned)
		return assigned == committed
	})

	t.Logf("failover: %s → %s, announced by the sentinel %v after SENTINEL FAILOVER; %d members checked in over %v",
		before, masterAddr(), promoted.Round(time.Millisecond), n, time.Since(start).Round(time.Millisecond))
	var last time.Time
	for _, f := range failures {
		if f.status != http.StatusServiceUnavailable {
			t.Errorf("a check-in got %d during the failover, want only 503 (and an answer)", f.status)
		}
		if f.at.After(last) {
			last = f.at
		}
	}
	if len(failures) > 0 {
		window := last.Sub(failoverAt)
		t.Logf("%d failed attempts (all retried with the same request id), the last %v after SENTINEL FAILOVER",
			len(failures), window.Round(time.Millisecond))
		// The client learns the new master from the sentinel's +switch-master
		// message or, at the latest, from the READONLY of the demoted master;
		// a few seconds beyond the promotion covers both and its reconnects.
		if window > promoted+5*time.Second {
			t.Errorf("check-ins failed until %v after the failover, %v after the promotion", window, window-promoted)
		}
	} else {
		t.Log("no check-in failed")
	}
	for i, s := range answered {
		if s == 0 {
			t.Errorf("member %d never got an answer", i)
		}
	}
	var rows []struct {
		UserID int64
		N      int64
	}
	if err := w.App.DB.Table("checkins").Select("user_id, COUNT(*) AS n").Group("user_id").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	byUser := map[int64]int64{}
	for _, r := range rows {
		byUser[r.UserID] = r.N
	}
	for i, m := range members {
		if byUser[m.ID] != 1 {
			t.Errorf("member %d has %d check-ins, want exactly 1", i, byUser[m.ID])
		}
	}
	// Afterwards the server works on the new master without a restart.
	w.Expect(w.DoAs("GET", "/api/v1/me", members[0], nil), http.StatusOK)
	w.Expect(w.DoAs("POST", "/api/v1/checkins", members[0], map[string]any{"request_id": "after"}), http.StatusOK)
}
