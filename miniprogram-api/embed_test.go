package miniprogramapi_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	miniprogramapi "xianfeng/miniprogram-api"
)

// operation is one operation of the document with where it lives.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func operations(t *testing.T, doc *openapi3.T) []operation {
	t.Helper()
	var ops []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, operation{method: method, path: path, op: op})
		}
	}
	slices.SortFunc(ops, func(a, b operation) int {
		return strings.Compare(a.method+" "+a.path, b.method+" "+b.path)
	})
	if len(ops) == 0 {
		t.Fatal("openapi.yaml has no operations")
	}
	return ops
}

func load(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := miniprogramapi.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return doc
}

func TestLoadValidatesTheEmbeddedDocument(t *testing.T) {
	doc := load(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if want := "Xianfeng 先锋 mini-program API"; doc.Info.Title != want {
		t.Errorf("info.title = %q, want %q", doc.Info.Title, want)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"]; s == nil || s.Value.Type != "http" || s.Value.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearerAuth is not an http bearer scheme: %+v", s)
	}
	for _, name := range []string{"Error", "User", "Membership", "LoginRequest", "PhoneRequest",
		"LoginResponse", "Me", "RecordedMessage", "RecordedMessageList", "Readiness",
		"Org", "OrgDetail", "Counts", "Post", "Member", "MemberList", "Invite", "SecondmentRequest",
		"SecondmentResult", "AuditEntry", "AuditList", "Badge", "BadgeVerdict", "ClaimRequest",
		"SignupRequest", "ChildRequest", "ChangeMemberRequest", "RejectRequest",
		"TaskKind", "TaskStatus", "AssignmentStatus", "TaskLocation", "TaskTarget", "TaskTargetRequest", "Task",
		"TaskCheckin", "Assignment", "Assignee", "TaskProgress", "TaskDelivery", "TaskDetail", "TaskList", "TaskAssignment",
		"MyTaskList", "RequestIDField", "CreateTaskRequest", "RescheduleTaskRequest", "DeclineTaskRequest",
		"TaskCheckinRequest", "CompleteTaskRequest", "DailyCheckinRequest", "DailyCheckin", "DailyCheckinList",
		"CheckinLine", "CheckinAbsent", "CheckinBoard",
		"NotificationKind", "DeliveryStatus", "Notification", "NotificationList", "ReadAllResult", "Subscription",
		"SubscriptionList", "SubscribeRequest", "AnnouncementStatus", "Announcement", "CreateAnnouncementRequest",
		"AnnouncementList", "DeliveryStats", "UnreadRecipient", "AnnouncementReceipts", "ReportCategory", "ReportUrgency",
		"ReportStatus", "Report", "CreateReportRequest", "ReportNoteRequest", "ReportEvent", "ReportDetail", "ReportList",
		"DeedStatus", "Deed", "CreateDeedRequest", "DeedReasonRequest", "DeedEvent", "DeedDetail", "DeedList"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}
	for _, name := range []string{"BadRequest", "Unauthenticated", "PayloadTooLarge", "RateLimited",
		"Internal", "BadGateway", "Unavailable", "Forbidden", "NotFound", "Conflict", "Unprocessable"} {
		if doc.Components.Responses[name] == nil {
			t.Errorf("components.responses.%s is missing", name)
		}
	}
}

func TestLoadReturnsADocumentOfItsOwn(t *testing.T) {
	first := load(t)
	first.Paths.Delete("/healthz")
	if load(t).Paths.Value("/healthz") == nil {
		t.Error("changing one loaded document changed the next one")
	}
}

func TestEveryOperationIsFullyDescribed(t *testing.T) {
	doc := load(t)
	ids := make(map[string]string)
	for _, o := range operations(t, doc) {
		name := o.method + " " + o.path
		if o.op.OperationID == "" {
			t.Errorf("%s has no operationId", name)
		} else if other, dup := ids[o.op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %q", name, other, o.op.OperationID)
		}
		ids[o.op.OperationID] = name
		if o.op.Summary == "" {
			t.Errorf("%s has no summary", name)
		}
		if len(o.op.Tags) == 0 {
			t.Errorf("%s has no tags", name)
		}
		if !slices.ContainsFunc(o.op.Parameters, func(p *openapi3.ParameterRef) bool {
			return p.Ref == "#/components/parameters/RequestID"
		}) {
			t.Errorf("%s does not take the shared RequestID parameter", name)
		}
		for code, resp := range o.op.Responses.Map() {
			h := resp.Value.Headers["X-Request-ID"]
			if h == nil || h.Ref != "#/components/headers/X-Request-ID" || !h.Value.Required {
				t.Errorf("%s response %s does not require the shared X-Request-ID header", name, code)
			}
		}
	}
}

func TestEveryErrorAnswerIsASharedErrorResponse(t *testing.T) {
	doc := load(t)
	for _, o := range operations(t, doc) {
		for code, resp := range o.op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s %s: response %q is not a plain status code", o.method, o.path, code)
				continue
			}
			if status < 400 || (o.path == "/readyz" && status == http.StatusServiceUnavailable) {
				continue
			}
			if !strings.HasPrefix(resp.Ref, "#/components/responses/") {
				t.Errorf("%s %s: response %d is not one of the shared responses", o.method, o.path, status)
				continue
			}
			media := resp.Value.Content.Get("application/json")
			if media == nil || media.Schema == nil || media.Schema.Ref != "#/components/schemas/Error" {
				t.Errorf("%s %s: response %d (%s) is not an application/json Error", o.method, o.path, status, resp.Ref)
			}
		}
	}
}

func TestOnlyProbesDocsLoginAndBadgeVerificationAreOpenWithoutAToken(t *testing.T) {
	doc := load(t)
	public := []string{
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/openapi.yaml", "POST /api/v1/auth/login",
		"GET /api/v1/badges/verify",
	}
	for _, o := range operations(t, doc) {
		name := o.method + " " + o.path
		security := doc.Security
		if o.op.Security != nil {
			security = *o.op.Security
		}
		open := len(security) == 0
		if want := slices.Contains(public, name); open != want {
			t.Errorf("%s: open without a token = %v, want %v", name, open, want)
		}
		if !open && o.op.Responses.Status(http.StatusUnauthorized) == nil {
			t.Errorf("%s needs a token but does not document 401", name)
		}
	}
}

func TestErrorSchemaAcceptsTheConventionAndRejectsOtherShapes(t *testing.T) {
	schema := load(t).Components.Schemas["Error"].Value
	tests := []struct {
		name  string
		value map[string]any
		ok    bool
	}{
		{"a code and a message are enough", map[string]any{"error": map[string]any{"code": "not_found", "message": "未找到"}}, true},
		{"validation errors name their fields", map[string]any{"error": map[string]any{"code": "invalid_argument", "message": "请求参数有误", "fields": map[string]any{"code": "不能为空"}}}, true},
		{"a code must be snake_case", map[string]any{"error": map[string]any{"code": "NotFound", "message": "未找到"}}, false},
		{"a message is required", map[string]any{"error": map[string]any{"code": "not_found"}}, false},
		{"a bare string is no error", map[string]any{"error": "not found"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schema.VisitJSON(tt.value)
			if (err == nil) != tt.ok {
				t.Errorf("VisitJSON(%v) = %v, want ok=%v", tt.value, err, tt.ok)
			}
		})
	}
}

func TestUserSchemaRejectsUnknownFields(t *testing.T) {
	schema := load(t).Components.Schemas["User"].Value
	user := map[string]any{
		"id": float64(1), "name": "", "phone_bound": false, "phone_masked": "", "created_at": "2020-01-26T08:00:00+08:00",
	}
	if err := schema.VisitJSON(user); err != nil {
		t.Fatalf("a well-formed user was rejected: %v", err)
	}
	user["phone"] = "13800138000"
	if err := schema.VisitJSON(user); err == nil {
		t.Error("a user with an unmasked phone field was accepted")
	}
}

func TestMemberRowsOfTasksAndCheckinsRejectUnknownFields(t *testing.T) {
	schemas := load(t).Components.Schemas
	rows := map[string]map[string]any{
		"Assignee": {
			"id": float64(1), "task_id": float64(1), "user_id": float64(2), "org_id": float64(3), "status": "assigned",
			"status_label": "待接受", "overdue": false, "reason": "", "note": "", "checkin": nil, "accepted_at": nil,
			"completed_at": nil, "created_at": "2020-01-26T08:00:00Z", "name": "张小明", "badge": "frontline", "badge_label": "战斗员",
		},
		"CheckinAbsent": {
			"user_id": float64(2), "org_id": float64(3), "org_name": "第一党支部", "name": "张小明", "badge": "frontline",
			"badge_label": "战斗员", "phone_masked": "139****5678",
		},
	}
	for name, row := range rows {
		schema := schemas[name].Value
		if err := schema.VisitJSON(row); err != nil {
			t.Fatalf("a well-formed %s was rejected: %v", name, err)
		}
		row["phone"] = "13912345678"
		if err := schema.VisitJSON(row); err == nil {
			t.Errorf("a %s with an unmasked phone field was accepted", name)
		}
	}
}
