package announce_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/notify"
)

// announcementJSON is an announcement as the API answers it: the server's own type, since testenv's
// client checks every response against openapi.yaml.
type announcementJSON = announce.JSON

type receiptsJSON struct {
	Announcement  announcementJSON `json:"announcement"`
	Total         int64            `json:"total"`
	Read          int64            `json:"read"`
	Unread        int64            `json:"unread"`
	Delivery      notify.Stats     `json:"delivery"`
	UnreadMembers []struct {
		UserID   int64  `json:"user_id"`
		Name     string `json:"name"`
		Delivery string `json:"delivery"`
	} `json:"unread_members"`
	NextCursor string `json:"next_cursor"`
}

// announce posts an announcement as by and runs its fan-out, as the queue
// worker would.
func (w *world) announce(by person, org int64, title string, suborgs bool) announcementJSON {
	w.t.Helper()
	var a announcementJSON
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", org), by,
		map[string]any{"title": title, "body": "请各支部立即传达学习上级指示精神，做好疫情防控工作。", "include_suborgs": suborgs}), 201).JSON(w.t, &a)
	if a.Status != "sending" || a.OrgID != org || a.IncludeSuborgs != suborgs || a.CreatedBy != by.ID {
		w.t.Errorf("created %+v, want status sending on org %d by %d", a, org, by.ID)
	}
	w.fanOut(a.ID)
	return a
}

func (w *world) fanOut(id int64) {
	w.t.Helper()
	if err := w.App.Announce.FanOut(context.Background(), id); err != nil {
		w.t.Fatalf("fan-out of announcement %d: %v", id, err)
	}
}

// recipients lists, sorted, the users notified of an announcement, one
// entry per notification.
func (w *world) recipients(id int64) []int64 {
	w.t.Helper()
	var users []int64
	if err := w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'announcement' AND ref_id = ?", notify.KindAnnouncement, id).
		Order("user_id").Pluck("user_id", &users).Error; err != nil {
		w.t.Fatal(err)
	}
	return users
}

func sorted(ps ...person) []int64 {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	slices.Sort(ids)
	return ids
}

func (w *world) receipts(by person, id int64) receiptsJSON {
	w.t.Helper()
	var r receiptsJSON
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/announcements/%d/receipts", id), by, nil), 200).JSON(w.t, &r)
	return r
}

func TestAnnouncements(t *testing.T) {
	w := newWorld(t)
	branch := w.announce(w.SecA, w.A, "关于做好春节期间疫情防控工作的通知", false)

	t.Run("a branch announcement reaches each approved member of the branch once", func(t *testing.T) {
		w := w.in(t)
		if got, want := w.recipients(branch.ID), sorted(w.SecA, w.MemberA); !slices.Equal(got, want) {
			t.Errorf("recipients %v, want %v (not the pending applicant, not branch B)", got, want)
		}
		var list struct {
			Items []announcementJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.MemberA, nil), 200).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != branch.ID || list.Items[0].Status != "sent" || list.Items[0].Recipients != 2 {
			t.Errorf("the branch's announcements %+v, want this one sent to 2", list.Items)
		}
		var inbox struct {
			Items []struct {
				Kind    string `json:"kind"`
				RefType string `json:"ref_type"`
				RefID   int64  `json:"ref_id"`
				Read    bool   `json:"read"`
			} `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/notifications", w.MemberA, nil), 200).JSON(t, &inbox)
		found := false
		for _, it := range inbox.Items {
			found = found || (it.Kind == notify.KindAnnouncement && it.RefType == "announcement" && it.RefID == branch.ID && !it.Read)
		}
		if !found {
			t.Errorf("the member's inbox %+v has no unread notification of the announcement", inbox.Items)
		}
	})

	t.Run("an announcement to the whole tree reaches every approved member below", func(t *testing.T) {
		w := w.in(t)
		a := w.announce(w.RootSec, w.Root, "市委关于全面动员的通知", true)
		if got, want := w.recipients(a.ID), sorted(w.RootSec, w.SecA, w.MemberA, w.SecB, w.MemberB); !slices.Equal(got, want) {
			t.Errorf("recipients %v, want %v", got, want)
		}
	})

	t.Run("an announcement without suborgs reaches only the org's own members", func(t *testing.T) {
		w := w.in(t)
		a := w.announce(w.RootSec, w.Root, "市委常委会议纪要", false)
		if got, want := w.recipients(a.ID), sorted(w.RootSec); !slices.Equal(got, want) {
			t.Errorf("recipients %v, want %v", got, want)
		}
	})

	t.Run("a member lent to a temporary org below is told once", func(t *testing.T) {
		w := w.in(t)
		temp := w.Child(w.SecA, w.A, "核酸检测点临时党支部", "temporary")
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", temp), w.SecA, map[string]any{"user_ids": []int64{w.MemberA.ID}}), 200)
		a := w.announce(w.SecA, w.A, "检测点轮班安排", true)
		if got, want := w.recipients(a.ID), sorted(w.SecA, w.MemberA); !slices.Equal(got, want) {
			t.Errorf("recipients %v, want %v, each once", got, want)
		}
		if r := w.receipts(w.SecA, a.ID); r.Total != 2 || len(r.UnreadMembers) != 2 {
			t.Errorf("receipts %+v, want 2 recipients", r)
		}
		tempOnly := w.announce(w.SecA, temp, "检测点内部通知", false)
		if got, want := w.recipients(tempOnly.ID), sorted(w.MemberA); !slices.Equal(got, want) {
			t.Errorf("recipients of the temporary org's announcement %v, want %v", got, want)
		}
	})

	t.Run("running the fan-out again creates no duplicates", func(t *testing.T) {
		w := w.in(t)
		a := w.announce(w.RootSec, w.Root, "再次动员", true)
		want := w.recipients(a.ID)
		w.fanOut(a.ID)
		// As after a crash before the status was written.
		if err := w.App.DB.Table("announcements").Where("id = ?", a.ID).Update("status", "sending").Error; err != nil {
			t.Fatal(err)
		}
		w.fanOut(a.ID)
		if got := w.recipients(a.ID); !slices.Equal(got, want) {
			t.Errorf("recipients after running the fan-out three times %v, want %v", got, want)
		}
		var list struct {
			Items []announcementJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.Root), w.RootSec, nil), 200).JSON(t, &list)
		if len(list.Items) == 0 || list.Items[0].ID != a.ID || list.Items[0].Recipients != len(want) || list.Items[0].Status != "sent" {
			t.Errorf("newest announcement %+v, want %d recipients, sent", list.Items, len(want))
		}
	})

	t.Run("a recipient who opens it has read it, and the receipts show who has not", func(t *testing.T) {
		w := w.in(t)
		before := w.receipts(w.SecA, branch.ID)
		if before.Total != 2 || before.Read != 0 || before.Unread != 2 || len(before.UnreadMembers) != 2 {
			t.Fatalf("receipts before anyone read it: %+v", before)
		}
		var got announcementJSON
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/announcements/%d", branch.ID), w.MemberA, nil), 200).JSON(t, &got)
		if got.ID != branch.ID || got.Title != branch.Title || got.Body == "" {
			t.Errorf("the member got %+v", got)
		}
		r := w.receipts(w.SecA, branch.ID)
		if r.Total != 2 || r.Read != 1 || r.Unread != 1 || r.Delivery.Read != 1 || r.Delivery.InboxOnly != 2 {
			t.Errorf("receipts after the member read it: total %d read %d unread %d delivery %+v", r.Total, r.Read, r.Unread, r.Delivery)
		}
		if len(r.UnreadMembers) != 1 || r.UnreadMembers[0].UserID != w.SecA.ID || r.UnreadMembers[0].Name != w.SecA.Name {
			t.Errorf("unread members %+v, want only %s", r.UnreadMembers, w.SecA.Name)
		}
		if up := w.receipts(w.RootSec, branch.ID); up.Read != 1 || up.Total != 2 {
			t.Errorf("the secretary above sees %+v", up)
		}
		// Opening it again changes nothing.
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/announcements/%d", branch.ID), w.MemberA, nil), 200)
		if again := w.receipts(w.SecA, branch.ID); again.Read != 1 {
			t.Errorf("read %d after opening twice, want 1", again.Read)
		}
	})

	t.Run("receipts page through the unread members", func(t *testing.T) {
		w := w.in(t)
		a := w.announce(w.RootSec, w.Root, "分页回执", true)
		var seen []int64
		path := fmt.Sprintf("/api/v1/announcements/%d/receipts?limit=2", a.ID)
		for range 5 {
			var r receiptsJSON
			w.Expect(w.DoAs("GET", path, w.RootSec, nil), 200).JSON(t, &r)
			for _, m := range r.UnreadMembers {
				seen = append(seen, m.UserID)
			}
			if r.NextCursor == "" {
				break
			}
			path = fmt.Sprintf("/api/v1/announcements/%d/receipts?limit=2&cursor=%s", a.ID, r.NextCursor)
		}
		slices.Sort(seen)
		if want := w.recipients(a.ID); !slices.Equal(seen, want) {
			t.Errorf("unread members over all pages %v, want %v", seen, want)
		}
	})

	t.Run("a member of another branch finds neither the announcement nor its receipts", func(t *testing.T) {
		w := w.in(t)
		for _, tc := range []struct {
			who  person
			path string
		}{
			{w.MemberB, fmt.Sprintf("/api/v1/announcements/%d", branch.ID)},
			{w.MemberB, fmt.Sprintf("/api/v1/announcements/%d/receipts", branch.ID)},
			{w.SecB, fmt.Sprintf("/api/v1/announcements/%d", branch.ID)},
			{w.SecB, fmt.Sprintf("/api/v1/announcements/%d/receipts", branch.ID)},
			{w.PendingA, fmt.Sprintf("/api/v1/announcements/%d", branch.ID)},
			{w.MemberA, fmt.Sprintf("/api/v1/announcements/%d/receipts", branch.ID)},
			{w.MemberA, "/api/v1/announcements/999999"},
		} {
			r := w.DoAs("GET", tc.path, tc.who, nil)
			if r.Status != http.StatusNotFound || r.ErrorCode() != "announcement_not_found" {
				t.Errorf("%s as %s: %d %s, want 404 announcement_not_found", tc.path, tc.who.Name, r.Status, r.Body)
			}
		}
		if got := w.receipts(w.SecA, branch.ID); got.Read != 1 {
			t.Errorf("looking from outside changed the receipts: %+v", got)
		}
	})

	t.Run("only a secretary above the org can announce", func(t *testing.T) {
		w := w.in(t)
		body := map[string]any{"title": "越权通知", "body": "内容"}
		for _, who := range []person{w.MemberA, w.SecB, w.PendingA} {
			if r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), who, body); r.Status != http.StatusNotFound {
				t.Errorf("%s: %d %s, want 404", who.Name, r.Status, r.Body)
			}
		}
		for _, bad := range []map[string]any{{"title": "", "body": "内容"}, {"title": "标题", "body": "  "}} {
			r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA, bad)
			if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" {
				t.Errorf("%v: %d %s, want 400 invalid_argument", bad, r.Status, r.Body)
			}
		}
		var n int64
		if err := w.App.DB.Table("announcements").Where("title = ?", "越权通知").Count(&n).Error; err != nil || n != 0 {
			t.Errorf("%d refused announcements stored (%v)", n, err)
		}
	})
}
