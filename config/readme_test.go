package config_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"xianfeng/config"
)

// readme returns the repository's README, which documents this package's
// settings for a newcomer.
func readme(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(raw), "\n")
}

// envNames lists the env tags of every setting of v, however deep.
func envNames(v reflect.Type) []string {
	var out []string
	for i := range v.NumField() {
		f := v.Field(i)
		if name := f.Tag.Get("env"); name != "" {
			out = append(out, name)
		}
		if f.Type.Kind() == reflect.Struct && f.IsExported() {
			out = append(out, envNames(f.Type)...)
		}
	}
	return out
}

func TestTheREADMEDocumentsEverySetting(t *testing.T) {
	text := strings.Join(readme(t), "\n")
	names := envNames(reflect.TypeOf(config.Config{}))
	if len(names) < 40 {
		t.Fatalf("found only %d settings; the walk over config.Config is broken", len(names))
	}
	for _, name := range names {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("the README's configuration table lacks %s", name)
		}
	}
}

// TestTheREADMEStandsAlone: a reader has the repository and nothing else,
// so the README names no file outside it.
func TestTheREADMEStandsAlone(t *testing.T) {
	outside := regexp.MustCompile(`\.\./[A-Za-z]`)
	for i, line := range readme(t) {
		if outside.MatchString(line) {
			t.Errorf("README line %d points outside the repository: %s", i+1, line)
		}
	}
}

// TestTheREADMETablesRender: in GitHub's Markdown a table is a header row,
// a delimiter row and rows without a blank line between them; a row after
// a blank line or a paragraph renders as text.
func TestTheREADMETablesRender(t *testing.T) {
	lines := readme(t)
	delimiter := regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+\s*$`)
	inCode := false
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "```") {
			inCode = !inCode
			continue
		}
		if inCode || !strings.HasPrefix(lines[i], "|") {
			continue
		}
		start := i
		for i < len(lines) && strings.HasPrefix(lines[i], "|") {
			i++
		}
		if i-start < 2 || !delimiter.MatchString(lines[start+1]) {
			t.Errorf("README lines %d–%d: table rows without a header and delimiter row above them (a blank line or text splits a table): %q",
				start+1, i, lines[start])
		}
	}
}
