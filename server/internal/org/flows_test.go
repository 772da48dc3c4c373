package org_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/url"
	"sync"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/badge"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/testenv"
)

type meJSON struct {
	Memberships []membership `json:"memberships"`
}

// badgeJSON is a badge as the API answers it: the server's own type, since testenv's
// client checks every response against openapi.yaml.
type badgeJSON = badge.Badge

type verdict struct {
	Valid      bool   `json:"valid"`
	Reason     string `json:"reason"`
	NameMasked string `json:"name_masked"`
	OrgName    string `json:"org_name"`
	BadgeLabel string `json:"badge_label"`
}

func (w *world) badge(p person) badgeJSON {
	w.t.Helper()
	var b badgeJSON
	w.Expect(w.DoAs("GET", "/api/v1/me/badge", p, nil), 200).JSON(w.t, &b)
	return b
}

func (w *world) verify(token string) verdict {
	w.t.Helper()
	var v verdict
	w.Expect(w.DoAs("GET", "/api/v1/badges/verify?token="+url.QueryEscape(token), anonymous, nil), 200).JSON(w.t, &v)
	return v
}

func TestSignupWithEachBadgeAndApproval(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct{ badge, label, name string }{
		{"publicity", "宣传员", "刘宣传"}, {"information", "信息员", "吴信息"}, {"frontline", "战斗员", "郑战斗"},
	} {
		t.Run("a member signs up as "+tc.label+", is approved and shows the badge", func(t *testing.T) {
			w := w.in(t)
			p := w.LoginAs("badge-"+tc.badge, "13600000001")
			m := w.signup(p, w.A, tc.name, tc.badge, 201)
			if m.Status != "pending" || m.BadgeLabel != tc.label || m.Role != "member" {
				t.Fatalf("signup answered %+v", m)
			}
			if r := w.DoAs("GET", "/api/v1/me/badge", p, nil); r.Status != 404 || r.ErrorCode() != "badge_not_found" {
				t.Errorf("a pending member has a badge: %d %s", r.Status, r.Body)
			}
			w.Expect(w.DoAs("POST", w.MemberPath(w.A, p)+"/approve", w.SecA, nil), 200)
			var me meJSON
			w.Expect(w.DoAs("GET", "/api/v1/me", p, nil), 200).JSON(t, &me)
			if len(me.Memberships) != 1 || me.Memberships[0].Status != "approved" || me.Memberships[0].Badge != tc.badge {
				t.Errorf("GET /me memberships = %+v", me.Memberships)
			}
			b := w.badge(p)
			if b.Name != tc.name || b.BadgeLabel != tc.label || b.OrgName != "第一党支部" || b.Status != "approved" || b.BadgeNo == "" {
				t.Errorf("badge = %+v", b)
			}
			if d := time.Until(b.VerifyExpiresAt); d <= 9*time.Minute || d > 10*time.Minute+time.Second {
				t.Errorf("the verify token lives %s, want 10 minutes", d)
			}
			v := w.verify(b.VerifyToken)
			want := []rune(tc.name)
			if !v.Valid || v.NameMasked != string(want[0])+"*"+string(want[2]) || v.BadgeLabel != tc.label || v.OrgName != "第一党支部" {
				t.Errorf("verify = %+v", v)
			}
		})
	}
}

func TestSignupRules(t *testing.T) {
	w := newWorld(t)
	p := w.LoginAs("rules", "13600000002")
	code := w.Invite(w.RootSec, w.A)
	tests := []struct {
		name   string
		body   map[string]string
		status int
		code   string
	}{
		{"a badge outside the three is 400", map[string]string{"invite_code": code, "name": "张三", "badge": "captain"}, 400, "invalid_argument"},
		{"an empty name is 400", map[string]string{"invite_code": code, "name": " ", "badge": "frontline"}, 400, "invalid_argument"},
		{"an over-long name is 400", map[string]string{"invite_code": code, "name": "张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张三张", "badge": "frontline"}, 400, "invalid_argument"},
		{"an unknown invite code is 404", map[string]string{"invite_code": "ZZZZ-ZZZZ", "name": "张三", "badge": "frontline"}, 404, "invite_invalid"},
		{"a code with foreign characters is 404", map[string]string{"invite_code": "0O1I", "name": "张三", "badge": "frontline"}, 404, "invite_invalid"},
		{"a lower-case code without the dash works", map[string]string{"invite_code": toLowerNoDash(code), "name": "张三", "badge": "frontline"}, 201, ""},
		{"a second signup to the same org is 409", map[string]string{"invite_code": code, "name": "张三", "badge": "frontline"}, 409, "already_member"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			r := w.DoAs("POST", "/api/v1/members/signup", p, tc.body)
			if r.Status != tc.status || (tc.code != "" && r.ErrorCode() != tc.code) {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
	t.Run("a rotated invite code stops working and the new one works", func(t *testing.T) {
		w := w.in(t)
		var inv struct {
			Code string `json:"invite_code"`
		}
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/invite/rotate", w.B), w.SecB, nil), 200).JSON(t, &inv)
		q := w.LoginAs("rotated", "13600000003")
		if r := w.DoAs("POST", "/api/v1/members/signup", q, map[string]string{"invite_code": code, "name": "李四", "badge": "frontline"}); r.Status != 201 {
			t.Fatalf("A's code (not rotated) = %d", r.Status)
		}
		old := w.Invite(w.RootSec, w.B)
		if old != inv.Code {
			t.Fatalf("GET invite after rotate = %s, want %s", old, inv.Code)
		}
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/invite/rotate", w.B), w.SecB, nil), 200)
		if r := w.DoAs("POST", "/api/v1/members/signup", q, map[string]string{"invite_code": old, "name": "李四", "badge": "frontline"}); r.Status != 404 || r.ErrorCode() != "invite_invalid" {
			t.Errorf("the rotated-out code = %d %s", r.Status, r.Body)
		}
	})
	t.Run("an expired invite code is 404", func(t *testing.T) {
		w := w.in(t)
		code := w.Invite(w.RootSec, w.B)
		w.App.DB.Exec("UPDATE orgs SET invite_expires_at = ? WHERE id = ?", time.Now().Add(-time.Minute).UTC(), w.B)
		q := w.LoginAs("late", "13600000004")
		if r := w.DoAs("POST", "/api/v1/members/signup", q, map[string]string{"invite_code": code, "name": "王五", "badge": "frontline"}); r.Status != 404 || r.ErrorCode() != "invite_invalid" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
		if fresh := w.Invite(w.RootSec, w.B); fresh == code {
			t.Error("GET invite kept handing out the expired code")
		}
	})
}

func toLowerNoDash(s string) string {
	var b []rune
	for _, r := range s {
		if r == '-' {
			continue
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b = append(b, r)
	}
	return string(b)
}

func TestConcurrentDuplicateSignupsMakeOneMembership(t *testing.T) {
	w := newWorld(t, func(c *config.Config) { c.Org.SignupPerMinute = 100 })
	p := w.LoginAs("eager", "13600000005")
	code := w.Invite(w.RootSec, w.A)
	var wg sync.WaitGroup
	statuses := make([]int, 20)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = w.Do("POST", "/api/v1/members/signup", p.Token, map[string]string{"invite_code": code, "name": "钱急", "badge": "frontline"}).Status
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case 201:
			created++
		case 409:
		default:
			t.Errorf("a concurrent signup answered %d", s)
		}
	}
	var n int64
	w.Must(w.App.DB.Table("memberships").Where("org_id = ? AND user_id = ?", w.A, p.ID).Count(&n).Error)
	if created != 1 || n != 1 {
		t.Errorf("%d answers were 201 and %d rows exist, want 1 and 1 (%v)", created, n, statuses)
	}
	assertCountsMatch(t, w)
}

func TestRejectionRemovalAndReapplying(t *testing.T) {
	w := newWorld(t)
	r := w.Expect(w.DoAs("POST", w.MemberPath(w.A, w.PendingA)+"/reject", w.SecA, map[string]string{"reason": "不是本支部党员"}), 200)
	if !bytes.Contains(r.Body, []byte(`"status":"rejected"`)) || !bytes.Contains(r.Body, []byte("不是本支部党员")) {
		t.Errorf("reject answered %s", r.Body)
	}
	t.Run("approving a rejected application is 409", func(t *testing.T) {
		w := w.in(t)
		if r := w.DoAs("POST", w.MemberPath(w.A, w.PendingA)+"/approve", w.SecA, nil); r.Status != 409 || r.ErrorCode() != "invalid_transition" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})
	t.Run("a rejected applicant may apply again", func(t *testing.T) {
		w := w.in(t)
		m := w.signup(w.PendingA, w.A, "孙待审", "information", 201)
		if m.Status != "pending" || m.Badge != "information" {
			t.Errorf("reapplied as %+v", m)
		}
	})
	t.Run("removing a member revokes their badge at once", func(t *testing.T) {
		w := w.in(t)
		b := w.badge(w.MemberA)
		if !w.verify(b.VerifyToken).Valid {
			t.Fatal("the badge was not valid before removal")
		}
		w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)
		if v := w.verify(b.VerifyToken); v.Valid || v.Reason != "revoked" {
			t.Errorf("after removal verify = %+v", v)
		}
		if r := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d", w.A), w.MemberA, nil); r.Status != 403 && r.Status != 404 {
			t.Errorf("a removed member still reads the branch: %d", r.Status)
		}
		if r := w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil); r.Status != 409 {
			t.Errorf("removing twice = %d", r.Status)
		}
	})
	t.Run("a removed secretary loses the branch at once", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.SecA), w.RootSec, nil), 204)
		if r := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/members", w.A), w.SecA, nil); r.Status != 404 {
			t.Errorf("the removed secretary listed members: %d %s", r.Status, r.Body)
		}
	})
	t.Run("secretaries cannot act on themselves", func(t *testing.T) {
		w := w.in(t)
		if r := w.DoAs("DELETE", w.MemberPath(w.B, w.SecB), w.SecB, nil); r.Status != 403 || r.ErrorCode() != "cannot_act_on_self" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
		if r := w.DoAs("PATCH", w.MemberPath(w.B, w.SecB), w.SecB, map[string]string{"role": "member"}); r.Status != 403 {
			t.Errorf("changing one's own role = %d", r.Status)
		}
	})
	t.Run("a member id from another branch is 404 in this branch", func(t *testing.T) {
		w := w.in(t)
		if r := w.DoAs("POST", w.MemberPath(w.A, w.MemberB)+"/approve", w.RootSec, nil); r.Status != 404 || r.ErrorCode() != "member_not_found" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})
	assertCountsMatch(t, w)
}

func TestSignupsAreRateLimitedPerUser(t *testing.T) {
	w := newWorld(t, func(c *config.Config) { c.Org.SignupPerMinute = 3 })
	p := w.LoginAs("guesser", "13600000006")
	statuses := map[int]int{}
	for i := range 5 {
		r := w.DoAs("POST", "/api/v1/members/signup", p, map[string]string{"invite_code": fmt.Sprintf("GUES-S%03d", i), "name": "猜码", "badge": "frontline"})
		statuses[r.Status]++
	}
	if statuses[404] != 3 || statuses[429] != 2 {
		t.Errorf("5 guesses answered %v, want 3×404 then 2×429", statuses)
	}
}

func TestBadgeChangeRevokesOldTokens(t *testing.T) {
	w := newWorld(t)
	old := w.badge(w.MemberA)
	w.Expect(w.DoAs("PATCH", w.MemberPath(w.A, w.MemberA), w.SecA, map[string]string{"badge": "publicity"}), 200)
	if v := w.verify(old.VerifyToken); v.Valid || v.Reason != "revoked" {
		t.Errorf("a token of the old badge = %+v", v)
	}
	fresh := w.badge(w.MemberA)
	if v := w.verify(fresh.VerifyToken); !v.Valid || v.BadgeLabel != "宣传员" {
		t.Errorf("the new badge = %+v", v)
	}
	assertCountsMatch(t, w)
}

func TestBadgeTokensThatAreNotValid(t *testing.T) {
	w := newWorld(t)
	good := w.badge(w.MemberA).VerifyToken
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	other := w.badge(w.MemberB).VerifyToken

	tampered := []byte(good)
	tampered[10] ^= 1
	swapped := append([]byte(nil), raw...)
	otherRaw, _ := base64.RawURLEncoding.DecodeString(other)
	copy(swapped[1:9], otherRaw[1:9]) // point at another membership, keep the signature
	signer := badge.NewSigner(config.DevBadgeKey)
	expired := signer.Sign(badge.Claims{MembershipID: 1, ExpiresAt: time.Now().Add(-time.Second), BadgeVersion: 1})
	forged := badge.NewSigner("someone-elses-key-that-is-32-chars-long").Sign(badge.Claims{MembershipID: 1, ExpiresAt: time.Now().Add(time.Hour), BadgeVersion: 1})

	tests := []struct{ name, token, reason string }{
		{"a tampered token is invalid", string(tampered), "invalid"},
		{"a token re-pointed at another membership is invalid", base64.RawURLEncoding.EncodeToString(swapped), "invalid"},
		{"a token signed with another key is invalid", forged, "invalid"},
		{"a truncated token is invalid", good[:20], "invalid"},
		{"garbage is invalid", "%%%not-a-token", "invalid"},
		{"an expired token is expired", expired, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			if v := w.verify(tc.token); v.Valid || v.Reason != tc.reason || v.NameMasked != "" {
				t.Errorf("verify = %+v, want reason %s", v, tc.reason)
			}
		})
	}
	t.Run("a missing token is 400", func(t *testing.T) {
		w := w.in(t)
		if r := w.DoAs("GET", "/api/v1/badges/verify", anonymous, nil); r.Status != 400 {
			t.Errorf("got %d", r.Status)
		}
	})
}

func TestBadgeQRCode(t *testing.T) {
	w := newWorld(t)
	r := w.Expect(w.DoAs("GET", "/api/v1/me/badge/qr.png", w.MemberA, nil), 200)
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("qr.png is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dx() != b.Dy() {
		t.Errorf("QR image is %v", b)
	}
	if r.Header.Get("Content-Type") != "image/png" {
		t.Errorf("Content-Type = %s", r.Header.Get("Content-Type"))
	}
}

func TestVerificationIsRateLimitedPerIP(t *testing.T) {
	// The limit counts per minute of the clock: one standing still keeps
	// the eight requests in one minute, wherever the machine's minute turns.
	clock := testenv.NewClock(time.Date(2026, 3, 10, 10, 0, 30, 0, time.UTC))
	w := &world{World: testenv.NewWorld(t, testenv.Options{Now: clock.Now,
		Configure: func(c *config.Config) { c.Badge.VerifyPerMinute = 5 }}), t: t}
	tok := w.badge(w.MemberA).VerifyToken
	limited := 0
	for range 8 {
		r := w.DoAs("GET", "/api/v1/badges/verify?token="+tok, anonymous, nil)
		if r.Status == 429 {
			limited++
			if r.Header.Get("Retry-After") == "" || r.ErrorCode() != "rate_limited" {
				t.Errorf("429 without Retry-After or code: %s", r.Body)
			}
		}
	}
	if limited != 3 {
		t.Errorf("%d of 8 verifications were limited, want 3", limited)
	}
}

func TestClaimCodesWorkOnce(t *testing.T) {
	w := newWorld(t)
	_, code, _, err := w.App.Org.Bootstrap(context.Background(), "另一个区委", "committee")
	if err != nil {
		t.Fatal(err)
	}
	p, q := w.LoginAs("claimer", "13500000001"), w.LoginAs("latecomer", "13500000002")
	if r := w.DoAs("POST", "/api/v1/orgs/claim", p, map[string]string{"code": code}); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"role":"secretary"`)) {
		t.Fatalf("claim = %d %s", r.Status, r.Body)
	}
	if r := w.DoAs("POST", "/api/v1/orgs/claim", q, map[string]string{"code": code}); r.Status != 404 || r.ErrorCode() != "claim_invalid" {
		t.Errorf("a used code = %d %s", r.Status, r.Body)
	}
	_, code2, _, err := w.App.Org.Bootstrap(context.Background(), "过期的区委", "committee")
	w.Must(err)
	w.App.DB.Exec("UPDATE org_claims SET expires_at = ? WHERE used_at IS NULL", time.Now().Add(-time.Minute).UTC())
	if r := w.DoAs("POST", "/api/v1/orgs/claim", q, map[string]string{"code": code2}); r.Status != 404 {
		t.Errorf("an expired code = %d %s", r.Status, r.Body)
	}
}

func TestSecondmentAndItsEnd(t *testing.T) {
	w := newWorld(t)
	end := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	var temp orgJSON
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", w.Root), w.RootSec, map[string]any{
		"name": "火车站卡口临时党支部", "kind": "temporary", "ends_at": end,
		"post": map[string]any{"lat": 36.06, "lng": 120.38, "radius_m": 300, "address": "青岛站北广场"},
	}), 201).JSON(t, &temp)

	outsider := w.LoginAs("outsider", "13400000001")
	var res struct {
		Added   []membership `json:"added"`
		Skipped []struct {
			UserID int64  `json:"user_id"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID), w.RootSec,
		map[string][]int64{"user_ids": {w.MemberA.ID, w.MemberB.ID, w.PendingA.ID, outsider.ID}}), 200).JSON(t, &res)
	if len(res.Added) != 2 || len(res.Skipped) != 2 {
		t.Fatalf("secondment = %+v", res)
	}
	for _, s := range res.Skipped {
		if s.Reason != "not_found" {
			t.Errorf("skipped %+v", s)
		}
	}
	var me meJSON
	w.Expect(w.DoAs("GET", "/api/v1/me", w.MemberA, nil), 200).JSON(t, &me)
	if len(me.Memberships) != 2 {
		t.Fatalf("a seconded member has memberships %+v", me.Memberships)
	}
	if b := w.badge(w.MemberA); b.OrgName != "第一党支部" {
		t.Errorf("the default badge is %s, want the home branch", b.OrgName)
	}
	tempBadge := badgeJSON{}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/me/badge?org_id=%d", temp.ID), w.MemberA, nil), 200).JSON(t, &tempBadge)
	if tempBadge.OrgName != "火车站卡口临时党支部" || !w.verify(tempBadge.VerifyToken).Valid {
		t.Errorf("the temporary badge = %+v", tempBadge)
	}
	if r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID), w.SecA, map[string][]int64{"user_ids": {w.MemberA.ID}}); r.Status != 404 {
		t.Errorf("a branch secretary seconded into a temporary org under the root: %d", r.Status)
	}
	var detail struct {
		Seconded int64 `json:"seconded"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d", temp.ID), w.RootSec, nil), 200).JSON(t, &detail)
	if detail.Seconded != 2 {
		t.Errorf("the temporary org shows %d seconded, want 2", detail.Seconded)
	}
	assertCountsMatch(t, w)

	t.Run("when the end date passes the secondment ends and the home branch stays", func(t *testing.T) {
		w := w.in(t)
		w.App.DB.Exec("UPDATE orgs SET ends_at = ? WHERE id = ?", time.Now().Add(-time.Second).UTC(), temp.ID)
		if v := w.verify(tempBadge.VerifyToken); v.Valid {
			t.Error("a badge of an ended temporary org still verifies")
		}
		n, err := w.App.Org.EndDue(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("EndDue = %d, %v", n, err)
		}
		w.Expect(w.DoAs("GET", "/api/v1/me", w.MemberA, nil), 200).JSON(t, &me)
		for _, m := range me.Memberships {
			want := "approved"
			if m.OrgID == temp.ID {
				want = "removed"
			}
			if m.Status != want {
				t.Errorf("membership in org %d is %s, want %s", m.OrgID, m.Status, want)
			}
		}
		if !w.verify(w.badge(w.MemberA).VerifyToken).Valid {
			t.Error("the home badge stopped verifying")
		}
		if r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID), w.RootSec, map[string][]int64{"user_ids": {w.MemberA.ID}}); r.Status != 422 || r.ErrorCode() != "org_ended" {
			t.Errorf("seconding into an ended org = %d %s", r.Status, r.Body)
		}
	})
	t.Run("dissolving a branch is refused", func(t *testing.T) {
		w := w.in(t)
		if r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/dissolve", w.A), w.RootSec, nil); r.Status != 422 || r.ErrorCode() != "not_temporary" {
			t.Errorf("got %d %s", r.Status, r.Body)
		}
	})
	assertCountsMatch(t, w)
}

func TestAuditTrailRecordsSecretaryActions(t *testing.T) {
	w := newWorld(t)
	w.Expect(w.DoAs("POST", w.MemberPath(w.A, w.PendingA)+"/reject", w.SecA, map[string]string{"reason": "重复申请"}), 200)
	var page struct {
		Items []struct {
			ActorID      int64          `json:"actor_id"`
			Action       string         `json:"action"`
			TargetUserID *int64         `json:"target_user_id"`
			Detail       map[string]any `json:"detail"`
			CreatedAt    time.Time      `json:"created_at"`
		} `json:"items"`
		Next string `json:"next_cursor"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/audit?limit=2", w.A), w.SecA, nil), 200).JSON(t, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("first page = %+v", page)
	}
	top := page.Items[0]
	if top.Action != "member.reject" || top.ActorID != w.SecA.ID || top.TargetUserID == nil || *top.TargetUserID != w.PendingA.ID || top.Detail["reason"] != "重复申请" {
		t.Errorf("newest entry = %+v", top)
	}
	seen := map[string]bool{}
	cursor := ""
	for range 10 {
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/audit?limit=2&cursor=%s", w.Root, cursor), w.RootSec, nil), 200).JSON(t, &page)
		for _, it := range page.Items {
			seen[it.Action] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	for _, a := range []string{"org.claim", "org.create_child", "member.approve", "member.change", "member.reject"} {
		if !seen[a] {
			t.Errorf("the root's trail lacks %s (has %v)", a, seen)
		}
	}
}

func TestMemberListFiltersAndPages(t *testing.T) {
	w := newWorld(t)
	var page struct {
		Items []struct {
			UserID      int64  `json:"user_id"`
			Name        string `json:"name"`
			PhoneMasked string `json:"phone_masked"`
			Status      string `json:"status"`
		} `json:"items"`
		Next string `json:"next_cursor"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/members?status=pending", w.A), w.SecA, nil), 200).JSON(t, &page)
	if len(page.Items) != 1 || page.Items[0].UserID != w.PendingA.ID || page.Items[0].PhoneMasked != "137****0009" {
		t.Errorf("pending list = %+v", page.Items)
	}
	total := 0
	cursor := ""
	for range 10 {
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/members?limit=1&cursor=%s", w.A, cursor), w.SecA, nil), 200).JSON(t, &page)
		total += len(page.Items)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if total != 3 {
		t.Errorf("paging through A listed %d members, want 3", total)
	}
	for _, bad := range []string{"status=gone", "badge=captain", "limit=0", "limit=201", "cursor=!!!"} {
		if r := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/members?%s", w.A, bad), w.SecA, nil); r.Status != 400 {
			t.Errorf("?%s = %d", bad, r.Status)
		}
	}
}

func TestChildKindsAndPosts(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		parent int64
		body   map[string]any
		status int
	}{
		{"a branch under a branch is refused", w.A, map[string]any{"name": "下级支部", "kind": "branch"}, 422},
		{"a post on a branch is refused", w.Root, map[string]any{"name": "支部", "kind": "branch", "post": map[string]any{"lat": 1, "lng": 1, "radius_m": 100}}, 400},
		{"a post out of range is refused", w.A, map[string]any{"name": "卡口", "kind": "temporary", "post": map[string]any{"lat": 91, "lng": 1, "radius_m": 100}}, 400},
		{"an end date in the past is refused", w.A, map[string]any{"name": "卡口", "kind": "temporary", "ends_at": time.Now().Add(-time.Hour)}, 400},
		{"an unknown kind is refused", w.A, map[string]any{"name": "卡口", "kind": "squad"}, 400},
		{"a temporary org with a post is created", w.A, map[string]any{"name": "卡口", "kind": "temporary", "post": map[string]any{"lat": 36.1, "lng": 120.4, "radius_m": 200, "address": "某路口"}}, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			if r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", tc.parent), w.RootSec, tc.body); r.Status != tc.status {
				t.Errorf("got %d %s", r.Status, r.Body)
			}
		})
	}
}

// assertCountsMatch compares the subtree counters every org page shows with
// a recount from the memberships table.
func assertCountsMatch(t *testing.T, w *world) {
	t.Helper()
	var ids []int64
	w.Must(w.App.DB.Table("orgs").Pluck("id", &ids).Error)
	counts, err := w.App.Org.Store().SubtreeCounts(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var rows []struct {
			Status string
			Badge  string
			N      int64
		}
		w.App.DB.Raw(`SELECT m.status, m.badge, COUNT(*) AS n FROM memberships m
			JOIN org_closure c ON c.descendant_id = m.org_id
			WHERE c.ancestor_id = ? AND m.seconded_from IS NULL AND m.status IN ('pending','approved')
			GROUP BY m.status, m.badge`, id).Scan(&rows)
		want := org.Counts{ByBadge: map[org.Badge]int64{"publicity": 0, "information": 0, "frontline": 0}}
		for _, r := range rows {
			if r.Status == "pending" {
				want.Pending += r.N
			} else {
				want.Approved += r.N
				want.ByBadge[org.Badge(r.Badge)] += r.N
			}
		}
		got := counts[id]
		if got.Pending != want.Pending || got.Approved != want.Approved || fmt.Sprint(got.ByBadge) != fmt.Sprint(want.ByBadge) {
			t.Errorf("org %d counters %+v, recount %+v", id, got, want)
		}
	}
}
