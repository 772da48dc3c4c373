package console

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/web"
)

// QRPrefix starts the text of a login QR code; the ticket follows. The
// mini-program's wx.scanCode reads it and calls the two ticket operations
// of the API with the ticket.
const QRPrefix = "xianfeng-console-login:"

// viewer is the signed-in secretary of a console request.
type viewer struct {
	Session auth.Session
	// Name is how the console greets them: the name of their first
	// secretaryship.
	Name string
	// Roots are the orgs they are a secretary of: the tree picker's roots.
	Roots []org.MembershipView
	CSRF  string
}

const viewerKey = "xianfeng.console.viewer"

func viewerOf(g *gin.Context) *viewer {
	v, _ := g.MustGet(viewerKey).(*viewer)
	return v
}

// userID is the caller of a console request that passed requireSession.
func userID(g *gin.Context) int64 { return viewerOf(g).Session.UserID }

// requireSession lets a request through with a live console session of a
// user who is still a secretary somewhere, and its CSRF token on anything
// but GET/HEAD; pages without one go to the login page, anything else is
// refused (403).
func (c *Console) requireSession() gin.HandlerFunc {
	return func(g *gin.Context) {
		token, _ := g.Cookie(sessionCookie)
		sess, err := c.o.Sessions.Lookup(g.Request.Context(), token)
		var roots []org.MembershipView
		if err == nil {
			roots, err = c.o.Org.Secretaryships(g.Request.Context(), sess.UserID)
			if err == nil && len(roots) == 0 {
				err = apperr.ErrUnauthenticated
			}
		}
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Kind == apperr.KindUnauthenticated {
				if token != "" {
					c.clearCookie(g, sessionCookie, "/console/")
				}
				if g.Request.Method == http.MethodGet || g.Request.Method == http.MethodHead {
					g.Redirect(http.StatusSeeOther, "/console/login")
					g.Abort()
					return
				}
				c.fail(g, errNoSession)
				return
			}
			c.fail(g, err)
			return
		}
		v := &viewer{Session: sess, Name: roots[0].Name, Roots: roots, CSRF: csrfFor(token)}
		if g.Request.Method != http.MethodGet && g.Request.Method != http.MethodHead && !csrfOK(g, token) {
			c.fail(g, errCSRF)
			return
		}
		g.Set(viewerKey, v)
		g.Header("Cache-Control", "no-store")
		g.Next()
	}
}

var (
	errCSRF      = apperr.New(apperr.KindForbidden, "csrf_invalid", "页面已失效，请刷新后重试")
	errNoSession = apperr.New(apperr.KindForbidden, "console_session_required", "登录已失效，请重新扫码登录")
)

// loginSecret returns the login page's cookie secret, making one if the
// browser has none.
func (c *Console) loginSecret(g *gin.Context) (string, error) {
	if s, err := g.Cookie(loginCookie); err == nil && len(s) >= 40 && len(s) <= 64 {
		return s, nil
	}
	s, err := randomToken(32)
	if err != nil {
		return "", err
	}
	c.setCookie(g, loginCookie, s, "/console/login", int((12 * time.Hour).Seconds()))
	return s, nil
}

// loginPage shows the QR code login (its script asks for a ticket) and, in
// development, the mock login form; a browser with a session goes on to
// the console.
func (c *Console) loginPage(g *gin.Context) {
	if token, err := g.Cookie(sessionCookie); err == nil {
		if _, err := c.o.Sessions.Lookup(g.Request.Context(), token); err == nil {
			g.Redirect(http.StatusSeeOther, "/console/")
			return
		}
	}
	secret, err := c.loginSecret(g)
	if err != nil {
		c.fail(g, err)
		return
	}
	g.Header("Cache-Control", "no-store")
	c.render(g, http.StatusOK, "login", page{Title: "扫码登录", CSRF: csrfFor(secret), Data: map[string]any{
		"DevLogin": c.o.DevLogin, "Error": g.Query("error"),
	}})
}

// ticketJSON is the answer of POST /console/login/tickets.
type ticketJSON struct {
	Ticket    string    `json:"ticket"`
	QRPNG     string    `json:"qr_png"`
	QRText    string    `json:"qr_text"`
	ExpiresAt time.Time `json:"expires_at"`
}

// createTicket is POST /console/login/tickets: a new ticket bound to this
// browser by a short-lived cookie, with its QR code as a PNG data URL.
func (c *Console) createTicket(g *gin.Context) {
	secret, _ := g.Cookie(loginCookie)
	if !csrfOK(g, secret) {
		c.failJSON(g, errCSRF)
		return
	}
	tk, binding, err := c.tickets.Create(g.Request.Context(), g.ClientIP(), g.Request.UserAgent())
	if err != nil {
		c.failJSON(g, err)
		return
	}
	text := QRPrefix + tk.ID
	png, err := qrcode.Encode(text, qrcode.Medium, 256)
	if err != nil {
		c.failJSON(g, err)
		return
	}
	c.setCookie(g, bindCookie, binding, "/console/login/tickets", int((TicketTTL + 30*time.Second).Seconds()))
	g.Header("Cache-Control", "no-store")
	g.JSON(http.StatusCreated, ticketJSON{Ticket: tk.ID, QRPNG: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
		QRText: text, ExpiresAt: tk.ExpiresAt})
}

// pollTicket is GET /console/login/tickets/{ticket}: the ticket's status
// for the browser it is bound to (any other is told it does not exist),
// and on the one answer that first reports it confirmed, the session.
func (c *Console) pollTicket(g *gin.Context) {
	g.Header("Cache-Control", "no-store")
	binding, _ := g.Cookie(bindCookie)
	status, uid, err := c.tickets.Collect(g.Request.Context(), g.Param("ticket"), binding)
	if err != nil {
		c.failJSON(g, err)
		return
	}
	if uid != 0 {
		if err := c.startSession(g, uid); err != nil {
			c.failJSON(g, err)
			return
		}
		c.clearCookie(g, bindCookie, "/console/login/tickets")
	}
	g.JSON(http.StatusOK, gin.H{"status": status})
}

// startSession gives the browser a console session of the user.
func (c *Console) startSession(g *gin.Context, uid int64) error {
	token, _, err := c.o.Sessions.Create(g.Request.Context(), auth.Session{UserID: uid})
	if err != nil {
		return err
	}
	c.setCookie(g, sessionCookie, token, "/console/", 0)
	return nil
}

// requireSecretary refuses (403) a user who is no secretary of any org.
func (c *Console) requireSecretary(ctx context.Context, uid int64) error {
	roots, err := c.o.Org.Secretaryships(ctx, uid)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return errNotSecretary
	}
	return nil
}

// devLogin is POST /console/login/dev (development with the WeChat mock
// only): log in as the user of the login code mock:<name>.
func (c *Console) devLogin(g *gin.Context) {
	secret, _ := g.Cookie(loginCookie)
	if !csrfOK(g, secret) {
		c.fail(g, errCSRF)
		return
	}
	name := strings.TrimSpace(g.PostForm("name"))
	ctx := g.Request.Context()
	u, err := c.o.Auth.Identify(ctx, "mock:"+name)
	// A claim code from "server bootstrap" makes the user the new root's
	// secretary first, so a fresh development server needs no API call
	// before its console can be tried.
	if claim := strings.TrimSpace(g.PostForm("claim")); err == nil && claim != "" {
		_, err = c.o.Org.Claim(ctx, u.ID, claim, "", "")
	}
	if err == nil {
		err = c.requireSecretary(ctx, u.ID)
	}
	if err == nil {
		err = c.startSession(g, u.ID)
	}
	if err != nil {
		c.fail(g, err)
		return
	}
	g.Redirect(http.StatusSeeOther, "/console/")
}

// logout is POST /console/logout: this console session ends.
func (c *Console) logout(g *gin.Context) {
	if err := c.o.Sessions.Revoke(g.Request.Context(), viewerOf(g).Session); err != nil {
		c.fail(g, err)
		return
	}
	c.clearCookie(g, sessionCookie, "/console/")
	g.Redirect(http.StatusSeeOther, "/console/login")
}

// logoutAll is POST /console/logout-all: every session of the user ends,
// the console's and the mini-program's, as the API's sign-out-everywhere.
func (c *Console) logoutAll(g *gin.Context) {
	if err := c.o.Auth.LogoutAll(g.Request.Context(), userID(g)); err != nil {
		c.fail(g, err)
		return
	}
	c.clearCookie(g, sessionCookie, "/console/")
	g.Redirect(http.StatusSeeOther, "/console/login")
}

// failJSON answers a script's request with the API's error shape.
func (c *Console) failJSON(g *gin.Context, err error) { web.Fail(g, c.o.Log, err) }

// The mini-program's side of the scan, served under /api/v1 with its
// bearer token (routes.go).

// TicketInput names a ticket in the path.
type TicketInput struct {
	Ticket string `path:"ticket"`
}

// TicketJSON is a ticket as the phone shows it before confirming.
type TicketJSON struct {
	Ticket    string    `json:"ticket"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TicketInfo is GET /api/v1/console/tickets/{ticket}: where and when the
// browser asked for it, so the phone can ask "log in on this computer?".
func (c *Console) TicketInfo(ctx context.Context, uid int64, in TicketInput) (TicketJSON, error) {
	tk, err := c.tickets.Get(ctx, in.Ticket)
	if err != nil {
		return TicketJSON{}, err
	}
	return TicketJSON{Ticket: tk.ID, IP: tk.IP, UserAgent: tk.UserAgent, CreatedAt: tk.CreatedAt, ExpiresAt: tk.ExpiresAt}, nil
}

// ConfirmJSON is the answer of a confirmation.
type ConfirmJSON struct {
	Status string `json:"status"`
}

// Confirm is POST /api/v1/console/tickets/{ticket}/confirm: a secretary
// (of any org) lets the browser waiting on the ticket in as themselves;
// once, within TicketTTL.
func (c *Console) Confirm(ctx context.Context, uid int64, in TicketInput) (ConfirmJSON, error) {
	if _, err := c.tickets.Get(ctx, in.Ticket); err != nil {
		return ConfirmJSON{}, err
	}
	if err := c.requireSecretary(ctx, uid); err != nil {
		return ConfirmJSON{}, err
	}
	if err := c.tickets.Confirm(ctx, in.Ticket, uid); err != nil {
		return ConfirmJSON{}, err
	}
	return ConfirmJSON{Status: stateConfirmed}, nil
}
