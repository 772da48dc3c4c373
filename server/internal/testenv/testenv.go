// Package testenv gives tests the real server wired to a database and a
// Redis of their own: SQLite in a temporary directory and an embedded Redis
// by default, or the PostgreSQL/MySQL and Redis that TEST_DATABASE_URL and
// TEST_REDIS_URL name, each test in a fresh schema or database and under its
// own key prefix, cleaned up afterwards. WeChat is the wechattest fake.
package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/contract"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/testenv/testdb"
	"xianfeng/server/internal/wechat/wechattest"
)

// Env is a running server for one test.
type Env struct {
	t      testing.TB
	App    *app.App
	WeChat *wechattest.Server
	Server *httptest.Server
	// Client validates every request and response against openapi.yaml.
	Client *http.Client
}

// Options adjust the environment.
type Options struct {
	// Mock uses the development WeChat mock instead of the fake WeChat server.
	Mock bool
	// Configure, if set, edits the configuration before the app is built.
	Configure func(*config.Config)
	// Log, if set, receives the server's JSON log lines at debug level.
	Log io.Writer
	// Now, if set, is the clock of the services that decide calendar days
	// (a Clock's Now), of the report rate limit and of push coalescing; by
	// default they run on time.Now.
	Now func() time.Time
}

// New starts the server for t and stops it when t ends.
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	cfg := Config(t)
	wx := wechattest.NewServer(t)
	mock := opts.Mock
	cfg.WeChat.Mock = &mock
	cfg.WeChat.AppID, cfg.WeChat.AppSecret = wechattest.AppID, wechattest.AppSecret
	cfg.WeChat.Timeout = 500 * time.Millisecond
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}
	must(t, fromTemplate(cfg.Database.URL))
	log := logging.Discard()
	if os.Getenv("TEST_LOG") != "" && opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.Log != nil {
		log = logging.New(opts.Log, "debug", "json")
	}
	a, err := app.New(context.Background(), cfg, log, app.Options{WeChatTransport: wx.Transport(), Migrate: true, Now: opts.Now})
	if err != nil {
		t.Fatalf("testenv: build app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a.Router)
	t.Cleanup(srv.Close)
	return &Env{
		t: t, App: a, WeChat: wx, Server: srv,
		Client: &http.Client{Transport: contract.NewTransport(t, nil), Timeout: 10 * time.Second},
	}
}

// Config returns a development configuration on this test's own database
// and Redis key space (testdb.Config).
func Config(t testing.TB) config.Config {
	t.Helper()
	return testdb.Config(t)
}

// Database returns the URL of an empty database for this test
// (testdb.Database).
func Database(t testing.TB, suffix string) string {
	t.Helper()
	return testdb.Database(t, suffix)
}

// LogBuffer is an io.Writer for a server's log that its goroutines may
// write to while the test reads it (testdb.LogBuffer).
type LogBuffer = testdb.LogBuffer

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.Status, err, r.Body)
	}
}

// ErrorCode returns the error.code of an error response, or "".
func (r Response) ErrorCode() string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// Do sends a request with an optional bearer token and body (a string or
// []byte is sent as is, anything else as JSON).
func (e *Env) Do(method, path, token string, body any) Response {
	e.t.Helper()
	return e.DoWith(method, path, token, body, nil)
}

// DoWith is Do with extra request headers; one with an empty value is not
// sent, so that a table can leave a header out.
func (e *Env) DoWith(method, path, token string, body any, header map[string]string) Response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.Server.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Unchecked returns a copy of the environment whose requests skip the
// contract check, for tests that probe with methods and paths the contract
// does not know.
func (e *Env) Unchecked() *Env {
	c := *e
	c.Client = &http.Client{Timeout: 10 * time.Second}
	return &c
}

// Login signs in through the fake WeChat as openid o-<name> and returns the token.
func (e *Env) Login(name string) string {
	e.t.Helper()
	code := "ok:" + name
	if e.App.Mock != nil {
		code = "mock:" + name
	}
	r := e.Do("POST", "/api/v1/auth/login", "", map[string]string{"code": code})
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", name, r.Status, r.Body)
	}
	var out struct {
		Token string `json:"token"`
	}
	r.JSON(e.t, &out)
	return out.Token
}

// String describes the backends in use, for test logs.
func (e *Env) String() string {
	return fmt.Sprintf("database=%s redis-embedded=%v", e.App.DB.Dialect, e.App.Redis.Embedded() != nil)
}

// APIError is the error object of an error response.
type APIError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields"`
}

// APIError decodes the error object of an error response, failing t if
// the body is not JSON.
func (r Response) APIError(t testing.TB) APIError {
	t.Helper()
	var e struct {
		Error APIError `json:"error"`
	}
	r.JSON(t, &e)
	return e.Error
}

// WithTemplates gives the notification kinds a subscribe-message template
// (id tmpl-<kind>), so that their notifications are pushed; pass it as
// Options.Configure or call it from there.
func WithTemplates(kinds ...string) func(*config.Config) {
	return func(c *config.Config) {
		for _, kind := range kinds {
			t := c.Notify.Templates[kind]
			t.ID = "tmpl-" + kind
			c.Notify.Templates[kind] = t
		}
	}
}

// Invalid reports whether r is a 400 invalid_argument answer that names
// the field.
func (r Response) Invalid(t testing.TB, field string) bool {
	t.Helper()
	return r.Status == http.StatusBadRequest && r.APIError(t).Code == "invalid_argument" && r.APIError(t).Fields[field] != ""
}

// InvalidBody is a request body a route must refuse, and the field its
// answer must name.
type InvalidBody struct {
	Name  string
	Body  any
	Field string
}

// ExpectInvalid sends each body to path as p, in a subtest of t named
// "<Name> is a bad request naming <Field>", and fails the subtest unless the
// answer is a 400 invalid_argument that names the field.
func (e *Env) ExpectInvalid(t *testing.T, method, path string, p Person, bodies []InvalidBody) {
	t.Helper()
	for _, b := range bodies {
		t.Run(b.Name+" is a bad request naming "+b.Field, func(t *testing.T) {
			res := e.In(t).DoAs(method, path, p, b.Body)
			if !res.Invalid(t, b.Field) {
				t.Errorf("got %d %s, want 400 invalid_argument with fields.%s", res.Status, res.Body, b.Field)
			}
		})
	}
}

// Outsider is a person who must not see what an org holds.
type Outsider struct {
	Name string
	As   Person
	Org  int64
}

// ExpectHidden GETs path, a format of the org's id, as each outsider in a
// subtest of t named after them, and fails it unless the answer is 404: to
// a caller out of its scope, an org is not there.
func (e *Env) ExpectHidden(t *testing.T, path string, outsiders []Outsider) {
	t.Helper()
	for _, o := range outsiders {
		t.Run(o.Name, func(t *testing.T) {
			if res := e.In(t).DoAs("GET", fmt.Sprintf(path, o.Org), o.As, nil); res.Status != http.StatusNotFound {
				t.Errorf("got %d %s, want 404", res.Status, res.Body)
			}
		})
	}
}

// Instance starts another server on the same database, Redis and fake
// WeChat, standing for a second instance behind the load balancer; it stops
// when the test ends. Tokens work on both.
func (e *Env) Instance() *Env {
	e.t.Helper()
	cfg := e.App.Config
	if mr := e.App.Redis.Embedded(); mr != nil {
		cfg.Redis.URL = "redis://" + mr.Addr()
	}
	a, err := app.New(context.Background(), cfg, e.App.Log, app.Options{WeChatTransport: e.WeChat.Transport()})
	if err != nil {
		e.t.Fatalf("testenv: build a second instance: %v", err)
	}
	e.t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a.Router)
	e.t.Cleanup(srv.Close)
	c := *e
	c.App, c.Server = a, srv
	return &c
}
