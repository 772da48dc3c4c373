package org_test

import (
	"fmt"
	"testing"
	"time"

	"xianfeng/server/internal/testenv"
)

// TestEndedFollowsTheServiceClock: whether a temporary org "ended" is
// decided by the server's clock, like every other date rule, not by the
// machine's: an org whose end has passed on that clock says so before the
// sweep dissolves it.
func TestEndedFollowsTheServiceClock(t *testing.T) {
	clock := testenv.NewClock(time.Date(2030, 3, 1, 2, 0, 0, 0, time.UTC))
	w := &world{World: testenv.NewWorld(t, testenv.Options{Now: clock.Now}), t: t}
	var temp struct {
		ID    int64 `json:"id"`
		Ended bool  `json:"ended"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/children", w.Root), w.RootSec, map[string]any{
		"name": "卡口临时党支部", "kind": "temporary", "ends_at": clock.Now().Add(time.Hour),
	}), 201).JSON(t, &temp)
	if temp.Ended {
		t.Fatal("a temporary org ending in an hour says it has ended")
	}
	clock.Add(2 * time.Hour)
	var view struct {
		Org struct {
			Ended bool `json:"ended"`
		} `json:"org"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d", temp.ID), w.RootSec, nil), 200).JSON(t, &view)
	if !view.Org.Ended {
		t.Error("two hours on, past its ends_at, the org does not say it has ended")
	}
}
