package contentsec_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/wechat/wechattest"
)

// inactiveSecretary is a secretary of A whose openid WeChat will not check
// (61010) until the test activates "o-inactive": what they write is stored
// and queued for a later check.
func inactiveSecretary(w *testenv.World) testenv.Person {
	p := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "information", w.SecA)
	w.Expect(w.DoAs("PATCH", w.MemberPath(w.A, p), w.RootSec, map[string]string{"role": "secretary"}), http.StatusOK)
	return p
}

// recheckAll activates the inactive openid and runs the job of every
// queued check of kind, as the queue worker would.
func recheckAll(w *testenv.World, kind string) {
	w.WeChat.Activate("o-inactive")
	var checks []contentsec.Check
	w.Must(w.App.DB.Where("kind = ? AND status = ?", kind, contentsec.StatusQueued).Find(&checks).Error)
	if len(checks) == 0 {
		w.T().Fatalf("no queued %s check: the outage did not queue the text", kind)
	}
	for _, c := range checks {
		w.Must(w.App.Content.Recheck(context.Background(), c.ID))
	}
}

func TestATaskFoundRiskyLaterIsHiddenFromItsAssignees(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	author := inactiveSecretary(w)
	var tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), author, map[string]any{"title": "卡口值守" + wechattest.RiskyText,
		"kind": "duty", "description": "请按时到岗", "target": map[string]any{"user_ids": []int64{w.MemberA.ID}}}), http.StatusCreated).JSON(t, &tk)
	w.Must(w.App.Task.FanOut(ctx, tk.ID))
	path := fmt.Sprintf("/api/v1/tasks/%d", tk.ID)
	mine := func() int {
		var page struct {
			Items []struct {
				Task struct {
					ID int64 `json:"id"`
				} `json:"task"`
			} `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/tasks", w.MemberA, nil), http.StatusOK).JSON(t, &page)
		n := 0
		for _, it := range page.Items {
			if it.Task.ID == tk.ID {
				n++
			}
		}
		return n
	}
	w.Expect(w.DoAs("GET", path, w.MemberA, nil), http.StatusOK)
	if mine() != 1 {
		t.Fatalf("the assignee does not list the task before its check")
	}

	recheckAll(w, contentsec.KindTask)
	t.Run("its assignee neither sees nor lists nor acts on it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, w.MemberA, nil), http.StatusNotFound)
		if n := mine(); n != 0 {
			t.Errorf("GET /me/tasks lists the hidden task %d times", n)
		}
		w.Expect(w.DoAs("POST", path+"/accept", w.MemberA, nil), http.StatusNotFound)
	})
	t.Run("another secretary of its org does not see it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusNotFound)
	})
	t.Run("its author still sees it and is told", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, author, nil), http.StatusOK)
		if n := inbox(w, author, notify.KindContentHidden); n != 1 {
			t.Errorf("the author has %d content_hidden notifications, want 1", n)
		}
	})
	t.Run("cancelled by its author, its assignee is not told its title", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("POST", path+"/cancel", author, nil), http.StatusOK)
		if n := inbox(w, w.MemberA, notify.KindTaskCancelled); n != 0 {
			t.Errorf("the assignee got %d task_cancelled notifications naming the hidden task, want 0", n)
		}
	})
}
