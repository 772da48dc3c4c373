package text_test

import (
	"strings"
	"testing"

	"xianfeng/server/internal/text"
)

func TestFree(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the normalised text; ignored when refused
		ok   bool
	}{
		{"plain Chinese text is kept", "卡口值守，请按时到岗", "卡口值守，请按时到岗", true},
		{"the empty string is kept", "", "", true},
		{"a newline and a tab are kept", "第一行\n\t第二行", "第一行\n\t第二行", true},
		{"a CRLF pair becomes a newline, as browsers send textarea lines", "一\r\n二\r\n", "一\n二\n", true},
		{"emoji and other planes are kept", "加油💪𠀀", "加油💪𠀀", true},
		{"bidi controls are kept in free text", "a\u202eb", "a\u202eb", true},
		{"NUL is refused", "a\x00b", "", false},
		{"a lone carriage return is refused", "a\rb", "", false},
		{"a CR before a CR LF pair is refused", "a\r\r\nb", "", false},
		{"a vertical tab is refused", "a\vb", "", false},
		{"escape is refused", "a\x1b[31mb", "", false},
		{"DEL is refused", "a\x7fb", "", false},
		{"a C1 control is refused", "a\u0085b", "", false},
		{"the last C1 control is refused", "a\u009fb", "", false},
		{"invalid UTF-8 is refused", "a\xffb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := text.Free(tt.in)
			if (problem == "") != tt.ok {
				t.Fatalf("Free(%q) problem = %q, want ok=%v", tt.in, problem, tt.ok)
			}
			if tt.ok && got != tt.want {
				t.Errorf("Free(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"a Chinese name is accepted", "张小明", true},
		{"a name with a middle dot and spaces inside is accepted", "阿依·古丽 Ann", true},
		{"the empty name is left to the required check", "", true},
		{"a newline is refused in a name", "张\n小明", false},
		{"a tab is refused in a name", "张\t小明", false},
		{"NUL is refused in a name", "张\x00", false},
		{"a right-to-left override is refused", "张\u202e明小", false},
		{"a left-to-right embedding is refused", "\u202a张小明", false},
		{"a pop directional formatting is refused", "张小明\u202c", false},
		{"a first strong isolate is refused", "张\u2068小明", false},
		{"a pop directional isolate is refused", "张小明\u2069", false},
		{"a name of spaces only is refused", "   ", false},
		{"a name of ideographic spaces only is refused", "\u3000\u3000", false},
		{"a name of zero-width spaces only is refused", "\u200b\u200b", false},
		{"a name of zero-width joiners and a BOM is refused", "\u200d\ufeff", false},
		{"a name of Hangul fillers is refused", "\u3164\u3164", false},
		{"a name of a Braille blank is refused", "\u2800", false},
		{"a name of variation selectors is refused", "\ufe0f\ufe0f", false},
		{"a visible name with a zero-width joiner inside is accepted", "张\u200d小明", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, problem := text.Name(tt.in)
			if (problem == "") != tt.ok {
				t.Errorf("Name(%q) problem = %q, want ok=%v", tt.in, problem, tt.ok)
			}
		})
	}
}

func TestFreeKeepsCleanTextWithoutCopying(t *testing.T) {
	s := strings.Repeat("值守", 100)
	got, problem := text.Free(s)
	if problem != "" || got != s {
		t.Fatalf("Free changed clean text: %q", problem)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = text.Free(s) }); allocs != 0 {
		t.Errorf("Free allocates %v times for clean text, want 0", allocs)
	}
}
