package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
)

// editorRows is how many fields the form editor offers at once; a form
// with more is built in two steps (or through the API).
const editorRows = 8

// fieldTypes are the field types the editor offers, with their names.
var fieldTypes = []struct {
	Type  form.FieldType
	Label string
}{
	{form.TypeText, "文字"}, {form.TypeNumber, "数字"}, {form.TypeChoice, "单选"}, {form.TypeMulti, "多选"},
	{form.TypeDate, "日期"}, {form.TypePhone, "手机号"}, {form.TypeIDCard, "身份证号"},
	{form.TypeTemperature, "体温"}, {form.TypeLocation, "位置"},
}

// alertOps are the alert rules the editor offers.
var alertOps = []struct{ Op, Label string }{
	{"gte", "≥"}, {"gt", ">"}, {"lte", "≤"}, {"lt", "<"}, {"eq", "等于"}, {"in", "属于（逗号分隔）"},
}

// formListRow is a form with its progress today.
type formListRow struct {
	Form  form.Form
	Sum   form.Summary
	Chart svg
}

// forms is GET /console/orgs/{id}/forms: the org's screening forms with
// their progress, paged, and the editor that builds a new one.
func (c *Console) forms(g *gin.Context) {
	nav, pq, ok := c.orgList(g)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	p, err := c.o.Form.List(ctx, uid, nav.Org.ID, pq.Cursor, 10)
	if err != nil {
		c.fail(g, err)
		return
	}
	rows := pageRows(p, func(f form.Form) formListRow { return formListRow{Form: f} })
	for i := range rows.Items {
		f := rows.Items[i].Form
		s, err := c.o.Form.Summarize(ctx, uid, f.ID, "")
		if err != nil {
			c.fail(g, err)
			return
		}
		rows.Items[i].Sum = s
		rows.Items[i].Chart = barChart(f.Title, []bar{{Label: "已填报", Done: int64(s.Submitted), Total: int64(s.Audience)}})
	}
	editor := make([]int, editorRows)
	for i := range editor {
		editor[i] = i
	}
	c.render(g, http.StatusOK, "forms", page{Title: "排查表", Org: nav, Tab: "forms", Flash: flash(g), Data: map[string]any{
		"List": rows, "Rows": editor, "Types": fieldTypes, "Ops": alertOps,
	}})
}

// createForm is POST /console/orgs/{id}/forms: a form built with the
// editor, published to its audience by the form service.
func (c *Console) createForm(g *gin.Context) {
	id, ok := c.pathID(g, "id")
	if !ok {
		return
	}
	in, err := c.formInput(g)
	if err != nil {
		c.fail(g, err)
		return
	}
	f, err := c.o.Form.Create(g.Request.Context(), userID(g), id, in)
	if err != nil {
		c.fail(g, err)
		return
	}
	back(g, fmt.Sprintf("/console/forms/%d", f.ID), "form")
}

// formInput reads the editor; the form service checks every rule.
func (c *Console) formInput(g *gin.Context) (form.Input, error) {
	in := form.Input{RequestID: g.PostForm("request_id"), Title: strings.TrimSpace(g.PostForm("title")),
		Description: g.PostForm("description"), Mode: form.Mode(g.PostForm("mode")), DueTime: g.PostForm("due_time")}
	bad := map[string]string{}
	in.Target, in.DueAt, in.RemindBeforeMinutes = c.audienceAndDue(g, bad)
	for i := range editorRows {
		n := strconv.Itoa(i)
		label := strings.TrimSpace(g.PostForm("label" + n))
		if label == "" {
			continue
		}
		f := form.Field{Key: fmt.Sprintf("f%d", i+1), Label: label, Type: form.FieldType(g.PostForm("type" + n)),
			Required: g.PostForm("required"+n) != "", Unit: strings.TrimSpace(g.PostForm("unit" + n))}
		f.Options = splitList(g.PostForm("options" + n))
		if op := g.PostForm("op" + n); op != "" {
			f.Alert = &form.Alert{Op: op, Value: alertValue(op, g.PostForm("value"+n))}
		}
		in.Fields = append(in.Fields, f)
	}
	if len(bad) > 0 {
		return form.Input{}, apperr.Invalid("参数错误", bad)
	}
	return in, nil
}

// splitList splits a list written with commas (either width) or 、.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// alertValue is the JSON value of an alert rule as the editor wrote it: a
// list for "in", a number when it reads as one, else a string.
func alertValue(op, v string) json.RawMessage {
	v = strings.TrimSpace(v)
	var out any = v
	if op == "in" {
		out = splitList(v)
	} else if n, err := strconv.ParseFloat(v, 64); err == nil {
		out = n
	}
	raw, _ := json.Marshal(out)
	return raw
}

// entryRow is an entry with its answers in the order of the form's fields.
type entryRow struct {
	form.Row
	Answers []string
	Media   []media.View
}

// formDetail is GET /console/forms/{id}?day=&alert=: the summary of a day
// (per field, per org, who has not submitted), the entries (paged), the
// export of the day and closing the form.
func (c *Console) formDetail(g *gin.Context) {
	id, pq, ok := c.idList(g)
	if !ok {
		return
	}
	ctx, uid := g.Request.Context(), userID(g)
	d, err := c.o.Form.Get(ctx, uid, id)
	if err == nil && !d.Manager {
		err = form.ErrNotFound
	}
	if err != nil {
		c.fail(g, err)
		return
	}
	day := g.Query("day")
	if _, err := time.Parse(time.DateOnly, day); day != "" && err != nil {
		c.fail(g, apperr.Invalid("参数错误", map[string]string{"day": "日期格式应为 YYYY-MM-DD"}))
		return
	}
	flt := form.Filter{Day: day}
	if g.Query("alert") == "true" {
		yes := true
		flt.Alert = &yes
	}
	sum, err := c.o.Form.Summarize(ctx, uid, id, day)
	if err != nil {
		c.fail(g, err)
		return
	}
	entries, err := c.o.Form.Entries(ctx, uid, id, flt, pq.Cursor, 50)
	if err != nil {
		c.fail(g, err)
		return
	}
	var fields []form.Field
	_ = json.Unmarshal([]byte(d.Form.Fields), &fields)
	rows := pageRows(entries, func(r form.Row) entryRow {
		var answers map[string]json.RawMessage
		_ = json.Unmarshal([]byte(r.Answers), &answers)
		out := entryRow{Row: r}
		for _, f := range fields {
			out.Answers = append(out.Answers, answerText(answers[f.Key]))
		}
		return out
	})
	if err := media.Fill(ctx, c.o.Media, uid, media.OwnerFormEntry, rows.Items,
		func(e *entryRow) (int64, *[]media.View) { return e.ID, &e.Media }); err != nil {
		c.fail(g, err)
		return
	}
	nav, ok := c.navOf(g, d.Form.OrgID)
	if !ok {
		return
	}
	c.render(g, http.StatusOK, "form", page{Title: d.Form.Title, Org: nav, Tab: "forms", Flash: flash(g), Data: map[string]any{
		"Form": d.Form, "Fields": fields, "Sum": sum, "Entries": rows, "Day": day, "AlertOnly": flt.Alert != nil,
		"Chart":  barChart("填报进度", []bar{{Label: "已填报", Done: int64(sum.Submitted), Total: int64(sum.Audience)}}),
		"Export": fmt.Sprintf("/console/forms/%d/export.xlsx?from=%s&to=%s", id, day, day),
	}})
}

// answerText shows one answer: a text as it is, a list joined, a place by
// its address or coordinates, a number as written.
func answerText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "—"
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, "、")
	case map[string]any:
		if a, ok := x["address"].(string); ok && a != "" {
			return a
		}
		return fmt.Sprintf("%v, %v", x["lat"], x["lng"])
	}
	return strings.TrimSpace(string(raw))
}

// closeForm is POST /console/forms/{id}/close.
func (c *Console) closeForm(g *gin.Context) {
	id, ok := c.pathID(g, "id")
	if !ok {
		return
	}
	if _, err := c.o.Form.Close(g.Request.Context(), userID(g), id); err != nil {
		c.fail(g, err)
		return
	}
	back(g, fmt.Sprintf("/console/forms/%d", id), "closed")
}
