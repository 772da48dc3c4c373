package notify_test

import (
	"context"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

// templateID is the subscribe template the tests configure for a kind.
func templateID(kind string) string { return "tmpl-" + strings.ReplaceAll(kind, "_", "-") }

// withTemplates gives every notification kind a template, so every
// notification is pushable.
func withTemplates(c *config.Config) {
	for _, kind := range notify.Kinds() {
		t := c.Notify.Templates[kind]
		t.ID = templateID(kind)
		c.Notify.Templates[kind] = t
	}
}

// pushWorld is a server on the fake WeChat with templates for every kind.
type pushWorld struct {
	t        *testing.T
	env      *testenv.Env
	consents *notify.Consents
	tokens   map[int64]string
}

func newPushWorld(t *testing.T, configure ...func(*config.Config)) *pushWorld {
	t.Helper()
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) {
		withTemplates(c)
		for _, f := range configure {
			f(c)
		}
	}})
	return &pushWorld{t: t, env: env, consents: notify.NewConsents(env.App.DB.DB, env.App.Config.Notify.MaxConsent), tokens: map[int64]string{}}
}

// user logs name in through the fake WeChat (openid "o-<name>") and returns
// the user's id; the token is kept in w.tokens.
func (w *pushWorld) user(name string) int64 {
	w.t.Helper()
	token := w.env.Login(name)
	var ids []int64
	if err := w.env.App.DB.Table("users").Where("open_id = ?", "o-"+name).Pluck("id", &ids).Error; err != nil || len(ids) != 1 {
		w.t.Fatalf("user %s: %v %v", name, ids, err)
	}
	w.tokens[ids[0]] = token
	return ids[0]
}

// consent banks n consents for the kind's template.
func (w *pushWorld) consent(userID int64, kind string, n int) {
	w.t.Helper()
	for range n {
		if err := w.consents.Add(context.Background(), userID, []string{templateID(kind)}); err != nil {
			w.t.Fatal(err)
		}
	}
}

// consentsLeft is the user's banked consents for the kind's template.
func (w *pushWorld) consentsLeft(userID int64, kind string) int {
	w.t.Helper()
	counts, err := w.consents.Counts(context.Background(), userID)
	if err != nil {
		w.t.Fatal(err)
	}
	return counts[templateID(kind)]
}

// notify writes one notification of kind for the user through the inbox
// and returns its id.
func (w *pushWorld) notify(userID int64, kind, key string) int64 {
	w.t.Helper()
	ids := w.notifyMany([]int64{userID}, kind, key)
	return ids[0]
}

// notifyMany writes one notification of kind per user under one dedupe key
// and returns their ids in the order of users.
func (w *pushWorld) notifyMany(users []int64, kind, key string) []int64 {
	w.t.Helper()
	ns := make([]notify.Notification, len(users))
	for i, u := range users {
		ns[i] = notify.Notification{UserID: u, Kind: kind, Title: "新任务：社区值守", Body: "值守任务，截止 01-28 18:00",
			RefType: "test", RefID: 7, DedupeKey: key, Data: map[string]string{"org": "第一党支部"}}
	}
	if err := w.env.App.Inbox.Notify(context.Background(), ns); err != nil {
		w.t.Fatal(err)
	}
	out := make([]int64, len(users))
	for i, u := range users {
		var ids []int64
		if err := w.env.App.DB.Table("notifications").Where("user_id = ? AND dedupe_key = ?", u, key).Pluck("id", &ids).Error; err != nil || len(ids) != 1 {
			w.t.Fatalf("notification of user %d under %s: %v %v", u, key, ids, err)
		}
		out[i] = ids[0]
	}
	return out
}

// delivery reads a notification's delivery state from the database.
func (w *pushWorld) delivery(id int64) string {
	w.t.Helper()
	var states []string
	if err := w.env.App.DB.Table("notifications").Where("id = ?", id).Pluck("delivery", &states).Error; err != nil || len(states) != 1 {
		w.t.Fatalf("notification %d: %v %v", id, states, err)
	}
	return states[0]
}

// sentTo counts the messages the fake WeChat delivered to an openid.
func (w *pushWorld) sentTo(openID string) int {
	n := 0
	for _, m := range w.env.WeChat.Sent() {
		if m.ToOpenID == openID {
			n++
		}
	}
	return n
}
