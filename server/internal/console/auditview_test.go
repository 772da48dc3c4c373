package console

import "testing"

func TestAuditDetailsReadAsWords(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`{"badge":{"from":"publicity","to":"frontline"}}`, "身份：宣传员 → 战斗员"},
		{`{"reason":"材料不全"}`, "理由：材料不全"},
		{`{"by_end_date":true}`, "到期自动撤销：是"},
		{`{"form_id":12,"from":"2026-12-01","rows":3,"to":"2026-12-02"}`, "排查表：12，起：2026-12-01，行数：3，止：2026-12-02"},
		{`{"orgs":[3,4]}`, "范围：3、4"},
		{`not json`, "not json"},
		{``, ""},
	} {
		if got := auditDetails(c.raw); got != c.want {
			t.Errorf("auditDetails(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
	if got := auditAction("deed.commend"); got != "表彰事迹" {
		t.Errorf("auditAction(deed.commend) = %q", got)
	}
	if got := auditAction("something.new"); got != "something.new" {
		t.Errorf("an unknown action = %q, want its code", got)
	}
}
