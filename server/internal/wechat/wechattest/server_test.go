package wechattest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// client talks to the fake through its Transport, as the app's client does.
type client struct {
	t     *testing.T
	s     *Server
	http  *http.Client
	token string
}

func newClient(t *testing.T, s *Server) *client {
	c := &client{t: t, s: s, http: &http.Client{Transport: s.Transport()}}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {AppID}, "secret": {AppSecret}}
	resp, err := c.http.Get("https://" + Host + "/cgi-bin/token?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token: %v %+v", err, out)
	}
	c.token = out.AccessToken
	return c
}

// send posts one subscribe message and returns its errcode.
func (c *client) send(touser string) (int, error) {
	body := `{"touser":"` + touser + `","template_id":"tpl","data":{"thing1":{"value":"x"}}}`
	resp, err := c.http.Post("https://"+Host+sendPath+"?access_token="+c.token, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		ErrCode int `json:"errcode"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out.ErrCode, err
}

func TestTheFakeCountsTheSendsItHoldsAtOnce(t *testing.T) {
	s := NewServer(t)
	c := newClient(t, s)
	const n = 5
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	// Sends wait until released; the token fetch above went through at once.
	s.sleep = func(r *http.Request, _ time.Duration) bool {
		if r.URL.Path == sendPath {
			arrived <- struct{}{}
			<-release
		}
		return true
	}
	s.SetLatency(time.Millisecond, 0)
	if got := s.MaxInFlight(); got != 0 {
		t.Fatalf("MaxInFlight before any send = %d, want 0", got)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			code, err := c.send("member-" + string(rune('a'+i)))
			if err == nil && code != 0 {
				err = fmt.Errorf("errcode %d", code)
			}
			errs[i] = err
		})
	}
	for range n {
		<-arrived
	}
	t.Run("all the sends waiting at once are the peak", func(t *testing.T) {
		if got := s.MaxInFlight(); got != n {
			t.Errorf("MaxInFlight = %d, want %d", got, n)
		}
	})
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	t.Run("the peak stays after the sends are answered", func(t *testing.T) {
		if got := s.MaxInFlight(); got != n {
			t.Errorf("MaxInFlight = %d, want %d", got, n)
		}
		if got := len(s.Sent()); got != n {
			t.Errorf("Sent = %d messages, want %d", got, n)
		}
	})
	t.Run("a reset starts from the sends in flight now, none", func(t *testing.T) {
		s.ResetMaxInFlight()
		if got := s.MaxInFlight(); got != 0 {
			t.Errorf("MaxInFlight after reset = %d, want 0", got)
		}
	})
}

func TestTheDelayStaysWithinTheLatencyGiveOrTakeTheJitter(t *testing.T) {
	tests := []struct {
		name            string
		latency, jitter time.Duration
		lo, hi          time.Duration
	}{
		{"no latency answers at once", 0, 0, 0, 0},
		{"a latency without jitter is exact", 100 * time.Millisecond, 0, 100 * time.Millisecond, 100 * time.Millisecond},
		{"jitter spreads the delay both ways", 100 * time.Millisecond, 20 * time.Millisecond, 80 * time.Millisecond, 120 * time.Millisecond},
		{"jitter larger than the latency never makes a negative delay", 10 * time.Millisecond, 50 * time.Millisecond, 0, 60 * time.Millisecond},
		{"a negative setting counts as zero", -time.Second, -time.Second, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(t)
			s.SetLatency(tc.latency, tc.jitter)
			for range 1000 {
				if d := s.delay(); d < tc.lo || d > tc.hi {
					t.Fatalf("delay = %s, want within %s–%s", d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestAnAnswerWaitsForTheLatency(t *testing.T) {
	s := NewServer(t)
	c := newClient(t, s)
	const latency = 30 * time.Millisecond
	s.SetLatency(latency, 0)
	start := time.Now()
	if code, err := c.send("someone"); err != nil || code != 0 {
		t.Fatalf("send = %d, %v", code, err)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("the send was answered after %s, want at least %s", took, latency)
	}
}
