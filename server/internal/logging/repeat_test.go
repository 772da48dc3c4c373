package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"xianfeng/server/internal/logging"
)

// clock is a test clock moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func TestRepeatedFailuresAreLoggedOncePerInterval(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	log := slog.New(logging.NewRepeatHandler(slog.NewJSONHandler(&buf, nil), 10*time.Second, clk.Now))
	down := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	fail := func(i int) {
		ctx := logging.WithRequestID(context.Background(), "req-"+string(rune('a'+i%26)))
		log.ErrorContext(ctx, "request failed", "code", "unavailable", "err", down, "duration_ms", i)
	}

	t.Run("a thousand identical failures within the interval write one line", func(t *testing.T) {
		for i := range 1000 {
			fail(i)
			clk.Add(time.Millisecond)
		}
		got := lines(t, &buf)
		if len(got) != 1 {
			t.Fatalf("%d lines, want 1", len(got))
		}
		if _, ok := got[0]["repeated"]; ok {
			t.Errorf("the first line carries a count: %v", got[0])
		}
	})

	t.Run("a different failure is logged at once", func(t *testing.T) {
		log.Error("request failed", "code", "unavailable", "err", errors.New("EOF"))
		log.Warn("database query failed", "err", down)
		if got := lines(t, &buf); len(got) != 2 {
			t.Fatalf("%d lines, want 2", len(got))
		}
	})

	t.Run("lines below warn level are never held back", func(t *testing.T) {
		for range 5 {
			log.Info("http request", "status", 200)
		}
		if got := lines(t, &buf); len(got) != 5 {
			t.Fatalf("%d lines, want 5", len(got))
		}
	})

	t.Run("after the interval the next identical failure is logged with how many were left out", func(t *testing.T) {
		clk.Add(10 * time.Second)
		fail(0)
		got := lines(t, &buf)
		if len(got) != 1 {
			t.Fatalf("%d lines, want 1", len(got))
		}
		if got[0]["repeated"] != float64(999) {
			t.Errorf("repeated = %v, want 999: %v", got[0]["repeated"], got[0])
		}
	})

	t.Run("when the failures stop, the count of the last interval is still written", func(t *testing.T) {
		for range 41 {
			fail(1)
		}
		if got := lines(t, &buf); len(got) != 0 {
			t.Fatalf("%d lines within the interval, want 0", len(got))
		}
		clk.Add(11 * time.Second)
		log.Info("http request", "status", 200)
		got := lines(t, &buf)
		if len(got) != 2 {
			t.Fatalf("%d lines, want the count and the info line: %v", len(got), got)
		}
		if got[0]["msg"] != "request failed" || got[0]["repeated"] != float64(41) {
			t.Errorf("summary = %v, want request failed repeated 41", got[0])
		}
	})
}

func TestNewHoldsBackRepeatedFailures(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "info", "json")
	for range 100 {
		log.Error("request failed", "code", "unavailable", "err", errors.New("redis: connection pool timeout"))
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Errorf("100 identical failures wrote %d lines, want 1", n)
	}
}
