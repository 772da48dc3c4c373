package announce_test

import (
	"testing"

	"xianfeng/server/internal/testenv"
)

// world is a small tree for HTTP tests, as the org tests build it:
//
//	root (committee, secretary rootSec)
//	├── A (branch, secretary secA; members memberA, pendingA)
//	└── B (branch, secretary secB; member memberB)
type world struct {
	t   *testing.T
	env *testenv.Env

	root, a, b int64

	rootSec, secA, secB, memberA, memberB, pendingA person
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, env: testenv.New(t, testenv.Options{})}
	tree := w.env.BuildTree()
	w.root, w.a, w.b = tree.Root, tree.A, tree.B
	w.rootSec, w.secA, w.secB, w.memberA, w.memberB, w.pendingA = tree.RootSec, tree.SecA, tree.SecB, tree.MemberA, tree.MemberB, tree.PendingA
	return w
}

// in returns the world for a subtest, so its helpers fail the subtest.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.t = t
	c.env = w.env.In(t)
	return &c
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

func (w *world) memberPath(org int64, p person) string {
	return w.env.MemberPath(org, p)
}
