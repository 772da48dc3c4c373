package org_test

import (
	"fmt"
	"testing"
)

func TestSecondingTwiceOrAgainAfterRemoval(t *testing.T) {
	w := newWorld(t)
	var temp struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", w.A), w.SecA, map[string]any{"name": "卡口临时党支部", "kind": "temporary"}), 201).JSON(t, &temp)
	path := fmt.Sprintf("/api/v1/orgs/%d/members", temp.ID)
	type result struct {
		Added   []membership `json:"added"`
		Skipped []struct {
			UserID int64  `json:"user_id"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	second := func(t *testing.T) result {
		t.Helper()
		var res result
		w.Expect(w.DoAs("POST", path, w.SecA, map[string][]int64{"user_ids": {w.MemberA.ID}}), 200).JSON(t, &res)
		return res
	}
	t.Run("the first secondment adds the member", func(t *testing.T) {
		if res := second(t); len(res.Added) != 1 || len(res.Skipped) != 0 {
			t.Fatalf("secondment = %+v, want the member added", res)
		}
	})
	t.Run("seconding the same member again skips them as already a member", func(t *testing.T) {
		res := second(t)
		if len(res.Added) != 0 || len(res.Skipped) != 1 || res.Skipped[0].Reason != "already_member" {
			t.Fatalf("secondment = %+v, want the member skipped as already_member", res)
		}
	})
	t.Run("a member removed from the temporary org can be seconded again", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("DELETE", fmt.Sprintf("/api/v1/orgs/%d/members/%d", temp.ID, w.MemberA.ID), w.SecA, nil), 204)
		if res := second(t); len(res.Added) != 1 || len(res.Skipped) != 0 {
			t.Fatalf("secondment = %+v, want the member added again", res)
		}
	})
}
