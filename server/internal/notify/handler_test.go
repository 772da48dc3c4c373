package notify_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

type subscriptionsJSON struct {
	Items []struct {
		Kind       string `json:"kind"`
		TemplateID string `json:"template_id"`
		Count      int    `json:"count"`
	} `json:"items"`
}

// counts maps template id to count.
func (s subscriptionsJSON) counts() map[string]int {
	out := map[string]int{}
	for _, it := range s.Items {
		out[it.TemplateID] = it.Count
	}
	return out
}

func TestConsentLedgerOverHTTP(t *testing.T) {
	w := newPushWorld(t, func(c *config.Config) {
		c.Notify.MaxConsent = 3
		tpl := c.Notify.Templates[notify.KindReportEscalated]
		tpl.ID = "" // inbox only
		c.Notify.Templates[notify.KindReportEscalated] = tpl
	})
	nora := w.env.Login("nora")
	other := w.env.Login("oscar")
	assigned, announced := templateID(notify.KindTaskAssigned), templateID(notify.KindAnnouncement)

	get := func(t *testing.T, token string) subscriptionsJSON {
		t.Helper()
		r := w.env.Do("GET", "/api/v1/me/subscriptions", token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /me/subscriptions: %d %s", r.Status, r.Body)
		}
		var s subscriptionsJSON
		r.JSON(t, &s)
		return s
	}
	post := func(t *testing.T, token string, ids []string, status int) subscriptionsJSON {
		t.Helper()
		r := w.env.Do("POST", "/api/v1/me/subscriptions", token, map[string]any{"accepted": ids})
		if r.Status != status {
			t.Fatalf("POST /me/subscriptions %v: %d %s, want %d", ids, r.Status, r.Body, status)
		}
		var s subscriptionsJSON
		if status == http.StatusOK {
			r.JSON(t, &s)
		} else if r.ErrorCode() != "invalid_argument" {
			t.Errorf("error code %q, want invalid_argument", r.ErrorCode())
		}
		return s
	}

	t.Run("every kind with a template is listed with its template id and no consent yet", func(t *testing.T) {
		s := get(t, nora)
		var kinds []string
		for _, it := range s.Items {
			kinds = append(kinds, it.Kind)
			if it.TemplateID != templateID(it.Kind) || it.Count != 0 {
				t.Errorf("%s: template %q count %d, want %q and 0", it.Kind, it.TemplateID, it.Count, templateID(it.Kind))
			}
		}
		want := slices.DeleteFunc(notify.Kinds(), func(k string) bool { return k == notify.KindReportEscalated })
		if !slices.Equal(kinds, want) {
			t.Errorf("kinds %v, want %v (the kind without a template is not offered)", kinds, want)
		}
	})

	t.Run("accepting two templates banks one consent for each", func(t *testing.T) {
		got := post(t, nora, []string{assigned, announced}, http.StatusOK).counts()
		if got[assigned] != 1 || got[announced] != 1 || got[templateID(notify.KindTaskReminder)] != 0 {
			t.Errorf("counts %v, want 1 for %s and %s and 0 for the rest", got, assigned, announced)
		}
		if again := get(t, nora).counts(); again[assigned] != 1 || again[announced] != 1 {
			t.Errorf("GET after POST: %v", again)
		}
	})

	t.Run("the same template twice in one answer counts once", func(t *testing.T) {
		got := post(t, nora, []string{announced, announced}, http.StatusOK).counts()
		if got[announced] != 2 {
			t.Errorf("%s count %d, want 2", announced, got[announced])
		}
	})

	t.Run("consents are banked up to notify.max_consent and no further", func(t *testing.T) {
		for range 4 {
			post(t, nora, []string{assigned}, http.StatusOK)
		}
		got := post(t, nora, []string{assigned, assigned}, http.StatusOK).counts()
		if got[assigned] != 3 {
			t.Errorf("%s count %d after 6 acceptances, want the bound 3", assigned, got[assigned])
		}
	})

	t.Run("bad answers are refused and change nothing", func(t *testing.T) {
		w := w.in(t)
		before := get(t, nora).counts()
		many := make([]string, 21)
		for i := range many {
			many[i] = assigned
		}
		for _, ids := range [][]string{
			{"tmpl-unknown"},
			{assigned, "tmpl-unknown"},
			{templateID(notify.KindReportEscalated)},
			{},
			many,
		} {
			post(t, nora, ids, http.StatusBadRequest)
		}
		r := w.env.Do("POST", "/api/v1/me/subscriptions", nora, `{"accepted":"tmpl-task-assigned"}`)
		if r.Status != http.StatusBadRequest {
			t.Errorf("accepted as a string: %d %s, want 400", r.Status, r.Body)
		}
		if after := get(t, nora).counts(); !sameCounts(before, after) {
			t.Errorf("counts changed from %v to %v", before, after)
		}
	})

	t.Run("another member's ledger is their own", func(t *testing.T) {
		for id, n := range get(t, other).counts() {
			if n != 0 {
				t.Errorf("%s: %d consents for a member who accepted nothing", id, n)
			}
		}
	})

	t.Run("the ledger needs a signed-in member", func(t *testing.T) {
		w := w.in(t)
		if r := w.env.Do("GET", "/api/v1/me/subscriptions", "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous: %d, want 401", r.Status)
		}
	})
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

type inboxJSON struct {
	Items []struct {
		ID       int64      `json:"id"`
		Kind     string     `json:"kind"`
		Title    string     `json:"title"`
		Delivery string     `json:"delivery"`
		Read     bool       `json:"read"`
		ReadAt   *time.Time `json:"read_at"`
	} `json:"items"`
	NextCursor  string `json:"next_cursor"`
	UnreadCount int64  `json:"unread_count"`
}

func (p inboxJSON) ids() []int64 {
	out := []int64{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}

func TestInboxOverHTTP(t *testing.T) {
	env := testenv.New(t, testenv.Options{})
	w := &pushWorld{t: t, env: env, consents: notify.NewConsents(env.App.DB.DB, 20), tokens: map[int64]string{}}
	olga, peter := w.user("olga"), w.user("peter")
	kinds := []string{notify.KindMemberApproved, notify.KindTaskAssigned, notify.KindAnnouncement, notify.KindTaskReminder, notify.KindTaskCancelled}
	var ids []int64 // oldest first
	for i, kind := range kinds {
		ids = append(ids, w.notify(olga, kind, fmt.Sprintf("inbox:%d", i)))
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	petersID := w.notify(peter, notify.KindTaskAssigned, "inbox:0")

	list := func(t *testing.T, user int64, query string) inboxJSON {
		t.Helper()
		r := env.Do("GET", "/api/v1/me/notifications"+query, w.tokens[user], nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /me/notifications%s: %d %s", query, r.Status, r.Body)
		}
		var p inboxJSON
		r.JSON(t, &p)
		return p
	}

	t.Run("the inbox lists the member's notifications newest first with the unread count", func(t *testing.T) {
		p := list(t, olga, "")
		if !slices.Equal(p.ids(), newestFirst) {
			t.Errorf("ids %v, want %v", p.ids(), newestFirst)
		}
		if p.UnreadCount != 5 || p.NextCursor != "" {
			t.Errorf("unread_count %d next_cursor %q, want 5 and none", p.UnreadCount, p.NextCursor)
		}
		if p.Items[0].Kind != notify.KindTaskCancelled || p.Items[0].Read || p.Items[0].Delivery != notify.DeliveryNoConsent {
			t.Errorf("newest item %+v", p.Items[0])
		}
	})

	t.Run("marking one read answers it read and takes it off the unread list", func(t *testing.T) {
		env := env.In(t)
		r := env.Do("POST", fmt.Sprintf("/api/v1/me/notifications/%d/read", ids[2]), w.tokens[olga], nil)
		if r.Status != http.StatusOK {
			t.Fatalf("read: %d %s", r.Status, r.Body)
		}
		var n struct {
			ID     int64      `json:"id"`
			Read   bool       `json:"read"`
			ReadAt *time.Time `json:"read_at"`
		}
		r.JSON(t, &n)
		if n.ID != ids[2] || !n.Read || n.ReadAt == nil {
			t.Errorf("answer %+v, want it read", n)
		}
		p := list(t, olga, "?unread=true")
		want := slices.DeleteFunc(slices.Clone(newestFirst), func(id int64) bool { return id == ids[2] })
		if !slices.Equal(p.ids(), want) || p.UnreadCount != 4 {
			t.Errorf("unread ids %v count %d, want %v and 4", p.ids(), p.UnreadCount, want)
		}
		if all := list(t, olga, "?unread=false"); len(all.Items) != 5 {
			t.Errorf("?unread=false lists %d, want all 5", len(all.Items))
		}
	})

	t.Run("another member's notification is not found and stays unread", func(t *testing.T) {
		env := env.In(t)
		r := env.Do("POST", fmt.Sprintf("/api/v1/me/notifications/%d/read", petersID), w.tokens[olga], nil)
		if r.Status != http.StatusNotFound || r.ErrorCode() != "notification_not_found" {
			t.Errorf("%d %s, want 404 notification_not_found", r.Status, r.Body)
		}
		r = env.Do("POST", "/api/v1/me/notifications/999999/read", w.tokens[olga], nil)
		if r.Status != http.StatusNotFound || r.ErrorCode() != "notification_not_found" {
			t.Errorf("unknown id: %d %s, want 404 notification_not_found", r.Status, r.Body)
		}
		if p := list(t, peter, ""); p.UnreadCount != 1 || p.Items[0].Read {
			t.Errorf("peter's inbox %+v, want his one notification unread", p)
		}
	})

	t.Run("pages follow the cursor to the end without gaps or repeats", func(t *testing.T) {
		var seen []int64
		cursor, pages := "", 0
		for {
			q := "?limit=2"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			p := list(t, olga, q)
			pages++
			if len(p.Items) > 2 {
				t.Fatalf("page of %d with limit=2", len(p.Items))
			}
			seen = append(seen, p.ids()...)
			if p.NextCursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("the cursor never ends")
			}
			cursor = p.NextCursor
		}
		if !slices.Equal(seen, newestFirst) || pages != 3 {
			t.Errorf("%d pages with %v, want 3 pages with %v", pages, seen, newestFirst)
		}
	})

	t.Run("read-all marks every unread notification read", func(t *testing.T) {
		env := env.In(t)
		r := env.Do("POST", "/api/v1/me/notifications/read-all", w.tokens[olga], nil)
		if r.Status != http.StatusOK {
			t.Fatalf("read-all: %d %s", r.Status, r.Body)
		}
		var out struct {
			Updated int64 `json:"updated"`
		}
		r.JSON(t, &out)
		if out.Updated != 4 {
			t.Errorf("updated %d, want the 4 unread", out.Updated)
		}
		if p := list(t, olga, "?unread=true"); len(p.Items) != 0 || p.UnreadCount != 0 {
			t.Errorf("after read-all: %d unread listed, unread_count %d", len(p.Items), p.UnreadCount)
		}
		if p := list(t, peter, ""); p.UnreadCount != 1 {
			t.Errorf("peter's unread_count %d, want 1: read-all is per member", p.UnreadCount)
		}
	})

	t.Run("bad list parameters are refused", func(t *testing.T) {
		env := env.In(t)
		for _, q := range []string{"?unread=maybe", "?limit=0", "?limit=500", "?cursor=!!"} {
			r := env.Do("GET", "/api/v1/me/notifications"+q, w.tokens[olga], nil)
			if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" {
				t.Errorf("%s: %d %s, want 400 invalid_argument", q, r.Status, r.Body)
			}
		}
		if r := env.Do("POST", "/api/v1/me/notifications/abc/read", w.tokens[olga], nil); r.Status != http.StatusBadRequest {
			t.Errorf("a non-numeric id: %d, want 400", r.Status)
		}
	})
}
