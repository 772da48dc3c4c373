// Command checkinbench measures the daily check-in (POST /api/v1/checkins)
// of a running server at scale, and the fan-out of one task to every member
// of a big tree. scripts/bench-checkin.sh drives it: seed, start the server,
// load, verify, stop the server, fan-out. It lives under server/ because it
// uses the server's internal packages.
//
// Usage:
//
//	checkinbench -mode seed   -db URL [-redis URL] [-prefix bcheck:] [-members 300000] [-orgs 1000] -tokens FILE
//	checkinbench -mode load   -url http://127.0.0.1:18082 [-baseline http://127.0.0.1:18182] [-baseline-users 500000]
//	                          -tokens FILE -counts FILE [-c 64] [-d 10s] [-warmup 2s] [-runs 3] [-scenario new,mix]
//	checkinbench -mode verify -db URL [-redis URL] [-prefix bcheck:] -counts FILE
//	checkinbench -mode fanout -db URL [-redis URL] [-prefix bcheck:] [-namespace bcheck] [-targets 10000] [-runs 3]
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
//	        -warmup (not measured) and then -d, -runs times per scenario, and
//	        after each run the same against the bare-stack baseline's POST
//	        /checkin (-baseline; X-User 1..-baseline-users, which it seeded)
//	        with the same workers and durations. Scenario new: every request
//	        is a member's first check-in of the day (201), members taken in
//	        order across the runs; if they run out, the run is measured up to
//	        that moment and says so. Scenario mix: every second request of a
//	        worker repeats a check-in already made today (a phone retrying:
//	        200 from Xianfeng, 409 from the baseline), a member that checked
//	        in before the run. Each body carries a unique request_id, a
//	        position and an accuracy. It prints one line per run and target
//	        (throughput, latency percentiles, p99 of new and repeated
//	        check-ins, status counts), then a table of medians, spreads and
//	        ratios to the baseline, judged against the goal (at least 0.6 of
//	        the baseline's throughput, p99 at most twice its p99), and
//	        writes to -counts how many distinct members got a 201 (warm-up
//	        included) for verify. Exits 1 on any transport error or status
//	        other than those two (for either server), or a member with two
//	        201s.
//	verify  checks that the checkins table holds exactly one row per
//	        (user, org, day) and per (user, day), that the number of rows equals
//	        the number of distinct members that got a 201, and that the live
//	        board's root counter in Redis agrees. Exits 1 if not.
//	fanout  seeds a fresh database with a tree whose root subtree has exactly
//	        -targets approved members, then -runs times creates a task for the
//	        root with include_suborgs and no filter through task.Service.Create
//	        (as the root secretary), runs the real task.Service.FanOut on it
//	        directly (with the notification inbox app.New wires), times it
//	        and checks that assignments and notifications both number
//	        -targets; beside it, the bare stack's figure: the same rows
//	        written again by one transaction of 1,000-row INSERTs into empty
//	        copies of the two tables. Goal: under 1 s. Exits 1 if a check
//	        fails.
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
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
	"xianfeng/scripts/benchfig"
	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
)

// Goals of the issue: check-ins at 0.6 of the bare stack's throughput with
// a p99 at most twice its p99, measured in the same run; fan-out under 1 s.
const (
	goalRatio    = 0.6
	goalP99Ratio = 2.0
	goalFanOut   = time.Second
)

type options struct {
	mode string
	benchapp.Flags
	benchapp.Tree
	prefix               string
	namespace            string
	targets              int
	tokens, counts       string
	url, baseline        string
	baseUsers            int
	runs                 int
	scenario             string
	c                    int
	d, warmup            time.Duration
	sessionTTL           time.Duration
	sessionWorkers       int
	fanoutOrgs, fanBatch int
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "seed, load, verify or fanout")
	o.Flags.Register("scratch database (seed, verify, fanout)")
	flag.StringVar(&o.prefix, "prefix", "bcheck:", "Redis key prefix; must be the server's APP_REDIS_KEY_PREFIX")
	flag.StringVar(&o.namespace, "namespace", "bcheck", "asynq namespace (fanout enqueues its job there; nothing runs it)")
	o.Tree.Register(1000, 300000, " (seed)")
	flag.IntVar(&o.targets, "targets", 10000, "approved members under the root to fan a task out to (fanout)")
	flag.IntVar(&o.fanoutOrgs, "fanout-orgs", 200, "orgs of the fan-out tree (fanout)")
	flag.StringVar(&o.tokens, "tokens", "", "file of \"<token> <user id>\" lines (seed writes, load reads)")
	flag.StringVar(&o.counts, "counts", "", "file of the load's 201 counts (load writes, verify reads)")
	flag.StringVar(&o.url, "url", "http://127.0.0.1:18082", "base URL of the server (load)")
	flag.StringVar(&o.baseline, "baseline", "", "base URL of the bare-stack baseline, measured after each run with the same load (load; empty: none)")
	flag.IntVar(&o.baseUsers, "baseline-users", 500000, "sessions the baseline seeded, sess:1..N (its SEED_SESSIONS) (load)")
	flag.IntVar(&o.runs, "runs", benchfig.Runs(), "runs of each measurement (load, fanout; default XF_BENCH_RUNS or 3)")
	flag.StringVar(&o.scenario, "scenario", "new,mix", "new (every request a member's first check-in of the day), mix (every second one a repeat), or both (load)")
	flag.IntVar(&o.c, "c", 64, "concurrent keep-alive clients (load)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "measured duration (load)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up (load)")
	flag.DurationVar(&o.sessionTTL, "session-ttl", time.Hour, "lifetime of the seeded sessions (seed)")
	flag.IntVar(&o.sessionWorkers, "session-workers", 32, "concurrent session writers (seed)")
	benchapp.Main(func() string { return "checkinbench " + o.mode }, func() bool {
		return o.c >= 1 && o.d > 0 && o.warmup >= 0 && o.sessionWorkers >= 1 && o.runs >= 1 && o.baseUsers >= 1
	}, func() error {
		o.url = strings.TrimRight(o.url, "/")
		o.baseline = strings.TrimRight(o.baseline, "/")
		switch o.mode {
		case "seed":
			return seed(o)
		case "load":
			return load(o)
		case "verify":
			return verify(o)
		case "fanout":
			return fanout(o)
		}
		fmt.Fprintf(os.Stderr, "checkinbench: -mode must be seed, load, verify or fanout, got %q\n", o.mode)
		os.Exit(2)
		return nil
	})
}

// open builds the real app on the database, as the server would with the
// same APP_* settings.
func open(ctx context.Context, o options, migrate bool) (*app.App, config.Config, error) {
	if o.DB == "" {
		return nil, config.Config{}, errors.New("-db is required")
	}
	cfg, err := benchapp.Settings{Flags: o.Flags, Prefix: o.prefix, Namespace: o.namespace, LogLevel: "error"}.Config()
	if err != nil {
		return nil, cfg, err
	}
	if err := benchapp.WarnUnlessPostgres("checkinbench", o.DB); err != nil {
		return nil, cfg, err
	}
	a, err := benchapp.Open(ctx, cfg, app.Options{Migrate: migrate})
	return a, cfg, err
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
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.Orgs, Members: o.Members})
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

// target is a server under load: Xianfeng or the baseline. Its users are
// numbered 0..pool-1; next hands out the ones that have not checked in yet,
// in order, across all the runs.
type target struct {
	name             string
	pool             int
	next             atomic.Int64
	created, already int // the status of a new check-in and of a repeat
	send             func(i int, body []byte) (int, error)
	got201           []atomic.Int32 // per user, warm-up included (Xianfeng only)
	requests, errors atomic.Int64
	firstErr         atomic.Pointer[string]
}

// runResult is what one run of one target measured.
type runResult struct {
	all, fresh, again []time.Duration // sorted
	elapsed           time.Duration
	byStatus          map[int]int
	ranOut            time.Duration // into the measurement; -1 if not
}

func (r *runResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.all)) / r.elapsed.Seconds()
}

// run drives one target for a warm-up and a measurement. With mix, every
// second request of a worker repeats a check-in already made today: one of
// the users that checked in before this run, or else the worker's previous
// one.
func (tg *target) run(o options, mix bool) (*runResult, error) {
	before := int(min(tg.next.Load(), int64(tg.pool)))
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	stopAt := measureFrom.Add(o.d)
	per := int(o.d.Seconds()*20000)/o.c + 64
	out := make([][]sample, o.c)
	lastDone := make([]time.Time, o.c)
	ranOut := make([]time.Time, o.c)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var wg sync.WaitGroup
	for w := range o.c {
		wg.Go(func() {
			samples := make([]sample, 0, per)
			body := make([]byte, 0, 160)
			rnd := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			prev := -1
			for n := 0; ; n++ {
				if !time.Now().Before(stopAt) {
					break
				}
				var i int
				if mix && n%2 == 1 && (before > 0 || prev >= 0) {
					if before > 0 {
						i = rnd.IntN(before)
					} else {
						i = prev
					}
				} else {
					k := tg.next.Add(1) - 1
					if k >= int64(tg.pool) {
						ranOut[w] = time.Now()
						break
					}
					i = int(k)
					prev = i
				}
				t0 := time.Now()
				body = append(body[:0], `{"request_id":"`...)
				body = append(body, run...)
				body = append(body, '-')
				body = strconv.AppendInt(body, int64(w), 10)
				body = append(body, '-')
				body = strconv.AppendInt(body, int64(n), 10)
				body = append(body, `","lat":`...)
				body = strconv.AppendFloat(body, 36.0+float64(i%1000)/10000, 'f', 6, 64)
				body = append(body, `,"lng":`...)
				body = strconv.AppendFloat(body, 120.3+float64(i/1000%1000)/10000, 'f', 6, 64)
				body = append(body, `,"accuracy_m":`...)
				body = strconv.AppendInt(body, int64(5+i%60), 10)
				body = append(body, '}')
				status, err := tg.send(i, body)
				t1 := time.Now()
				tg.requests.Add(1)
				switch {
				case err != nil:
					tg.errors.Add(1)
					e := fmt.Sprintf("%s user %d: %v", tg.name, i, err)
					tg.firstErr.CompareAndSwap(nil, &e)
				case status == tg.created:
					if tg.got201 != nil {
						tg.got201[i].Add(1)
					}
				case status != tg.already:
					tg.errors.Add(1)
					e := fmt.Sprintf("%s user %d: status %d", tg.name, i, status)
					tg.firstErr.CompareAndSwap(nil, &e)
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

	r := &runResult{byStatus: map[int]int{}, ranOut: -1}
	last := measureFrom
	for w, ss := range out {
		for _, s := range ss {
			r.all = append(r.all, s.lat)
			r.byStatus[int(s.status)]++
			switch int(s.status) {
			case tg.created:
				r.fresh = append(r.fresh, s.lat)
			case tg.already:
				r.again = append(r.again, s.lat)
			}
		}
		if lastDone[w].After(last) {
			last = lastDone[w]
		}
		if !ranOut[w].IsZero() && (r.ranOut < 0 || ranOut[w].Sub(measureFrom) < r.ranOut) {
			r.ranOut = max(0, ranOut[w].Sub(measureFrom))
		}
	}
	if r.ranOut == 0 || len(r.all) == 0 {
		return nil, fmt.Errorf("%s: its %d users ran out before the measurement: seed more (-members, -baseline-users)", tg.name, tg.pool)
	}
	r.elapsed = last.Sub(measureFrom)
	for _, l := range [][]time.Duration{r.all, r.fresh, r.again} {
		slices.Sort(l)
	}
	return r, nil
}

func (r *runResult) line(tg *target) string {
	keys := slices.Sorted(maps.Keys(r.byStatus))
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := strconv.Itoa(k)
		if k == 0 {
			name = "transport-error"
		}
		parts[i] = fmt.Sprintf("%s:%d", name, r.byStatus[k])
	}
	s := fmt.Sprintf("%-9s req=%d rps=%.0f %s; new (%d) %s; repeat (%d) %s; status %s",
		tg.name, len(r.all), r.rate(), benchfig.Percentiles(r.all), tg.created, p99(r.fresh), tg.already, p99(r.again), strings.Join(parts, " "))
	if r.ranOut >= 0 {
		s += fmt.Sprintf("; RAN OUT of users %s into the measurement, measured until then", benchfig.Latency(r.ranOut))
	}
	return s
}

func p99(lat []time.Duration) string {
	if len(lat) == 0 {
		return "none"
	}
	return fmt.Sprintf("n=%d p99=%s", len(lat), benchfig.Latency(benchfig.Percentile(lat, 0.99)))
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
			MaxIdleConns:        2 * o.c,
			MaxIdleConnsPerHost: o.c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	var scen []string
	for s := range strings.SplitSeq(o.scenario, ",") {
		switch s = strings.TrimSpace(s); s {
		case "new", "mix":
			scen = append(scen, s)
		default:
			return fmt.Errorf("-scenario: unknown %q (want new, mix or both)", s)
		}
	}
	xurl := o.url + "/api/v1/checkins"
	xf := &target{name: "xianfeng", pool: len(mem), created: http.StatusCreated, already: http.StatusOK,
		got201: make([]atomic.Int32, len(mem)),
		send: func(i int, body []byte) (int, error) {
			return post(client, xurl, "Authorization", "Bearer "+mem[i].token, body)
		},
	}
	targets := []*target{xf}
	if o.baseline != "" {
		burl := o.baseline + "/checkin"
		targets = append(targets, &target{name: "baseline", pool: o.baseUsers, created: http.StatusCreated, already: http.StatusConflict,
			// The baseline's sessions are sess:1..N.
			send: func(i int, body []byte) (int, error) { return post(client, burl, "X-User", strconv.Itoa(i+1), body) },
		})
	}
	fmt.Printf("load: %d members with a session, %d clients, warm-up %s, measured %s, %d runs of %s; POST %s",
		len(mem), o.c, o.warmup, o.d, o.runs, strings.Join(scen, " and "), xurl)
	if o.baseline != "" {
		fmt.Printf(", beside the baseline's POST %s/checkin (%d users) after each run", o.baseline, o.baseUsers)
	}
	fmt.Println()
	start := time.Now()
	type series struct{ rps, p99 []float64 }
	figures := map[string]map[string]*series{} // scenario → target → series
	var errs []error
	for _, sc := range scen {
		figures[sc] = map[string]*series{"xianfeng": {}, "baseline": {}}
	runs:
		for run := 1; run <= o.runs; run++ {
			for _, tg := range targets {
				r, err := tg.run(o, sc == "mix")
				if err != nil {
					fmt.Printf("run %d/%d %-3s %s: %v: the remaining runs of %s are skipped\n", run, o.runs, sc, tg.name, err, sc)
					errs = append(errs, err)
					break runs
				}
				fmt.Printf("run %d/%d %-3s %s\n", run, o.runs, sc, r.line(tg))
				s := figures[sc][tg.name]
				s.rps = append(s.rps, r.rate())
				s.p99 = append(s.p99, benchfig.Ms(benchfig.Percentile(r.all, 0.99)))
			}
		}
	}
	finished := time.Now()

	label := map[string]string{"new": "check-in, new", "mix": "check-in, half repeats"}
	var figs []benchfig.Figure
	for _, sc := range scen {
		x, b := figures[sc]["xianfeng"], figures[sc]["baseline"]
		thr := benchfig.Figure{Name: label[sc] + ": throughput", Unit: benchfig.PerSecond, Values: x.rps, Base: b.rps, Goal: benchfig.Goal{MinRatio: goalRatio}}
		lat := benchfig.Figure{Name: label[sc] + ": p99", Unit: benchfig.Millis, Values: x.p99, Base: b.p99, Goal: benchfig.Goal{MaxRatio: goalP99Ratio}}
		figs = append(figs, thr, lat)
		fmt.Printf("goal %s: ≥ %.1f × the baseline's throughput and p99 ≤ %g × its p99: %.2f and %.2f: %s\n",
			label[sc], goalRatio, goalP99Ratio, thr.Ratio(), lat.Ratio(), benchfig.Verdict(thr.Met() && lat.Met()))
	}
	title := fmt.Sprintf("summary of checkinbench (c=%d, d=%s, warm-up %s, %d runs; baseline: POST /checkin of the bare-stack server, same run)", o.c, o.d, o.warmup, o.runs)
	if o.baseline == "" {
		title += " — no baseline given: ratios and their goals cannot be judged"
	}
	if err := benchfig.Table(os.Stdout, title, figs); err != nil {
		return err
	}

	c := counts{Members: len(mem), Requests: xf.requests.Load(), Errors: xf.errors.Load(), StartedAt: start.Unix(), FinishedAt: finished.Unix()}
	for i := range xf.got201 {
		n := int64(xf.got201[i].Load())
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
	fmt.Printf("load: %d members got a 201 (%d 201 answers in all, warm-up included), %d left unused\n", c.Distinct, c.Created, max(0, int64(len(mem))-xf.next.Load()))
	for _, tg := range targets {
		if n := tg.errors.Load(); n > 0 {
			errs = append(errs, fmt.Errorf("%s: %d of %d requests failed, e.g. %s", tg.name, n, tg.requests.Load(), *tg.firstErr.Load()))
		}
	}
	if c.Repeated > 0 {
		errs = append(errs, fmt.Errorf("%d members got more than one 201", c.Repeated))
	}
	return errors.Join(errs...)
}

// post sends one check-in with one header and reads the whole answer.
func post(client *http.Client, url, header, value string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, value)
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
	fmt.Printf("goal one row per member and day, rows = members with a 201: %s\n", benchfig.Verdict(ok))
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
	sqlDB, err := a.DB.DB.DB()
	if err != nil {
		return err
	}
	yard, err := newYardstick(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("yardstick: %w", err)
	}
	want := int64(res.Approved)
	var took, bare []float64
	for run := 1; run <= o.runs; run++ {
		tk, _, err := a.Task.Create(ctx, res.RootSecretaryUserID, res.RootID, task.Input{
			Title: fmt.Sprintf("全员值守压测 %d", run), Description: "checkinbench fan-out", Kind: task.KindDuty,
			Target: task.Target{IncludeSuborgs: true},
		})
		if err != nil {
			return fmt.Errorf("create task: %w", err)
		}
		start := time.Now()
		if err := a.Task.FanOut(ctx, tk.ID); err != nil {
			return fmt.Errorf("fan-out: %w", err)
		}
		d := time.Since(start)
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
		y, rows, err := yard.run(ctx, tk.ID)
		if err != nil {
			return fmt.Errorf("yardstick: %w", err)
		}
		fmt.Printf("run %d/%d fanout: task %d to the root with include_suborgs, no filter: FanOut took %s; assignments=%d notifications=%d assigned_count=%d status=%s (want %d each); bare write of the same %d rows %s\n",
			run, o.runs, tk.ID, benchfig.Latency(d), st.Assignments, st.Notifications, st.AssignedCount, st.Status, want, rows, benchfig.Latency(y))
		if st.Assignments != want || st.Notifications != want || st.AssignedCount != want || st.Status != string(task.StatusOpen) {
			return errors.New("fan-out verification failed")
		}
		took = append(took, benchfig.Ms(d))
		bare = append(bare, benchfig.Ms(y))
	}
	fig := benchfig.Figure{Name: fmt.Sprintf("fan-out of one task to %s members", benchfig.Format(benchfig.Count, float64(want))),
		Unit: benchfig.Millis, Values: took, Base: bare, Goal: benchfig.Goal{Max: benchfig.Ms(goalFanOut)}}
	fmt.Printf("goal fan-out to %d members < %s: median %s: %s\n", want, goalFanOut, benchfig.Format(benchfig.Millis, benchfig.Median(took)), fig.Verdict())
	return benchfig.Table(os.Stdout, fmt.Sprintf("summary of checkinbench fan-out (%d runs; baseline: the same assignment and notification rows written by one transaction of 1,000-row INSERTs through pgx into empty copies of the two tables, same run)", o.runs),
		[]benchfig.Figure{fig})
}

// yardstick is the bare stack's fan-out: the least any fan-out must do once
// it knows its members is to write their assignment and notification rows.
// It writes the rows a FanOut made again, into empty copies of the two
// tables (same columns, defaults and indexes), in one transaction of
// 1,000-row INSERTs through database/sql on pgx, and times that.
type yardstick struct {
	db     *sql.DB
	tables []yardTable
}

type yardTable struct {
	from, to, where string
	cols, types     []string
}

func newYardstick(ctx context.Context, db *sql.DB) (*yardstick, error) {
	y := &yardstick{db: db, tables: []yardTable{
		{from: "assignments", to: "yard_assignments", where: "task_id = $1"},
		{from: "notifications", to: "yard_notifications", where: "ref_type = 'task' AND kind = 'task_assigned' AND ref_id = $1"},
	}}
	for i := range y.tables {
		t := &y.tables[i]
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+t.to+" (LIKE "+t.from+" INCLUDING ALL)"); err != nil {
			return nil, err
		}
		rows, err := db.QueryContext(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'id' ORDER BY attnum`, t.from)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			t.cols = append(t.cols, `"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
			t.types = append(t.types, typ)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// run writes the rows of one task again and returns how long that took and
// how many rows it wrote.
func (y *yardstick) run(ctx context.Context, taskID int64) (time.Duration, int, error) {
	type batch struct {
		sql  string
		args []any
	}
	var batches []batch
	total := 0
	for _, t := range y.tables {
		if _, err := y.db.ExecContext(ctx, "TRUNCATE "+t.to); err != nil {
			return 0, 0, err
		}
		sel := make([]string, len(t.cols))
		for i, c := range t.cols {
			sel[i] = c + "::text"
		}
		rows, err := y.db.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+t.from+" WHERE "+t.where, taskID)
		if err != nil {
			return 0, 0, err
		}
		var all [][]any
		for rows.Next() {
			vals := make([]sql.NullString, len(t.cols))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return 0, 0, err
			}
			row := make([]any, len(vals))
			for i, v := range vals {
				if v.Valid {
					row[i] = v.String
				}
			}
			all = append(all, row)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, 0, err
		}
		total += len(all)
		for start := 0; start < len(all); start += 1000 {
			chunk := all[start:min(start+1000, len(all))]
			var b strings.Builder
			b.WriteString("INSERT INTO " + t.to + " (" + strings.Join(t.cols, ", ") + ") VALUES ")
			args := make([]any, 0, len(chunk)*len(t.cols))
			for r, row := range chunk {
				if r > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('(')
				for i := range row {
					if i > 0 {
						b.WriteString(", ")
					}
					args = append(args, row[i])
					fmt.Fprintf(&b, "$%d::%s", len(args), t.types[i])
				}
				b.WriteByte(')')
			}
			batches = append(batches, batch{sql: b.String(), args: args})
		}
	}
	start := time.Now()
	tx, err := y.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	for _, b := range batches {
		if _, err := tx.ExecContext(ctx, b.sql, b.args...); err != nil {
			_ = tx.Rollback()
			return 0, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), total, nil
}
