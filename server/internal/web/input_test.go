package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/web"
)

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
