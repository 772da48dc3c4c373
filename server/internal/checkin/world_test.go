package checkin_test

import (
	"fmt"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is a small tree for HTTP tests:
//
//	root (committee, secretary rootSec)
//	├── A (branch, secretary secA; members memberA, pendingA)
//	└── B (branch, secretary secB; member memberB)
type world struct {
	t   *testing.T
	env *testenv.Env
	// clock is the server's clock: it stands at start until a test moves it.
	clock *testenv.Clock

	root, a, b int64

	rootSec, secA, secB, memberA, memberB, pendingA person
	logins                                          int
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
	w := &world{t: t, env: testenv.New(t, opts), clock: clock}
	tree := w.env.BuildTree()
	w.root, w.a, w.b = tree.Root, tree.A, tree.B
	w.rootSec, w.secA, w.secB, w.memberA, w.memberB, w.pendingA = tree.RootSec, tree.SecA, tree.SecB, tree.MemberA, tree.MemberB, tree.PendingA
	return w
}

func (w *world) do(method, path string, p person, body any) testenv.Response {
	w.t.Helper()
	return w.env.DoAs(method, path, p, body)
}

func (w *world) expect(r testenv.Response, status int) testenv.Response {
	w.t.Helper()
	return w.env.Expect(r, status)
}

func (w *world) login(name, phone string) person {
	w.t.Helper()
	return w.env.LoginAs(name, phone)
}

func (w *world) child(by person, parent int64, name, kind string) int64 {
	w.t.Helper()
	return w.env.Child(by, parent, name, kind)
}

func (w *world) invite(org int64) string {
	w.t.Helper()
	return w.env.Invite(w.rootSec, org)
}

func (w *world) signup(p person, org int64, name, badge string) {
	w.t.Helper()
	w.env.Signup(p, org, w.rootSec, name, badge, 201)
}

// join logs a new user in, signs them up to org and has approver approve them.
func (w *world) join(login, phone string, org int64, name, badge string, approver person) person {
	w.t.Helper()
	return w.env.Join(w.login(login, phone), org, w.rootSec, name, badge, approver)
}

// newMember adds a fresh approved member with badge to org.
func (w *world) newMember(org int64, badge string) person {
	w.t.Helper()
	w.logins++
	return w.join(fmt.Sprintf("m%d", w.logins), fmt.Sprintf("135%08d", w.logins), org, fmt.Sprintf("队员%d", w.logins), badge, w.rootSec)
}

func (w *world) memberPath(org int64, p person) string {
	return w.env.MemberPath(org, p)
}
