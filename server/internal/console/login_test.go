package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

func TestScanningTheQRCodeLogsTheWaitingBrowserInOnce(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	tk, res := b.askTicket()
	if res.Status != http.StatusCreated || !strings.HasPrefix(tk.QRPNG, "data:image/png;base64,") || tk.QRText != "xianfeng-console-login:"+tk.Ticket {
		t.Fatalf("ticket answer %d %s", res.Status, res.Body)
	}
	if st, _ := b.poll(tk.Ticket); st != "pending" {
		t.Fatalf("before the scan the ticket is %q, want pending", st)
	}

	// The phone reads where the login comes from, then confirms.
	var info struct {
		Ticket    string `json:"ticket"`
		UserAgent string `json:"user_agent"`
		IP        string `json:"ip"`
	}
	w.Expect(w.DoAs("GET", "/api/v1/console/tickets/"+tk.Ticket, w.SecA, nil), http.StatusOK).JSON(t, &info)
	if info.Ticket != tk.Ticket || info.UserAgent == "" || info.IP != "127.0.0.1" {
		t.Errorf("the phone sees %+v", info)
	}
	w.Expect(w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", w.SecA, nil), http.StatusOK)

	// Someone else who read the ticket off the screen polls it: no session,
	// and the ticket is not even there for them.
	other := newBrowser(t, w)
	if st, p := other.poll(tk.Ticket); p.Status != http.StatusNotFound || st != "" || sessionCookieSet(p) {
		t.Fatalf("a browser without the binding cookie got %d %s (session cookie: %v)", p.Status, p.Body, sessionCookieSet(p))
	}

	st, p := b.poll(tk.Ticket)
	if st != "confirmed" || !sessionCookieSet(p) {
		t.Fatalf("the waiting browser got %q, session cookie %v", st, sessionCookieSet(p))
	}
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "xf_console=") && (!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict")) {
			t.Errorf("the session cookie is %q, want HttpOnly and SameSite=Strict", c)
		}
	}
	// Only the first answer that reports confirmed hands the session out.
	if st, p := b.poll(tk.Ticket); st == "confirmed" || sessionCookieSet(p) {
		t.Errorf("a second poll got %d %q (session cookie: %v), want no second session", p.Status, st, sessionCookieSet(p))
	}
	// The ticket is single-use.
	if r := w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", w.SecB, nil); r.Status != http.StatusGone || r.ErrorCode() != "ticket_used" {
		t.Errorf("confirming again = %d %s, want 410 ticket_used", r.Status, r.Body)
	}
	if r := w.DoAs("GET", "/api/v1/console/tickets/"+tk.Ticket, w.SecB, nil); r.Status != http.StatusGone {
		t.Errorf("reading a used ticket = %d, want 410", r.Status)
	}

	dash := b.get("/console/")
	if dash.Status != http.StatusSeeOther || dash.Location != orgPath(w.A, "") {
		t.Fatalf("GET /console/ = %d to %q, want the dashboard of 第一党支部", dash.Status, dash.Location)
	}
	if d := b.get(dash.Location); d.Status != http.StatusOK || !strings.Contains(d.Body, "第一党支部") || !strings.Contains(d.Body, "李红梅") {
		t.Errorf("the dashboard = %d: %.400s", d.Status, d.Body)
	}
	if other.get(orgPath(w.A, "")).Status != http.StatusSeeOther {
		t.Error("the other browser reached the dashboard")
	}
}

func TestATicketExpiresAfterTwoMinutes(t *testing.T) {
	clk := testenv.NewClock(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	w := testenv.NewWorld(t, testenv.Options{Now: clk.Now})
	b := newBrowser(t, w)
	tk, _ := b.askTicket()
	if !tk.ExpiresAt.Equal(clk.Now().Add(2 * time.Minute)) {
		t.Errorf("expires_at %s, want two minutes after %s", tk.ExpiresAt, clk.Now())
	}
	clk.Add(2*time.Minute + time.Second)
	if r := w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", w.SecA, nil); r.Status != http.StatusGone || r.ErrorCode() != "ticket_expired" {
		t.Errorf("confirming an expired ticket = %d %s, want 410 ticket_expired", r.Status, r.Body)
	}
	if st, p := b.poll(tk.Ticket); st != "expired" || sessionCookieSet(p) {
		t.Errorf("polling an expired ticket = %q, session cookie %v", st, sessionCookieSet(p))
	}
	if r := w.DoAs("GET", "/api/v1/console/tickets/AAAAAAAAAAAAAAAAAAAAAA", w.SecA, nil); r.Status != http.StatusNotFound || r.ErrorCode() != "ticket_not_found" {
		t.Errorf("an unknown ticket = %d %s, want 404 ticket_not_found", r.Status, r.Body)
	}
}

func TestOnlyASecretaryMayConfirmALogin(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	tk, _ := b.askTicket()
	for _, p := range []testenv.Person{w.MemberA, w.PendingA} {
		if r := w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", p, nil); r.Status != http.StatusForbidden {
			t.Errorf("%s confirming = %d %s, want 403", p.Name, r.Status, r.Body)
		}
	}
	if r := w.Do("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("confirming without a token = %d, want 401", r.Status)
	}
	if st, p := b.poll(tk.Ticket); st != "pending" || sessionCookieSet(p) {
		t.Errorf("after refused confirmations the ticket is %q", st)
	}
	// A refused member did not use the ticket up.
	w.Expect(w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", w.RootSec, nil), http.StatusOK)
}

func TestStateChangingRequestsWithoutTheCSRFTokenAreRefused(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	b.get("/console/login")
	if p := b.post("/console/login/tickets", "", nil); p.Status != http.StatusForbidden {
		t.Errorf("a ticket without the token = %d, want 403", p.Status)
	}
	members := b.loginAs(w, w.SecA)
	members = b.get(orgPath(w.A, "/members"))
	if !strings.Contains(members.Body, "孙待审") {
		t.Fatalf("the members page does not list the pending applicant: %.500s", members.Body)
	}
	approve := url.Values{"action": {"approve"}, "user_id": {fmt.Sprint(w.PendingA.ID)}}
	for _, token := range []string{"", "forged-token"} {
		if p := b.post(orgPath(w.A, "/members/review"), token, approve); p.Status != http.StatusForbidden {
			t.Errorf("approving with token %q = %d, want 403", token, p.Status)
		}
	}
	if p := b.post("/console/logout", "", nil); p.Status != http.StatusForbidden {
		t.Errorf("logging out without the token = %d, want 403", p.Status)
	}
	if got := memberStatus(t, w, w.A, w.PendingA.ID); got != "pending" {
		t.Fatalf("after refused requests the applicant is %s", got)
	}
	if p := b.post(orgPath(w.A, "/members/review"), members.csrf(t), approve); p.Status != http.StatusSeeOther {
		t.Fatalf("approving with the token = %d %.300s", p.Status, p.Body)
	}
	if got := memberStatus(t, w, w.A, w.PendingA.ID); got != "approved" {
		t.Errorf("after approving in the console the applicant is %s", got)
	}
}

// memberStatus is the status of a user's membership as the API lists it.
func memberStatus(t *testing.T, w *testenv.World, org, userID int64) string {
	t.Helper()
	var list struct {
		Items []struct {
			UserID int64  `json:"user_id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/members?limit=200", org), w.RootSec, nil), http.StatusOK).JSON(t, &list)
	for _, m := range list.Items {
		if m.UserID == userID {
			return m.Status
		}
	}
	return "none"
}

func TestPagesWithoutASessionGoToTheLoginPage(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	for _, path := range []string{"/console/", orgPath(w.A, ""), orgPath(w.A, "/members"), "/console/tasks/1"} {
		if p := b.get(path); p.Status != http.StatusSeeOther || p.Location != "/console/login" {
			t.Errorf("GET %s = %d to %q, want 303 to /console/login", path, p.Status, p.Location)
		}
	}
	if p := b.post(orgPath(w.A, "/members/review"), "x", nil); p.Status != http.StatusForbidden {
		t.Errorf("POST without a session = %d, want 403", p.Status)
	}
	login := b.get("/console/login")
	if login.Status != http.StatusOK || !strings.Contains(login.Body, "扫码登录") || strings.Contains(login.Body, "开发模式登录") {
		t.Errorf("the login page (%d) outside development with the mock: %.300s", login.Status, login.Body)
	}
	if p := b.post("/console/login/dev", login.csrf(t), url.Values{"name": {"rootsec"}}); p.Status != http.StatusNotFound {
		t.Errorf("the development login without the mock = %d, want 404", p.Status)
	}
}

func TestLogoutAndSigningOutEverywhereEndTheConsoleSession(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	if p := b.post("/console/logout", dash.csrf(t), nil); p.Status != http.StatusSeeOther || p.Location != "/console/login" {
		t.Fatalf("logout = %d to %q", p.Status, p.Location)
	}
	if p := b.get(orgPath(w.A, "")); p.Status != http.StatusSeeOther {
		t.Errorf("after logout the dashboard = %d, want a redirect to the login page", p.Status)
	}

	// Sign-out-everywhere from the phone ends the console session too.
	b.loginAs(w, w.SecA)
	w.Expect(w.DoAs("POST", "/api/v1/auth/logout-all", w.SecA, nil), http.StatusNoContent)
	if p := b.get(orgPath(w.A, "")); p.Status != http.StatusSeeOther {
		t.Errorf("after the phone signed out everywhere the dashboard = %d, want a redirect", p.Status)
	}

	// And from the console it ends the phone's sessions.
	sec := w.LoginAs("seca", "13000000002")
	dash = b.loginAs(w, sec)
	if p := b.post("/console/logout-all", dash.csrf(t), nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout-all = %d", p.Status)
	}
	if r := w.DoAs("GET", "/api/v1/me", sec, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("after signing out everywhere in the console the phone's token = %d, want 401", r.Status)
	}
	if p := b.get(orgPath(w.A, "")); p.Status != http.StatusSeeOther {
		t.Errorf("after logout-all the dashboard = %d", p.Status)
	}
}

func TestTicketsAreRateLimitedPerAddress(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{Configure: func(c *config.Config) { c.Console.TicketsPerMinute = 2 }})
	b := newBrowser(t, w)
	for i := 1; i <= 3; i++ {
		_, p := b.askTicket()
		want := http.StatusCreated
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if p.Status != want {
			t.Errorf("ticket %d = %d, want %d", i, p.Status, want)
		}
	}
}

func TestTheDevelopmentLoginWorksOnlyWithTheMockAndOnlyForSecretaries(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{Mock: true})
	b := newBrowser(t, w)
	login := b.get("/console/login")
	if !strings.Contains(login.Body, "开发模式登录") {
		t.Fatal("the login page in development with the mock has no development login")
	}
	if p := b.post("/console/login/dev", login.csrf(t), url.Values{"name": {w.MemberA.Login}}); p.Status != http.StatusForbidden {
		t.Errorf("a plain member's development login = %d, want 403", p.Status)
	}
	if p := b.post("/console/login/dev", "", url.Values{"name": {w.RootSec.Login}}); p.Status != http.StatusForbidden {
		t.Errorf("a development login without the token = %d, want 403", p.Status)
	}
	p := b.post("/console/login/dev", login.csrf(t), url.Values{"name": {w.RootSec.Login}})
	if p.Status != http.StatusSeeOther || !sessionCookieSet(p) {
		t.Fatalf("the root secretary's development login = %d", p.Status)
	}
	if d := b.get(orgPath(w.Root, "")); d.Status != http.StatusOK || !strings.Contains(d.Body, "青岛市委") {
		t.Errorf("the root's dashboard = %d", d.Status)
	}
}

func TestTheDevelopmentLoginRedeemsABootstrapClaimCode(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{Mock: true})
	root, code, _, err := w.App.Org.Bootstrap(context.Background(), "测试区委", "committee")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w)
	login := b.get("/console/login")
	// Without the code, a new user is no secretary.
	if p := b.post("/console/login/dev", login.csrf(t), url.Values{"name": {"newsec"}}); p.Status != http.StatusForbidden {
		t.Errorf("a new user's development login without a code = %d, want 403", p.Status)
	}
	p := b.post("/console/login/dev", login.csrf(t), url.Values{"name": {"newsec"}, "claim": {code}})
	if p.Status != http.StatusSeeOther || !sessionCookieSet(p) {
		t.Fatalf("the development login with the claim code = %d: %.300s", p.Status, p.Body)
	}
	if d := b.get(orgPath(root.ID, "")); d.Status != http.StatusOK || !strings.Contains(d.Body, "测试区委") {
		t.Errorf("the claimed root's dashboard = %d", d.Status)
	}
	// The code works once.
	other := newBrowser(t, w)
	l2 := other.get("/console/login")
	if p := other.post("/console/login/dev", l2.csrf(t), url.Values{"name": {"another"}, "claim": {code}}); p.Status < 400 || p.Status >= 500 || sessionCookieSet(p) {
		t.Errorf("a second redemption of the code = %d, want a refusal", p.Status)
	}
}
