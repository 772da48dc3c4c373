package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// TestAnOverlongRequestLineIsTheJSONErrorShape: Go's HTTP server answers a
// request line and headers over its MaxHeaderBytes itself, in plain text,
// before the router sees it. A 70 KB query must still get the API's JSON
// error, from the real listener.
func TestAnOverlongRequestLineIsTheJSONErrorShape(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.HTTP.Addr = "127.0.0.1:0" }})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- env.App.ServeHTTP(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("ServeHTTP: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the API did not start listening")
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/me/", "/api/v1/orgs/1/members"} {
		t.Run(path+" with a 70 KB query", func(t *testing.T) {
			resp, err := http.Get("http://" + addr + path + "?q=" + strings.Repeat("a", 70<<10))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
				t.Fatalf("%d %q: not the JSON error shape (%v)", resp.StatusCode, clip(string(raw)), err)
			}
			if resp.StatusCode != http.StatusRequestURITooLong || body.Error.Code != "uri_too_long" {
				t.Errorf("%d %s, want 414 uri_too_long", resp.StatusCode, body.Error.Code)
			}
			if loc := resp.Header.Get("Location"); loc != "" {
				t.Errorf("a redirect to %d bytes", len(loc))
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
