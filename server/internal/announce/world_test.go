package announce_test

import (
	"testing"

	"xianfeng/server/internal/testenv"
)

// world is the testenv.World (the small Tree) of an announcement test.
type world struct {
	*testenv.World
	t *testing.T
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T) *world {
	t.Helper()
	return &world{World: testenv.NewWorld(t, testenv.Options{}), t: t}
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world { return &world{World: w.World.In(t), t: t} }
