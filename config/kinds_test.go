package config_test

import (
	"strings"
	"testing"

	"xianfeng/config"
)

func TestCheckNotifyKinds(t *testing.T) {
	known := []string{"task_assigned", "task_reminder", "task_overdue", "task_cancelled", "member_approved",
		"announcement", "report_received", "report_escalated", "deed_update", "form_published", "form_reminder", "content_hidden"}
	t.Run("the defaults cover the known kinds", func(t *testing.T) {
		if err := config.Default().CheckNotifyKinds(known); err != nil {
			t.Fatalf("CheckNotifyKinds = %v, want nil", err)
		}
	})
	t.Run("a template of an unknown kind is refused", func(t *testing.T) {
		cfg := config.Default()
		cfg.Notify.Templates["task_asigned"] = config.Template{ID: "x"}
		err := cfg.CheckNotifyKinds(known)
		if err == nil || !strings.Contains(err.Error(), `unknown notification kind "task_asigned"`) {
			t.Fatalf("CheckNotifyKinds = %v, want the unknown kind named", err)
		}
	})
	t.Run("a kind without a default template is refused", func(t *testing.T) {
		err := config.Default().CheckNotifyKinds(append(known, "new_kind"))
		if err == nil || !strings.Contains(err.Error(), `kind "new_kind" has no default template`) {
			t.Fatalf("CheckNotifyKinds = %v, want the kind without a default named", err)
		}
	})
	t.Run("APP_NOTIFY_TEMPLATE_<KIND> sets every known kind", func(t *testing.T) {
		env := map[string]string{}
		for _, k := range known {
			env["APP_NOTIFY_TEMPLATE_"+strings.ToUpper(k)] = "tmpl-" + k
		}
		cfg, err := config.Load("", config.Vars(env).Get)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range known {
			if got := cfg.Notify.Templates[k].ID; got != "tmpl-"+k {
				t.Errorf("template of %s = %q, want %q", k, got, "tmpl-"+k)
			}
		}
	})
}
