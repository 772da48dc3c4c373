package org_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/user"
)

// TestSeed seeds a small tree and checks that it is exactly what the service
// would have left: closure pairs and counters match a recount from the rows,
// the scope rule holds for the seeded secretaries, GET /api/v1/orgs/{id}
// reports the seeded members, a second seed lands after the first without
// touching it, and the service keeps working on top (new ids, counters).
func TestSeed(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	ctx := context.Background()
	db := env.App.DB.DB
	t.Log(env)
	// An org made by the service first: the seed goes after it.
	if _, _, _, err := env.App.Org.Bootstrap(ctx, "既有党委", org.KindCommittee); err != nil {
		t.Fatal(err)
	}

	res, err := org.Seed(ctx, db, org.SeedSpec{Orgs: 300, Members: 3000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %+v", res)
	if res.RootID != 2 || res.Orgs != 300 || res.Memberships != 3002 || res.Users != 3002 || res.Counters != 1800 ||
		res.Approved+res.Pending != res.Memberships || res.Pending != 300 ||
		1+res.Committees+res.GeneralBranches+res.Branches != res.Orgs {
		t.Fatalf("result sizes: %+v", res)
	}
	// A second, smaller tree in the same tables: ids continue after the first.
	res2, err := org.Seed(ctx, db, org.SeedSpec{Orgs: 12, Members: 40, Committees: 2, GeneralBranches: 2, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res2.RootID <= res.LeafID || res2.RootSecretaryUserID < res.RootSecretaryUserID+int64(res.Users) {
		t.Fatalf("second seed overlaps the first: %+v after %+v", res2, res)
	}

	tables := map[string]int64{"orgs": 313, "org_closure": int64(1 + res.Closure + res2.Closure), "org_counts": 313 * 6,
		"users": 3002 + 42, "memberships": 3002 + 42}
	for table, want := range tables {
		var n int64
		if err := db.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s has %d rows, want %d", table, n, want)
		}
	}
	checkTree(t, env)
	checkCounters(t, env)

	store := env.App.Org.Store()
	for _, c := range []struct {
		name       string
		user, org  int64
		wantManage bool
	}{
		{"root secretary on the leaf", res.RootSecretaryUserID, res.LeafID, true},
		{"root secretary on the root", res.RootSecretaryUserID, res.RootID, true},
		{"leaf secretary on the leaf", res.LeafSecretaryUserID, res.LeafID, true},
		{"leaf secretary on the root", res.LeafSecretaryUserID, res.RootID, false},
		{"root secretary on the other tree", res.RootSecretaryUserID, res2.LeafID, false},
		{"other root secretary on the first leaf", res2.RootSecretaryUserID, res.LeafID, false},
	} {
		got, err := store.Manages(ctx, c.user, c.org)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.wantManage {
			t.Errorf("%s: Manages = %v, want %v", c.name, got, c.wantManage)
		}
	}

	// The read API as the seeded secretaries.
	sessions := auth.NewSessions(env.App.Redis, env.App.Config.Redis.KeyPrefix, time.Hour)
	token := func(userID int64) string {
		tok, _, err := sessions.Create(ctx, auth.Session{UserID: userID, OpenID: fmt.Sprintf("seed-%d", userID)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rootTok, leafTok := token(res.RootSecretaryUserID), token(res.LeafSecretaryUserID)
	var view struct {
		Org struct {
			ID    int64 `json:"id"`
			Depth int   `json:"depth"`
		} `json:"org"`
		Children []struct {
			Subtree org.Counts `json:"subtree"`
		} `json:"children"`
		Subtree   org.Counts `json:"subtree"`
		CanManage bool       `json:"can_manage"`
	}
	status := getJSON(t, env, fmt.Sprintf("/api/v1/orgs/%d", res.RootID), rootTok, &view)
	if status != http.StatusOK {
		t.Fatalf("GET root as its secretary: %d", status)
	}
	if got := view.Subtree.Approved + view.Subtree.Pending; got != int64(res.Memberships) {
		t.Errorf("root subtree counts %d members (%+v), want %d", got, view.Subtree, res.Memberships)
	}
	if view.Subtree.Approved != int64(res.Approved) || !view.CanManage || len(view.Children) != res.Committees {
		t.Errorf("root view: %+v, want approved %d, %d children", view, res.Approved, res.Committees)
	}
	var sum int64
	for _, c := range view.Children {
		sum += c.Subtree.Approved + c.Subtree.Pending
	}
	if sum != int64(res.Memberships-1) { // all but the root's own secretary
		t.Errorf("children's subtrees add up to %d, want %d", sum, res.Memberships-1)
	}
	if status := getJSON(t, env, fmt.Sprintf("/api/v1/orgs/%d", res.LeafID), rootTok, &view); status != http.StatusOK ||
		view.Org.Depth != 3 || !view.CanManage {
		t.Errorf("GET leaf as the root secretary: %d %+v", status, view)
	}
	if status := getJSON(t, env, fmt.Sprintf("/api/v1/orgs/%d", res.RootID), leafTok, nil); status != http.StatusNotFound {
		t.Errorf("GET root as the leaf secretary: %d, want 404", status)
	}

	// The service on top of the seeded rows: new ids do not collide, and a
	// member approved through the service moves the seeded counters.
	child, err := env.App.Org.CreateChild(ctx, res.LeafSecretaryUserID, res.LeafID, org.ChildInput{Name: "卡口临时党支部", Kind: org.KindTemporary})
	if err != nil {
		t.Fatalf("create a child of the seeded leaf: %v", err)
	}
	if child.ID <= res2.LeafID || child.Depth != 4 {
		t.Errorf("new child %+v, want an id after %d at depth 4", child, res2.LeafID)
	}
	u, _, err := user.NewStore(db).FindOrCreate(ctx, "after-seed", "")
	if err != nil {
		t.Fatalf("create a user after the seed: %v", err)
	}
	code, _, err := env.App.Org.Invite(ctx, res.LeafSecretaryUserID, res.LeafID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Org.Signup(ctx, u.ID, code, "周新人", org.BadgeInformation); err != nil {
		t.Fatalf("signup after the seed: %v", err)
	}
	if _, err := env.App.Org.Approve(ctx, res.RootSecretaryUserID, res.LeafID, u.ID); err != nil {
		t.Fatalf("approve after the seed: %v", err)
	}
	checkCounters(t, env)
	getJSON(t, env, fmt.Sprintf("/api/v1/orgs/%d", res.RootID), rootTok, &view)
	if view.Subtree.Approved != int64(res.Approved)+1 {
		t.Errorf("root approved after one more approval: %d, want %d", view.Subtree.Approved, res.Approved+1)
	}
}

// TestSeedRejectsTooSmall checks that a spec with no room for a branch is refused.
func TestSeedRejectsTooSmall(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	for _, spec := range []org.SeedSpec{{Orgs: 3}, {Orgs: 10, Committees: 3, GeneralBranches: 3}, {Orgs: 10, Members: -1}} {
		if _, err := org.Seed(context.Background(), env.App.DB.DB, spec); err == nil {
			t.Errorf("Seed(%+v) succeeded", spec)
		}
	}
}

// getJSON sends an authenticated GET and decodes a 200 answer into v. It
// uses a plain client: what it checks is the content, and the contract of
// the org endpoints is checked by the org HTTP tests.
func getJSON(t *testing.T, env *testenv.Env, path, token string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, env.Server.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := env.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, raw)
		}
	}
	return resp.StatusCode
}

// checkTree compares org_closure and orgs.depth with the ancestors that
// parent_id gives.
func checkTree(t *testing.T, env *testenv.Env) {
	t.Helper()
	var orgs []org.Org
	if err := env.App.DB.DB.Find(&orgs).Error; err != nil {
		t.Fatal(err)
	}
	parent := map[int64]*int64{}
	for _, o := range orgs {
		parent[o.ID] = o.ParentID
	}
	want := map[[2]int64]int{}
	for _, o := range orgs {
		d, anc := 0, &o.ID
		for anc != nil {
			want[[2]int64{*anc, o.ID}] = d
			d++
			anc = parent[*anc]
		}
		if o.Depth != d-1 {
			t.Errorf("org %d (%s) has depth %d, its path %d", o.ID, o.Name, o.Depth, d-1)
		}
	}
	var rows []struct {
		AncestorID, DescendantID int64
		Depth                    int
	}
	if err := env.App.DB.DB.Table("org_closure").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("org_closure has %d pairs, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		if d, ok := want[[2]int64{r.AncestorID, r.DescendantID}]; !ok || d != r.Depth {
			t.Errorf("closure pair %+v: want depth %d (present %v)", r, d, ok)
		}
	}
}

// checkCounters compares every org's six counters with a recount of the
// memberships in its subtree.
func checkCounters(t *testing.T, env *testenv.Env) {
	t.Helper()
	type key struct {
		OrgID  int64
		Status string
		Badge  string
	}
	type row struct {
		OrgID  int64
		Status string
		Badge  string
		N      int64
	}
	var recount []row
	err := env.App.DB.DB.Raw(`SELECT c.ancestor_id AS org_id, m.status, m.badge, COUNT(*) AS n
		FROM memberships m JOIN org_closure c ON c.descendant_id = m.org_id
		WHERE m.status IN ('pending', 'approved') AND m.seconded_from IS NULL
		GROUP BY c.ancestor_id, m.status, m.badge`).Scan(&recount).Error
	if err != nil {
		t.Fatal(err)
	}
	want := map[key]int64{}
	for _, r := range recount {
		want[key{r.OrgID, r.Status, r.Badge}] = r.N
	}
	var rows []row
	if err := env.App.DB.DB.Table("org_counts").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var norgs int64
	if err := env.App.DB.DB.Table("orgs").Count(&norgs).Error; err != nil {
		t.Fatal(err)
	}
	if int64(len(rows)) != norgs*6 {
		t.Errorf("org_counts has %d rows for %d orgs, want 6 each", len(rows), norgs)
	}
	seen := 0
	for _, r := range rows {
		k := key{r.OrgID, r.Status, r.Badge}
		if want[k] != r.N {
			t.Errorf("counter %+v = %d, recount %d", k, r.N, want[k])
		}
		if _, ok := want[k]; ok {
			seen++
		}
	}
	if seen != len(want) {
		t.Errorf("%d recounted counters have no row", len(want)-seen)
	}
}
