package notify_test

import (
	"context"
	"fmt"
	"testing"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

// orgWorld is a committee with one branch, built over HTTP as the org
// tests do:
//
//	root (committee, secretary rootSec)
//	└── branch (members joined with join)
type orgWorld struct {
	w            *pushWorld
	root, branch int64
	rootSec      person
}

// person is a signed-in user.
type person = testenv.Person

func newOrgWorld(w *pushWorld) *orgWorld {
	w.t.Helper()
	o := &orgWorld{w: w}
	root, code, _, err := w.env.App.Org.Bootstrap(context.Background(), "青岛市委", "committee")
	if err != nil {
		w.t.Fatal(err)
	}
	o.root = root.ID
	o.rootSec = o.login("rootsec", "13000000001")
	o.expect(w.env.Do("POST", "/api/v1/orgs/claim", o.rootSec.Token, map[string]string{"code": code, "name": "王书记"}), 200)
	o.branch = w.env.Child(o.rootSec, o.root, "第一党支部", "branch")
	return o
}

// in returns the world for a subtest, so its helpers fail the subtest.
func (o *orgWorld) in(t *testing.T) *orgWorld {
	c := *o
	c.w = o.w.in(t)
	return &c
}

func (o *orgWorld) expect(r testenv.Response, status int) testenv.Response {
	o.w.t.Helper()
	return o.w.env.Expect(r, status)
}

// login signs name in and binds a phone number.
func (o *orgWorld) login(name, phone string) person {
	o.w.t.Helper()
	return o.w.env.LoginAs(name, phone)
}

// join signs a new user up to the branch and has the root secretary approve them.
func (o *orgWorld) join(login, phone, name, badge string) person {
	o.w.t.Helper()
	return o.w.env.Join(o.login(login, phone), o.branch, o.rootSec, name, badge, o.rootSec)
}

// createTask has the root secretary assign a task on the branch to one
// member; the queue workers dispatch it.
func (o *orgWorld) createTask(title string, to person) int64 {
	o.w.t.Helper()
	var tk struct {
		ID int64 `json:"id"`
	}
	o.expect(o.w.env.Do("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", o.branch), o.rootSec.Token, map[string]any{
		"title": title, "kind": "duty", "description": "请按时到岗", "target": map[string]any{"user_ids": []int64{to.ID}},
	}), 201).JSON(o.w.t, &tk)
	return tk.ID
}

// delivery is the task's delivery as its secretary sees it.
func (o *orgWorld) delivery(taskID int64) notify.Stats {
	o.w.t.Helper()
	var d struct {
		Delivery *notify.Stats `json:"delivery"`
	}
	o.expect(o.w.env.Do("GET", fmt.Sprintf("/api/v1/tasks/%d", taskID), o.rootSec.Token, nil), 200).JSON(o.w.t, &d)
	if d.Delivery == nil {
		o.w.t.Fatalf("task %d: no delivery in the secretary's view", taskID)
	}
	return *d.Delivery
}
