package checkin_test

import (
	"fmt"
	"testing"
)

func TestASecondedMemberCountsOnceOnEachBoard(t *testing.T) {
	w := newWorld(t)
	temp := w.Child(w.SecA, w.A, "卡口临时党支部", "temporary")
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp), w.SecA, map[string][]int64{"user_ids": {w.MemberA.ID}}), 200)
	today := day(w.clock.Now())

	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": temp, "request_id": "at-the-post"}), 201)
	t.Run("a check-in at the temporary org counts there and not again up the home tree", func(t *testing.T) {
		w := w.in(t)
		w.assertBoards(t, today, temp, w.A, w.Root)
	})
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": w.A, "request_id": "at-home"}), 201)
	t.Run("a check-in at home counts at home", func(t *testing.T) {
		w := w.in(t)
		w.assertBoards(t, today, temp, w.A, w.Root)
	})
	w.loseRedis(&w.RootSec)
	t.Run("the rebuilt boards agree too", func(t *testing.T) {
		w := w.in(t)
		w.assertBoards(t, today, temp, w.A, w.Root)
	})
}
