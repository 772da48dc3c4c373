package form

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"xianfeng/server/internal/text"
)

// FieldType is what kind of answer a field takes.
type FieldType string

// Field types.
const (
	TypeText        FieldType = "text"
	TypeNumber      FieldType = "number"
	TypeChoice      FieldType = "choice"
	TypeMulti       FieldType = "multi"
	TypeDate        FieldType = "date"
	TypePhone       FieldType = "phone"
	TypeIDCard      FieldType = "id_card"
	TypeTemperature FieldType = "temperature"
	TypeLocation    FieldType = "location"
)

var fieldTypes = []FieldType{TypeText, TypeNumber, TypeChoice, TypeMulti, TypeDate, TypePhone, TypeIDCard, TypeTemperature, TypeLocation}

// Temperatures outside this range (°C) are typing mistakes, not readings.
const minTemperature, maxTemperature = 34.0, 43.0

// Field is one question of a form.
type Field struct {
	Key      string    `json:"key"`
	Label    string    `json:"label"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	Options  []string  `json:"options,omitempty"`
	Min      *float64  `json:"min,omitempty"`
	Max      *float64  `json:"max,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Alert    *Alert    `json:"alert,omitempty"`
}

// Alert is a rule on a field's answer that, when it holds, reports the
// entry upward at once: op is gt, gte, lt, lte (numbers), eq (any single
// value) or in (a list of values; for multi, any chosen option in it).
type Alert struct {
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value"`
}

// MaxFields is the most fields a form may have (openapi.yaml says the
// same); the web console's editor offers up to that many rows.
const MaxFields = 50

// maxOptions is the most options a choice or multi field may have.
const maxOptions = 50

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// checkFields validates a form's fields, writing problems into f under
// "fields[i]…".
func checkFields(fields []Field, f map[string]string) {
	if len(fields) == 0 || len(fields) > MaxFields {
		f["fields"] = fmt.Sprintf("应有 1 到 %d 个字段", MaxFields)
		return
	}
	seen := map[string]bool{}
	for i, fd := range fields {
		at := func(name string) string { return fmt.Sprintf("fields[%d].%s", i, name) }
		switch {
		case !keyPattern.MatchString(fd.Key):
			f[at("key")] = "应为小写字母开头、由小写字母数字和下划线组成的 1 到 32 个字符"
		case seen[fd.Key]:
			f[at("key")] = "与前面的字段重复"
		}
		seen[fd.Key] = true
		if msg := text.Problem(fd.Label, 1, 100); msg != "" {
			f[at("label")] = msg
		}
		if !slices.Contains(fieldTypes, fd.Type) {
			f[at("type")] = "应为 text、number、choice、multi、date、phone、id_card、temperature 或 location"
			continue
		}
		hasOptions := fd.Type == TypeChoice || fd.Type == TypeMulti
		switch {
		case hasOptions && (len(fd.Options) < 1 || len(fd.Options) > maxOptions):
			f[at("options")] = fmt.Sprintf("应有 1 到 %d 个选项", maxOptions)
		case hasOptions:
			for j, o := range fd.Options {
				if msg := text.Problem(o, 1, 50); msg != "" {
					f[at("options")] = "选项 " + strconv.Itoa(j+1) + msg
				} else if slices.Index(fd.Options, o) < j {
					f[at("options")] = "选项重复：" + o
				}
			}
		case len(fd.Options) > 0:
			f[at("options")] = "只有 choice 和 multi 字段有选项"
		}
		if fd.Type != TypeNumber && (fd.Min != nil || fd.Max != nil) {
			f[at("min")] = "只有 number 字段有最小值和最大值"
		} else if fd.Min != nil && fd.Max != nil && *fd.Min > *fd.Max {
			f[at("min")] = "最小值不能大于最大值"
		}
		if msg := text.Problem(fd.Unit, 0, 10); msg != "" {
			f[at("unit")] = msg
		}
		if fd.Alert != nil {
			if msg := checkAlert(fd); msg != "" {
				f[at("alert")] = msg
			}
		}
	}
}

// checkAlert returns what is wrong with a field's alert rule, or "".
func checkAlert(fd Field) string {
	a := fd.Alert
	numeric := fd.Type == TypeNumber || fd.Type == TypeTemperature
	switch a.Op {
	case "gt", "gte", "lt", "lte":
		var v float64
		if !numeric {
			return "gt、gte、lt、lte 只用于 number 和 temperature 字段"
		}
		if json.Unmarshal(a.Value, &v) != nil {
			return "value 应为数字"
		}
	case "eq":
		if fd.Type == TypeMulti || fd.Type == TypeLocation {
			return "该类型的字段不能用 eq"
		}
		if _, ok := fd.answer(a.Value); !ok {
			return "value 不是该字段的有效答案"
		}
	case "in":
		var vs []json.RawMessage
		if fd.Type == TypeLocation || json.Unmarshal(a.Value, &vs) != nil || len(vs) == 0 || len(vs) > maxOptions {
			return "value 应为非空数组（location 字段不能用 in）"
		}
		one := fd
		if fd.Type == TypeMulti {
			one.Type = TypeChoice
		}
		for _, v := range vs {
			if _, ok := one.answer(v); !ok {
				return "value 中含有不是该字段有效答案的值"
			}
		}
	default:
		return "op 应为 gt、gte、lt、lte、eq 或 in"
	}
	return ""
}

// Location is a place answered on a phone.
type Location struct {
	Lat       float64  `json:"lat"`
	Lng       float64  `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
	Address   string   `json:"address,omitempty"`
}

var (
	phonePattern  = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	idCardPattern = regexp.MustCompile(`^[1-9][0-9]{16}[0-9X]$`)
)

// ValidIDCard reports whether s is a PRC resident ID number (GB 11643):
// 18 characters with a real birth date and the right check digit.
func ValidIDCard(s string) bool {
	if !idCardPattern.MatchString(s) {
		return false
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return "10X98765432"[sum%11] == s[17]
}

// answer decodes and checks a raw answer to the field, returning it in its
// stored form (trimmed text, upper-case X, …) and whether it is valid.
func (fd Field) answer(raw json.RawMessage) (any, bool) {
	switch fd.Type {
	case TypeText:
		var s string
		if json.Unmarshal(raw, &s) != nil || text.Problem(s, 1, 500) != "" {
			return nil, false
		}
		return strings.TrimSpace(s), true
	case TypeNumber, TypeTemperature:
		var v float64
		if json.Unmarshal(raw, &v) != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
		lo, hi := minTemperature, maxTemperature
		if fd.Type == TypeNumber {
			lo, hi = math.Inf(-1), math.Inf(1)
			if fd.Min != nil {
				lo = *fd.Min
			}
			if fd.Max != nil {
				hi = *fd.Max
			}
		}
		return v, v >= lo && v <= hi
	case TypeChoice:
		var s string
		return s, json.Unmarshal(raw, &s) == nil && slices.Contains(fd.Options, s)
	case TypeMulti:
		var vs []string
		if json.Unmarshal(raw, &vs) != nil || vs == nil {
			return nil, false
		}
		for i, v := range vs {
			if !slices.Contains(fd.Options, v) || slices.Index(vs, v) < i {
				return nil, false
			}
		}
		return vs, true
	case TypeDate:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		_, err := time.Parse(time.DateOnly, s)
		return s, err == nil
	case TypePhone:
		var s string
		return s, json.Unmarshal(raw, &s) == nil && phonePattern.MatchString(s)
	case TypeIDCard:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		s = strings.ToUpper(s)
		return s, ValidIDCard(s)
	case TypeLocation:
		var l Location
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if dec.Decode(&l) != nil || !strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
			return nil, false
		}
		ok := l.Lat >= -90 && l.Lat <= 90 && l.Lng >= -180 && l.Lng <= 180 &&
			(l.AccuracyM == nil || (*l.AccuracyM >= 0 && *l.AccuracyM <= 100000)) && text.Problem(l.Address, 0, 200) == ""
		l.Address = strings.TrimSpace(l.Address)
		return l, ok
	}
	return nil, false
}

// texts returns the free text of the answers in stored form (as Check
// returns them) that others will read, as field, text pairs for
// contentsec.Fields: each text answer, and the address of each location,
// under "answers.<key>" as Check names problems.
func texts(fields []Field, answers map[string]any) []string {
	var out []string
	for _, fd := range fields {
		switch v := answers[fd.Key].(type) {
		case string:
			if fd.Type == TypeText {
				out = append(out, "answers."+fd.Key, v)
			}
		case Location:
			out = append(out, "answers."+fd.Key, v.Address)
		}
	}
	return out
}

// problem is what a member is told about a bad answer to the field.
func (fd Field) problem() string {
	switch fd.Type {
	case TypeText:
		return "应为 1 到 500 个字的文字"
	case TypeNumber:
		msg := "应为数字"
		if fd.Min != nil {
			msg += "，不小于 " + strconv.FormatFloat(*fd.Min, 'f', -1, 64)
		}
		if fd.Max != nil {
			msg += "，不大于 " + strconv.FormatFloat(*fd.Max, 'f', -1, 64)
		}
		return msg
	case TypeChoice:
		return "应为选项之一：" + strings.Join(fd.Options, "、")
	case TypeMulti:
		return "应为选项组成的数组（不重复）：" + strings.Join(fd.Options, "、")
	case TypeDate:
		return "日期格式应为 YYYY-MM-DD"
	case TypePhone:
		return "应为 11 位手机号码"
	case TypeIDCard:
		return "不是有效的 18 位居民身份证号码"
	case TypeTemperature:
		return "体温应在 34.0 到 43.0 ℃ 之间"
	case TypeLocation:
		return "应为 {lat, lng, accuracy_m, address}，经纬度在范围内"
	}
	return "无效"
}

// Check validates answers against the fields: every key must be a field,
// every required field answered, every answer valid. It returns the answers
// in stored form and whether any alert rule holds; problems are in f under
// "answers.<key>".
func Check(fields []Field, answers map[string]json.RawMessage, f map[string]string) (map[string]any, bool) {
	out := make(map[string]any, len(answers))
	alert := false
	for k := range answers {
		if !slices.ContainsFunc(fields, func(fd Field) bool { return fd.Key == k }) {
			f["answers."+k] = "表单中没有该字段"
		}
	}
	for _, fd := range fields {
		raw, ok := answers[fd.Key]
		if !ok || string(raw) == "null" {
			if fd.Required {
				f["answers."+fd.Key] = "必填"
			}
			continue
		}
		v, ok := fd.answer(raw)
		if !ok {
			f["answers."+fd.Key] = fd.problem()
			continue
		}
		out[fd.Key] = v
		if fd.Alert != nil && fd.trips(v) {
			alert = true
		}
	}
	return out, alert
}

// trips reports whether the answer v (in stored form) meets the field's
// alert rule.
func (fd Field) trips(v any) bool {
	a := fd.Alert
	switch a.Op {
	case "gt", "gte", "lt", "lte":
		var limit float64
		x, ok := v.(float64)
		if !ok || json.Unmarshal(a.Value, &limit) != nil {
			return false
		}
		return map[string]bool{"gt": x > limit, "gte": x >= limit, "lt": x < limit, "lte": x <= limit}[a.Op]
	case "eq":
		w, ok := fd.answer(a.Value)
		return ok && fmt.Sprint(w) == fmt.Sprint(v)
	case "in":
		var vs []json.RawMessage
		if json.Unmarshal(a.Value, &vs) != nil {
			return false
		}
		chosen := []any{v}
		if xs, ok := v.([]string); ok {
			chosen = chosen[:0]
			for _, x := range xs {
				chosen = append(chosen, x)
			}
		}
		one := fd
		if fd.Type == TypeMulti {
			one.Type = TypeChoice
		}
		for _, raw := range vs {
			w, ok := one.answer(raw)
			if ok && slices.ContainsFunc(chosen, func(c any) bool { return fmt.Sprint(c) == fmt.Sprint(w) }) {
				return true
			}
		}
	}
	return false
}
