package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"xianfeng/server/internal/contract"
	"xianfeng/server/internal/testenv"
)

func TestTheContractNeedsNoMethodWxRequestLacks(t *testing.T) {
	contract.CheckClientMethods(t, nil)
}

func TestPatchOperationsTakePOSTWithAMethodOverride(t *testing.T) {
	w := newWorld(t, testenv.Options{})
	env := w.Env
	override := map[string]string{contract.MethodOverrideHeader: "PATCH", "X-Request-ID": "mp-override-1"}

	t.Run("a secretary changes a member's badge with POST", func(t *testing.T) {
		r := env.DoWith("POST", env.MemberPath(w.A, w.MemberA), w.SecA.Token, map[string]string{"badge": "information"}, override)
		var m struct {
			Badge string `json:"badge"`
		}
		env.In(t).Expect(r, http.StatusOK).JSON(t, &m)
		if m.Badge != "information" {
			t.Errorf("badge = %q, want information", m.Badge)
		}
		if got := r.Header.Get("X-Request-ID"); got != "mp-override-1" {
			t.Errorf("X-Request-ID = %q, want the one sent", got)
		}
	})

	t.Run("a secretary moves a task's due time with POST", func(t *testing.T) {
		due := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Second)
		r := env.DoWith("POST", fmt.Sprintf("/api/v1/tasks/%d", w.Task), w.SecA.Token, map[string]any{"due_at": due.Format(time.RFC3339)}, override)
		var tk struct {
			DueAt time.Time `json:"due_at"`
		}
		env.In(t).Expect(r, http.StatusOK).JSON(t, &tk)
		if !tk.DueAt.Equal(due) {
			t.Errorf("due_at = %v, want %v", tk.DueAt, due)
		}
	})

	t.Run("the override keeps the PATCH operation's rules", func(t *testing.T) {
		r := env.DoWith("POST", env.MemberPath(w.A, w.MemberA), w.MemberB.Token, map[string]string{"badge": "frontline"}, override)
		if r.Status != http.StatusNotFound {
			t.Errorf("a stranger's override = %d %s, want 404", r.Status, r.Body)
		}
	})

	refused := []struct {
		name, method, path string
		header             map[string]string
		code               string
	}{
		{"another POST route refuses the header", "POST", fmt.Sprintf("/api/v1/tasks/%d/accept", w.Task), override, "method_override_not_allowed"},
		{"a GET refuses the header", "GET", "/api/v1/me", override, "method_override_not_allowed"},
		{"a PATCH route refuses an override to another method", "POST", fmt.Sprintf("/api/v1/tasks/%d", w.Task),
			map[string]string{contract.MethodOverrideHeader: "DELETE"}, "method_override_not_allowed"},
		{"the header on a PATCH itself is refused", "PATCH", fmt.Sprintf("/api/v1/tasks/%d", w.Task), override, "method_override_not_allowed"},
		{"a public route refuses the header", "GET", "/healthz", override, "method_override_not_allowed"},
		{"POST without the header is still a wrong method", "POST", fmt.Sprintf("/api/v1/tasks/%d", w.Task), nil, "method_not_allowed"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := env.DoWith(tc.method, tc.path, w.SecA.Token, map[string]any{"due_at": time.Now().Add(96 * time.Hour).UTC().Format(time.RFC3339)}, tc.header)
			if r.Status != http.StatusMethodNotAllowed || r.ErrorCode() != tc.code {
				t.Errorf("got %d %s, want 405 %s: %s", r.Status, r.ErrorCode(), tc.code, r.Body)
			}
			if r.Header.Get("X-Request-ID") == "" {
				t.Error("the refusal has no X-Request-ID")
			}
		})
	}

	t.Run("refused overrides change nothing", func(t *testing.T) {
		var tk struct {
			DueAt time.Time `json:"due_at"`
		}
		env.In(t).Expect(env.DoAs("GET", fmt.Sprintf("/api/v1/tasks/%d", w.Task), w.SecA, nil), http.StatusOK).JSON(t, &tk)
		if tk.DueAt.After(time.Now().Add(80 * time.Hour)) {
			t.Errorf("due_at = %v: a refused override moved the task", tk.DueAt)
		}
	})
}
