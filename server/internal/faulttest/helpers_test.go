//go:build faults

package faulttest

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// gate skips t unless the fault tests were asked for and a networked
// database and Redis are named.
func gate(t *testing.T) {
	t.Helper()
	if os.Getenv("XF_FAULT_TESTS") != "1" {
		t.Skip("fault test: set XF_FAULT_TESTS=1 (with TEST_DATABASE_URL and TEST_REDIS_URL) to run")
	}
	if os.Getenv("TEST_REDIS_URL") == "" || !strings.Contains(os.Getenv("TEST_DATABASE_URL"), "://") {
		t.Fatal("fault tests need TEST_DATABASE_URL (PostgreSQL or MySQL) and TEST_REDIS_URL")
	}
}

// postgres reports whether the tests run on PostgreSQL.
func postgres() bool {
	return strings.HasPrefix(os.Getenv("TEST_DATABASE_URL"), "postgres")
}

// throughProxy returns raw (a database or Redis URL) pointed at a new proxy
// in front of the server it names, and the proxy.
func throughProxy(t *testing.T, raw string) (string, *testenv.Proxy) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	p := testenv.NewProxy(t, u.Host)
	u.Host = p.Addr()
	return u.String(), p
}

// dbProxy configures the app to reach its database through a proxy.
func dbProxy(t *testing.T, proxy **testenv.Proxy) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.Database.URL, *proxy = throughProxy(t, cfg.Database.URL)
	}
}
