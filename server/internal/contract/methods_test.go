package contract_test

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	miniprogramapi "xianfeng/miniprogram-api"
	"xianfeng/server/internal/contract"
)

func TestCheckClientMethods(t *testing.T) {
	const member, task = "/api/v1/orgs/{id}/members/{user_id}", "/api/v1/tasks/{id}"
	tests := []struct {
		name   string
		change func(doc *openapi3.T)
		want   [][]string
	}{
		{
			name:   "the contract as written passes",
			change: func(*openapi3.T) {},
		},
		{
			name:   "a PATCH operation without its POST override is reported",
			change: func(doc *openapi3.T) { doc.Paths.Value(task).Post = nil },
			want:   [][]string{{"PATCH " + task, "rescheduleTask", "wx.request lacks"}},
		},
		{
			// Both POST operations share the header parameter, so both change.
			name: "a POST whose override names another method is reported",
			change: func(doc *openapi3.T) {
				doc.Paths.Value(member).Post.Parameters[0].Value.Schema.Value.Enum = []any{"PUT"}
			},
			want: [][]string{
				{"PATCH " + member, "changeMember", "wx.request lacks"},
				{"PATCH " + task, "rescheduleTask", "wx.request lacks"},
				{"changeMemberByPost", "overrides PUT, which the path does not have"},
				{"rescheduleTaskByPost", "overrides PUT, which the path does not have"},
			},
		},
		{
			name: "an override that takes another body is reported",
			change: func(doc *openapi3.T) {
				doc.Paths.Value(task).Post.RequestBody = doc.Paths.Value(member).Post.RequestBody
			},
			want: [][]string{{"rescheduleTaskByPost", "does not take the request body of rescheduleTask"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := miniprogramapi.Load()
			if err != nil {
				t.Fatal(err)
			}
			tt.change(doc)
			rec := newRecorder(t)
			contract.CheckClientMethods(rec, doc)
			rec.expect(t, tt.want...)
		})
	}
}
