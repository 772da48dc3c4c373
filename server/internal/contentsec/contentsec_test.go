package contentsec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/wechat"
	"xianfeng/server/internal/wechat/wechattest"
)

const callbackToken = "test-callback-token-7c1e"

func newWorld(t *testing.T) *testenv.World {
	return testenv.NewWorld(t, testenv.Options{Configure: func(c *config.Config) {
		c.WeChat.CallbackToken = callbackToken
		c.Media.PublicURL = "https://xf.example.cn"
	}})
}

type reportAnswer struct {
	ID             int64  `json:"id"`
	Risky          bool   `json:"risky"`
	NextEscalateAt string `json:"next_escalate_at"`
	Media          []struct {
		ID int64 `json:"id"`
	} `json:"media"`
}

var requests int

func fileReport(w *testenv.World, p testenv.Person, urgency, content string, mediaIDs ...int64) testenv.Response {
	requests++
	return w.DoAs("POST", "/api/v1/reports", p, map[string]any{"org_id": w.A, "category": "epidemic_clue", "urgency": urgency,
		"content": content, "request_id": fmt.Sprintf("r-%d", requests), "media_ids": mediaIDs})
}

// inbox counts p's notifications of kind.
func inbox(w *testenv.World, p testenv.Person, kind string) int {
	var page struct {
		Items []struct {
			Kind string `json:"kind"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", "/api/v1/me/notifications", p, nil), http.StatusOK).JSON(w.T(), &page)
	n := 0
	for _, it := range page.Items {
		if it.Kind == kind {
			n++
		}
	}
	return n
}

func TestRiskyTextIsRefusedNamingTheField(t *testing.T) {
	w := newWorld(t)
	t.Run("a risky report is refused with 422 content_risky and not stored", func(t *testing.T) {
		w := w.In(t)
		r := w.Expect(fileReport(w, w.MemberA, "normal", "小区门口"+wechattest.RiskyText), http.StatusUnprocessableEntity)
		var e struct {
			Error struct {
				Code    string            `json:"code"`
				Message string            `json:"message"`
				Fields  map[string]string `json:"fields"`
			} `json:"error"`
		}
		r.JSON(t, &e)
		if e.Error.Code != "content_risky" || e.Error.Fields["content"] == "" || e.Error.Message == "" {
			t.Fatalf("answer = %s, want content_risky naming content", r.Body)
		}
		var mine struct {
			Items []reportAnswer `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/reports", w.MemberA, nil), http.StatusOK).JSON(t, &mine)
		if len(mine.Items) != 0 {
			t.Errorf("the refused report was stored: %+v", mine.Items)
		}
	})
	t.Run("a risky deed title is refused naming title", func(t *testing.T) {
		w := w.In(t)
		r := w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": wechattest.RiskyText, "content": "连续值守七天"}),
			http.StatusUnprocessableEntity)
		if r.ErrorCode() != "content_risky" || !strings.Contains(string(r.Body), `"title"`) {
			t.Fatalf("answer = %s, want content_risky naming title", r.Body)
		}
	})
	t.Run("a risky announcement body is refused naming body", func(t *testing.T) {
		w := w.In(t)
		r := w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA,
			map[string]any{"title": "今晚值班安排", "body": "请大家" + wechattest.RiskyText}), http.StatusUnprocessableEntity)
		if r.ErrorCode() != "content_risky" || !strings.Contains(string(r.Body), `"body"`) {
			t.Fatalf("answer = %s, want content_risky naming body", r.Body)
		}
	})
	risky := "测试" + wechattest.RiskyText
	for _, c := range []struct {
		name, path, field string
		as                func() testenv.Person
		body              map[string]any
	}{
		{"a risky org name is refused naming name", fmt.Sprintf("/api/v1/orgs/%d/children", w.Root), "name",
			func() testenv.Person { return w.RootSec }, map[string]any{"name": risky, "kind": "branch"}},
		{"a risky task title is refused naming title", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), "title",
			func() testenv.Person { return w.SecA }, map[string]any{"title": risky, "kind": "duty", "description": "请按时到岗",
				"target": map[string]any{"user_ids": []int64{w.MemberA.ID}}}},
		{"a risky task description is refused naming description", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), "description",
			func() testenv.Person { return w.SecA }, map[string]any{"title": "卡口值守", "kind": "duty", "description": risky,
				"target": map[string]any{"user_ids": []int64{w.MemberA.ID}}}},
		{"a risky form label is refused naming the field", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), "fields[0].label",
			func() testenv.Person { return w.SecA }, map[string]any{"title": "健康排查", "mode": "once",
				"fields": []map[string]any{{"key": "note", "label": risky, "type": "text"}}}},
		{"a risky member name is refused naming name", "/api/v1/members/signup", "name",
			func() testenv.Person { return w.User("newbie", "新人") }, map[string]any{"invite_code": w.Invite(w.SecA, w.A), "name": risky, "badge": "frontline"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := w.In(t)
			r := w.Expect(w.DoAs("POST", c.path, c.as(), c.body), http.StatusUnprocessableEntity)
			var e struct {
				Error struct {
					Code   string            `json:"code"`
					Fields map[string]string `json:"fields"`
				} `json:"error"`
			}
			r.JSON(t, &e)
			if e.Error.Code != "content_risky" || e.Error.Fields[c.field] == "" {
				t.Fatalf("answer = %s, want content_risky naming %s", r.Body, c.field)
			}
		})
	}
	t.Run("a harmless report is stored", func(t *testing.T) {
		w := w.In(t)
		var rep reportAnswer
		w.Expect(fileReport(w, w.MemberA, "normal", "小区门口需要测温枪"), http.StatusCreated).JSON(t, &rep)
		if rep.Risky {
			t.Errorf("a harmless report is flagged risky")
		}
	})
}

func TestAnUrgentRiskyReportIsFlaggedNotBlocked(t *testing.T) {
	w := newWorld(t)
	var rep reportAnswer
	w.Expect(fileReport(w, w.MemberA, "urgent", "紧急！"+wechattest.RiskyText), http.StatusCreated).JSON(t, &rep)
	if rep.NextEscalateAt == "" {
		t.Errorf("the urgent report has no escalation time: it would not climb")
	}
	var got reportAnswer
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/reports/%d", rep.ID), w.SecA, nil), http.StatusOK).JSON(t, &struct {
		*reportAnswer `json:"report"`
	}{&got})
	if got.ID != rep.ID || !got.Risky {
		t.Errorf("the secretary sees %+v, want the report flagged risky", got)
	}
	if n := inbox(w, w.SecA, notify.KindReportReceived); n != 1 {
		t.Errorf("the secretary has %d report notifications, want 1: the flagged report must still reach them", n)
	}
	w.Must(w.App.Report.Sweep(context.Background()))
}

func TestACheckOutageLosesNoText(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// o-inactive has not opened the mini-program lately: WeChat answers 61010.
	author := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "information", w.SecA)
	var rep, clean reportAnswer
	w.Expect(fileReport(w, author, "normal", "卡口"+wechattest.RiskyText), http.StatusCreated).JSON(t, &rep)
	w.Expect(fileReport(w, author, "normal", "卡口物资充足"), http.StatusCreated).JSON(t, &clean)
	path := fmt.Sprintf("/api/v1/reports/%d", rep.ID)
	w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusOK)

	var checks []contentsec.Check
	w.Must(w.App.DB.Where("kind = ?", contentsec.KindReport).Order("id").Find(&checks).Error)
	if len(checks) != 2 || checks[0].RefID != rep.ID || checks[0].Status != contentsec.StatusQueued || checks[0].Kind != contentsec.KindReport {
		t.Fatalf("queued checks = %+v, want both reports queued", checks)
	}
	t.Run("while WeChat still refuses, the text waits and stays shown", func(t *testing.T) {
		w := w.In(t)
		w.Must(w.App.Content.Recheck(ctx, checks[0].ID))
		var c contentsec.Check
		w.Must(w.App.DB.Take(&c, checks[0].ID).Error)
		if c.Status != contentsec.StatusQueued || c.Attempts != 1 || !c.NextAt.After(checks[0].NextAt) {
			t.Errorf("after a refused recheck the check is %+v, want still queued, one attempt, later", c)
		}
		w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusOK)
	})
	t.Run("checked later, the risky text is hidden from others and its author told", func(t *testing.T) {
		w := w.In(t)
		w.WeChat.Activate("o-inactive")
		for _, c := range checks {
			w.Must(w.App.Content.Recheck(ctx, c.ID))
		}
		w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusNotFound)
		var mine reportAnswer
		w.Expect(w.DoAs("GET", path, author, nil), http.StatusOK).JSON(t, &struct {
			*reportAnswer `json:"report"`
		}{&mine})
		if !mine.Risky {
			t.Errorf("the author's own view of the hidden report is not flagged risky")
		}
		var list struct {
			Items []reportAnswer `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.A), w.SecA, nil), http.StatusOK).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != clean.ID {
			t.Errorf("the secretary lists %+v, want only the clean report", list.Items)
		}
		if n := inbox(w, author, notify.KindContentHidden); n != 1 {
			t.Errorf("the author has %d content_hidden notifications, want 1", n)
		}
		// A second run of the same job changes nothing.
		w.Must(w.App.Content.Recheck(ctx, checks[0].ID))
		if n := inbox(w, author, notify.KindContentHidden); n != 1 {
			t.Errorf("after a repeated job the author has %d notifications, want 1", n)
		}
	})
}

func pngImage(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		img.Set(x, x%30, color.RGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// shownPhotos counts the photos p is shown of the thing at path, whose
// answer carries it under key.
func shownPhotos(w *testenv.World, path, key string, p testenv.Person) int {
	var answer map[string]json.RawMessage
	w.Expect(w.DoAs("GET", path, p, nil), http.StatusOK).JSON(w.T(), &answer)
	var got struct {
		Media []json.RawMessage `json:"media"`
	}
	w.Must(json.Unmarshal(answer[key], &got))
	return len(got.Media)
}

func push(w *testenv.World, token, trace string, v wechat.Verdict) testenv.Response {
	ts, nonce := "1764633600", "n0nce"
	q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Signature(token, ts, nonce)}}
	body := wechat.MediaCheckPush(wechattest.AppID, trace, v, 1764633600)
	req, _ := http.NewRequest("POST", w.Server.URL+"/api/v1/wechat/callback?"+q.Encode(), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := w.Client.Do(req)
	if err != nil {
		w.T().Fatal(err)
	}
	defer res.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(res.Body)
	return testenv.Response{Status: res.StatusCode, Header: res.Header, Body: out.Bytes()}
}

func TestTheImageCallbackHidesARiskyImage(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	up, err := w.App.Media.Upload(ctx, w.MemberA.ID, pngImage(t))
	w.Must(err)
	var rep reportAnswer
	w.Expect(fileReport(w, w.MemberA, "normal", "现场照片", up.ID), http.StatusCreated).JSON(t, &rep)
	path := fmt.Sprintf("/api/v1/reports/%d", rep.ID)
	photos := func(p testenv.Person) int { return shownPhotos(w, path, "report", p) }
	if photos(w.SecA) != 1 {
		t.Fatalf("the secretary handling the report does not see its pending photo")
	}

	w.Must(w.App.Content.Sweep(ctx))
	asked := w.WeChat.MediaChecks()
	if len(asked) != 1 || !strings.HasPrefix(asked[0].MediaURL, "https://xf.example.cn/api/v1/media/") || asked[0].OpenID != "o-membera" {
		t.Fatalf("WeChat was asked %+v, want one check of a signed URL under the public origin", asked)
	}
	w.Must(w.App.Content.Sweep(ctx))
	if n := len(w.WeChat.MediaChecks()); n != 1 {
		t.Errorf("a second sweep asked WeChat again: %d checks", n)
	}
	trace := asked[0].TraceID

	t.Run("a push with a bad signature is refused with 401", func(t *testing.T) {
		w := w.In(t)
		r := push(w, "not-the-token", trace, wechat.Verdict{Suggest: wechat.SuggestRisky, Label: 20002})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("got %d %s, want 401", r.Status, r.Body)
		}
		if photos(w.SecA) != 1 {
			t.Errorf("an unsigned verdict hid the photo")
		}
	})
	t.Run("a risky verdict hides the photo from all but its uploader, who is told once", func(t *testing.T) {
		w := w.In(t)
		for range 2 { // WeChat repeats a push it thinks was lost
			r := push(w, callbackToken, trace, wechat.Verdict{Suggest: wechat.SuggestRisky, Label: 20002})
			if r.Status != http.StatusOK || string(r.Body) != "success" {
				t.Fatalf("push answered %d %q, want 200 success", r.Status, r.Body)
			}
		}
		if photos(w.SecA) != 0 {
			t.Errorf("the secretary still sees the risky photo")
		}
		if photos(w.MemberA) != 1 {
			t.Errorf("the uploader no longer sees their own photo")
		}
		if n := inbox(w, w.MemberA, notify.KindContentHidden); n != 1 {
			t.Errorf("the uploader has %d content_hidden notifications, want exactly 1", n)
		}
		// A later, contradicting repeat is not applied: the first verdict stands.
		push(w, callbackToken, trace, wechat.Verdict{Suggest: wechat.SuggestPass, Label: 100})
		if photos(w.SecA) != 0 {
			t.Errorf("a repeated push changed the recorded verdict")
		}
	})
	t.Run("the handshake echoes echostr when signed, 401 otherwise", func(t *testing.T) {
		w := w.In(t)
		ts, nonce := "1764633600", "abc"
		q := url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {wechat.Signature(callbackToken, ts, nonce)}, "echostr": {"hello123"}}
		r := w.Do("GET", "/api/v1/wechat/callback?"+q.Encode(), "", nil)
		if r.Status != http.StatusOK || string(r.Body) != "hello123" {
			t.Fatalf("handshake answered %d %q", r.Status, r.Body)
		}
		q.Set("signature", wechat.Signature("wrong", ts, nonce))
		w.Expect(w.Do("GET", "/api/v1/wechat/callback?"+q.Encode(), "", nil), http.StatusUnauthorized)
	})
	t.Run("a verdict for an unknown trace is answered 503 so that WeChat pushes it again", func(t *testing.T) {
		w := w.In(t)
		r := push(w, callbackToken, "trace-unknown", wechat.Verdict{Suggest: wechat.SuggestPass})
		if r.Status != http.StatusServiceUnavailable {
			t.Fatalf("got %d %s", r.Status, r.Body)
		}
	})
}

func TestAnAttachedImageIsSentToWeChatWithoutWaitingForTheSweep(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	up, err := w.App.Media.Upload(ctx, w.MemberA.ID, pngImage(t))
	w.Must(err)
	if _, err := w.App.Queue.Inspector().GetTaskInfo(w.App.Queue.Name(queue.Low), contentsec.ImageJobID(up.ID)); err == nil {
		t.Fatalf("a job checks the photo before it is attached")
	}
	w.Expect(fileReport(w, w.MemberA, "normal", "现场照片", up.ID), http.StatusCreated)

	info, err := w.App.Queue.Inspector().GetTaskInfo(w.App.Queue.Name(queue.Low), contentsec.ImageJobID(up.ID))
	if err != nil {
		t.Fatalf("attaching the photo queued no job to check it: %v", err)
	}
	var p struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(info.Payload, &p); err != nil || info.Type != contentsec.TypeImage || p.ID != up.ID {
		t.Fatalf("queued %s %s, want %s of photo %d", info.Type, info.Payload, contentsec.TypeImage, up.ID)
	}
	// The job's work, as the worker runs it.
	w.Must(w.App.Content.StartImage(ctx, p.ID))
	asked := w.WeChat.MediaChecks()
	if len(asked) != 1 || asked[0].OpenID != "o-membera" {
		t.Fatalf("WeChat was asked %+v, want one check of the photo for its uploader", asked)
	}
	// The sweep, and a repeated job, do not ask again.
	w.Must(w.App.Content.Sweep(ctx))
	w.Must(w.App.Content.StartImage(ctx, p.ID))
	if n := len(w.WeChat.MediaChecks()); n != 1 {
		t.Errorf("WeChat was asked %d times about one photo, want once", n)
	}
}

func TestADeedsSecretariesSeeItsPendingPhotoButNotTheMemberItIsAbout(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	type deedAnswer struct {
		ID    int64 `json:"id"`
		Media []struct {
			ID int64 `json:"id"`
		} `json:"media"`
	}
	// SecA nominates MemberA's deed with SecA's own photo; no verdict yet.
	up, err := w.App.Media.Upload(ctx, w.SecA.ID, pngImage(t))
	w.Must(err)
	var d deedAnswer
	w.Expect(w.DoAs("POST", "/api/v1/deeds", w.SecA, map[string]any{"title": "连续值守七天", "content": "坚守卡口，劝返外来车辆百余辆",
		"user_id": w.MemberA.ID, "media_ids": []int64{up.ID}}), http.StatusCreated).JSON(t, &d)
	path := fmt.Sprintf("/api/v1/deeds/%d", d.ID)
	photos := func(p testenv.Person) int { return shownPhotos(w, path, "deed", p) }
	photoPath := fmt.Sprintf("/api/v1/media/%d", up.ID)
	if n := photos(w.RootSec); n != 1 {
		t.Errorf("a secretary above the member's branch sees %d photos of the deed they review, want its pending photo", n)
	}
	var list struct {
		Items []deedAnswer `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/deeds", w.Root), w.RootSec, nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || len(list.Items[0].Media) != 1 {
		t.Errorf("the secretary's list shows %+v, want the deed with its pending photo", list.Items)
	}
	if r := w.DoAs("GET", photoPath, w.RootSec, nil); r.Status != http.StatusOK {
		t.Errorf("the reviewing secretary opens the pending photo with %d, want 200", r.Status)
	}
	if n := photos(w.MemberA); n != 0 {
		t.Errorf("the member the deed is about sees %d pending photos, want none until WeChat's verdict", n)
	}
	w.Expect(w.DoAs("GET", photoPath, w.MemberA, nil), http.StatusNotFound)
	if n := photos(w.SecA); n != 1 {
		t.Errorf("the uploader sees %d photos, want their own", n)
	}
}
