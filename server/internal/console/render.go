package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/web"
)

// page is what every template gets.
type page struct {
	Title  string
	CSRF   string
	Viewer *viewer
	// Org is the org the page is about, with the tree picker around it;
	// nil on pages about no org.
	Org *orgNav
	// Tab is the active tab of the org's pages.
	Tab string
	// Flash reports what the last action did.
	Flash string
	Data  any
}

// orgNav is the tree picker around the current org: the secretary's own
// orgs, the way up (while they manage it) and the children.
type orgNav struct {
	org.Detail
	Parent *org.Org
}

// pageNames are the templates under templates/, each with layout.html.
var pageNames = []string{"login", "error", "dashboard", "members", "tasks", "task", "reports", "stats", "announcements", "receipts", "deeds", "audit", "forms", "form", "report", "absent", "deed"}

func parsePages(loc *time.Location) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.In(loc).Format("2006-01-02 15:04")
			case *time.Time:
				if v == nil {
					return "—"
				}
				return v.In(loc).Format("2006-01-02 15:04")
			}
			return ""
		},
		"badge":     func(b org.Badge) string { return b.Label() },
		"badges":    func() []org.Badge { return org.Badges },
		"modes":     func() any { return formModes },
		"kind":      org.KindLabel,
		"svgHTML":   func(s svg) template.HTML { return template.HTML(s) },
		"percent":   percent,
		"inc":       func(i int) int { return i + 1 },
		"statusCN":  statusCN,
		"shownName": func(o org.Org, viewer int64) string { return o.ShownName(viewer) },
		// args passes several values to a shared template: args "D" . "CSRF" $.CSRF.
		"args": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("args: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("args: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
	}
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func percent(part, whole int64) int64 {
	if whole <= 0 {
		return 0
	}
	return part * 100 / whole
}

// statusCN is the Chinese word of a status the pages show.
func statusCN(s any) string {
	m := map[string]string{
		"pending": "待审核", "approved": "已通过", "rejected": "已拒绝", "removed": "已移出",
		"dispatching": "派发中", "open": "进行中", "cancelled": "已取消", "closed": "已关闭",
		"acknowledged": "已确认", "resolved": "已办结", "recommended": "已推荐", "commended": "已表彰",
		"assigned": "已派发", "accepted": "已接受", "declined": "已拒绝", "checked_in": "已到岗", "completed": "已完成",
		"member": "党员", "secretary": "书记", "created": "提交上报", "notified": "通知书记", "escalated": "上报上级",
		"note": "备注", "urgent": "紧急", "normal": "一般", "nominated": "提名",
	}
	k := fmt.Sprint(s)
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// render writes a page; a template failure is a 500 page, never half a page.
func (c *Console) render(g *gin.Context, status int, name string, p page) {
	if v, ok := g.Get(viewerKey); ok && p.Viewer == nil {
		p.Viewer = v.(*viewer)
	}
	if p.Viewer != nil && p.CSRF == "" {
		p.CSRF = p.Viewer.CSRF
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.o.Log.ErrorContext(g.Request.Context(), "console page failed", "page", name, "err", err)
		g.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("服务器内部错误，请稍后重试"))
		g.Abort()
		return
	}
	g.Header("Content-Security-Policy", "default-src 'self'; img-src * data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	g.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail shows err as a page with the status the API would answer (404 for
// what lies outside the secretary's scope).
func (c *Console) fail(g *gin.Context, err error) {
	status, e := web.Resolve(g, c.o.Log, err)
	c.render(g, status, "error", page{Title: "出错了", Data: e})
	g.Abort()
}
