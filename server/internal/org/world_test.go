package org_test

import (
	"fmt"
	"net/http"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is the testenv.World (the small Tree) of an org test.
type world struct {
	*testenv.World
	t *testing.T
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
	return &world{World: testenv.NewWorld(t, opts), t: t}
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world { return &world{World: w.World.In(t), t: t} }

// signup signs p up to org with the root secretary's invite code,
// expecting status, and returns the membership created.
func (w *world) signup(p person, org int64, name, badge string, status int) membership {
	w.t.Helper()
	var m membership
	r := w.Signup(p, org, w.RootSec, name, badge, status)
	if status == 201 {
		r.JSON(w.t, &m)
	}
	return m
}

var anonymous = person{Name: "anonymous"}

func statusText(code int) string { return fmt.Sprintf("%d %s", code, http.StatusText(code)) }
