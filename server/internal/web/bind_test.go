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

type place struct {
	Address string `json:"address"`
}

type report struct {
	OrgID     int64             `json:"org_id"`
	Content   string            `json:"content"`
	Place     *place            `json:"location"`
	Tags      []string          `json:"tags"`
	UserIDs   []int64           `json:"user_ids"`
	Extra     map[string]string `json:"extra"`
	Count     int               `json:"count"`
	Untouched string            `json:"-"`
}

func TestBindJSONAppliesTheTextAndIDRules(t *testing.T) {
	gin.SetMode(gin.TestMode)
	tests := []struct {
		name       string
		body       string
		want       report
		wantFields map[string]string // nil: the body is accepted
	}{
		{
			name: "clean text and ids in range are accepted",
			body: `{"org_id":9007199254740991,"content":"值守\n\t正常","location":{"address":"青岛站"},"tags":["a"],"user_ids":[1,2],"count":-5}`,
			want: report{OrgID: 1<<53 - 1, Content: "值守\n\t正常", Place: &place{Address: "青岛站"}, Tags: []string{"a"}, UserIDs: []int64{1, 2}, Count: -5},
		},
		{
			name: "CR LF pairs become LF everywhere, nested and in lists and maps",
			body: `{"content":"一\r\n二","location":{"address":"甲\r\n乙"},"tags":["x\r\ny"],"extra":{"k":"m\r\nn"}}`,
			want: report{Content: "一\n二", Place: &place{Address: "甲\n乙"}, Tags: []string{"x\ny"}, Extra: map[string]string{"k": "m\nn"}},
		},
		{
			name:       "a NUL in free text is refused naming the field",
			body:       `{"content":"a\u0000b"}`,
			wantFields: map[string]string{"content": "包含不允许的控制字符"},
		},
		{
			name:       "a control character in a nested field is refused naming its path",
			body:       `{"location":{"address":"a\u001bb"}}`,
			wantFields: map[string]string{"location.address": "包含不允许的控制字符"},
		},
		{
			name:       "a C1 control inside a list is refused naming the list",
			body:       `{"tags":["ok","a\u0085"]}`,
			wantFields: map[string]string{"tags": "包含不允许的控制字符"},
		},
		{
			name:       "a lone CR in a map value is refused naming its key",
			body:       `{"extra":{"k":"a\rb"}}`,
			wantFields: map[string]string{"extra.k": "包含不允许的控制字符"},
		},
		{
			name:       "an id above 2^53-1 is refused naming the field",
			body:       `{"org_id":9007199254740992}`,
			wantFields: map[string]string{"org_id": "应为有效的编号"},
		},
		{
			name:       "2147483648 is a valid id but a negative id is refused",
			body:       `{"org_id":-1,"user_ids":[2147483648]}`,
			wantFields: map[string]string{"org_id": "应为有效的编号"},
		},
		{
			name:       "an id out of range in a list is refused naming the list",
			body:       `{"user_ids":[1,9223372036854775807]}`,
			wantFields: map[string]string{"user_ids": "应为有效的编号"},
		},
		{
			name:       "every offending field is named at once",
			body:       `{"org_id":-3,"content":"\u0000","location":{"address":"\u0007"}}`,
			wantFields: map[string]string{"org_id": "应为有效的编号", "content": "包含不允许的控制字符", "location.address": "包含不允许的控制字符"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/reports", strings.NewReader(tt.body))
			var got report
			err := web.BindJSON(c, &got)
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("BindJSON = %v, want success", err)
				}
				if !reflect.DeepEqual(tt.want, got) {
					t.Errorf("bound (-want +got)\n-%+v\n+%+v", tt.want, got)
				}
				return
			}
			if err == nil {
				t.Fatalf("BindJSON accepted %s as %+v", tt.body, got)
			}
			web.Fail(c, logging.Discard(), err)
			var body web.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != 400 || body.Error.Code != "invalid_argument" || !reflect.DeepEqual(tt.wantFields, body.Error.Fields) {
				t.Errorf("answered %d %s, want 400 invalid_argument with fields %v", w.Code, w.Body, tt.wantFields)
			}
		})
	}
}

func TestCheckQuery(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(web.CheckQuery(logging.Discard()))
	r.GET("/x", func(c *gin.Context) { c.String(200, c.Query("status")) })
	tests := []struct {
		name      string
		query     string
		status    int
		wantField string
	}{
		{"no query passes", "", 200, ""},
		{"clean values pass", "?status=open&limit=5&q=%E5%80%BC%E5%AE%88", 200, ""},
		{"a NUL in a value is refused naming the parameter", "?status=a%00b", 400, "status"},
		{"a C1 control in a value is refused", "?status=%C2%85", 400, "status"},
		{"invalid UTF-8 in a value is refused", "?status=%FF", 400, "status"},
		{"a control character in a key is refused without echoing the key", "?a%01=1", 400, "query"},
		{"a CR LF pair is acceptable text", "?status=a%0D%0Ab", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/x"+tt.query, nil))
			if w.Code != tt.status {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.wantField == "" {
				return
			}
			var body web.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Code != "invalid_argument" || body.Error.Fields[tt.wantField] == "" {
				t.Errorf("answered %s, want invalid_argument naming %q", w.Body, tt.wantField)
			}
		})
	}
}
