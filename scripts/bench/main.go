// Command bench is a small HTTP load generator for the Xianfeng API's hot
// paths and for the bare-stack yardstick measured beside it, using only the
// standard library (and scripts/benchfig for the figures).
// scripts/bench.sh builds the server and the baseline, starts both and runs
// this against them.
//
// Usage:
//
//	go run ./scripts/bench [-url http://127.0.0.1:8080] [-baseline http://127.0.0.1:18181]
//		[-c 64] [-d 10s] [-warmup 2s] [-runs 3] [-scenario all|login,me,idle]
//		[-idle-sessions 260000] [-idle-age 61s]
//
// Scenarios:
//
//	login  POST /api/v1/auth/login {"code":"mock:bench-<worker>-<n mod 100>"}
//	       (the server must run the WeChat mock). Each worker cycles through
//	       100 users, all created before the first run, so the figures are
//	       the steady state of a login: code2session mock, user lookup,
//	       session creation.
//	me     logs in one user per worker, then GET /api/v1/me with its bearer
//	       token: a session used many times a minute.
//	idle   GET /api/v1/me where every request uses a session that nobody has
//	       used for more than -idle-age (61 s): the sessions that a member
//	       opening the app after a while brings, and that the server must
//	       look up and extend. They are made by logging in -idle-sessions
//	       times before the first run, plus the sessions the login runs
//	       create; each is used once, oldest first, and a request whose
//	       session is not old enough yet waits for it (the wait is printed).
//	       If they run out, the run ends there and says so.
//	all    login, me and idle.
//
// With -baseline, every round of login and me is followed by one run of the
// baseline's GET /r1 (gin and one Redis GET) with the same workers and
// durations, and the figures of me and idle are printed beside it: the goal
// is at least 0.55 of its throughput with a p99 at most twice its p99.
//
// Each scenario runs -runs times; each run has -c workers, each sending one
// request at a time over one shared keep-alive transport, for -warmup (not
// measured) and then -d. It prints one line per run with requests,
// throughput, latency percentiles and errors by status (any non-2xx answer
// or transport error is an error), then a table of medians, spreads (min–max)
// and ratios to the baseline (scripts/benchfig), and exits 1 if more than 1%
// of the requests of any run failed.
package main

import (
	"bytes"
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

	"xianfeng/scripts/benchfig"
)

// Goals of the issue, as ratios to the baseline's GET /r1.
const (
	goalMeRatio  = 0.55
	goalP99Ratio = 2
)

type options struct {
	url, baseline string
	c             int
	d             time.Duration
	warmup        time.Duration
	runs          int
	scenario      string
	idleSessions  int
	idleAge       time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	flag.StringVar(&o.baseline, "baseline", "", "base URL of the bare-stack baseline (GET /r1); empty: none")
	flag.IntVar(&o.c, "c", 64, "concurrent workers (connections)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "measured duration of each run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each run")
	flag.IntVar(&o.runs, "runs", benchfig.Runs(), "runs of each scenario (default: XF_BENCH_RUNS or 3)")
	flag.StringVar(&o.scenario, "scenario", "all", "all, or a comma-separated list of login, me, idle")
	// Three runs of about 11,000/s for 10 s plus their warm-ups use some
	// 330,000 sessions; the login runs add about 90,000 (a 100,000 default
	// ran out in the third run on 2026-12-02).
	flag.IntVar(&o.idleSessions, "idle-sessions", 260000, "sessions made before the first run for the idle scenario")
	flag.DurationVar(&o.idleAge, "idle-age", 61*time.Second, "how long an idle session has not been used")
	flag.Parse()
	o.url = strings.TrimRight(o.url, "/")
	o.baseline = strings.TrimRight(o.baseline, "/")
	if o.c < 1 || o.d <= 0 || o.warmup < 0 || o.runs < 1 || o.idleSessions < 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	want := map[string]bool{}
	for s := range strings.SplitSeq(o.scenario, ",") {
		switch s = strings.TrimSpace(s); s {
		case "all":
			want["login"], want["me"], want["idle"] = true, true, true
		case "login", "me", "idle":
			want[s] = true
		default:
			fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (want all, or login, me, idle)\n", s)
			os.Exit(2)
		}
	}
	b := &bench{opts: o, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // never send the load through a proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        o.c,
			MaxIdleConnsPerHost: o.c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}}
	if err := b.main(want); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

type bench struct {
	opts   options
	client *http.Client
	failed bool // some run had more than 1% errors

	// Sessions for the idle scenario, oldest first; next is the first unused.
	idle     []idleSession
	idleNext atomic.Int64
}

type idleSession struct {
	token string
	at    time.Time // made (by a login) at
}

// series is the per-run figures of one scenario.
type series struct{ rps, p99 []float64 }

func (s *series) add(r *result) {
	s.rps = append(s.rps, r.rate())
	s.p99 = append(s.p99, benchfig.Ms(r.percentile(0.99)))
}

func (b *bench) main(want map[string]bool) error {
	o := b.opts
	var login, me, idle, r1 series
	meReqs, loginReqs := make([]func(int) request, o.c), make([]func(int) request, o.c)
	if want["login"] || want["idle"] {
		// Create the 100 users of every worker first, so that the measured
		// logins (and the idle sessions) find existing users.
		t0 := time.Now()
		if err := b.parallel(o.c, func(w int) error {
			for n := range 100 {
				if _, err := b.login(fmt.Sprintf("mock:bench-%d-%d", w, n)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("create users: %w", err)
		}
		fmt.Printf("created %d users in %s\n", o.c*100, ms(time.Since(t0)))
		for w := range o.c {
			loginReqs[w] = func(n int) request {
				body := []byte(`{"code":"mock:bench-` + strconv.Itoa(w) + "-" + strconv.Itoa(n%100) + `"}`)
				return request{method: http.MethodPost, url: o.url + "/api/v1/auth/login", body: body}
			}
		}
	}
	if want["me"] {
		tokens := make([]string, o.c)
		if err := b.parallel(o.c, func(w int) error {
			tok, err := b.login(fmt.Sprintf("mock:bench-me-%d", w))
			tokens[w] = tok
			return err
		}); err != nil {
			return fmt.Errorf("log in: %w", err)
		}
		for w := range o.c {
			req := request{method: http.MethodGet, url: o.url + "/api/v1/me", token: tokens[w]}
			meReqs[w] = func(int) request { return req }
		}
	}
	if want["idle"] {
		if err := b.prepareIdle(); err != nil {
			return err
		}
	}

	r1Reqs := make([]func(int) request, o.c)
	for w := range o.c {
		req := request{method: http.MethodGet, url: o.baseline + "/r1"}
		r1Reqs[w] = func(int) request { return req }
	}
	baseline := o.baseline != "" && (want["me"] || want["idle"])
	for run := 1; run <= o.runs; run++ {
		if want["login"] {
			res, err := b.run(spec{name: "login", next: loginReqs, capture: want["idle"]})
			if err != nil {
				return err
			}
			b.report(run, "login", res)
			login.add(res)
		}
		if want["me"] {
			res, err := b.run(spec{name: "me", next: meReqs})
			if err != nil {
				return err
			}
			b.report(run, "me", res)
			me.add(res)
		}
		if baseline {
			res, err := b.run(spec{name: "baseline /r1", next: r1Reqs})
			if err != nil {
				return err
			}
			b.report(run, "base/r1", res)
			r1.add(res)
		}
	}
	if want["idle"] {
		for run := 1; run <= o.runs; run++ {
			res, err := b.run(spec{name: "idle", idle: true})
			if err != nil {
				return err
			}
			b.report(run, "idle-me", res)
			idle.add(res)
		}
	}

	var figs []benchfig.Figure
	noBase := "no bare-stack equivalent"
	if want["login"] {
		figs = append(figs,
			benchfig.Figure{Name: "login: throughput", Unit: benchfig.PerSecond, Values: login.rps, Note: noBase},
			benchfig.Figure{Name: "login: p99", Unit: benchfig.Millis, Values: login.p99, Note: noBase})
	}
	add := func(name string, s series) {
		figs = append(figs,
			benchfig.Figure{Name: name + ": throughput vs /r1", Unit: benchfig.PerSecond, Values: s.rps, Base: r1.rps, Goal: benchfig.Goal{MinRatio: goalMeRatio}},
			benchfig.Figure{Name: name + ": p99 vs /r1", Unit: benchfig.Millis, Values: s.p99, Base: r1.p99, Goal: benchfig.Goal{MaxRatio: goalP99Ratio}})
	}
	if want["me"] {
		add("GET /me", me)
	}
	if want["idle"] {
		add("GET /me, sessions idle > 1 min", idle)
	}
	title := fmt.Sprintf("summary of scripts/bench (c=%d, d=%s, warm-up %s, %d runs; baseline: GET /r1 of the bare-stack server, same run)", o.c, o.d, o.warmup, o.runs)
	if !baseline {
		title += " — no baseline given: ratios and their goals cannot be judged"
	}
	if err := benchfig.Table(os.Stdout, title, figs); err != nil {
		return err
	}
	if b.failed {
		return errors.New("error rate above 1% in at least one run")
	}
	return nil
}

// prepareIdle logs in -idle-sessions times and keeps the sessions, oldest
// first, for the idle runs.
func (b *bench) prepareIdle() error {
	o := b.opts
	t0 := time.Now()
	per := make([][]idleSession, o.c)
	var next atomic.Int64
	err := b.parallel(o.c, func(w int) error {
		for {
			n := next.Add(1) - 1
			if n >= int64(o.idleSessions) {
				return nil
			}
			tok, err := b.login(fmt.Sprintf("mock:bench-%d-%d", w, n%100))
			if err != nil {
				return err
			}
			per[w] = append(per[w], idleSession{token: tok, at: time.Now()})
		}
	})
	if err != nil {
		return fmt.Errorf("make idle sessions: %w", err)
	}
	b.addIdle(per)
	fmt.Printf("made %d sessions for the idle runs in %s (the login runs add theirs)\n", len(b.idle), ms(time.Since(t0)))
	return nil
}

// addIdle appends sessions, sorted by when they were made.
func (b *bench) addIdle(per [][]idleSession) {
	var all []idleSession
	for _, s := range per {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(x, y idleSession) int { return x.at.Compare(y.at) })
	b.idle = append(b.idle, all...)
}

// request is one prepared request of a worker.
type request struct {
	method, url, token string
	body               []byte
}

// spec is what one run sends.
type spec struct {
	name    string
	next    []func(n int) request // per worker
	capture bool                  // keep the tokens of 200 answers as idle sessions
	idle    bool                  // GET /me with the next idle session
}

// result is what one run measured.
type result struct {
	latencies []time.Duration // every measured request, sorted by run
	elapsed   time.Duration
	errors    map[string]int // status code or "transport" -> count
	note      string
}

var tokenField = []byte(`"token":"`)

// run performs one warm-up and measurement.
func (b *bench) run(sp spec) (*result, error) {
	o := b.opts
	c := o.c
	start := time.Now()
	measureFrom := start.Add(o.warmup)
	stopAt := measureFrom.Add(o.d)
	// Room for about 20,000 requests a second without growing.
	per := int(o.d.Seconds()*20000)/c + 64
	type workerResult struct {
		lat      []time.Duration
		errs     map[string]int
		last     time.Time
		failed   error
		made     []idleSession
		waited   time.Duration
		ranOut   bool
		ranOutAt time.Time
	}
	out := make([]workerResult, c)
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			wr := workerResult{lat: make([]time.Duration, 0, per), errs: map[string]int{}}
			var buf bytes.Buffer
			for n := 0; ; n++ {
				var req request
				if sp.idle {
					i := b.idleNext.Add(1) - 1
					if i >= int64(len(b.idle)) {
						wr.ranOut, wr.ranOutAt = true, time.Now()
						break
					}
					s := b.idle[i]
					if wait := time.Until(s.at.Add(o.idleAge)); wait > 0 {
						wr.waited += wait
						time.Sleep(wait)
					}
					req = request{method: http.MethodGet, url: o.url + "/api/v1/me", token: s.token}
				} else {
					req = sp.next[w](n)
				}
				t0 := time.Now()
				if !t0.Before(stopAt) {
					break
				}
				var body *bytes.Buffer
				if sp.capture {
					buf.Reset()
					body = &buf
				}
				status, err := b.do(req, body)
				t1 := time.Now()
				if sp.capture && err == nil && status == http.StatusOK {
					if tok := extractToken(buf.Bytes()); tok != "" {
						wr.made = append(wr.made, idleSession{token: tok, at: t1})
					}
				}
				if t0.Before(measureFrom) {
					continue
				}
				wr.lat = append(wr.lat, t1.Sub(t0))
				wr.last = t1
				switch {
				case err != nil:
					wr.errs["transport"]++
					if wr.failed == nil {
						wr.failed = err
					}
				case status < 200 || status > 299:
					wr.errs[strconv.Itoa(status)]++
				}
			}
			out[w] = wr
		})
	}
	wg.Wait()

	res := &result{errors: map[string]int{}}
	last := measureFrom
	var firstErr error
	var waited time.Duration
	var ranOut time.Time
	total := 0
	made := make([][]idleSession, 0, c)
	for _, wr := range out {
		total += len(wr.lat)
	}
	res.latencies = make([]time.Duration, 0, total)
	for _, wr := range out {
		res.latencies = append(res.latencies, wr.lat...)
		for k, v := range wr.errs {
			res.errors[k] += v
		}
		if wr.last.After(last) {
			last = wr.last
		}
		if wr.failed != nil && firstErr == nil {
			firstErr = wr.failed
		}
		made = append(made, wr.made)
		waited += wr.waited
		if wr.ranOut && (ranOut.IsZero() || wr.ranOutAt.Before(ranOut)) {
			ranOut = wr.ranOutAt
		}
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %d transport errors, e.g. %v\n", sp.name, res.errors["transport"], firstErr)
	}
	if sp.capture {
		b.addIdle(made)
	}
	res.elapsed = last.Sub(measureFrom)
	slices.Sort(res.latencies)
	if sp.idle {
		left := max(0, int64(len(b.idle))-b.idleNext.Load())
		res.note = fmt.Sprintf("idle sessions left %d", left)
		if waited > 0 {
			res.note += fmt.Sprintf(", waited %s in all for sessions to reach %s", ms(waited), o.idleAge)
		}
		if !ranOut.IsZero() {
			if !ranOut.After(measureFrom) {
				return nil, fmt.Errorf("%s: the idle sessions ran out during the warm-up: raise -idle-sessions", sp.name)
			}
			res.note += fmt.Sprintf(", RAN OUT of idle sessions %s into the measurement (raise -idle-sessions)", ms(ranOut.Sub(measureFrom)))
		}
	}
	return res, nil
}

// extractToken finds the "token" of a login answer without decoding it all.
func extractToken(body []byte) string {
	i := bytes.Index(body, tokenField)
	if i < 0 {
		return ""
	}
	rest := body[i+len(tokenField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// report prints a run's line and notes a run with too many errors.
func (b *bench) report(run int, name string, r *result) {
	fmt.Printf("run %d/%d %s\n", run, b.opts.runs, r.line(name, b.opts))
	if r.errorRate() > 0.01 {
		b.failed = true
	}
}

// parallel runs f for each of c workers at once and returns the first error.
func (b *bench) parallel(c int, f func(w int) error) error {
	errs := make([]error, c)
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() { errs[w] = f(w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// login signs in with a mock code and returns the session token.
func (b *bench) login(code string) (string, error) {
	body, _ := json.Marshal(map[string]string{"code": code})
	req, err := http.NewRequest(http.MethodPost, b.opts.url+"/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: %s: %.200s", code, resp.Status, raw)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("login %s: no token in %.200s", code, raw)
	}
	return out.Token, nil
}

// do sends one request, reads the whole body (into keep, if not nil, else
// discarding it), and returns the status code.
func (b *bench) do(r request, keep *bytes.Buffer) (int, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, r.url, body)
	if err != nil {
		return 0, err
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	var dst io.Writer = io.Discard
	if keep != nil {
		dst = keep
	}
	_, err = io.Copy(dst, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func (r *result) failures() int {
	n := 0
	for _, v := range r.errors {
		n += v
	}
	return n
}

func (r *result) errorRate() float64 {
	if len(r.latencies) == 0 {
		return 1
	}
	return float64(r.failures()) / float64(len(r.latencies))
}

func (r *result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.elapsed.Seconds()
}

// percentile returns the latency below which fraction p of requests finished.
func (r *result) percentile(p float64) time.Duration { return benchfig.Percentile(r.latencies, p) }

func (r *result) line(name string, o options) string {
	var maxLat time.Duration
	if len(r.latencies) > 0 {
		maxLat = r.latencies[len(r.latencies)-1]
	}
	s := fmt.Sprintf("%-8s c=%d  d=%s  req=%d  rps=%.0f  p50=%s p90=%s p99=%s max=%s errors=%d",
		name, o.c, o.d, len(r.latencies), r.rate(),
		ms(r.percentile(0.50)), ms(r.percentile(0.90)), ms(r.percentile(0.99)), ms(maxLat), r.failures())
	if len(r.errors) > 0 {
		keys := make([]string, 0, len(r.errors))
		for k := range r.errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s:%d", k, r.errors[k])
		}
		s += " (" + strings.Join(parts, " ") + ")"
	}
	if r.note != "" {
		s += "; " + r.note
	}
	return s
}

// ms formats a latency in milliseconds with one decimal, or whole
// milliseconds from 100 ms up.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f >= 100 {
		return fmt.Sprintf("%.0fms", f)
	}
	return fmt.Sprintf("%.1fms", f)
}
