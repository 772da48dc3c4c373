// Package loadgen is the load generator the write benchmarks under
// server/cmd share (checkinbench, formbench): members with sessions seeded
// straight into Redis, keep-alive clients that drive a POST of a running
// server for a warm-up and a measurement, the same load on the bare-stack
// baseline's POST /checkin after each run, and the figures of the runs
// judged against the baseline of the same run.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
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

	"xianfeng/scripts/benchfig"
	"xianfeng/server/cmd/internal/drive"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/org"
)

// Options are the settings of a load and of the sessions it uses.
type Options struct {
	Tokens, Counts string
	URL, Baseline  string
	BaseUsers      int
	Runs           int
	C              int
	D, Warmup      time.Duration
	SessionTTL     time.Duration
	SessionWorkers int
}

// Register declares the load's flags; url is the server's default base URL.
func (f *Options) Register(url string) {
	flag.StringVar(&f.Tokens, "tokens", "", "file of \"<token> <user id>\" lines (seed writes, load reads)")
	flag.StringVar(&f.Counts, "counts", "", "file of the load's 201 counts (load writes, verify reads)")
	flag.StringVar(&f.URL, "url", url, "base URL of the server (load)")
	flag.StringVar(&f.Baseline, "baseline", "", "base URL of the bare-stack baseline, measured after each run with the same load (load; empty: none)")
	flag.IntVar(&f.BaseUsers, "baseline-users", 500000, "sessions the baseline seeded, sess:1..N (its SEED_SESSIONS) (load)")
	flag.IntVar(&f.Runs, "runs", benchfig.Runs(), "runs of each measurement (default XF_BENCH_RUNS or 3)")
	flag.IntVar(&f.C, "c", 64, "concurrent keep-alive clients (load)")
	flag.DurationVar(&f.D, "d", 10*time.Second, "measured duration (load)")
	flag.DurationVar(&f.Warmup, "warmup", 2*time.Second, "unmeasured warm-up (load)")
	flag.DurationVar(&f.SessionTTL, "session-ttl", time.Hour, "lifetime of the seeded sessions (seed)")
	flag.IntVar(&f.SessionWorkers, "session-workers", 32, "concurrent session writers (seed)")
}

// Valid reports whether the flags make sense; it trims the URLs.
func (f *Options) Valid() bool {
	f.URL = strings.TrimRight(f.URL, "/")
	f.Baseline = strings.TrimRight(f.Baseline, "/")
	return f.C >= 1 && f.D > 0 && f.Warmup >= 0 && f.SessionWorkers >= 1 && f.Runs >= 1 && f.BaseUsers >= 1
}

// ---------------------------------------------------------------- sessions

// Sessions creates one session per approved ordinary member of the app's
// database directly in Redis under prefix (the server must use the same
// APP_REDIS_KEY_PREFIX) and writes "<token> <user id>" lines to f.Tokens.
// The tokens are test credentials of a scratch database.
func Sessions(ctx context.Context, a *app.App, prefix string, f Options) error {
	if f.Tokens == "" {
		return errors.New("-tokens is required")
	}
	var users []struct {
		UserID int64
		OpenID string
	}
	if err := a.DB.Table("memberships AS m").Select("m.user_id, u.open_id").Joins("JOIN users u ON u.id = m.user_id").
		Where("m.status = ? AND m.role = ?", org.StatusApproved, org.RoleMember).Order("m.id").Scan(&users).Error; err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	start := time.Now()
	sessions := auth.NewSessions(a.Redis, prefix, f.SessionTTL)
	tokens := make([]string, len(users))
	var failed atomic.Pointer[error] // the writers stop at the first error
	drive.Each(len(users), f.SessionWorkers, func(i int) {
		if failed.Load() != nil {
			return
		}
		var err error
		if tokens[i], _, err = sessions.Create(ctx, auth.Session{UserID: users[i].UserID, OpenID: users[i].OpenID}); err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	})
	if err := failed.Load(); err != nil {
		return fmt.Errorf("create sessions: %w", *err)
	}
	var buf bytes.Buffer
	for i, u := range users {
		buf.WriteString(tokens[i])
		buf.WriteByte(' ')
		buf.WriteString(strconv.FormatInt(u.UserID, 10))
		buf.WriteByte('\n')
	}
	if err := os.WriteFile(f.Tokens, buf.Bytes(), 0o600); err != nil {
		return err
	}
	fmt.Printf("seed: %d sessions (one per approved member, key prefix %s) created in Redis in %s\n",
		len(users), prefix, time.Since(start).Round(time.Millisecond))
	return nil
}

// Member is a member with a session.
type Member struct {
	Token  string
	UserID int64
}

// ReadTokens reads the members Sessions wrote.
func ReadTokens(path string) ([]Member, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ms []Member
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
		ms = append(ms, Member{Token: tok, UserID: uid})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return ms, nil
}

// ---------------------------------------------------------------- load

// Client returns an HTTP client with c keep-alive connections per host.
func Client(c int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2 * c,
			MaxIdleConnsPerHost: c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// Post sends one JSON body with one header and reads the whole answer into
// answer (io.Discard: the load, which only counts statuses).
func Post(client *http.Client, url, header, value string, body []byte, answer io.Writer) (int, error) {
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
	_, err = io.Copy(answer, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// Fields appends to a request's JSON body, after its request_id, the
// members of user i's request, each preceded by a comma.
type Fields func(b []byte, i int) []byte

// Target is a server under load: Xianfeng or the baseline. Its users are
// numbered 0..Pool-1; Next hands out the ones that have not written yet,
// in order, across all the runs.
type Target struct {
	Name             string
	Pool             int
	Next             atomic.Int64
	Created, Already int // the status of a new write and of a repeat
	Send             func(i int, body []byte) (int, error)
	Got201           []atomic.Int32 // per user, warm-up included (Xianfeng only)
	Fields           Fields
	requests, errors atomic.Int64
	firstErr         atomic.Pointer[string]
}

// Xianfeng is the server at url (a path of POST) for the members, its new
// writes answered 201 and repeats 200, counting the 201s of each member.
func Xianfeng(client *http.Client, url string, mem []Member, fields Fields) *Target {
	return &Target{Name: "xianfeng", Pool: len(mem), Created: http.StatusCreated, Already: http.StatusOK,
		Got201: make([]atomic.Int32, len(mem)), Fields: fields,
		Send: func(i int, body []byte) (int, error) {
			return Post(client, url, "Authorization", "Bearer "+mem[i].Token, body, io.Discard)
		},
	}
}

// Baseline is the bare-stack server's POST /checkin at base for users
// sess:1..users, which it seeded; a repeat is 409 there.
func Baseline(client *http.Client, base string, users int, fields Fields) *Target {
	url := base + "/checkin"
	return &Target{Name: "baseline", Pool: users, Created: http.StatusCreated, Already: http.StatusConflict, Fields: fields,
		Send: func(i int, body []byte) (int, error) {
			return Post(client, url, "X-User", strconv.Itoa(i+1), body, io.Discard)
		},
	}
}

type sample struct {
	lat    time.Duration
	status int16 // 0: transport error
}

// Result is what one run of one target measured.
type Result struct {
	All, Fresh, Again []time.Duration // sorted
	Elapsed           time.Duration
	byStatus          map[int]int
	ranOut            time.Duration // into the measurement; -1 if not
}

// Rate is the run's throughput.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.All)) / r.Elapsed.Seconds()
}

// Run drives the target for a warm-up and a measurement. With mix, every
// second request of a worker repeats a write already made: one of the
// users that wrote before this run, or else the worker's previous one.
func (tg *Target) Run(f Options, mix bool) (*Result, error) {
	before := int(min(tg.Next.Load(), int64(tg.Pool)))
	start := time.Now()
	measureFrom := start.Add(f.Warmup)
	stopAt := measureFrom.Add(f.D)
	per := int(f.D.Seconds()*20000)/f.C + 64
	out := make([][]sample, f.C)
	lastDone := make([]time.Time, f.C)
	ranOut := make([]time.Time, f.C)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var wg sync.WaitGroup
	for w := range f.C {
		wg.Go(func() {
			samples := make([]sample, 0, per)
			body := make([]byte, 0, 256)
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
					k := tg.Next.Add(1) - 1
					if k >= int64(tg.Pool) {
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
				body = append(body, '"')
				body = tg.Fields(body, i)
				body = append(body, '}')
				status, err := tg.Send(i, body)
				t1 := time.Now()
				tg.requests.Add(1)
				switch {
				case err != nil:
					tg.errors.Add(1)
					e := fmt.Sprintf("%s user %d: %v", tg.Name, i, err)
					tg.firstErr.CompareAndSwap(nil, &e)
				case status == tg.Created:
					if tg.Got201 != nil {
						tg.Got201[i].Add(1)
					}
				case status != tg.Already:
					tg.errors.Add(1)
					e := fmt.Sprintf("%s user %d: status %d", tg.Name, i, status)
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

	r := &Result{byStatus: map[int]int{}, ranOut: -1}
	last := measureFrom
	for w, ss := range out {
		for _, s := range ss {
			r.All = append(r.All, s.lat)
			r.byStatus[int(s.status)]++
			switch int(s.status) {
			case tg.Created:
				r.Fresh = append(r.Fresh, s.lat)
			case tg.Already:
				r.Again = append(r.Again, s.lat)
			}
		}
		if lastDone[w].After(last) {
			last = lastDone[w]
		}
		if !ranOut[w].IsZero() && (r.ranOut < 0 || ranOut[w].Sub(measureFrom) < r.ranOut) {
			r.ranOut = max(0, ranOut[w].Sub(measureFrom))
		}
	}
	if r.ranOut == 0 || len(r.All) == 0 {
		return nil, fmt.Errorf("%s: its %d users ran out before the measurement: seed more (-members, -baseline-users)", tg.Name, tg.Pool)
	}
	r.Elapsed = last.Sub(measureFrom)
	for _, l := range [][]time.Duration{r.All, r.Fresh, r.Again} {
		slices.Sort(l)
	}
	return r, nil
}

// Line is the run's line of output.
func (r *Result) Line(tg *Target) string {
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
		tg.Name, len(r.All), r.Rate(), benchfig.Percentiles(r.All), tg.Created, p99(r.Fresh), tg.Already, p99(r.Again), strings.Join(parts, " "))
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

// Err says how many of the target's requests failed, or nil.
func (tg *Target) Err() error {
	if n := tg.errors.Load(); n > 0 {
		return fmt.Errorf("%s: %d of %d requests failed, e.g. %s", tg.Name, n, tg.requests.Load(), *tg.firstErr.Load())
	}
	return nil
}

// Series are a target's figures, one per run.
type Series struct{ RPS, P99 []float64 }

// Compare runs each target in turn, f.Runs times, under scenario name
// (mix: see Run), printing a line per run and target, and returns the
// series of each target by name. It stops at the first run that fails.
func Compare(f Options, name string, mix bool, targets []*Target) (map[string]*Series, error) {
	out := map[string]*Series{}
	for _, tg := range targets {
		out[tg.Name] = &Series{}
	}
	for run := 1; run <= f.Runs; run++ {
		for _, tg := range targets {
			r, err := tg.Run(f, mix)
			if err != nil {
				fmt.Printf("run %d/%d %-3s %s: %v: the remaining runs of %s are skipped\n", run, f.Runs, name, tg.Name, err, name)
				return out, err
			}
			fmt.Printf("run %d/%d %-3s %s\n", run, f.Runs, name, r.Line(tg))
			s := out[tg.Name]
			s.RPS = append(s.RPS, r.Rate())
			s.P99 = append(s.P99, benchfig.Ms(benchfig.Percentile(r.All, 0.99)))
		}
	}
	return out, nil
}

// Judge turns the series of Xianfeng and the baseline into the figures of
// label (throughput and p99) and prints whether they meet the goal: at
// least ratio × the baseline's throughput, a p99 at most p99Ratio × its p99.
func Judge(label string, s map[string]*Series, ratio, p99Ratio float64) []benchfig.Figure {
	x, b := s["xianfeng"], s["baseline"]
	if b == nil {
		b = &Series{}
	}
	thr := benchfig.Figure{Name: label + ": throughput", Unit: benchfig.PerSecond, Values: x.RPS, Base: b.RPS, Goal: benchfig.Goal{MinRatio: ratio}}
	lat := benchfig.Figure{Name: label + ": p99", Unit: benchfig.Millis, Values: x.P99, Base: b.P99, Goal: benchfig.Goal{MaxRatio: p99Ratio}}
	fmt.Printf("goal %s: ≥ %.1f × the baseline's throughput and p99 ≤ %g × its p99: %.2f and %.2f: %s\n",
		label, ratio, p99Ratio, thr.Ratio(), lat.Ratio(), benchfig.Verdict(thr.Met() && lat.Met()))
	return []benchfig.Figure{thr, lat}
}

// ---------------------------------------------------------------- counts

// Counts is what a load leaves for its verification.
type Counts struct {
	Members    int   `json:"members"`
	Created    int64 `json:"created_201"`          // 201 answers, warm-up included
	Distinct   int64 `json:"distinct_members_201"` // members that got at least one 201
	Repeated   int64 `json:"members_201_twice"`    // members that got more than one (must be 0)
	Requests   int64 `json:"requests"`             // warm-up included
	Errors     int64 `json:"errors"`               // transport errors and other statuses
	StartedAt  int64 `json:"started_unix"`
	FinishedAt int64 `json:"finished_unix"`
}

// Summary prints the table of a load's figures, titled for the tool name
// with the load's settings and its baseline (the bare-stack server's POST
// /checkin), then ends the load as Finish does.
func Summary(f Options, name string, figs []benchfig.Figure, tg *Target, start time.Time, targets []*Target) error {
	title := fmt.Sprintf("summary of %s (c=%d, d=%s, warm-up %s, %d runs; baseline: POST /checkin of the bare-stack server, same run)", name, f.C, f.D, f.Warmup, f.Runs)
	if f.Baseline == "" {
		title += " — no baseline given: ratios and their goals cannot be judged"
	}
	if err := benchfig.Table(os.Stdout, title, figs); err != nil {
		return err
	}
	_, err := Finish(f, tg, start, targets)
	return err
}

// Finish counts the 201s of the Xianfeng target tg of a load that ran
// from start until now, writes them to f.Counts, prints them and returns
// them with an error if a request failed on any of the targets or a member
// got two 201s.
func Finish(f Options, tg *Target, start time.Time, targets []*Target) (Counts, error) {
	c := Counts{Members: tg.Pool, Requests: tg.requests.Load(), Errors: tg.errors.Load(), StartedAt: start.Unix(), FinishedAt: time.Now().Unix()}
	for i := range tg.Got201 {
		n := int64(tg.Got201[i].Load())
		c.Created += n
		if n > 0 {
			c.Distinct++
		}
		if n > 1 {
			c.Repeated++
		}
	}
	raw, _ := json.Marshal(c)
	if err := os.WriteFile(f.Counts, raw, 0o644); err != nil {
		return c, err
	}
	fmt.Printf("load: %d members got a 201 (%d 201 answers in all, warm-up included), %d left unused\n",
		c.Distinct, c.Created, max(0, int64(tg.Pool)-tg.Next.Load()))
	var errs []error
	for _, t := range targets {
		errs = append(errs, t.Err())
	}
	if c.Repeated > 0 {
		errs = append(errs, fmt.Errorf("%d members got more than one 201", c.Repeated))
	}
	return c, errors.Join(errs...)
}

// ReadCounts reads what Finish wrote to path.
func ReadCounts(path string) (Counts, error) {
	var c Counts
	if path == "" {
		return c, errors.New("-counts is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
