package org_test

import (
	"fmt"
	"net/http"
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
}

// person is a logged-in user.
type person = testenv.Person

type membership struct {
	ID         int64  `json:"id"`
	OrgID      int64  `json:"org_id"`
	Status     string `json:"status"`
	Role       string `json:"role"`
	Badge      string `json:"badge"`
	BadgeLabel string `json:"badge_label"`
}

type orgJSON struct {
	ID int64 `json:"id"`
}

func newWorld(t *testing.T, configure ...func(*config.Config)) *world {
	t.Helper()
	opts := testenv.Options{}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	w := &world{t: t, env: testenv.New(t, opts)}
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

func (w *world) signup(p person, org int64, name, badge string, status int) membership {
	w.t.Helper()
	var m membership
	r := w.env.Signup(p, org, w.rootSec, name, badge, status)
	if status == 201 {
		r.JSON(w.t, &m)
	}
	return m
}

// join logs a new user in, signs them up to org and has approver approve them.
func (w *world) join(login, phone string, org int64, name, badge string, approver person) person {
	w.t.Helper()
	return w.env.Join(w.login(login, phone), org, w.rootSec, name, badge, approver)
}

func (w *world) memberPath(org int64, p person) string {
	return w.env.MemberPath(org, p)
}

var anonymous = person{Name: "anonymous"}

func statusText(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }
