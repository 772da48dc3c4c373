// Package text holds the one rule for the text that comes from outside: which
// characters free text (a report, a note, a title, a query value) and names
// (a member's or an org's, shown on a public badge) may hold. The HTTP binding
// applies Free to every string of every request, and the org package applies
// Name to every name, so no database ever sees a NUL or a control character,
// and every database stores the same text.
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"xianfeng/server/internal/apperr"
)

// The problems, as a member reads them next to the field.
const (
	problemEncoding  = "不是有效的 UTF-8 文本"
	problemControl   = "包含不允许的控制字符"
	problemBidi      = "包含不允许的文字方向控制字符"
	problemInvisible = "不能只包含空白或不可见字符"
)

// Free checks free text. It returns the text with each CR LF pair turned into
// a LF, as browsers send textarea lines, and problem "" when the text is
// acceptable, or a message naming the problem when it holds invalid UTF-8, a
// NUL or any other C0 or C1 control character besides LF and tab (a lone CR
// included).
func Free(s string) (out string, problem string) {
	crlf := false
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '\r' && i+1 < len(s) && s[i+1] == '\n':
				crlf = true
				i += 2
				continue
			case b == '\n' || b == '\t':
			case b < 0x20 || b == 0x7f:
				return "", problemControl
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "", problemEncoding
		}
		if r >= 0x80 && r <= 0x9f {
			return "", problemControl
		}
		i += size
	}
	if crlf {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	return s, ""
}

// Name checks a name that is shown to others, on a public badge too. Beyond
// Free's rule it refuses every control character (a name is one line), the
// bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) that
// could make a name read as another, and a name made only of invisible
// characters (white space, zero-width and other format characters, fillers).
// The empty name passes: whether a name is required is the caller's rule.
func Name(s string) (out string, problem string) {
	s, problem = Free(s)
	if problem != "" {
		return "", problem
	}
	visible := s == ""
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return "", problemControl
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return "", problemBidi
		case !invisible(r):
			visible = true
		}
	}
	if !visible {
		return "", problemInvisible
	}
	return s, ""
}

// Note is an optional free text that a step carries (a reason, a note),
// trimmed, or the 参数错误 naming field when it is longer than max
// characters.
func Note(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", apperr.Invalid("参数错误", map[string]string{field: fmt.Sprintf("不能超过 %d 个字", max)})
	}
	return s, nil
}

// Problem returns what is wrong with s as a free text (see Free) of min to
// max characters once trimmed, or "" when nothing is. Titles, descriptions,
// labels and names share this rule.
func Problem(s string, min, max int) string {
	if _, problem := Free(s); problem != "" {
		return problem
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(s)); n < min {
		return "不能为空"
	} else if n > max {
		return fmt.Sprintf("不能超过 %d 个字", max)
	}
	return ""
}

// invisible reports whether r shows nothing by itself.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector, unicode.Zs) || r == 0x2800 // BRAILLE PATTERN BLANK
}
