package form

import (
	"encoding/json"
	"testing"
)

func ptr(v float64) *float64 { return &v }

// TestEachFieldTypeAcceptsGoodAndRefusesBadAnswers checks every field type
// against answers a phone could send, with the field named in the problems.
func TestEachFieldTypeAcceptsGoodAndRefusesBadAnswers(t *testing.T) {
	fields := []Field{
		{Key: "note", Type: TypeText},
		{Key: "households", Type: TypeNumber, Min: ptr(0), Max: ptr(500)},
		{Key: "travel", Type: TypeChoice, Options: []string{"是", "否"}},
		{Key: "symptoms", Type: TypeMulti, Options: []string{"发热", "咳嗽", "无"}},
		{Key: "back_on", Type: TypeDate},
		{Key: "phone", Type: TypePhone},
		{Key: "id_no", Type: TypeIDCard},
		{Key: "temp", Type: TypeTemperature},
		{Key: "where", Type: TypeLocation},
	}
	tests := []struct {
		key       string
		good, bad []string
	}{
		{"note", []string{`"走访三户"`}, []string{`""`, `12`, `"a\u0000b"`}},
		{"households", []string{`0`, `12`, `500`}, []string{`-1`, `501`, `"12"`}},
		{"travel", []string{`"是"`}, []string{`"也许"`, `["是"]`}},
		{"symptoms", []string{`["发热","咳嗽"]`, `[]`}, []string{`["发热","发热"]`, `["头痛"]`, `"发热"`}},
		{"back_on", []string{`"2020-01-26"`}, []string{`"2020-02-30"`, `"26/01/2020"`}},
		{"phone", []string{`"13912345678"`}, []string{`"1391234567"`, `"23912345678"`, `13912345678`}},
		{"id_no", []string{`"11010519491231002X"`, `"11010519491231002x"`}, []string{`"110105194912310021"`, `"110105194913310028"`, `"1101051949123100"`}},
		{"temp", []string{`34.0`, `37.8`, `43`}, []string{`33.9`, `43.1`, `"37"`}},
		{"where", []string{`{"lat":36.07,"lng":120.38,"accuracy_m":15,"address":"市南区"}`, `{"lat":36.07,"lng":120.38}`},
			[]string{`{"lat":91,"lng":0}`, `{"lat":1,"lng":2,"alt":3}`, `[1,2]`}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, a := range tt.good {
				f := map[string]string{}
				if _, _ = Check(fields, map[string]json.RawMessage{tt.key: json.RawMessage(a)}, f); len(f) > 0 {
					t.Errorf("%s refused: %v", a, f)
				}
			}
			for _, a := range tt.bad {
				f := map[string]string{}
				Check(fields, map[string]json.RawMessage{tt.key: json.RawMessage(a)}, f)
				if f["answers."+tt.key] == "" {
					t.Errorf("%s accepted; problems %v", a, f)
				}
			}
		})
	}
	t.Run("every bad answer and missing required field is named at once", func(t *testing.T) {
		fs := append([]Field{{Key: "must", Type: TypeText, Required: true}}, fields...)
		f := map[string]string{}
		Check(fs, map[string]json.RawMessage{"temp": json.RawMessage(`50`), "phone": json.RawMessage(`"1"`), "other": json.RawMessage(`1`)}, f)
		for _, k := range []string{"answers.must", "answers.temp", "answers.phone", "answers.other"} {
			if f[k] == "" {
				t.Errorf("%s not named: %v", k, f)
			}
		}
	})
}

// TestAlertRules checks when an answer trips a field's alert.
func TestAlertRules(t *testing.T) {
	tests := []struct {
		name   string
		field  Field
		answer string
		want   bool
	}{
		{"a temperature at the threshold trips gte", Field{Key: "k", Type: TypeTemperature, Alert: &Alert{Op: "gte", Value: json.RawMessage(`37.3`)}}, `37.3`, true},
		{"a normal temperature does not", Field{Key: "k", Type: TypeTemperature, Alert: &Alert{Op: "gte", Value: json.RawMessage(`37.3`)}}, `36.6`, false},
		{"a choice in the list trips in", Field{Key: "k", Type: TypeChoice, Options: []string{"是", "否"}, Alert: &Alert{Op: "in", Value: json.RawMessage(`["是"]`)}}, `"是"`, true},
		{"a choice outside the list does not", Field{Key: "k", Type: TypeChoice, Options: []string{"是", "否"}, Alert: &Alert{Op: "in", Value: json.RawMessage(`["是"]`)}}, `"否"`, false},
		{"any chosen option of a multi trips in", Field{Key: "k", Type: TypeMulti, Options: []string{"发热", "咳嗽", "无"}, Alert: &Alert{Op: "in", Value: json.RawMessage(`["发热","咳嗽"]`)}}, `["无","咳嗽"]`, true},
		{"a number below lt trips it", Field{Key: "k", Type: TypeNumber, Alert: &Alert{Op: "lt", Value: json.RawMessage(`1`)}}, `0`, true},
		{"a choice equal to eq trips it", Field{Key: "k", Type: TypeChoice, Options: []string{"是", "否"}, Alert: &Alert{Op: "eq", Value: json.RawMessage(`"是"`)}}, `"是"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := map[string]string{}
			_, got := Check([]Field{tt.field}, map[string]json.RawMessage{"k": json.RawMessage(tt.answer)}, f)
			if len(f) > 0 || got != tt.want {
				t.Errorf("alert = %v (problems %v), want %v", got, f, tt.want)
			}
		})
	}
}

// TestFormDefinitionsAreChecked names each bad item of a form's fields.
func TestFormDefinitionsAreChecked(t *testing.T) {
	tests := []struct {
		name  string
		field Field
		bad   string
	}{
		{"a key with capitals", Field{Key: "Temp", Label: "体温", Type: TypeTemperature}, "fields[1].key"},
		{"a repeated key", Field{Key: "a", Label: "体温", Type: TypeTemperature}, "fields[1].key"},
		{"an unknown type", Field{Key: "b", Label: "x", Type: "color"}, "fields[1].type"},
		{"a choice without options", Field{Key: "b", Label: "x", Type: TypeChoice}, "fields[1].options"},
		{"a min above the max", Field{Key: "b", Label: "x", Type: TypeNumber, Min: ptr(5), Max: ptr(1)}, "fields[1].min"},
		{"a blank label", Field{Key: "b", Label: " ", Type: TypeText}, "fields[1].label"},
		{"gt on a choice", Field{Key: "b", Label: "x", Type: TypeChoice, Options: []string{"是"}, Alert: &Alert{Op: "gt", Value: json.RawMessage(`1`)}}, "fields[1].alert"},
		{"in with a value that is not an option", Field{Key: "b", Label: "x", Type: TypeChoice, Options: []string{"是"}, Alert: &Alert{Op: "in", Value: json.RawMessage(`["否"]`)}}, "fields[1].alert"},
		{"an unknown op", Field{Key: "b", Label: "x", Type: TypeTemperature, Alert: &Alert{Op: "near", Value: json.RawMessage(`1`)}}, "fields[1].alert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := map[string]string{}
			checkFields([]Field{{Key: "a", Label: "备注", Type: TypeText}, tt.field}, f)
			if f[tt.bad] == "" {
				t.Errorf("%s not named: %v", tt.bad, f)
			}
		})
	}
	t.Run("a good definition passes", func(t *testing.T) {
		f := map[string]string{}
		checkFields([]Field{{Key: "temp", Label: "体温", Type: TypeTemperature, Required: true, Alert: &Alert{Op: "gte", Value: json.RawMessage(`37.3`)}},
			{Key: "travel", Label: "是否外出", Type: TypeChoice, Options: []string{"是", "否"}, Alert: &Alert{Op: "in", Value: json.RawMessage(`["是"]`)}}}, f)
		if len(f) > 0 {
			t.Errorf("refused: %v", f)
		}
	})
}
