package task_test

import (
	"context"
	"fmt"
	"testing"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

// TestARemovedMembersQueuedPushesStop: a member removed from their only
// organisation gets no more pushes of any kind from the next moment on —
// an announcement posted before the removal whose push still waits is not
// sent; it stays in the inbox, which they can no longer reach through the
// org anyway. A member who keeps another membership keeps those pushes.
func TestARemovedMembersQueuedPushesStop(t *testing.T) {
	w := newWorld(t, testenv.WithTemplates(notify.KindAnnouncement))
	ctx := context.Background()
	stay := w.NewMember(w.A, "frontline")
	consents := notify.NewConsents(w.App.DB.DB, 20)
	for _, p := range []person{w.MemberA, stay} {
		if err := consents.Add(ctx, p.ID, []string{"tmpl-" + notify.KindAnnouncement}); err != nil {
			t.Fatal(err)
		}
	}
	var a struct{ ID int64 }
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA,
		map[string]any{"title": "防控通知", "body": "请立即传达。", "include_suborgs": false}), 201).JSON(t, &a)
	if err := w.App.Announce.FanOut(ctx, a.ID); err != nil {
		t.Fatal(err)
	}

	w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)

	w.DeliverQueued(ctx)
	if n := w.Pushed(w.MemberA); n != 0 {
		t.Errorf("the removed member got %d pushes after the removal, want 0", n)
	}
	if n := w.Pushed(stay); n != 1 {
		t.Errorf("the member who stayed got %d pushes, want 1 (the announcement)", n)
	}
}
