package testenv

import (
	"sync"
	"testing"
	"time"

	"xianfeng/server/internal/testenv/testdb"
)

// Clock is a clock that stands still until the test moves it. Pass its Now
// as Options.Now: the services that decide calendar days (check-ins,
// statistics, tasks) then see the test's instant, not the machine's.
// Sessions, Redis expiry and the queue's scheduler keep real time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's instant.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Eventually polls cond until it holds, and fails the test when timeout
// passes first (testdb.Eventually).
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testdb.Eventually(t, timeout, what, cond)
}
