package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestTheExampleFileDocumentsEverySetting(t *testing.T) {
	raw, err := os.ReadFile("config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if env := f.Tag.Get("env"); env != "" && !strings.Contains(string(raw), env) {
				missing = append(missing, env)
			}
			if f.Type.Kind() == reflect.Struct && f.IsExported() {
				walk(f.Type)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
	if len(missing) > 0 {
		t.Errorf("config.example.yaml does not mention %v", missing)
	}
}

func TestTheExampleFileHoldsTheDefaults(t *testing.T) {
	got, err := Load("config.example.yaml", func(string) string { return "" })
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	want, err := Load("", func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got.Redacted() != want.Redacted() {
		t.Errorf("the example differs from the defaults:\n--- example\n%s\n--- defaults\n%s", got.Redacted(), want.Redacted())
	}
}

func TestRedactedMasksPasswordsThatURLParsingMisreads(t *testing.T) {
	for _, raw := range []string{
		"postgres://xf:12#s3cr3t@db:5432/x",
		"mysql://xf:a?b=s3cr3t@db:3306/x",
		"redis://:s3cr3t@cache:6379/0",
	} {
		if got := redactURL(raw); strings.Contains(got, "s3cr3t") || !strings.Contains(got, mask) {
			t.Errorf("redactURL(%q) = %q", raw, got)
		}
	}
}
