package checkin_test

import (
	"context"
	"fmt"
	"testing"

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

	root, a, b int64

	rootSec, secA, secB, memberA, memberB, pendingA person
	logins                                          int
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T, configure ...func(*config.Config)) *world {
	t.Helper()
	opts := testenv.Options{}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	w := &world{t: t, env: testenv.New(t, opts)}
	root, code, _, err := w.env.App.Org.Bootstrap(context.Background(), "青岛市委", "committee")
	if err != nil {
		t.Fatal(err)
	}
	w.root = root.ID
	w.rootSec = w.login("rootsec", "13000000001")
	w.expect(w.do("POST", "/api/v1/orgs/claim", w.rootSec, map[string]string{"code": code, "name": "王书记"}), 200)
	w.a = w.child(w.rootSec, w.root, "第一党支部", "branch")
	w.b = w.child(w.rootSec, w.root, "第二党支部", "branch")

	w.secA = w.join("seca", "13000000002", w.a, "李红梅", "publicity", w.rootSec)
	w.expect(w.do("PATCH", w.memberPath(w.a, w.secA), w.rootSec, map[string]string{"role": "secretary"}), 200)
	w.secB = w.join("secb", "13000000003", w.b, "赵建国", "information", w.rootSec)
	w.expect(w.do("PATCH", w.memberPath(w.b, w.secB), w.rootSec, map[string]string{"role": "secretary"}), 200)
	w.memberA = w.join("membera", "13912345678", w.a, "张小明", "frontline", w.secA)
	w.memberB = w.join("memberb", "13987654321", w.b, "陈晓东", "frontline", w.secB)
	w.pendingA = w.login("pendinga", "13700000009")
	w.pendingA.Name = "孙待审"
	w.signup(w.pendingA, w.a, "孙待审", "publicity")
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
