// Command bench is a small HTTP load generator for the Xianfeng API's hot
// paths, using only the standard library. scripts/bench.sh builds the server,
// starts it on a scratch PostgreSQL database and runs this against it.
//
// Usage:
//
//	go run ./scripts/bench [-url http://127.0.0.1:8080] [-c 64] [-d 10s] [-warmup 2s] [-scenario login|me|all]
//
// Scenarios:
//
//	login  POST /api/v1/auth/login {"code":"mock:bench-<worker>-<n mod 100>"}
//	       (the server must run the WeChat mock). Each worker cycles through
//	       100 users, all created before the warm-up, so the figures are the
//	       steady state of a login: code2session mock, user lookup, session
//	       creation.
//	me     logs in one user per worker, then GET /api/v1/me with its bearer
//	       token: session lookup in Redis plus one user read.
//	all    login, then me.
//
// Each scenario runs -c workers, each sending one request at a time over one
// shared keep-alive transport, for -warmup (not measured) and then -d. It
// prints one line per scenario with requests, throughput, latency
// percentiles and errors by status (any non-2xx answer or transport error is
// an error), and exits 1 if more than 1% of the requests of a scenario failed.
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
	"time"
)

type options struct {
	url      string
	c        int
	d        time.Duration
	warmup   time.Duration
	scenario string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	flag.IntVar(&o.c, "c", 64, "concurrent workers (connections)")
	flag.DurationVar(&o.d, "d", 10*time.Second, "measured duration of each scenario")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each scenario")
	flag.StringVar(&o.scenario, "scenario", "all", "login, me or all")
	flag.Parse()
	o.url = strings.TrimRight(o.url, "/")
	if o.c < 1 || o.d <= 0 || o.warmup < 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var names []string
	switch o.scenario {
	case "login", "me":
		names = []string{o.scenario}
	case "all":
		names = []string{"login", "me"}
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown scenario %q (want login, me or all)\n", o.scenario)
		os.Exit(2)
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
	failed := false
	for _, name := range names {
		res, err := b.run(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Println(res.line(name, o))
		if res.errorRate() > 0.01 {
			failed = true
		}
	}
	if failed {
		fmt.Fprintln(os.Stderr, "bench: error rate above 1%")
		os.Exit(1)
	}
}

type bench struct {
	opts   options
	client *http.Client
}

// request is one prepared request of a worker; next returns the next one.
type request struct {
	method, path, token string
	body                []byte
}

// result is what one scenario measured.
type result struct {
	latencies []time.Duration // every measured request, sorted by summarize
	elapsed   time.Duration
	errors    map[string]int // status code or "transport" -> count
}

// run performs the scenario's preparation, warm-up and measurement.
func (b *bench) run(name string) (*result, error) {
	c := b.opts.c
	next := make([]func(n int) request, c)
	switch name {
	case "login":
		for w := range c {
			next[w] = func(n int) request {
				body := []byte(`{"code":"mock:bench-` + strconv.Itoa(w) + "-" + strconv.Itoa(n%100) + `"}`)
				return request{method: http.MethodPost, path: "/api/v1/auth/login", body: body}
			}
		}
		// Create the 100 users of every worker first, so that the measured
		// logins find existing users.
		if err := b.parallel(c, func(w int) error {
			for n := range 100 {
				if _, err := b.login(fmt.Sprintf("mock:bench-%d-%d", w, n)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("create users: %w", err)
		}
	case "me":
		tokens := make([]string, c)
		if err := b.parallel(c, func(w int) error {
			tok, err := b.login(fmt.Sprintf("mock:bench-me-%d", w))
			tokens[w] = tok
			return err
		}); err != nil {
			return nil, fmt.Errorf("log in: %w", err)
		}
		for w := range c {
			req := request{method: http.MethodGet, path: "/api/v1/me", token: tokens[w]}
			next[w] = func(int) request { return req }
		}
	}

	start := time.Now()
	measureFrom := start.Add(b.opts.warmup)
	stopAt := measureFrom.Add(b.opts.d)
	// Room for about 20,000 requests a second without growing.
	per := int(b.opts.d.Seconds()*20000)/c + 64
	type workerResult struct {
		lat    []time.Duration
		errs   map[string]int
		last   time.Time
		failed error
	}
	out := make([]workerResult, c)
	var wg sync.WaitGroup
	for w := range c {
		wg.Go(func() {
			wr := workerResult{lat: make([]time.Duration, 0, per), errs: map[string]int{}}
			for n := 0; ; n++ {
				t0 := time.Now()
				if !t0.Before(stopAt) {
					break
				}
				status, err := b.do(next[w](n))
				t1 := time.Now()
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
	total := 0
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
	}
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "bench: %s: %d transport errors, e.g. %v\n", name, res.errors["transport"], firstErr)
	}
	res.elapsed = last.Sub(measureFrom)
	slices.Sort(res.latencies)
	return res, nil
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

// do sends one request, reads and discards the whole body, and returns the
// status code.
func (b *bench) do(r request) (int, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, b.opts.url+r.path, body)
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
	_, err = io.Copy(io.Discard, resp.Body)
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

// percentile returns the latency below which fraction p of requests finished
// (nearest rank on the sorted latencies).
func (r *result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p*float64(len(r.latencies))+0.5) - 1
	i = max(0, min(i, len(r.latencies)-1))
	return r.latencies[i]
}

func (r *result) line(name string, o options) string {
	rps := 0.0
	if r.elapsed > 0 {
		rps = float64(len(r.latencies)) / r.elapsed.Seconds()
	}
	var maxLat time.Duration
	if len(r.latencies) > 0 {
		maxLat = r.latencies[len(r.latencies)-1]
	}
	s := fmt.Sprintf("%-7s c=%d  d=%s  req=%d  rps=%.0f  p50=%s p90=%s p99=%s max=%s errors=%d",
		name, o.c, o.d, len(r.latencies), rps,
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
