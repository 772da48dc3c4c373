package checkin_test

import (
	"fmt"
	"testing"
)

func TestASecondedMemberCountsOnceOnEachBoard(t *testing.T) {
	w := newWorld(t)
	temp := w.child(w.secA, w.a, "卡口临时党支部", "temporary")
	w.expect(w.do("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp), w.secA, map[string][]int64{"user_ids": {w.memberA.ID}}), 200)
	today := day(w.clock.Now())

	w.expect(w.do("POST", "/api/v1/checkins", w.memberA, map[string]any{"org_id": temp, "request_id": "at-the-post"}), 201)
	t.Run("a check-in at the temporary org counts there and not again up the home tree", func(t *testing.T) {
		w.assertBoards(t, today, temp, w.a, w.root)
	})
	w.expect(w.do("POST", "/api/v1/checkins", w.memberA, map[string]any{"org_id": w.a, "request_id": "at-home"}), 201)
	t.Run("a check-in at home counts at home", func(t *testing.T) {
		w.assertBoards(t, today, temp, w.a, w.root)
	})
	w.loseRedis(&w.rootSec)
	t.Run("the rebuilt boards agree too", func(t *testing.T) {
		w.assertBoards(t, today, temp, w.a, w.root)
	})
}
