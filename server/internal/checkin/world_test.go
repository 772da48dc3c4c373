package checkin_test

import (
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is the testenv.World (the small Tree) of a check-in test, on a
// clock that stands at start until a test moves it.
type world struct {
	*testenv.World
	t     *testing.T
	clock *testenv.Clock
}

// person is a logged-in user.
type person = testenv.Person

// start is where the server's clock stands in these tests: one second after
// midnight in Shanghai, when the UTC calendar still says the day before, the
// hardest instant for calendar days. No test depends on the hour it runs at.
var start = time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC)

func newWorld(t *testing.T, configure ...func(*config.Config)) *world {
	t.Helper()
	clock := testenv.NewClock(start)
	opts := testenv.Options{Now: clock.Now}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	return &world{World: testenv.NewWorld(t, opts), t: t, clock: clock}
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world { return &world{World: w.World.In(t), t: t, clock: w.clock} }
