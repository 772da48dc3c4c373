package console

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/stats"
)

// auditActions names each action of the trail in words a secretary reads;
// the code stays beside it on the page (and is all an unknown action shows).
var auditActions = map[string]string{
	audit.ActionClaim: "认领组织", audit.ActionCreateChild: "新建下级组织", audit.ActionRotateInvite: "更换邀请码",
	audit.ActionDissolve: "撤销组织", audit.ActionApprove: "批准入组", audit.ActionReject: "拒绝申请",
	audit.ActionChange: "变更身份或角色", audit.ActionRemove: "移出组织", audit.ActionSecond: "借调党员",
	audit.ActionUnmask: "查看完整证件号或手机号", audit.ActionFormExport: "导出排查表", stats.ActionExport: "导出考核数据",
	"report.ack": "确认上报", "report.resolve": "办结上报", "report.escalate": "上报上级",
	"deed.approve": "通过事迹", "deed.reject": "拒绝事迹", "deed.recommend": "推荐事迹",
	"deed.commend": "表彰事迹",
}

// auditKeys names the detail fields the trail writes.
var auditKeys = map[string]string{
	"badge": "身份", "role": "角色", "reason": "理由", "name": "名称", "kind": "类型",
	"org_id": "组织", "to_org_id": "转至组织", "home_org_id": "原组织", "report_id": "上报",
	"deed_id": "事迹", "form_id": "排查表", "from": "起", "to": "止", "rows": "行数",
	"orgs": "范围", "by_end_date": "到期自动撤销", "fields": "字段", "entry_id": "填报",
}

// auditAction is the action's Chinese name, or its code when it has none.
func auditAction(code string) string {
	if v, ok := auditActions[code]; ok {
		return v
	}
	return code
}

// auditDetails renders an entry's JSON detail as "身份：宣传员 → 战斗员，理由：…",
// keys in a fixed order, badges and roles in words, a change as from → to.
// A detail that is not a JSON object is shown as it is.
func auditDetails(raw string) string {
	if raw == "" {
		return ""
	}
	d := map[string]any{}
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return raw
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		v := auditValue(k, d[k])
		if v == "" {
			continue
		}
		name := auditKeys[k]
		if name == "" {
			name = k
		}
		parts = append(parts, name+"："+v)
	}
	return strings.Join(parts, "，")
}

func auditValue(key string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if x {
			return "是"
		}
		return "否"
	case string:
		switch key {
		case "badge":
			if l := org.Badge(x).Label(); l != "" {
				return l
			}
		case "role":
			return statusCN(x)
		}
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	case map[string]any:
		if from, ok := x["from"]; ok {
			if to, ok := x["to"]; ok {
				return auditValue(key, from) + " → " + auditValue(key, to)
			}
		}
	case []any:
		items := make([]string, 0, len(x))
		for _, it := range x {
			items = append(items, auditValue(key, it))
		}
		return strings.Join(items, "、")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
