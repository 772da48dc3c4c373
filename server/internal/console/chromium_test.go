package console_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"xianfeng/server/internal/testenv"
)

// chromiumPath is Debian's chromium, or the browser XF_CHROMIUM names.
func chromiumPath() string {
	if p := os.Getenv("XF_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// screenshotDir is where the browser test saves a screenshot of each page
// it visits: XF_SCREENSHOTS, or testoutput/chromium beside this file.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("XF_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testoutput", "chromium")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// TestASecretaryRunsTheirBranchInChromium drives a real Chromium through
// the console as a secretary uses it: the QR login confirmed from the
// phone, the dashboard, approving an applicant, a task for all 战斗员, and
// a member's check-in reaching the board, with a screenshot of each page.
// Any JavaScript error, failed load or CSP refusal fails it. Like the
// other suites that need something besides Go, it runs when asked:
// XF_REQUIRE_BROWSER=1 (as .ci/run sets it) runs it and fails it when
// Chromium is missing; plain `go test ./...` skips it.
func TestASecretaryRunsTheirBranchInChromium(t *testing.T) {
	chrome := chromiumPath()
	_, missing := os.Stat(chrome)
	switch {
	case os.Getenv("XF_REQUIRE_BROWSER") != "1":
		t.Skip("the browser test runs with XF_REQUIRE_BROWSER=1 (needs Debian's chromium and fonts-noto-cjk)")
	case missing != nil:
		t.Fatalf("XF_REQUIRE_BROWSER=1 but there is no Chromium at %s (apt-get install chromium fonts-noto-cjk)", chrome)
	}
	w := testenv.NewWorld(t, testenv.Options{})
	recruit := w.User("recruit", "王新兵")
	w.Signup(recruit, w.A, w.SecA, "王新兵", "frontline", http.StatusCreated)
	out := screenshotDir(t)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// Every console message of level error, every uncaught exception and
	// every browser log error (a failed load, a CSP refusal) is a failure.
	if _, err := chromedp.Run(ctx, chromedp.Title()); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	var mu sync.Mutex
	var jsErrors []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				mu.Lock()
				jsErrors = append(jsErrors, m.String())
				mu.Unlock()
			}
		}
	}()
	shots := 0
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			shots++
			return os.WriteFile(filepath.Join(out, fmt.Sprintf("%02d-%s.png", shots, name)), buf, 0o644)
		})
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	read := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return strings.TrimSpace(v)
	}
	base := w.Server.URL

	// The login page shows the QR code and the ticket; the phone confirms it.
	run("open the login page", chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.ID("qr")), shot("login"))
	ticketText := read("read the ticket", chromedp.Text(chromedp.ID("ticket")))
	if len(ticketText) < 16 {
		t.Fatalf("the page shows the ticket %q", ticketText)
	}
	w.Expect(w.DoAs("GET", "/api/v1/console/tickets/"+ticketText, w.SecA, nil), http.StatusOK)
	w.Expect(w.DoAs("POST", "/api/v1/console/tickets/"+ticketText+"/confirm", w.SecA, nil), http.StatusOK)

	// The waiting page lands on the dashboard of 第一党支部.
	run("land on the dashboard", chromedp.WaitVisible(chromedp.ID("board")), shot("dashboard"))
	location := read("location", chromedp.Location())
	picker := read("picker", chromedp.Text(chromedp.CSS("nav.picker")))
	if !strings.HasSuffix(location, fmt.Sprintf("/console/orgs/%d", w.A)) || !strings.Contains(picker, "第一党支部") {
		t.Fatalf("after the scan the browser is at %s showing %q", location, picker)
	}

	// Approve the applicant.
	run("approve the applicant", chromedp.Navigate(base+orgPath(w.A, "/members")), chromedp.WaitVisible(chromedp.ID("review")),
		shot("members-pending"), chromedp.Click(chromedp.ID(fmt.Sprintf("p%d", recruit.ID))), chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.CSS(".flash")), shot("members-approved"))
	if flash := read("flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "已通过") || memberStatus(t, w, w.A, recruit.ID) != "approved" {
		t.Fatalf("after approving in the browser: flash %q, 王新兵 is %s", flash, memberStatus(t, w, w.A, recruit.ID))
	}

	// A task for all 战斗员 of the branch.
	run("create a task for all 战斗员", chromedp.Navigate(base+orgPath(w.A, "/tasks")), chromedp.WaitVisible(chromedp.ID("new-task")),
		chromedp.SendKeys(chromedp.ID("title"), "卡口值守（浏览器测试）"), chromedp.SetValue(chromedp.ID("kind"), "duty"),
		chromedp.Click(chromedp.CSS(`input[name="badge"][value="frontline"]`)),
		chromedp.SendKeys(chromedp.ID("lat"), "36.0671"), chromedp.SendKeys(chromedp.ID("lng"), "120.3826"),
		chromedp.SendKeys(chromedp.ID("radius_m"), "300"), shot("task-form"),
		chromedp.Click(chromedp.CSS(`#new-task button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	location = read("location", chromedp.Location())
	if title := read("title", chromedp.Text(chromedp.CSS("main h1"))); !strings.Contains(title, "卡口值守（浏览器测试）") {
		t.Fatalf("after creating the task the page is %s titled %q", location, title)
	}
	var taskID int64
	if _, err := fmt.Sscanf(location[strings.LastIndex(location, "/tasks/")+len("/tasks/"):], "%d", &taskID); err != nil {
		t.Fatalf("task page %s: %v", location, err)
	}
	// The queue's fan-out, run here, assigns it to the branch's 战斗员.
	if err := w.App.Task.FanOut(context.Background(), taskID); err != nil {
		t.Fatal(err)
	}
	run("see the assignees", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("progress")), shot("task-assigned"))
	if assignees := read("assignees", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(assignees, "张小明") ||
		!strings.Contains(assignees, "王新兵") || strings.Contains(assignees, "李红梅") {
		t.Errorf("the task's assignees: %q", assignees)
	}

	// A member checks in on the phone; the board shows it.
	run("open the board", chromedp.Navigate(base+orgPath(w.A, "")), chromedp.WaitVisible(chromedp.ID("board")))
	before := read("board before", chromedp.Text(chromedp.ID("checked-in")))
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": w.A, "request_id": "browser-1"}), http.StatusCreated)
	run("see the check-in", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("board")), shot("board-checked-in"))
	after := read("board after", chromedp.Text(chromedp.ID("checked-in")))
	if before != "0" || after != "1" {
		t.Errorf("the board's checked-in count went from %q to %q, want 0 to 1", before, after)
	}
	run("read it at 1920 px", chromedp.EmulateViewport(1920, 1080), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("board")), shot("board-1920"))

	// A screening form with more fields than the editor starts with: 添加字段
	// adds rows in the page, and the form is published with the tenth.
	run("back to 1280 px", chromedp.EmulateViewport(1280, 900))
	run("add fields in the form editor", chromedp.Navigate(base+orgPath(w.A, "/forms")), chromedp.WaitVisible(chromedp.ID("new-form")),
		chromedp.SendKeys(chromedp.ID("f-title"), "入户排查（浏览器测试）"), chromedp.Click(chromedp.CSS(`#new-form input[name="badge"][value="frontline"]`)),
		chromedp.SendKeys(chromedp.ID("label0"), "户主姓名"), chromedp.Click(chromedp.ID("add-field")), chromedp.Click(chromedp.ID("add-field")),
		chromedp.WaitVisible(chromedp.ID("label9")), chromedp.SendKeys(chromedp.ID("label9"), "第十问"), shot("form-editor"),
		chromedp.Click(chromedp.CSS(`#new-form > button[type="submit"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")), shot("form-published"))
	location = read("location", chromedp.Location())
	var formID int64
	if _, err := fmt.Sscanf(location[strings.LastIndex(location, "/forms/")+len("/forms/"):], "%d", &formID); err != nil {
		t.Fatalf("form page %s: %v", location, err)
	}
	var published struct {
		Form struct {
			Fields []struct{ Key, Label string } `json:"fields"`
		} `json:"form"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", formID), w.SecA, nil), http.StatusOK).JSON(t, &published)
	if fs := published.Form.Fields; len(fs) != 2 || fs[0].Label != "户主姓名" || fs[1].Key != "f10" || fs[1].Label != "第十问" {
		t.Errorf("the form published from the browser has the fields %+v", fs)
	}

	// The other pages of the branch render without a script error.
	for _, pg := range []struct{ path, name string }{
		{"/reports", "reports"}, {"/forms", "forms"}, {"/deeds", "deeds"}, {"/announcements", "announcements"},
		{"/stats", "stats"}, {"/audit", "audit"},
	} {
		run("open "+pg.name, chromedp.Navigate(base+orgPath(w.A, pg.path)), chromedp.WaitVisible(chromedp.CSS("main h1")), shot(pg.name))
	}

	// Logging out returns to the login page.
	run("log out", chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)), chromedp.WaitVisible(chromedp.ID("qr")))
	if location = read("location", chromedp.Location()); !strings.HasSuffix(location, "/console/login") {
		t.Errorf("after logout the browser is at %s", location)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(jsErrors) > 0 {
		t.Errorf("JavaScript errors in the console:\n%s", strings.Join(jsErrors, "\n"))
	}
	t.Logf("%d screenshots in %s", shots, out)
}
