// Command checkinbench measures the daily check-in (POST /api/v1/checkins)
// of a running server at scale, and the fan-out of one task to every member
// of a big tree. scripts/bench-checkin.sh drives it: seed, start the server,
// load, verify, stop the server, fan-out. It lives under server/ because it
// uses the server's internal packages.
//
// Usage:
//
//	checkinbench -mode seed   -db URL [-redis URL] [-prefix bcheck:] [-members 100000] [-orgs 1000] -tokens FILE
//	checkinbench -mode load   -url http://127.0.0.1:18082 -tokens FILE -counts FILE [-c 64] [-d 10s] [-warmup 2s]
//	checkinbench -mode verify -db URL [-redis URL] [-prefix bcheck:] -counts FILE
//	checkinbench -mode fanout -db URL [-redis URL] [-prefix bcheck:] [-namespace bcheck] [-targets 10000]
//
// Modes:
//
//	seed    migrates a fresh database (app.New), seeds -orgs orgs and
//	        -members memberships with org.Seed (every tenth one pending, as
//	        org.Seed makes them), prints how long that took, then creates one
//	        session per approved member directly in Redis under -prefix (the
//	        server must use the same APP_REDIS_KEY_PREFIX) and writes
//	        "<token> <user id>" lines to -tokens. The tokens are test
//	        credentials of a scratch database.
//	load    drives POST /api/v1/checkins with -c keep-alive workers for
//	        -warmup (not measured) and then -d. Request n goes to member
//	        n mod members, so every member checks in once; when the members
//	        run out the requests repeat them, which exercises the "already
//	        checked in today" answer (200). Each body carries a unique
//	        request_id, a position and an accuracy. It prints throughput,
//	        latency percentiles (all, then 201 and 200 apart) and status
//	        counts, judges the goal (at least 5,000/s, p99 under 30 ms), and
//	        writes to -counts how many distinct members got a 201 (warm-up
//	        included) for verify. Exits 1 on any transport error or status
//	        other than 200/201.
//	verify  checks that the checkins table holds exactly one row per
//	        (user, org, day) and per (user, day), that the number of rows equals
//	        the number of distinct members that got a 201, and that the live
//	        board's root counter in Redis agrees. Exits 1 if not.
//	fanout  seeds a fresh database with a tree whose root subtree has exactly
//	        -targets approved members, creates a task for the root with
//	        include_suborgs and no filter through task.Service.Create (as the
//	        root secretary), runs the real task.Service.FanOut on it directly
//	        (with the notification inbox app.New wires), prints the time and
//	        checks that assignments and notifications both number -targets.
//	        Exits 1 if not.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // Asia/Shanghai, as the server

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
)

// Goals of the issue.
const (
	goalRate   = 5000
	goalP99    = 30 * time.Millisecond
	goalFanOut = 2 * time.Second
)

type options struct {
	mode                 string
	db, redis, prefix    string
	namespace            string
	members, orgs        int
	targets              int
	tokens, counts       string
	url                  string
	c                    int
	d, warmup            time.Duration
	sessionTTL           time.Duration
	sessionWorkers       int
	fanoutOrgs, fanBatch int
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "seed, load, verify or fanout")
	flag.StringVar(&o.db, "db", "", "PostgreSQL URL of the scratch database (seed, verify, fanout)")
	flag.StringVar(&o.redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL (seed, verify, fanout)")
	flag.StringVar(&o.prefix, "prefix", "bcheck:", "Redis key prefix; must be the server's APP_REDIS_KEY_PREFIX")
	flag.StringVar(&o.namespace, "namespace", "bcheck", "asynq namespace (fanout enqueues its job there; nothing runs it)")
	flag.IntVar(&o.members, "members", 100000, "memberships to seed (seed)")
	flag.IntVar(&o.orgs, "orgs", 1000, "orgs to seed, root included (seed)")
	flag.IntVar(&o.targets, "targets", 10000, "approved members under the root to fan a task out to (fanout)")
	flag.IntVar(&o.fanoutOrgs, "fanout-orgs", 200, "orgs of the fan-out tree (fanout)")
	flag.StringVar(&o.tokens, "tokens", "", "file of \"<token> <user id>\" lines (seed writes, load reads)")
	flag.StringVar(&o.counts, "counts", "", "file of the load's 201 counts (load writes, verify reads)")
	flag.StringVar(&o.url, "url", "http://127.0.0.1:18082", "base URL of the server (load)")
	flag.IntVar(&o.c, "c", 64, "concurrent keep-alive clients (load)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "measured duration (load)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up (load)")
	flag.DurationVar(&o.sessionTTL, "session-ttl", time.Hour, "lifetime of the seeded sessions (seed)")
	flag.IntVar(&o.sessionWorkers, "session-workers", 32, "concurrent session writers (seed)")
	flag.Parse()
	o.url = strings.TrimRight(o.url, "/")
	if flag.NArg() > 0 || o.c < 1 || o.d <= 0 || o.warmup < 0 || o.sessionWorkers < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch o.mode {
	case "seed":
		err = seed(o)
	case "load":
		err = load(o)
	case "verify":
		err = verify(o)
	case "fanout":
		err = fanout(o)
	default:
		fmt.Fprintf(os.Stderr, "checkinbench: -mode must be seed, load, verify or fanout, got %q\n", o.mode)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "checkinbench %s: %v\n", o.mode, err)
		os.Exit(1)
	}
}

// open builds the real app on the database, as the server would with the
// same APP_* settings.
func open(ctx context.Context, o options, migrate bool) (*app.App, config.Config, error) {
	if o.db == "" {
		return nil, config.Config{}, errors.New("-db is required")
	}
	env := map[string]string{
		"APP_ENV": "development", "APP_DATABASE_URL": o.db, "APP_REDIS_URL": o.redis,
		"APP_REDIS_KEY_PREFIX": o.prefix, "APP_QUEUE_NAMESPACE": o.namespace, "APP_LOG_LEVEL": "error",
		"APP_WECHAT_MOCK": "true",
	}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		return nil, cfg, err
	}
	if dialect, _, err := config.ParseDatabaseURL(o.db); err != nil {
		return nil, cfg, err
	} else if dialect != config.DialectPostgres {
		fmt.Fprintf(os.Stderr, "checkinbench: warning: %s, not PostgreSQL: the figures are not the ones the goal is about\n", dialect)
	}
	a, err := app.New(ctx, cfg, logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format), app.Options{Migrate: migrate})
	if err != nil {
		return nil, cfg, fmt.Errorf("build app: %w", err)
	}
	return a, cfg, nil
}

// ---------------------------------------------------------------- seed

func seed(o options) error {
	ctx := context.Background()
	if o.tokens == "" {
		return errors.New("-tokens is required")
	}
	a, _, err := open(ctx, o, true)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.orgs, Members: o.members})
	if err != nil {
		return err
	}
	fmt.Printf("seed: %d orgs, %d memberships (%d approved, %d pending, secretaries included) in %s\n",
		res.Orgs, res.Memberships, res.Approved, res.Pending, res.Duration.Round(time.Millisecond))

	// The members who can check in: approved ordinary members.
	var users []struct {
		UserID int64
		OpenID string
	}
	if err := a.DB.Table("memberships AS m").Select("m.user_id, u.open_id").Joins("JOIN users u ON u.id = m.user_id").
		Where("m.status = ? AND m.role = ?", org.StatusApproved, org.RoleMember).Order("m.id").Scan(&users).Error; err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	start := time.Now()
	sessions := auth.NewSessions(a.Redis, o.prefix, o.sessionTTL)
	tokens := make([]string, len(users))
	var next atomic.Int64
	errs := make([]error, o.sessionWorkers)
	var wg sync.WaitGroup
	for w := range o.sessionWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(users) {
					return
				}
				tok, _, err := sessions.Create(ctx, auth.Session{UserID: users[i].UserID, OpenID: users[i].OpenID})
				if err != nil {
					errs[w] = err
					return
				}
				tokens[i] = tok
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("create sessions: %w", err)
	}
	var buf bytes.Buffer
	for i, u := range users {
		buf.WriteString(tokens[i])
		buf.WriteByte(' ')
		buf.WriteString(strconv.FormatInt(u.UserID, 10))
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(o.tokens, buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Printf("seed: %d sessions (one per approved member, key prefix %s) created in Redis in %s\n",
		len(users), o.prefix, time.Since(start).Round(time.Millisecond))
	return nil
}

// ---------------------------------------------------------------- load

type member struct {
	token  string
	userID int64
}

func readTokens(path string) ([]member, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []member
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tok, id, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		uid, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		ms = append(ms, member{token: tok, userID: uid})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return ms, nil
}

// counts is what load leaves for verify.
type counts struct {
	Members    int   `json:"members"`
	Created    int64 `json:"created_201"`          // 201 answers, warm-up included
	Distinct   int64 `json:"distinct_members_201"` // members that got at least one 201
	Repeated   int64 `json:"members_201_twice"`    // members that got more than one (must be 0)
	Requests   int64 `json:"requests"`             // warm-up included
	Errors     int64 `json:"errors"`               // transport errors and other statuses
	StartedAt  int64 `json:"started_unix"`
	FinishedAt int64 `json:"finished_unix"`
}

type sample struct {
	lat    time.Duration
	status int16 // 0: transport error
}

func load(o options) error {
	if o.tokens == "" || o.counts == "" {
		return errors.New("-tokens and -counts are required")
	}
	mem, err := readTokens(o.tokens)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        o.c,
			MaxIdleConnsPerHost: o.c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	url := o.url + "/api/v1/checkins"
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	got201 := make([]atomic.Int32, len(mem))
	var next, requests, errCount atomic.Int64
	var firstRepeat atomic.Int64 // unix nanos of the first repeated member, 0 before
	var firstErr atomic.Pointer[string]

	fmt.Printf("load: %d members with a session, %d clients, warm-up %s, measured %s, POST %s\n", len(mem), o.c, o.warmup, o.d, url)
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	stopAt := measureFrom.Add(o.d)
	per := int(o.d.Seconds()*20000)/o.c + 64
	out := make([][]sample, o.c)
	lastDone := make([]time.Time, o.c)
	var wg sync.WaitGroup
	for w := range o.c {
		wg.Go(func() {
			samples := make([]sample, 0, per)
			body := make([]byte, 0, 160)
			for {
				t0 := time.Now()
				if !t0.Before(stopAt) {
					break
				}
				n := next.Add(1) - 1
				i := int(n % int64(len(mem)))
				if n == int64(len(mem)) {
					firstRepeat.Store(t0.UnixNano())
				}
				body = append(body[:0], `{"request_id":"`...)
				body = append(body, run...)
				body = append(body, '-')
				body = strconv.AppendInt(body, n, 10)
				body = append(body, `","lat":`...)
				body = strconv.AppendFloat(body, 36.0+float64(i%1000)/10000, 'f', 6, 64)
				body = append(body, `,"lng":`...)
				body = strconv.AppendFloat(body, 120.3+float64(i/1000%1000)/10000, 'f', 6, 64)
				body = append(body, `,"accuracy_m":`...)
				body = strconv.AppendInt(body, int64(5+i%60), 10)
				body = append(body, '}')
				status, err := post(client, url, mem[i].token, body)
				t1 := time.Now()
				requests.Add(1)
				switch {
				case err != nil:
					errCount.Add(1)
					e := fmt.Sprintf("member %d: %v", mem[i].userID, err)
					firstErr.CompareAndSwap(nil, &e)
				case status == http.StatusCreated:
					got201[i].Add(1)
				case status != http.StatusOK:
					errCount.Add(1)
					e := fmt.Sprintf("member %d: status %d", mem[i].userID, status)
					firstErr.CompareAndSwap(nil, &e)
				}
				if t0.Before(measureFrom) {
					continue
				}
				samples = append(samples, sample{lat: t1.Sub(t0), status: int16(status)})
				lastDone[w] = t1
			}
			out[w] = samples
		})
	}
	wg.Wait()
	finished := time.Now()

	var all, s201, s200 []time.Duration
	byStatus := map[int]int{}
	last := measureFrom
	for w, ss := range out {
		for _, s := range ss {
			all = append(all, s.lat)
			byStatus[int(s.status)]++
			switch s.status {
			case http.StatusCreated:
				s201 = append(s201, s.lat)
			case http.StatusOK:
				s200 = append(s200, s.lat)
			}
		}
		if lastDone[w].After(last) {
			last = lastDone[w]
		}
	}
	elapsed := last.Sub(measureFrom)
	rate := float64(len(all)) / elapsed.Seconds()
	fmt.Printf("load: all       req=%d  rps=%.0f  %s\n", len(all), rate, pct(all))
	// The new check-ins came before the members ran out.
	newSpan := elapsed
	if fr := firstRepeat.Load(); fr != 0 {
		newSpan = max(0, time.Unix(0, fr).Sub(measureFrom))
		fmt.Printf("load: members ran out %s into the measurement; later requests repeat members (200)\n", newSpan.Round(time.Millisecond))
	}
	newRate := 0.0
	if newSpan > 0 {
		newRate = float64(len(s201)) / newSpan.Seconds()
	}
	fmt.Printf("load: 201 new   req=%d  rps=%.0f (over %s)  %s\n", len(s201), newRate, newSpan.Round(time.Millisecond), pct(s201))
	fmt.Printf("load: 200 again req=%d  %s\n", len(s200), pct(s200))
	keys := make([]int, 0, len(byStatus))
	for k := range byStatus {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "transport-error"
		}
		parts[i] = fmt.Sprintf("%s:%d", name, byStatus[k])
	}
	fmt.Printf("load: status counts (measured): %s; all requests incl. warm-up: %d, errors %d\n", strings.Join(parts, " "), requests.Load(), errCount.Load())

	p99 := percentile(all, 0.99)
	fmt.Printf("goal throughput >= %d/s (all measured check-ins): %.0f/s: %s\n", goalRate, rate, verdict(rate >= goalRate))
	fmt.Printf("goal p99 < %s (all measured check-ins): %s: %s\n", ms(goalP99), ms(p99), verdict(p99 < goalP99))
	if len(s201) > 0 {
		p := percentile(s201, 0.99)
		fmt.Printf("goal on new check-ins only (201): %.0f/s, p99 %s: %s\n", newRate, ms(p), verdict(newRate >= goalRate && p < goalP99))
	}

	c := counts{Members: len(mem), Requests: requests.Load(), Errors: errCount.Load(), StartedAt: start.Unix(), FinishedAt: finished.Unix()}
	for i := range got201 {
		n := int64(got201[i].Load())
		c.Created += n
		if n > 0 {
			c.Distinct++
		}
		if n > 1 {
			c.Repeated++
		}
	}
	raw, _ := json.Marshal(c)
	if err := os.WriteFile(o.counts, raw, 0o644); err != nil {
		return err
	}
	fmt.Printf("load: %d members got a 201 (%d 201 answers in all, warm-up included)\n", c.Distinct, c.Created)
	if c.Errors > 0 {
		return fmt.Errorf("%d requests failed, e.g. %s", c.Errors, *firstErr.Load())
	}
	if c.Repeated > 0 {
		return fmt.Errorf("%d members got more than one 201", c.Repeated)
	}
	return nil
}

// post sends one check-in and reads the whole answer.
func post(client *http.Client, url, token string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// ---------------------------------------------------------------- verify

func verify(o options) error {
	ctx := context.Background()
	if o.counts == "" {
		return errors.New("-counts is required")
	}
	raw, err := os.ReadFile(o.counts)
	if err != nil {
		return err
	}
	var c counts
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", o.counts, err)
	}
	a, _, err := open(ctx, o, false)
	if err != nil {
		return err
	}
	defer a.Close()
	var st struct {
		Rows, Keys, UserDays, Users int64
	}
	if err := a.DB.Raw(`SELECT COUNT(*) AS rows,
		COUNT(DISTINCT (user_id, org_id, day)) AS keys,
		COUNT(DISTINCT (user_id, day)) AS user_days,
		COUNT(DISTINCT user_id) AS users FROM checkins`).Scan(&st).Error; err != nil {
		return err
	}
	var days []struct {
		Day string
		N   int64
	}
	if err := a.DB.Raw(`SELECT day, COUNT(*) AS n FROM checkins GROUP BY day ORDER BY day`).Scan(&days).Error; err != nil {
		return err
	}
	ds := make([]string, len(days))
	for i, d := range days {
		ds[i] = fmt.Sprintf("%s:%d", d.Day, d.N)
	}
	fmt.Printf("verify: checkins rows=%d distinct (user,org,day)=%d distinct (user,day)=%d distinct users=%d, by day %s\n",
		st.Rows, st.Keys, st.UserDays, st.Users, strings.Join(ds, " "))
	fmt.Printf("verify: load saw %d distinct members with a 201 (%d 201 answers, %d members with two)\n", c.Distinct, c.Created, c.Repeated)
	ok := st.Rows == st.Keys && st.Rows == st.UserDays && st.Rows == c.Distinct && c.Created == c.Distinct
	// The live board's root counter, for each day, must agree with the rows.
	var root int64
	if err := a.DB.Raw(`SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1`).Scan(&root).Error; err != nil {
		return err
	}
	for _, d := range days {
		t, done, err := a.Board.Read(ctx, root, d.Day)
		if err != nil || !done {
			fmt.Printf("verify: board of %s not readable (done=%v err=%v)\n", d.Day, done, err)
			ok = false
			continue
		}
		fmt.Printf("verify: board (Redis) root %d on %s counts %d\n", root, d.Day, t.Total)
		ok = ok && t.Total == d.N
	}
	fmt.Printf("goal one row per member and day, rows = members with a 201: %s\n", verdict(ok))
	if !ok {
		return errors.New("verification failed")
	}
	return nil
}

// ---------------------------------------------------------------- fanout

// membersFor returns the org.Seed Members that give exactly want approved
// memberships in the root's subtree (every tenth member is pending; the two
// secretaries are approved), or the next size up if none does.
func membersFor(want int) int {
	for m := 0; ; m++ {
		if m-m/10+2 >= want {
			return m
		}
	}
}

func fanout(o options) error {
	ctx := context.Background()
	a, _, err := open(ctx, o, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var name string
	if err := a.DB.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		return err
	}
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.fanoutOrgs, Members: membersFor(o.targets)})
	if err != nil {
		return err
	}
	fmt.Printf("fanout: database %s (separate, fresh): seeded %d orgs and %d memberships (%d approved) in %s\n",
		name, res.Orgs, res.Memberships, res.Approved, res.Duration.Round(time.Millisecond))

	tk, _, err := a.Task.Create(ctx, res.RootSecretaryUserID, res.RootID, task.Input{
		Title: "全员值守压测", Description: "checkinbench fan-out", Kind: task.KindDuty,
		Target: task.Target{IncludeSuborgs: true},
	})
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	start := time.Now()
	if err := a.Task.FanOut(ctx, tk.ID); err != nil {
		return fmt.Errorf("fan-out: %w", err)
	}
	took := time.Since(start)
	var st struct {
		Assignments, Notifications, AssignedCount int64
		Status                                    string
	}
	if err := a.DB.Raw(`SELECT
		(SELECT COUNT(*) FROM assignments WHERE task_id = ?) AS assignments,
		(SELECT COUNT(*) FROM notifications WHERE ref_type = 'task' AND ref_id = ? AND kind = 'task_assigned') AS notifications,
		(SELECT assigned_count FROM tasks WHERE id = ?) AS assigned_count,
		(SELECT status FROM tasks WHERE id = ?) AS status`, tk.ID, tk.ID, tk.ID, tk.ID).Scan(&st).Error; err != nil {
		return err
	}
	fmt.Printf("fanout: task %d to the root with include_suborgs, no filter: FanOut took %s; assignments=%d notifications=%d assigned_count=%d status=%s (want %d each)\n",
		tk.ID, ms(took), st.Assignments, st.Notifications, st.AssignedCount, st.Status, res.Approved)
	fmt.Printf("goal fan-out to %d members < %s: %s: %s\n", res.Approved, goalFanOut, ms(took), verdict(took < goalFanOut))
	want := int64(res.Approved)
	if st.Assignments != want || st.Notifications != want || st.AssignedCount != want || st.Status != string(task.StatusOpen) {
		return errors.New("fan-out verification failed")
	}
	return nil
}

// ---------------------------------------------------------------- figures

func verdict(ok bool) string {
	if ok {
		return "goal met"
	}
	return "goal missed"
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// pct sorts lat and formats its percentiles.
func pct(lat []time.Duration) string {
	if len(lat) == 0 {
		return "(none)"
	}
	slices.Sort(lat)
	return fmt.Sprintf("p50=%s p90=%s p99=%s max=%s", ms(percentile(lat, 0.5)), ms(percentile(lat, 0.9)),
		ms(percentile(lat, 0.99)), ms(lat[len(lat)-1]))
}

// ms formats a duration in milliseconds, two decimals below 10 ms.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0fms", f)
	case f >= 10:
		return fmt.Sprintf("%.1fms", f)
	}
	return fmt.Sprintf("%.2fms", f)
}
