package org_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestAuthorisationMatrix sends every org endpoint as every kind of caller
// and checks each gets exactly the documented answer, and that nobody
// outside branch A ever sees the names or phone numbers of its members.
func TestAuthorisationMatrix(t *testing.T) {
	w := newWorld(t)
	actors := []struct {
		name string
		p    person
	}{
		{"anonymous", anonymous},
		{"a pending member of A", w.PendingA},
		{"a member of A", w.MemberA},
		{"a member of B", w.MemberB},
		{"the secretary of A", w.SecA},
		{"the secretary of sibling B", w.SecB},
		{"the secretary of the root", w.RootSec},
	}
	// want lists the status for each actor, in the order above.
	type row struct {
		name    string
		prepare func(t *testing.T) (method, path string, body any)
		want    [7]int
	}
	fresh := func(t *testing.T) person { // a new pending applicant to A
		t.Helper()
		p := w.LoginAs(fmt.Sprintf("fresh-%d", nextID()), "13800000000")
		w.signup(p, w.A, "周新人", "information", 201)
		return p
	}
	temp := func(t *testing.T) int64 { return w.Child(w.SecA, w.A, "卡口临时党支部", "temporary") }
	static := func(method, path string, body any) func(*testing.T) (string, string, any) {
		return func(*testing.T) (string, string, any) { return method, path, body }
	}
	a := fmt.Sprintf("/api/v1/orgs/%d", w.A)
	rows := []row{
		{"read branch A", static("GET", a, nil), [7]int{401, 403, 200, 404, 200, 404, 200}},
		{"read the root", static("GET", fmt.Sprintf("/api/v1/orgs/%d", w.Root), nil), [7]int{401, 404, 404, 404, 404, 404, 200}},
		{"read A's invite code", static("GET", a+"/invite", nil), [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"rotate A's invite code", static("POST", a+"/invite/rotate", nil), [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"create a temporary org under A", static("POST", a+"/children", map[string]string{"name": "临时党小组", "kind": "temporary"}), [7]int{401, 403, 403, 404, 201, 404, 201}},
		{"list A's members", static("GET", a+"/members", nil), [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"read A's audit trail", static("GET", a+"/audit", nil), [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"approve an applicant to A", func(t *testing.T) (string, string, any) {
			return "POST", w.MemberPath(w.A, fresh(t)) + "/approve", nil
		}, [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"reject an applicant to A", func(t *testing.T) (string, string, any) {
			return "POST", w.MemberPath(w.A, fresh(t)) + "/reject", map[string]string{"reason": "信息不全"}
		}, [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"change an applicant's badge", func(t *testing.T) (string, string, any) {
			return "PATCH", w.MemberPath(w.A, fresh(t)), map[string]string{"badge": "frontline"}
		}, [7]int{401, 403, 403, 404, 200, 404, 200}},
		{"remove an applicant from A", func(t *testing.T) (string, string, any) {
			return "DELETE", w.MemberPath(w.A, fresh(t)), nil
		}, [7]int{401, 403, 403, 404, 204, 404, 204}},
		{"second a member of A to a temporary org", func(t *testing.T) (string, string, any) {
			return "POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp(t)), map[string][]int64{"user_ids": {w.MemberA.ID}}
		}, [7]int{401, 404, 404, 404, 200, 404, 200}},
		{"dissolve a temporary org under A", func(t *testing.T) (string, string, any) {
			return "POST", fmt.Sprintf("/api/v1/orgs/%d/dissolve", temp(t)), nil
		}, [7]int{401, 404, 404, 404, 200, 404, 200}},
	}
	private := []string{w.MemberA.Name, w.PendingA.Name, w.MemberA.Phone, w.MemberA.Phone[:3] + "****" + w.MemberA.Phone[7:]}
	outsiders := map[string]bool{"anonymous": true, "a member of B": true, "the secretary of sibling B": true}
	for _, r := range rows {
		for i, actor := range actors {
			t.Run(r.name+" as "+actor.name+" is "+statusText(r.want[i]), func(t *testing.T) {
				w := w.in(t)
				method, path, body := r.prepare(t)
				resp := w.DoAs(method, path, actor.p, body)
				if resp.Status != r.want[i] {
					t.Fatalf("%s %s: got %d, want %d: %s", method, path, resp.Status, r.want[i], resp.Body)
				}
				if outsiders[actor.name] {
					for _, s := range private {
						if strings.Contains(string(resp.Body), s) {
							t.Errorf("the answer leaks %q: %s", s, resp.Body)
						}
					}
				}
			})
		}
	}
}

var counter int64

func nextID() int64 { counter++; return counter }
