package testenv

import (
	"fmt"
	"net/http"
	"testing"
)

// World is a test's server with an org tree in it and the people the test
// signed in. It embeds the Env, so its helpers (DoAs, Expect, Join, …) and
// the ones below fail the test the World is bound to: a subtest takes its
// own copy with In, so that a failure is reported where it happens.
//
// NewWorld fills the small Tree; NewRoot only the root and its secretary,
// for tests that grow a tree of another shape with Child, Member and
// Secretary.
type World struct {
	*Env
	// Tree is shared by the copies: a token renewed in a subtest stays renewed.
	*Tree
	t testing.TB
	// users counts the users User signed in, shared by every copy so that
	// a subtest's users do not collide with the parent's.
	users *int
}

// NewWorld starts a server with opts and builds the Tree in it.
func NewWorld(t testing.TB, opts Options) *World {
	t.Helper()
	env := New(t, opts)
	tree := env.BuildTree()
	return &World{Env: env, Tree: &tree, t: t, users: new(int)}
}

// NewRoot starts a server with opts and sets up only the root org
// (committee 青岛市委) and its secretary RootSec (王书记).
func NewRoot(t testing.TB, opts Options) *World {
	t.Helper()
	env := New(t, opts)
	w := &World{Env: env, Tree: &Tree{}, t: t, users: new(int)}
	w.Root, w.RootSec = env.root()
	return w
}

// In returns a copy of the world whose helpers fail t, for a subtest.
func (w *World) In(t testing.TB) *World {
	c := *w
	c.Env = w.Env.In(t)
	c.t = t
	return &c
}

// T is the test the world is bound to.
func (w *World) T() testing.TB { return w.t }

// Must fails the test if err is not nil.
func (w *World) Must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// User signs a fresh user in, with a phone number of their own, and names
// them name (the name a membership will give them).
func (w *World) User(login, name string) Person {
	w.t.Helper()
	*w.users++
	p := w.LoginAs(login, fmt.Sprintf("135%08d", *w.users))
	p.Name = name
	return p
}

// Member signs a fresh user in and makes them an approved member of org
// with the badge, invited and approved by RootSec.
func (w *World) Member(org int64, name, badge string) Person {
	w.t.Helper()
	return w.Join(w.User(fmt.Sprintf("u%d", *w.users+1), name), org, w.RootSec, name, badge, w.RootSec)
}

// NewMember is Member with a generated name (队员<n>).
func (w *World) NewMember(org int64, badge string) Person {
	w.t.Helper()
	return w.Member(org, fmt.Sprintf("队员%d", *w.users+1), badge)
}

// Secretary adds a fresh member to org and makes them its secretary.
func (w *World) Secretary(org int64, name, badge string) Person {
	w.t.Helper()
	p := w.Member(org, name, badge)
	w.Expect(w.DoAs("PATCH", w.MemberPath(org, p), w.RootSec, map[string]string{"role": "secretary"}), http.StatusOK)
	return p
}

// Wide is the wider tree some tests grow on a NewRoot world, with GrowWide:
//
//	root (committee 青岛市委, secretary RootSec)
//	├── Mid (secretary MidSec)
//	│   ├── A (branch 第一党支部, secretary SecA 李红梅)
//	│   └── B (branch 第二党支部, secretary SecB 赵建国)
//	└── Other (committee 市北区委, secretary OtherSec 周区委)
//	    └── C (branch 第三党支部, secretary SecC 钱书记)
type Wide struct {
	Mid, Other, C          int64
	MidSec, OtherSec, SecC Person
}

// GrowWide grows the Wide tree under the root: Mid is a midKind named
// midName whose secretary is midSec; A, B, SecA and SecB go into the
// world's Tree. secretary makes each secretary (World.Secretary with a
// badge, or a test's own helper that also records them). It adds no
// members: a test adds its own.
func (w *World) GrowWide(midName, midKind, midSec string, secretary func(org int64, name string) Person) Wide {
	w.t.Helper()
	var t Wide
	t.Mid = w.Child(w.RootSec, w.Root, midName, midKind)
	t.Other = w.Child(w.RootSec, w.Root, "市北区委", "committee")
	w.A = w.Child(w.RootSec, t.Mid, "第一党支部", "branch")
	w.B = w.Child(w.RootSec, t.Mid, "第二党支部", "branch")
	t.C = w.Child(w.RootSec, t.Other, "第三党支部", "branch")
	t.MidSec = secretary(t.Mid, midSec)
	t.OtherSec = secretary(t.Other, "周区委")
	w.SecA = secretary(w.A, "李红梅")
	w.SecB = secretary(w.B, "赵建国")
	t.SecC = secretary(t.C, "钱书记")
	return t
}
