package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/badge"
	"xianfeng/server/internal/testenv"
)

// verifyAs fetches the badge check for token with the given Accept header.
func verifyAs(t *testing.T, env *testenv.Env, token, accept string) testenv.Response {
	t.Helper()
	return env.DoWith("GET", "/api/v1/badges/verify?token="+url.QueryEscape(token), "", nil, map[string]string{"Accept": accept})
}

func TestABrowserScanningABadgeReadsTheVerdict(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	env := w.Env
	var mine struct {
		VerifyToken string `json:"verify_token"`
	}
	env.Expect(env.DoAs("GET", "/api/v1/me/badge", w.MemberA, nil), http.StatusOK).JSON(t, &mine)
	valid := mine.VerifyToken
	// A second token, revoked below by a change of badge.
	env.Expect(env.DoAs("GET", "/api/v1/me/badge", w.MemberB, nil), http.StatusOK).JSON(t, &mine)
	revoked := mine.VerifyToken
	env.Expect(env.DoAs("PATCH", env.MemberPath(w.B, w.MemberB), w.SecB, map[string]string{"badge": "publicity"}), http.StatusOK)
	expired := badge.NewSigner(env.App.Config.BadgeKey()).Sign(badge.Claims{MembershipID: 1, ExpiresAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Second)})
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

	tests := []struct {
		name, token string
		want, not   []string
	}{
		{"a current badge says 有效 with the masked name, badge and org", valid,
			[]string{"有效", "张*明", "战斗员", "第一党支部", "核验时间"}, []string{"张小明", "无效", "已过期", "已失效"}},
		{"an expired code says 已过期", expired, []string{"已过期", "核验时间"}, []string{"有效</span>"}},
		{"a changed badge says 已失效", revoked, []string{"已失效"}, []string{"陈*东", "有效</span>"}},
		{"a forged code says 无效", "not-a-badge-token", []string{"无效"}, []string{"有效</span>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := verifyAs(t, env, tc.token, browser)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("got %d %s, want a 200 page: %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			page := string(r.Body)
			for _, s := range tc.want {
				if !strings.Contains(page, s) {
					t.Errorf("the page lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(page, s) {
					t.Errorf("the page shows %q", s)
				}
			}
			for _, s := range []string{"<script", "src=", "href=", "@import", "url("} {
				if strings.Contains(page, s) {
					t.Errorf("the page loads or links something (%q); it must stand alone", s)
				}
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
		})
	}

	t.Run("the time of the check is in the configured zone", func(t *testing.T) {
		page := string(verifyAs(t, env, valid, browser).Body)
		if !strings.Contains(page, "（Asia/Shanghai）") {
			t.Errorf("the page does not name the configured zone: %s", page)
		}
	})

	for _, accept := range []string{"", "*/*", "application/json", "text/html;q=0, application/json"} {
		t.Run("a program sending Accept "+accept+" still gets JSON", func(t *testing.T) {
			r := verifyAs(t, env, valid, accept)
			var v struct {
				Valid      bool   `json:"valid"`
				NameMasked string `json:"name_masked"`
			}
			r.JSON(t, &v)
			if !v.Valid || v.NameMasked != "张*明" {
				t.Errorf("verdict = %+v", v)
			}
		})
	}
}

func TestTheBrowserPageIsRateLimitedAsTheJSON(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.Badge.VerifyPerMinute = 2 }})
	for i, accept := range []string{"text/html", "application/json", "text/html"} {
		r := verifyAs(t, env, "x", accept)
		want := http.StatusOK
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if r.Status != want {
			t.Errorf("check %d (%s) = %d, want %d", i+1, accept, r.Status, want)
		}
	}
}

func TestWeChatsQRRuleCheckFileIsServedAtTheRoot(t *testing.T) {
	env := testenv.New(t, testenv.Options{Configure: func(c *config.Config) { c.WeChat.QRVerifyFile = "Xf0aBc12.txt:5d41402abc4b2a76" }})
	// Not part of the API contract: fetched without the contract-checking client.
	get := func(path string) (int, string) {
		resp, err := http.Get(env.Server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/Xf0aBc12.txt"); status != http.StatusOK || body != "5d41402abc4b2a76" {
		t.Errorf("GET /Xf0aBc12.txt = %d %q", status, body)
	}
	for _, path := range []string{"/other.txt", "/api/v1/Xf0aBc12.txt", "/Xf0aBc12.txt/"} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, status)
		}
	}
	plain := testenv.New(t, testenv.Options{})
	if r := plain.Do("GET", "/Xf0aBc12.txt", "", nil); r.Status != http.StatusNotFound {
		t.Errorf("without the setting, GET /Xf0aBc12.txt = %d, want 404", r.Status)
	}
}
