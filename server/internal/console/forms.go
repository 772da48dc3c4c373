package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
)

// editorRows is how many empty field rows the editor offers at first and
// adds at each 添加字段 without JavaScript (the page's script adds one at a
// time); form.MaxFields caps the rows.
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

// formModes are the modes the editor offers, with their names.
var formModes = []struct {
	Mode  form.Mode
	Label string
}{{form.ModeDaily, "每日一次"}, {form.ModeOnce, "只填一次"}, {form.ModeEntries, "可填多条（如逐户登记）"}}

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
func (c *Console) forms(g *gin.Context, id int64) {
	nav, pq, ok := c.orgList(g, id)
	if !ok {
		return
	}
	c.formsPage(g, nav, pq.Cursor, newEditor(nil, editorRows))
}

// formsPage shows the org's forms after cursor and the editor ed.
func (c *Console) formsPage(g *gin.Context, nav *orgNav, cursor int64, ed editor) {
	ctx, uid := g.Request.Context(), userID(g)
	p, err := c.o.Form.List(ctx, uid, nav.Org.ID, cursor, 10)
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
	c.render(g, http.StatusOK, "forms", page{Title: "排查表", Org: nav, Tab: "forms", Flash: flash(g), Data: map[string]any{
		"List": rows, "Editor": ed, "Types": fieldTypes, "Ops": alertOps,
	}})
}

// editor is the new-form editor as the page shows it: empty at first, and
// as the secretary filled it in when 添加字段 sends it back without
// JavaScript.
type editor struct {
	Title, Description, Mode, DueTime, DueAt, Remind string
	Badges                                           map[string]bool
	IncludeSuborgs                                   bool
	Rows                                             []editorRow
	// Blank is a row for the page's script to copy (its index __i__).
	Blank editorRow
	// Max is form.MaxFields: no more rows than that.
	Max int
}

// editorRow is one field's row in the editor; Index names its inputs
// (label<Index>, type<Index>, …) and N is its number on screen.
type editorRow struct {
	Index, N                              string
	Label, Type, Options, Unit, Op, Value string
	Required                              bool
}

// newEditor is the editor with the rows of g's form (nil: none) and up to
// more empty rows after them, at most form.MaxFields in all; the other
// inputs are g's too.
func newEditor(g *gin.Context, more int) editor {
	ed := editor{Mode: string(form.ModeDaily), Badges: map[string]bool{}, Max: form.MaxFields, Blank: editorRow{Index: "__i__", N: "__n__"}}
	if g != nil {
		ed.Title, ed.Description, ed.Mode = g.PostForm("title"), g.PostForm("description"), g.PostForm("mode")
		ed.DueTime, ed.DueAt, ed.Remind = g.PostForm("due_time"), g.PostForm("due_at"), g.PostForm("remind_before_minutes")
		for _, b := range g.PostFormArray("badge") {
			ed.Badges[b] = true
		}
		ed.IncludeSuborgs = g.PostForm("include_suborgs") != ""
		for _, i := range fieldRows(g) {
			n := strconv.Itoa(i)
			ed.Rows = append(ed.Rows, editorRow{Label: g.PostForm("label" + n), Type: g.PostForm("type" + n), Required: g.PostForm("required"+n) != "",
				Options: g.PostForm("options" + n), Unit: g.PostForm("unit" + n), Op: g.PostForm("op" + n), Value: g.PostForm("value" + n)})
		}
	}
	for range more {
		if len(ed.Rows) >= form.MaxFields {
			break
		}
		ed.Rows = append(ed.Rows, editorRow{})
	}
	for i := range ed.Rows {
		ed.Rows[i].Index, ed.Rows[i].N = strconv.Itoa(i), strconv.Itoa(i+1)
	}
	return ed
}

// fieldRows are the indexes of the editor's rows in g's form (label0,
// label1, …, however many the page's script added), in order.
func fieldRows(g *gin.Context) []int {
	if err := g.Request.ParseForm(); err != nil {
		return nil
	}
	var out []int
	for k := range g.Request.PostForm {
		if i, err := strconv.Atoi(strings.TrimPrefix(k, "label")); err == nil && strings.HasPrefix(k, "label") && i >= 0 {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// createForm is POST /console/orgs/{id}/forms: a form built with the
// editor, published to its audience by the form service; or, for 添加字段
// without JavaScript (more), the editor again as filled in, with more rows.
func (c *Console) createForm(g *gin.Context, id int64) {
	if g.PostForm("more") != "" {
		nav, ok := c.navOf(g, id)
		if !ok {
			return
		}
		c.formsPage(g, nav, 0, newEditor(g, editorRows))
		return
	}
	in, err := c.formInput(g)
	if err != nil {
		c.fail(g, err)
		return
	}
	f, err := c.o.Form.Create(g.Request.Context(), userID(g), id, in)
	c.back(g, err, fmt.Sprintf("/console/forms/%d", f.ID), "form")
}

// formInput reads the editor; the form service checks every rule (the
// number of fields among them).
func (c *Console) formInput(g *gin.Context) (form.Input, error) {
	in := form.Input{RequestID: g.PostForm("request_id"), Title: strings.TrimSpace(g.PostForm("title")),
		Description: g.PostForm("description"), Mode: form.Mode(g.PostForm("mode")), DueTime: g.PostForm("due_time")}
	bad := map[string]string{}
	in.Target, in.DueAt, in.RemindBeforeMinutes = c.audienceAndDue(g, bad)
	for _, i := range fieldRows(g) {
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
func (c *Console) formDetail(g *gin.Context, id int64) {
	pq, ok := c.pageQuery(g)
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
func (c *Console) closeForm(g *gin.Context, id int64) {
	_, err := c.o.Form.Close(g.Request.Context(), userID(g), id)
	c.back(g, err, fmt.Sprintf("/console/forms/%d", id), "closed")
}
