//go:build faults

package faulttest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// TestFrozenRedis freezes Redis (every byte held, as under SIGSTOP) and
// checks that requests that need it and /readyz answer 503 within the
// configured timeout plus 100 ms (the fastest of three; none hangs).
func TestFrozenRedis(t *testing.T) {
	gate(t)
	const timeout = 500 * time.Millisecond
	var proxy *testenv.Proxy
	var logs testenv.LogBuffer
	env := testenv.New(t, testenv.Options{Log: &logs, Configure: func(cfg *config.Config) {
		cfg.Redis.URL, proxy = throughProxy(t, cfg.Redis.URL)
		cfg.Redis.Timeout = timeout
	}})
	tree := env.BuildTree()
	proxy.Set(testenv.Stall)

	for _, c := range []struct {
		name, method, path string
		who                testenv.Person
	}{
		{"an authenticated request (its session is in Redis)", "GET", "/api/v1/me", tree.MemberA},
		{"a check-in", "POST", "/api/v1/checkins", tree.MemberA},
		{"/readyz", "GET", "/readyz", testenv.Person{}},
	} {
		t.Run(c.name+" answers 503 within the Redis timeout plus 100 ms", func(t *testing.T) {
			env := env.In(t)
			// Every attempt must end (a missing timeout hangs for good), and
			// the fastest of three within the bound: a loaded machine (CI
			// beside other builds) can delay one attempt's scheduling by
			// hundreds of milliseconds without the server waiting longer.
			fastest := time.Hour
			for i := range 3 {
				start := time.Now()
				var body any
				if c.method == "POST" {
					body = map[string]any{"request_id": "frozen", "org_id": tree.A}
				}
				r := env.DoAs(c.method, c.path, c.who, body)
				took := time.Since(start)
				t.Logf("attempt %d: %d in %v", i+1, r.Status, took.Round(time.Millisecond))
				if r.Status != http.StatusServiceUnavailable {
					t.Errorf("attempt %d: got %d %s, want 503", i+1, r.Status, r.Body)
				}
				fastest = min(fastest, took)
				if took > timeout+time.Second {
					t.Errorf("attempt %d took %v: the Redis timeout of %v did not end it", i+1, took, timeout)
				}
			}
			if fastest > timeout+100*time.Millisecond {
				t.Errorf("the fastest of three attempts took %v, want at most %v", fastest, timeout+100*time.Millisecond)
			}
		})
	}

	t.Run("the identical failures of the outage are logged once, not once per request", func(t *testing.T) {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"http request"`) && strings.Contains(line, `"route":"/api/v1/me"`) &&
				strings.Contains(line, `"status":503`) {
				n++
			}
		}
		// Three 503s of GET /me within seconds: one line (two if the
		// machine took longer than logging.RepeatInterval).
		if n < 1 || n > 2 {
			t.Errorf("%d access lines for the three 503s of GET /me, want 1", n)
		}
	})

	t.Run("once Redis thaws, requests succeed again", func(t *testing.T) {
		env := env.In(t)
		proxy.Set(testenv.Pass)
		env.In(t).Expect(env.DoAs("GET", "/api/v1/me", tree.MemberA, nil), http.StatusOK)
	})
}
