package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/web"
)

type profile struct {
	Name string `json:"name"`
}

type loginRequest struct {
	Code    string   `json:"code"`
	Count   int      `json:"count"`
	Tags    []string `json:"tags"`
	Profile profile  `json:"profile"`
}

const limit = 1024

// padTo pads a JSON object with trailing spaces to exactly n bytes.
func padTo(obj string, n int) string { return obj + strings.Repeat(" ", n-len(obj)) }

func TestBindJSON(t *testing.T) {
	gin.SetMode(gin.TestMode)
	oversized := `{"code":"` + strings.Repeat("a", 2*limit) + `"}`
	tests := []struct {
		name string
		body string
		// unknownLength sends the body chunked, without Content-Length.
		unknownLength bool
		want          loginRequest
		// wantStatus is the HTTP answer; 0 means BindJSON succeeds.
		wantStatus int
		wantCode   string
		wantFields map[string]string
	}{
		{
			name: "a valid body fills the request",
			body: `{"code":"mock:alice","count":3,"tags":["a","b"],"profile":{"name":"Alice"}}`,
			want: loginRequest{Code: "mock:alice", Count: 3, Tags: []string{"a", "b"}, Profile: profile{Name: "Alice"}},
		},
		{
			name: "a body of exactly the limit is accepted",
			body: padTo(`{"code":"x"}`, limit),
			want: loginRequest{Code: "x"},
		},
		{
			name: "unknown fields are ignored",
			body: `{"code":"x","extra":true}`,
			want: loginRequest{Code: "x"},
		},
		{name: "an empty body is invalid", body: "", wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a body of only spaces is invalid", body: "  \n ", wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a body over the declared limit is too large", body: oversized, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "a chunked body that grows over the limit is too large", body: oversized, unknownLength: true, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "a syntax error is invalid", body: `{"code": }`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a truncated body is invalid", body: `{"code": "x"`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "garbage after the object is invalid", body: `{"code":"x"} xyz`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a second object after the first is invalid", body: `{"code":"x"}{"code":"y"}`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a stray closing brace after the object is invalid", body: `{"code":"x"}}`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "a stray closing bracket after the object is invalid", body: `{"code":"x"}]`, wantStatus: 400, wantCode: "invalid_argument"},
		{name: "an array instead of an object is invalid without naming a field", body: `["x"]`, wantStatus: 400, wantCode: "invalid_argument"},
		{
			name: "a number where text belongs names the field", body: `{"code":5}`,
			wantStatus: 400, wantCode: "invalid_argument", wantFields: map[string]string{"code": "类型错误，应为字符串"},
		},
		{
			name: "text where a number belongs names the field", body: `{"count":"3"}`,
			wantStatus: 400, wantCode: "invalid_argument", wantFields: map[string]string{"count": "类型错误，应为数字"},
		},
		{
			name: "a number where a list belongs names the field", body: `{"tags":3}`,
			wantStatus: 400, wantCode: "invalid_argument", wantFields: map[string]string{"tags": "类型错误，应为数组"},
		},
		{
			name: "a wrong type inside a nested object names its path", body: `{"profile":{"name":1}}`,
			wantStatus: 400, wantCode: "invalid_argument", wantFields: map[string]string{"profile.name": "类型错误，应为字符串"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.unknownLength {
				req.ContentLength = -1
			}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = req

			var got loginRequest
			var err error
			if web.LimitBody(logging.Discard(), limit)(c); !c.IsAborted() {
				if err = web.BindJSON(c, &got); err != nil {
					web.Fail(c, logging.Discard(), err)
				}
			}

			if tt.wantStatus == 0 {
				if err != nil || c.IsAborted() {
					t.Fatalf("BindJSON error = %v (status %d), want success", err, w.Code)
				}
				if !reflect.DeepEqual(tt.want, got) {
					t.Errorf("bound request (-want +got)\n-%+v\n+%+v", tt.want, got)
				}
				return
			}
			if err != nil {
				if _, ok := apperr.As(err); !ok {
					t.Errorf("BindJSON error %v is not an *apperr.Error, so it would be a 500", err)
				}
			}
			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tt.wantStatus)
			}
			var body web.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not JSON: %v", w.Body.String(), err)
			}
			if body.Error.Code != tt.wantCode || body.Error.Message == "" {
				t.Errorf("error code, message = %q, %q; want %q with a message", body.Error.Code, body.Error.Message, tt.wantCode)
			}
			if !reflect.DeepEqual(tt.wantFields, body.Error.Fields) {
				t.Errorf("fields (-want +got)\n-%v\n+%v", tt.wantFields, body.Error.Fields)
			}
		})
	}
}
