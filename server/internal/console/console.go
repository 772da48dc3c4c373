// Package console is the web console at /console/: pages rendered on the
// server with html/template for the secretaries and the organisation
// department, entered by scanning a QR code with the mini-program (扫码登录).
// Everything it shows or changes goes through the same domain services as
// the API, with the same scope rules; its assets are embedded in the binary.
package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/stats"
	"xianfeng/server/internal/task"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options are what the console is built with; app wires them.
type Options struct {
	Log *slog.Logger
	// Now is the services' clock: ticket expiry and "today" follow it.
	Now      func() time.Time
	Location *time.Location
	// Redis holds the login tickets, under KeyPrefix.
	Redis     redis.UniversalClient
	KeyPrefix string
	// Sessions is the console's own session store (a cookie, in Redis like
	// the API's sessions; its TTL is the idle timeout).
	Sessions *auth.Sessions
	// Auth ends every session of a user (sign out everywhere) and, for the
	// development login, finds the user of a mock login code.
	Auth *auth.Service
	// TicketLimit rate-limits ticket creation per client address.
	TicketLimit gin.HandlerFunc
	// DevLogin shows the "log in as mock:<name>" form: development with the
	// WeChat mock only, never production.
	DevLogin bool
	// TrustedProxies are the load balancers whose X-Forwarded-Proto is
	// believed (APP_HTTP_TRUSTED_PROXIES): behind one that says https, the
	// cookies are Secure.
	TrustedProxies []string

	Org      *org.Service
	Task     *task.Service
	Checkin  *checkin.Service
	Report   *report.Service
	Announce *announce.Service
	Deed     *deed.Service
	Form     *form.Service
	// FormAPI serves a form's export, the API's download, to the
	// console's session.
	FormAPI *form.Handler
	Stats   *stats.Service
	// Media signs the photos attached to reports, deeds and form entries
	// for the viewer, as the API's answers show them.
	Media media.Photos
	// StatsAPI serves the assessment export, the same download as the
	// API's, to the console's session.
	StatsAPI *stats.Handler
}

// Console serves the web console.
type Console struct {
	o       Options
	tickets *Tickets
	pages   map[string]*template.Template
	proxies []netip.Prefix
}

// New checks the options and parses the embedded templates.
func New(o Options) (*Console, error) {
	if o.Log == nil || o.Now == nil || o.Location == nil || o.Redis == nil || o.Sessions == nil || o.Auth == nil ||
		o.TicketLimit == nil || o.Org == nil || o.Task == nil || o.Checkin == nil || o.Report == nil ||
		o.Announce == nil || o.Deed == nil || o.Form == nil || o.FormAPI == nil || o.Stats == nil || o.StatsAPI == nil || o.Media == nil {
		return nil, fmt.Errorf("console: missing a dependency")
	}
	c := &Console{o: o, tickets: NewTickets(o.Redis, o.KeyPrefix, o.Now)}
	for _, p := range o.TrustedProxies {
		pfx, err := parsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("console: trusted proxy %q: %w", p, err)
		}
		c.proxies = append(c.proxies, pfx)
	}
	pages, err := parsePages(o.Location)
	if err != nil {
		return nil, err
	}
	c.pages = pages
	return c, nil
}

// parsePrefix reads an IP or a CIDR, as gin's trusted proxies are given.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// secure reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so.
func (c *Console) secure(g *gin.Context) bool {
	if g.Request.TLS != nil {
		return true
	}
	if !strings.EqualFold(g.GetHeader("X-Forwarded-Proto"), "https") {
		return false
	}
	a, err := netip.ParseAddr(g.RemoteIP())
	if err != nil {
		return false
	}
	for _, p := range c.proxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// SessionKeys follows APP_REDIS_KEY_PREFIX in the keys of console sessions
// (app builds their auth.Sessions with it).
const SessionKeys = "console:"

// SessionCookie holds a console session's token.
const SessionCookie = sessionCookie

// The cookies of the console. All are HttpOnly and SameSite=Strict.
const (
	// sessionCookie holds the console session's token.
	sessionCookie = "xf_console"
	// loginCookie is the login page's own secret, from which the CSRF
	// token of the requests made before a session exists is derived.
	loginCookie = "xf_console_login"
	// bindCookie binds a ticket to the browser that asked for it.
	bindCookie = "xf_console_ticket"
)

func (c *Console) setCookie(g *gin.Context, name, value, path string, maxAge int) {
	http.SetCookie(g.Writer, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(g)})
}

func (c *Console) clearCookie(g *gin.Context, name, path string) { c.setCookie(g, name, "", path, -1) }

// csrfFor derives the CSRF token of the holder of a secret cookie: a page
// carries it in its forms, and only a page the server rendered for that
// browser knows it (the cookie itself is HttpOnly).
func csrfFor(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("xianfeng console csrf"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfOK reports whether a state-changing request carries the CSRF token
// of secret, as the form field csrf or the X-CSRF-Token header.
func csrfOK(g *gin.Context, secret string) bool {
	if secret == "" {
		return false
	}
	got := g.GetHeader("X-CSRF-Token")
	if got == "" {
		got = g.PostForm("csrf")
	}
	return sameSecret(got, csrfFor(secret))
}

// Static serves the embedded assets.
func staticFiles() http.FileSystem {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	return http.FS(sub)
}
