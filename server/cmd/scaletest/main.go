// Command scaletest drives check-ins through a load balancer in front of
// several API processes while it kills one API process and one worker with
// SIGKILL, and then checks that nothing was lost or done twice.
// scripts/scale-test.sh starts the processes and the balancer and runs it;
// it lives under server/ because it reads the database and Redis the way
// the server writes them.
//
// Usage:
//
//	scaletest -url http://127.0.0.1:18300 -db URL -redis URL -prefix scale: -tokens FILE
//	          -kill-api PID -kill-worker PID [-c 32] [-d 30s] [-kill-at 12s] [-reports 20]
//
// What it does:
//
//   - -c phones check members in, one after the other from -tokens (lines
//     "<token> <user id>" written by checkinbench -mode seed), for -d. A
//     request that gets no answer or a 5xx is sent again with the same
//     request_id, as the mini-program does, until it gets 200 or 201.
//   - -reports members file an urgent report each before the kill, so their
//     escalations (APP_REPORT_SLA_URGENT after filing) fall due around it.
//   - At -kill-at the root secretary publishes a task to every member and,
//     300 ms later, the worker -kill-worker and the API process -kill-api
//     are killed with SIGKILL: the fan-out is under way in a worker, and
//     requests are in flight in the API process.
//   - Afterwards it prints the check-ins a second before, during (the five
//     seconds after the kill) and after, and the failed attempts in each
//     window, and checks: the checkins table holds exactly one row per
//     member that got a 200 or 201 and none for any other; the task reached
//     every member once (assignments and inbox notices); each report escalated
//     exactly once to the level above. It exits 1 if a check fails.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/cmd/internal/loadgen"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/org"
)

type options struct {
	url, db, redis, prefix, tokens string
	killAPI, killWorker            int
	clients, reports               int
	duration, killAt               time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:18300", "the load balancer")
	flag.StringVar(&o.db, "db", "", "the servers' database URL")
	flag.StringVar(&o.redis, "redis", "redis://127.0.0.1:6379/0", "the servers' Redis URL")
	flag.StringVar(&o.prefix, "prefix", "scale:", "the servers' APP_REDIS_KEY_PREFIX")
	flag.StringVar(&o.tokens, "tokens", "", "the members' sessions (checkinbench -mode seed)")
	flag.IntVar(&o.killAPI, "kill-api", 0, "the API process to kill")
	flag.IntVar(&o.killWorker, "kill-worker", 0, "the worker process to kill")
	flag.IntVar(&o.clients, "c", 32, "phones checking in at once")
	flag.IntVar(&o.reports, "reports", 20, "urgent reports filed before the kill")
	flag.DurationVar(&o.duration, "d", 30*time.Second, "how long the check-ins go on")
	flag.DurationVar(&o.killAt, "kill-at", 12*time.Second, "when the processes are killed")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "scaletest:", err)
		os.Exit(1)
	}
}

// client sends the requests, with the retries a phone makes.
type client struct {
	base string
	http *http.Client
}

// post sends one request and returns its status (0: no whole answer) and body.
func (c *client) post(path, token string, body any) (int, []byte) {
	b, _ := json.Marshal(body)
	var out bytes.Buffer
	status, err := loadgen.Post(c.http, c.base+path, "Authorization", "Bearer "+token, b, &out)
	if err != nil {
		return 0, nil
	}
	return status, out.Bytes()
}

// timeline counts answers and failed attempts per 100 ms since start.
type timeline struct {
	start time.Time
	mu    sync.Mutex
	ok    map[int]int
	fail  map[int]int
}

func (t *timeline) add(ok bool) {
	slot := int(time.Since(t.start) / (100 * time.Millisecond))
	t.mu.Lock()
	if ok {
		t.ok[slot]++
	} else {
		t.fail[slot]++
	}
	t.mu.Unlock()
}

// window returns the successes per second and the failures between from and to.
func (t *timeline) window(from, to time.Duration) (perSec float64, failed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ok int
	for s := int(from / (100 * time.Millisecond)); s < int(to/(100*time.Millisecond)); s++ {
		ok += t.ok[s]
		failed += t.fail[s]
	}
	return float64(ok) / (to - from).Seconds(), failed
}

func run(o options) error {
	ctx := context.Background()
	members, err := loadgen.ReadTokens(o.tokens)
	if err != nil {
		return err
	}
	if len(members) < o.reports+1 {
		return errors.New("too few members in -tokens")
	}
	db, err := database.Open(ctx, database.Options{URL: o.db, MaxOpenConns: 4, ConnMaxLife: time.Minute, Log: logging.Discard()})
	if err != nil {
		return err
	}
	defer db.Close()
	ropts, err := redis.ParseURL(o.redis)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(ropts)
	defer rdb.Close()

	// The root secretary signs in the way the seeded members did.
	var root struct {
		OrgID, UserID int64
	}
	if err := db.Table("memberships").Select("memberships.org_id, memberships.user_id").
		Joins("JOIN orgs ON orgs.id = memberships.org_id").
		Where("orgs.parent_id IS NULL AND memberships.role = ? AND memberships.status = ?", org.RoleSecretary, org.StatusApproved).
		Order("memberships.id").Limit(1).Scan(&root).Error; err != nil || root.UserID == 0 {
		return fmt.Errorf("find the root secretary: %v", err)
	}
	secToken, _, err := auth.NewSessions(rdb, o.prefix, time.Hour).Create(ctx, auth.Session{UserID: root.UserID})
	if err != nil {
		return err
	}

	hc := loadgen.Client(o.clients + 8) // the phones, the secretary and the reporters
	hc.Timeout = 10 * time.Second       // a phone gives up on a request sooner than a benchmark
	c := &client{base: o.url, http: hc}
	// A member's request until it is answered 200 or 201 (at most 90 s).
	answered := func(tl *timeline, path, token string, body any, ok func(int) bool) (int, []byte) {
		deadline := time.Now().Add(90 * time.Second)
		for {
			s, b := c.post(path, token, body)
			if tl != nil {
				tl.add(ok(s))
			}
			if ok(s) || (s != 0 && s < 500) || time.Now().After(deadline) {
				return s, b
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	created := func(s int) bool { return s == http.StatusOK || s == http.StatusCreated }

	// Urgent reports, from the last members of the list (who check in last).
	var reportIDs []int64
	for i := range o.reports {
		m := members[len(members)-1-i]
		s, b := answered(nil, "/api/v1/reports", m.Token, map[string]any{
			"category": "help_needed", "urgency": "urgent", "content": "卡口发现发热人员，需要支援",
			"request_id": fmt.Sprintf("scale-report-%d", m.UserID)}, created)
		var r struct {
			ID int64 `json:"id"`
		}
		if !created(s) || json.Unmarshal(b, &r) != nil || r.ID == 0 {
			return fmt.Errorf("filing a report answered %d %s", s, b)
		}
		reportIDs = append(reportIDs, r.ID)
	}
	fmt.Printf("scale: %d urgent reports filed\n", len(reportIDs))

	tl := &timeline{start: time.Now(), ok: map[int]int{}, fail: map[int]int{}}
	status := make([]int, len(members)-o.reports)
	var next atomic.Int64
	var wg sync.WaitGroup
	stopAt := tl.start.Add(o.duration)
	for range o.clients {
		wg.Go(func() {
			for time.Now().Before(stopAt) {
				i := int(next.Add(1) - 1)
				if i >= len(status) {
					return
				}
				status[i], _ = answered(tl, "/api/v1/checkins", members[i].Token,
					map[string]any{"request_id": fmt.Sprintf("scale-%d", members[i].UserID), "lat": 36.0671, "lng": 120.3826, "accuracy_m": 12}, created)
			}
		})
	}

	time.Sleep(o.killAt)
	s, b := answered(nil, fmt.Sprintf("/api/v1/orgs/%d/tasks", root.OrgID), secToken, map[string]any{
		"title": "全员卡口值守排班", "kind": "duty", "request_id": "scale-task", "target": map[string]any{"include_suborgs": true}}, created)
	var task struct {
		ID int64 `json:"id"`
	}
	if !created(s) || json.Unmarshal(b, &task) != nil || task.ID == 0 {
		return fmt.Errorf("publishing the task answered %d %s", s, b)
	}
	time.Sleep(300 * time.Millisecond)
	killedAt := time.Since(tl.start)
	for _, pid := range []int{o.killWorker, o.killAPI} {
		if pid > 0 {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				return fmt.Errorf("kill %d: %w", pid, err)
			}
		}
	}
	fmt.Printf("scale: task %d published at %v; worker %d and API process %d killed with SIGKILL at %v\n",
		task.ID, o.killAt.Round(time.Millisecond), o.killWorker, o.killAPI, killedAt.Round(time.Millisecond))
	wg.Wait()
	end := time.Since(tl.start)

	during := killedAt + 5*time.Second
	bRate, bFail := tl.window(0, killedAt)
	dRate, dFail := tl.window(killedAt, min(during, end))
	aRate, aFail := tl.window(min(during, end), end)
	fmt.Printf("scale: check-ins answered 200/201 per second: before the kill %.0f/s (%d failed attempts), in the 5 s after it %.0f/s (%d failed attempts), after %.0f/s (%d failed attempts)\n",
		bRate, bFail, dRate, dFail, aRate, aFail)

	var failed []string
	check := func(ok bool, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if ok {
			fmt.Println("check ok:", msg)
		} else {
			fmt.Println("CHECK FAILED:", msg)
			failed = append(failed, msg)
		}
	}

	// Check-ins: one row for each member that was answered, none for others.
	got := map[int64]bool{}
	var unanswered int
	for i, s := range status {
		if created(s) {
			got[members[i].UserID] = true
		} else if s != 0 {
			unanswered++
		}
	}
	var rows []struct {
		UserID int64
		N      int64
	}
	if err := db.Table("checkins").Select("user_id, COUNT(*) AS n").Group("user_id").Scan(&rows).Error; err != nil {
		return err
	}
	doubled, stray := 0, 0
	for _, r := range rows {
		if r.N > 1 {
			doubled++
		}
		if !got[r.UserID] {
			stray++
		}
	}
	check(len(rows) == len(got) && doubled == 0 && stray == 0 && unanswered == 0,
		"check-ins: %d members answered 200/201, %d with a row, %d with two rows, %d rows without an answer, %d refused", len(got), len(rows), doubled, stray, unanswered)

	// The task: every approved member of the tree once, assignment and notice.
	var want int64
	if err := db.Table("memberships").Where("status = ?", org.StatusApproved).Distinct("user_id").Count(&want).Error; err != nil {
		return err
	}
	var assigned, noticed, noticedUsers int64
	waitFor(60*time.Second, func() bool {
		db.Table("assignments").Where("task_id = ?", task.ID).Count(&assigned)
		db.Table("notifications").Where("ref_type = ? AND ref_id = ? AND kind = ?", "task", task.ID, "task_assigned").Count(&noticed)
		return assigned >= want && noticed >= want
	})
	db.Table("notifications").Where("ref_type = ? AND ref_id = ? AND kind = ?", "task", task.ID, "task_assigned").Distinct("user_id").Count(&noticedUsers)
	check(assigned == want && noticed == want && noticedUsers == want,
		"task fan-out with its worker killed: %d approved members, %d assignments, %d inbox notices to %d members", want, assigned, noticed, noticedUsers)

	// Reports: each escalated once to the level above.
	type esc struct {
		ReportID int64
		Level    int
		N        int64
	}
	var escs []esc
	waitFor(90*time.Second, func() bool {
		escs = nil
		db.Table("report_events").Select("report_id, level, COUNT(*) AS n").
			Where("report_id IN ? AND kind = ?", reportIDs, "escalated").Group("report_id, level").Scan(&escs)
		return len(escs) >= len(reportIDs)
	})
	once, twice := map[int64]bool{}, 0
	for _, e := range escs {
		if e.Level == 1 && e.N == 1 {
			once[e.ReportID] = true
		}
		if e.N > 1 {
			twice++
		}
	}
	check(len(once) == len(reportIDs) && twice == 0,
		"report escalations: %d urgent reports, %d escalated once to the level above, %d escalations made twice", len(reportIDs), len(once), twice)
	if len(failed) > 0 {
		return fmt.Errorf("%d checks failed", len(failed))
	}
	return nil
}

func waitFor(limit time.Duration, cond func() bool) {
	deadline := time.Now().Add(limit)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
}
