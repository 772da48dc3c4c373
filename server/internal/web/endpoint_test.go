package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/web"
)

type kind string

type noteInput struct {
	OrgID  int64 `path:"id"`
	UserID int64 `path:"user_id"`
	Page   web.PageQuery
	Status kind    `query:"status"`
	To     *string `query:"to"`
	Owner  int64   `query:"owner_id"`
	Note   string  `json:"note"`
	TaskID int64   `json:"task_id"`
}

type optionalInput struct {
	web.OptionalBody
	ID     int64  `path:"id"`
	Reason string `json:"reason"`
}

// serve registers h at GET and POST pattern and sends one request.
func serve(t *testing.T, pattern string, h gin.HandlerFunc, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Handle(method, pattern, h)
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, target, nil)
	} else {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func adapter() web.Adapter[int64] {
	return web.NewAdapter(logging.Discard(), func(*gin.Context) int64 { return 7 })
}

func TestEndpointDecodesPathQueryAndBody(t *testing.T) {
	var got noteInput
	var caller int64
	h := web.OK(adapter(), func(_ context.Context, user int64, in noteInput) (gin.H, error) {
		got, caller = in, user
		return gin.H{"ok": true}, nil
	})
	w := serve(t, "/orgs/:id/members/:user_id", h, http.MethodPost,
		"/orgs/12/members/34?limit=5&cursor=OTk&status=open&to=&owner_id=8", `{"note":"hi\r\nthere","task_id":3,"OrgID":99}`)
	if w.Code != http.StatusOK || w.Body.String() != `{"ok":true}` {
		t.Fatalf("answer = %d %s", w.Code, w.Body)
	}
	to := ""
	want := noteInput{OrgID: 12, UserID: 34, Page: web.PageQuery{Limit: 5, Cursor: 99}, Status: "open", To: &to, Owner: 8, Note: "hi\nthere", TaskID: 3}
	if got.To == nil || *got.To != "" {
		t.Fatalf("to = %v, want a present empty value", got.To)
	}
	got.To = &to
	if got != want {
		t.Errorf("input (-want +got)\n-%+v\n+%+v", want, got)
	}
	if caller != 7 {
		t.Errorf("caller = %d, want 7", caller)
	}
}

func TestEndpointDefaults(t *testing.T) {
	var got noteInput
	h := web.OK(adapter(), func(_ context.Context, _ int64, in noteInput) (gin.H, error) {
		got = in
		return gin.H{}, nil
	})
	if w := serve(t, "/orgs/:id/members/:user_id", h, http.MethodPost, "/orgs/1/members/2", `{}`); w.Code != http.StatusOK {
		t.Fatalf("answer = %d %s", w.Code, w.Body)
	}
	if got.Page != (web.PageQuery{Limit: 50}) || got.To != nil || got.Status != "" || got.Owner != 0 {
		t.Errorf("input without a query = %+v, want limit 50 and nothing else", got)
	}
}

func TestEndpointRefusals(t *testing.T) {
	called := false
	h := web.OK(adapter(), func(context.Context, int64, noteInput) (gin.H, error) {
		called = true
		return gin.H{}, nil
	})
	tests := []struct {
		name   string
		target string
		body   string
		status int
		field  string
	}{
		{"a path id with a leading zero is 400 naming it", "/orgs/012/members/3", `{}`, 400, "id"},
		{"a path id above MaxID is 404", "/orgs/9007199254740992/members/3", `{}`, 404, ""},
		{"the first path id is checked before the second", "/orgs/x/members/y", `{}`, 400, "id"},
		{"the second path id is checked too", "/orgs/1/members/-3", `{}`, 400, "user_id"},
		{"a path id is checked before the query", "/orgs/x/members/3?limit=0", `{}`, 400, "id"},
		{"a bad limit is 400", "/orgs/1/members/3?limit=201", `{}`, 400, "limit"},
		{"a bad cursor is 400", "/orgs/1/members/3?cursor=MDA", `{}`, 400, "cursor"},
		{"the page is checked before the other query", "/orgs/1/members/3?limit=0&owner_id=0", `{}`, 400, "limit"},
		{"a query id that is not canonical is 400", "/orgs/1/members/3?owner_id=+8", `{}`, 400, "owner_id"},
		{"the query is checked before the body", "/orgs/1/members/3?owner_id=x", `{`, 400, "owner_id"},
		{"a missing body is 400", "/orgs/1/members/3", ``, 400, ""},
		{"an id in the body above MaxID is 400 naming it", "/orgs/1/members/3", `{"task_id":9007199254740992}`, 400, "task_id"},
		{"a control character in the body is 400 naming it", "/orgs/1/members/3", "{\"note\":\"a\\u0000b\"}", 400, "note"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called = false
			w := serve(t, "/orgs/:id/members/:user_id", h, http.MethodPost, tt.target, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if called {
				t.Error("the call ran on a refused request")
			}
			if tt.field != "" && !strings.Contains(w.Body.String(), `"`+tt.field+`":`) {
				t.Errorf("answer %s does not name %q", w.Body, tt.field)
			}
		})
	}
}

func TestEndpointOptionalBody(t *testing.T) {
	var got optionalInput
	h := web.OK(adapter(), func(_ context.Context, _ int64, in optionalInput) (gin.H, error) {
		got = in
		return gin.H{}, nil
	})
	if w := serve(t, "/x/:id", h, http.MethodPost, "/x/4", ""); w.Code != http.StatusOK {
		t.Fatalf("no body: %d %s", w.Code, w.Body)
	}
	if got != (optionalInput{ID: 4}) {
		t.Errorf("input without a body = %+v", got)
	}
	if w := serve(t, "/x/:id", h, http.MethodPost, "/x/4", `{"reason":"late"}`); w.Code != http.StatusOK || got.Reason != "late" {
		t.Fatalf("with a body: %d %s, reason %q", w.Code, w.Body, got.Reason)
	}
	if w := serve(t, "/x/:id", h, http.MethodPost, "/x/4", `{"reason":`); w.Code != http.StatusBadRequest {
		t.Errorf("a broken optional body: %d, want 400", w.Code)
	}
}

func TestEndpointWithoutBodyFieldsReadsNoBody(t *testing.T) {
	h := web.OK(adapter(), func(_ context.Context, _ int64, in web.ID) (int64, error) { return in.ID, nil })
	if w := serve(t, "/x/:id", h, http.MethodPost, "/x/5", `not json`); w.Code != http.StatusOK || w.Body.String() != "5" {
		t.Errorf("answer = %d %s, want 200 5: a route without body fields ignores the body", w.Code, w.Body)
	}
}

func TestEndpointAnswers(t *testing.T) {
	failure := apperr.New(apperr.KindConflict, "taken", "已被占用")
	tests := []struct {
		name   string
		h      gin.HandlerFunc
		status int
		body   string
		ctype  string
	}{
		{"OK answers 200 with JSON", web.OK(adapter(), func(context.Context, int64, struct{}) (gin.H, error) { return gin.H{"a": 1}, nil }),
			200, `{"a":1}`, "application/json; charset=utf-8"},
		{"Created answers 201", web.Created(adapter(), func(context.Context, int64, struct{}) (gin.H, error) { return gin.H{"a": 1}, nil }),
			201, `{"a":1}`, "application/json; charset=utf-8"},
		{"NoContent answers 204 with no body", web.NoContent(adapter(), func(context.Context, int64, struct{}) error { return nil }),
			204, ``, ""},
		{"a Status chooses its own status", web.Created(adapter(), func(context.Context, int64, struct{}) (web.Status[gin.H], error) {
			return web.Status[gin.H]{Code: 200, Body: gin.H{"again": true}}, nil
		}), 200, `{"again":true}`, "application/json; charset=utf-8"},
		{"a render.Render is rendered as it is", web.OK(adapter(), func(context.Context, int64, struct{}) (render.Data, error) {
			return render.Data{ContentType: "image/png", Data: []byte("PNG")}, nil
		}), 200, `PNG`, "image/png"},
		{"an error goes through the one error table", web.OK(adapter(), func(context.Context, int64, struct{}) (gin.H, error) { return gin.H{"a": 1}, failure }),
			409, `{"error":{"code":"taken","message":"已被占用"}}`, "application/json; charset=utf-8"},
		{"an error of NoContent too", web.NoContent(adapter(), func(context.Context, int64, struct{}) error { return failure }),
			409, `{"error":{"code":"taken","message":"已被占用"}}`, "application/json; charset=utf-8"},
		{"an unknown error is a plain 500", web.OK(adapter(), func(context.Context, int64, struct{}) (gin.H, error) { return nil, errors.New("boom") }),
			500, `{"error":{"code":"internal","message":"服务器内部错误，请稍后重试"}}`, "application/json; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(t, "/x", tt.h, http.MethodPost, "/x", "")
			if w.Code != tt.status || w.Body.String() != tt.body || w.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("answer = %d %q %q, want %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body, tt.status, tt.ctype, tt.body)
			}
		})
	}
}

func TestPublicEndpointHasNoCaller(t *testing.T) {
	a := web.NewAdapter(logging.Discard(), func(c *gin.Context) int64 { return c.MustGet("user").(int64) })
	h := web.OK(a.Public(), func(_ context.Context, user int64, _ struct{}) (int64, error) { return user, nil })
	if w := serve(t, "/x", h, http.MethodGet, "/x", ""); w.Code != http.StatusOK || w.Body.String() != "0" {
		t.Errorf("answer = %d %s, want 200 0", w.Code, w.Body)
	}
}

func TestEndpointRefusesInputsItCannotRead(t *testing.T) {
	call := func(context.Context, int64, struct {
		ID float64 `path:"id"`
	}) (int, error) {
		return 0, nil
	}
	defer func() {
		if recover() == nil {
			t.Error("a float path field did not panic at registration")
		}
	}()
	web.OK(adapter(), call)
}

type counter struct{ name string }

func TestOnBindsAnEndpointFunctionToItsService(t *testing.T) {
	svc := &counter{name: "报告"}
	h := web.OK(adapter(), web.On(svc, func(_ context.Context, s *counter, user int64, in web.ID) (gin.H, error) {
		return gin.H{"service": s.name, "user": user, "id": in.ID}, nil
	}))
	w := serve(t, "/reports/:id", h, http.MethodGet, "/reports/5", "")
	if w.Code != http.StatusOK || w.Body.String() != `{"id":5,"service":"报告","user":7}` {
		t.Errorf("answer = %d %s", w.Code, w.Body)
	}

	var removed int64
	del := web.NoContent(adapter(), web.OnErr(svc, func(_ context.Context, _ *counter, _ int64, in web.ID) error {
		removed = in.ID
		return nil
	}))
	if w := serve(t, "/members/:id", del, http.MethodDelete, "/members/9", ""); w.Code != http.StatusNoContent || removed != 9 {
		t.Errorf("answer = %d, removed %d; want 204 and member 9", w.Code, removed)
	}
}
