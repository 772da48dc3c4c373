package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/web"
)

// meMembership is one membership as GET /me shows it.
type meMembership struct {
	OrgID  int64  `json:"org_id"`
	Status string `json:"status"`
	Badge  string `json:"badge"`
	Role   string `json:"role"`
}

// membershipIn returns p's membership in org as GET /me on e shows it.
func membershipIn(t *testing.T, e *testenv.Env, p testenv.Person, org int64) meMembership {
	t.Helper()
	var me struct {
		Memberships []meMembership `json:"memberships"`
	}
	e.Expect(e.DoAs("GET", "/api/v1/me", p, nil), http.StatusOK).JSON(t, &me)
	for _, m := range me.Memberships {
		if m.OrgID == org {
			return m
		}
	}
	t.Fatalf("GET /me of %s shows no membership in org %d", p.Login, org)
	return meMembership{}
}

// TestMeShowsMembershipChangesAtOnceOnEveryInstance checks that the cached
// GET /me answer never outlives a change: the member asks a second instance
// (sharing the database and Redis) before and right after a secretary
// changes their membership through the first.
func TestMeShowsMembershipChangesAtOnceOnEveryInstance(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	other := env.Instance()
	tree := env.BuildTree()

	t.Run("a badge change shows in the next GET /me", func(t *testing.T) {
		env, other := env.In(t), other.In(t)
		for range 2 { // the second answer comes from the cache
			if got := membershipIn(t, other, tree.MemberA, tree.A).Badge; got != "frontline" {
				t.Fatalf("badge before the change = %q, want frontline", got)
			}
		}
		env.Expect(env.DoAs("PATCH", env.MemberPath(tree.A, tree.MemberA), tree.SecA, map[string]string{"badge": "publicity"}), http.StatusOK)
		if got := membershipIn(t, other, tree.MemberA, tree.A).Badge; got != "publicity" {
			t.Errorf("badge right after the change = %q, want publicity", got)
		}
	})
	t.Run("a removed member's GET /me no longer shows them approved", func(t *testing.T) {
		env, other := env.In(t), other.In(t)
		for range 2 {
			if got := membershipIn(t, other, tree.MemberB, tree.B).Status; got != "approved" {
				t.Fatalf("status before the removal = %q, want approved", got)
			}
		}
		env.Expect(env.DoAs("DELETE", env.MemberPath(tree.B, tree.MemberB), tree.SecB, nil), http.StatusNoContent)
		if got := membershipIn(t, other, tree.MemberB, tree.B).Status; got != "removed" {
			t.Errorf("status right after the removal = %q, want removed", got)
		}
	})
	t.Run("a phone number bound shows in the next GET /me", func(t *testing.T) {
		env, other := env.In(t), other.In(t)
		p := testenv.Person{Login: "newcomer", Token: other.Login("newcomer")}
		var me loginAnswer
		for range 2 {
			other.Expect(other.DoAs("GET", "/api/v1/me", p, nil), http.StatusOK).JSON(t, &me)
			if me.User.PhoneBound {
				t.Fatal("a new user's GET /me shows a phone number")
			}
		}
		env.Expect(env.DoAs("POST", "/api/v1/me/phone", p, map[string]string{"code": "phone:13811112222"}), http.StatusOK)
		other.Expect(other.DoAs("GET", "/api/v1/me", p, nil), http.StatusOK).JSON(t, &me)
		if !me.User.PhoneBound || me.User.PhoneMasked != "138****2222" {
			t.Errorf("right after binding, GET /me shows phone bound %v, %q; want 138****2222", me.User.PhoneBound, me.User.PhoneMasked)
		}
	})
	t.Run("an approval shows in the next GET /me", func(t *testing.T) {
		env, other := env.In(t), other.In(t)
		for range 2 {
			if got := membershipIn(t, other, tree.PendingA, tree.A).Status; got != "pending" {
				t.Fatalf("status before the approval = %q, want pending", got)
			}
		}
		env.Expect(env.DoAs("POST", env.MemberPath(tree.A, tree.PendingA)+"/approve", tree.SecA, nil), http.StatusOK)
		if got := membershipIn(t, other, tree.PendingA, tree.A).Status; got != "approved" {
			t.Errorf("status right after the approval = %q, want approved", got)
		}
	})
}

// TestAMeReadRacingARemovalIsNotCached checks the compare-and-set: a GET
// /me that read the memberships just before a removal committed answers
// what it read, but does not leave that answer in the cache for the next.
func TestAMeReadRacingARemovalIsNotCached(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	tree := env.BuildTree()
	ctx := context.Background()

	raced := false
	// The memberships are read, then the secretary's removal commits before
	// the answer is stored.
	racing := func(ctx context.Context, userID int64) (any, error) {
		ms, err := env.App.Org.MembershipsOf(ctx, userID)
		if err == nil && !raced {
			raced = true
			err = env.App.Org.Remove(ctx, tree.SecA.ID, tree.A, tree.MemberA.ID)
		}
		return ms, err
	}
	h := auth.NewHandler(env.App.Auth, env.App.Log, racing)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	v1 := r.Group("/api/v1")
	h.CacheMeAt("/api/v1/me")
	v1.Group("", h.Require()).GET("/me", web.OK(web.NewAdapter(env.App.Log, auth.SessionOf), h.Me))
	req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tree.MemberA.Token)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !raced {
		t.Fatalf("the racing GET /me answered %d (raced: %v): %s", rec.Code, raced, rec.Body)
	}

	if got := membershipIn(t, env, tree.MemberA, tree.A).Status; got != "removed" {
		t.Errorf("status after the removal = %q, want removed: the racing read was cached", got)
	}
}
