package console_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"xianfeng/server/internal/testenv"
)

// browser is a web browser as the console sees one: its own cookies, and
// redirects shown rather than followed.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, w *testenv.World) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: w.Server.URL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer the browser got.
type page struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(raw), Header: res.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form; csrf, when not empty, goes in as the form's token.
func (b *browser) post(path, csrf string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfField = regexp.MustCompile(`(?:name="csrf" value|data-csrf)="([^"]+)"`)

// csrf reads the CSRF token a page carries.
func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the page (%d) carries no CSRF token: %.300s", p.Status, p.Body)
	}
	return m[1]
}

type ticket struct {
	Ticket    string    `json:"ticket"`
	QRPNG     string    `json:"qr_png"`
	QRText    string    `json:"qr_text"`
	ExpiresAt time.Time `json:"expires_at"`
}

// askTicket opens the login page and asks for a ticket as its script does.
func (b *browser) askTicket() (ticket, page) {
	b.t.Helper()
	login := b.get("/console/login")
	if login.Status != http.StatusOK {
		b.t.Fatalf("GET /console/login = %d", login.Status)
	}
	req, _ := http.NewRequest("POST", b.base+"/console/login/tickets", nil)
	req.Header.Set("X-CSRF-Token", login.csrf(b.t))
	p := b.do(req)
	var tk ticket
	if p.Status == http.StatusCreated {
		if err := json.Unmarshal([]byte(p.Body), &tk); err != nil {
			b.t.Fatalf("ticket answer is not JSON: %s", p.Body)
		}
	}
	return tk, p
}

// poll asks for the ticket's status as the login page's script does.
func (b *browser) poll(id string) (string, page) {
	b.t.Helper()
	p := b.get("/console/login/tickets/" + id)
	var out struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal([]byte(p.Body), &out)
	return out.Status, p
}

// loginAs logs the browser in by scanning, as the person's phone confirms
// the ticket, and returns the console's first page.
func (b *browser) loginAs(w *testenv.World, p testenv.Person) page {
	b.t.Helper()
	tk, res := b.askTicket()
	if res.Status != http.StatusCreated {
		b.t.Fatalf("POST /console/login/tickets = %d %s", res.Status, res.Body)
	}
	w.Expect(w.DoAs("POST", "/api/v1/console/tickets/"+tk.Ticket+"/confirm", p, nil), http.StatusOK)
	if st, res := b.poll(tk.Ticket); st != "confirmed" {
		b.t.Fatalf("poll after confirming = %d %s", res.Status, res.Body)
	}
	home := b.get("/console/")
	if home.Status != http.StatusSeeOther {
		b.t.Fatalf("GET /console/ with a session = %d, want a redirect to a dashboard", home.Status)
	}
	return b.get(home.Location)
}

func orgPath(id int64, rest string) string { return fmt.Sprintf("/console/orgs/%d%s", id, rest) }

// sessionCookieSet reports whether an answer hands out a console session.
func sessionCookieSet(p page) bool {
	for _, c := range p.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "xf_console=") && !strings.HasPrefix(c, "xf_console=;") {
			return true
		}
	}
	return false
}
