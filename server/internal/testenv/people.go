package testenv

import (
	"context"
	"fmt"
	"net/http"
	"testing"
)

// Person is a logged-in user, as the HTTP tests handle one.
type Person struct {
	Login string // the login name, openid o-<Login> (mock-<Login> with the mock)
	Name  string
	Token string
	ID    int64
	Phone string
}

// In returns a copy of the environment whose helpers fail t, for subtests.
func (e *Env) In(t testing.TB) *Env {
	c := *e
	c.t = t
	return &c
}

// DoAs sends a request as p (anonymously if p has no token).
func (e *Env) DoAs(method, path string, p Person, body any) Response {
	e.t.Helper()
	return e.Do(method, path, p.Token, body)
}

// Expect fails the test unless r has the status, and returns r.
func (e *Env) Expect(r Response, status int) Response {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("got %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// LoginAs signs login in (see Login) and binds the phone number, returning
// the user with their id.
func (e *Env) LoginAs(login, phone string) Person {
	e.t.Helper()
	p := Person{Login: login, Token: e.Login(login), Phone: phone}
	code := "phone:" + phone
	if e.App.Mock != nil {
		code = "mock:" + phone
	}
	var me struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	e.Expect(e.DoAs("POST", "/api/v1/me/phone", p, map[string]string{"code": code}), http.StatusOK).JSON(e.t, &me)
	p.ID = me.User.ID
	return p
}

// Child has by create an org of kind under parent and returns its id.
func (e *Env) Child(by Person, parent int64, name, kind string) int64 {
	e.t.Helper()
	var o struct {
		ID int64 `json:"id"`
	}
	e.Expect(e.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", parent), by, map[string]string{"name": name, "kind": kind}), http.StatusCreated).JSON(e.t, &o)
	return o.ID
}

// Invite returns the org's invite code, as by sees it.
func (e *Env) Invite(by Person, org int64) string {
	e.t.Helper()
	var inv struct {
		Code string `json:"invite_code"`
	}
	e.Expect(e.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/invite", org), by, nil), http.StatusOK).JSON(e.t, &inv)
	return inv.Code
}

// Signup signs p up to org with the invite code inviteBy sees, expecting
// status, and returns the answer.
func (e *Env) Signup(p Person, org int64, inviteBy Person, name, badge string, status int) Response {
	e.t.Helper()
	return e.Expect(e.DoAs("POST", "/api/v1/members/signup", p, map[string]string{"invite_code": e.Invite(inviteBy, org), "name": name, "badge": badge}), status)
}

// Join signs p up to org (invited by inviteBy) and has approver approve
// them; p.Name becomes name.
func (e *Env) Join(p Person, org int64, inviteBy Person, name, badge string, approver Person) Person {
	e.t.Helper()
	p.Name = name
	e.Signup(p, org, inviteBy, name, badge, http.StatusCreated)
	e.Expect(e.DoAs("POST", e.MemberPath(org, p)+"/approve", approver, nil), http.StatusOK)
	return p
}

// MemberPath is the API path of p's membership of org.
func (e *Env) MemberPath(org int64, p Person) string {
	return fmt.Sprintf("/api/v1/orgs/%d/members/%d", org, p.ID)
}

// Tree is the small org tree most HTTP tests start from:
//
//	root (committee 青岛市委, secretary RootSec 王书记)
//	├── A (branch 第一党支部, secretary SecA; members MemberA, PendingA)
//	└── B (branch 第二党支部, secretary SecB; member MemberB)
type Tree struct {
	Root, A, B                                      int64
	RootSec, SecA, SecB, MemberA, MemberB, PendingA Person
}

// BuildTree bootstraps and fills the Tree over HTTP.
func (e *Env) BuildTree() Tree {
	e.t.Helper()
	var w Tree
	w.Root, w.RootSec = e.root()
	w.A = e.Child(w.RootSec, w.Root, "第一党支部", "branch")
	w.B = e.Child(w.RootSec, w.Root, "第二党支部", "branch")
	secretary := func(login, phone string, org int64, name, badge string) Person {
		p := e.Join(e.LoginAs(login, phone), org, w.RootSec, name, badge, w.RootSec)
		e.Expect(e.DoAs("PATCH", e.MemberPath(org, p), w.RootSec, map[string]string{"role": "secretary"}), http.StatusOK)
		return p
	}
	w.SecA = secretary("seca", "13000000002", w.A, "李红梅", "publicity")
	w.SecB = secretary("secb", "13000000003", w.B, "赵建国", "information")
	w.MemberA = e.Join(e.LoginAs("membera", "13912345678"), w.A, w.RootSec, "张小明", "frontline", w.SecA)
	w.MemberB = e.Join(e.LoginAs("memberb", "13987654321"), w.B, w.RootSec, "陈晓东", "frontline", w.SecB)
	w.PendingA = e.LoginAs("pendinga", "13700000009")
	w.PendingA.Name = "孙待审"
	e.Signup(w.PendingA, w.A, w.RootSec, "孙待审", "publicity", http.StatusCreated)
	return w
}

// root bootstraps the root org (committee 青岛市委) and has rootsec claim
// it as its secretary 王书记.
func (e *Env) root() (int64, Person) {
	e.t.Helper()
	root, code, _, err := e.App.Org.Bootstrap(context.Background(), "青岛市委", "committee")
	if err != nil {
		e.t.Fatalf("testenv: bootstrap: %v", err)
	}
	sec := e.LoginAs("rootsec", "13000000001")
	sec.Name = "王书记"
	e.Expect(e.DoAs("POST", "/api/v1/orgs/claim", sec, map[string]string{"code": code, "name": "王书记"}), http.StatusOK)
	return root.ID, sec
}
