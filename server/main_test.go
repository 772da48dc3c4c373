package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"xianfeng/config"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/testenv"
)

// printed is the part of `server config` output the tests read.
type printed struct {
	HTTP struct {
		Addr string `yaml:"addr"`
	} `yaml:"http"`
	WeChat struct {
		AppID     string `yaml:"app_id"`
		AppSecret string `yaml:"app_secret"`
	} `yaml:"wechat"`
}

func TestConfigCommandPrintsTheEffectiveConfiguration(t *testing.T) {
	file := filepath.Join(t.TempDir(), "xianfeng.yaml")
	if err := os.WriteFile(file, []byte("http:\n  addr: \"127.0.0.1:9321\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "app-secret-that-must-not-print"
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantAddr   string
		wantSecret string
	}{
		{"the defaults print when nothing is set", []string{"config"}, nil, ":8080", ""},
		{"the WeChat app secret is masked", []string{"config"},
			map[string]string{"APP_WECHAT_APP_ID": "wx-id", "APP_WECHAT_APP_SECRET": secret}, ":8080", "******"},
		{"a file named by -config is read", []string{"-config", file, "config"}, nil, "127.0.0.1:9321", ""},
		{"a -config flag after the command is read too", []string{"config", "-config", file}, nil, "127.0.0.1:9321", ""},
		{"a file named by APP_CONFIG is read", []string{"config"}, map[string]string{"APP_CONFIG": file}, "127.0.0.1:9321", ""},
		{"the -config flag wins over APP_CONFIG", []string{"-config", file, "config"},
			map[string]string{"APP_CONFIG": filepath.Join(t.TempDir(), "absent.yaml")}, "127.0.0.1:9321", ""},
		{"the environment wins over the file", []string{"config"},
			map[string]string{"APP_CONFIG": file, "APP_HTTP_ADDR": ":9400"}, ":9400", ""},
		{"a leading server word, as `docker run IMAGE server config` passes it, is skipped", []string{"server", "config"}, nil, ":8080", ""},
		{"flags may come before the server word", []string{"-config", file, "server", "config"}, nil, "127.0.0.1:9321", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), tt.args, config.Vars(tt.env).Get, &stdout, &stderr); err != nil {
				t.Fatalf("run %v: %v\nstderr: %s", tt.args, err, stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), secret) {
				t.Fatalf("the app secret was printed:\n%s%s", stdout.String(), stderr.String())
			}
			var got printed
			if err := yaml.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("output is not YAML: %v\n%s", err, stdout.String())
			}
			if got.HTTP.Addr != tt.wantAddr || got.WeChat.AppSecret != tt.wantSecret {
				t.Errorf("printed http.addr, wechat.app_secret = %q, %q; want %q, %q", got.HTTP.Addr, got.WeChat.AppSecret, tt.wantAddr, tt.wantSecret)
			}
		})
	}
}

func TestBadInvocationsFailWithAReason(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantErr  []string // "" error means run must succeed
		wantErrs []string // text expected on stderr
	}{
		{"an unknown command fails and shows the usage", []string{"frobnicate"}, nil,
			[]string{`unknown command "frobnicate"`, "Usage:"}, nil},
		{"arguments after the command fail and show the usage", []string{"config", "extra"}, nil,
			[]string{"unexpected arguments", "Usage:"}, nil},
		{"a bad setting fails naming it", []string{"config"}, map[string]string{"APP_SESSION_TTL": "10s"},
			[]string{"APP_SESSION_TTL"}, nil},
		{"a missing configuration file fails naming it", []string{"-config", "/nonexistent/xianfeng.yaml", "config"}, nil,
			[]string{"/nonexistent/xianfeng.yaml"}, nil},
		{"an unknown flag fails and shows the usage", []string{"-verbose"}, nil,
			[]string{"verbose"}, []string{"Usage:"}},
		{"-h shows the usage and succeeds", []string{"-h"}, nil,
			nil, []string{"Usage:", "migrate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, config.Vars(tt.env).Get, &stdout, &stderr)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("run %v: %v", tt.args, err)
			}
			if tt.wantErr != nil && err == nil {
				t.Fatalf("run %v succeeded, want an error", tt.args)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, s := range tt.wantErrs {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q does not contain %q", stderr.String(), s)
				}
			}
		})
	}
}

func randomSuffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func TestMigrateCommandCreatesTheSchema(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
		runs int
	}{
		{"migrate builds the schema in a new SQLite file", func(t *testing.T) string {
			return "sqlite:" + filepath.Join(t.TempDir(), "data", "xianfeng.db")
		}, 1},
		{"migrate builds the schema in the test database", func(t *testing.T) string {
			return testenv.Database(t, randomSuffix())
		}, 1},
		{"migrate run twice leaves one record per version", func(t *testing.T) string {
			return testenv.Database(t, randomSuffix())
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			for i := range tt.runs {
				var stdout, stderr bytes.Buffer
				if err := run(context.Background(), []string{"migrate"}, config.Vars(map[string]string{"APP_DATABASE_URL": url}).Get, &stdout, &stderr); err != nil {
					t.Fatalf("migrate run %d: %v\nstderr: %s", i+1, err, stderr.String())
				}
				if !strings.Contains(stderr.String(), "database schema is up to date") {
					t.Errorf("migrate did not report success; stderr: %s", stderr.String())
				}
			}
			db, err := database.Open(context.Background(), database.Options{URL: url, MaxOpenConns: 2, ConnMaxLife: time.Minute, Log: logging.Discard()})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			var got, want []int
			if err := db.Table("schema_migrations").Order("version").Pluck("version", &got).Error; err != nil {
				t.Fatalf("read schema_migrations: %v", err)
			}
			for _, m := range database.Migrations {
				want = append(want, m.Version)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("schema_migrations (-want +got)\n-%v\n+%v", want, got)
			}
			if !db.Migrator().HasTable("users") {
				t.Error("the users table is missing")
			}
		})
	}
}

// freePort returns a local address nothing listens on right now.
// serverVars are the settings that point a server started by run at this
// test's database, Redis and queue namespace, with extra on top.
func serverVars(cfg config.Config, extra map[string]string) map[string]string {
	vars := map[string]string{
		"APP_DATABASE_URL":     cfg.Database.URL,
		"APP_REDIS_URL":        cfg.Redis.URL,
		"APP_REDIS_KEY_PREFIX": cfg.Redis.KeyPrefix,
		"APP_QUEUE_NAMESPACE":  cfg.Queue.Namespace,
	}
	maps.Copy(vars, extra)
	return vars
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestServingStopsCleanlyWhenCancelled(t *testing.T) {
	tests := []struct {
		name string
		cmd  string
		api  bool // the API port answers
	}{
		{"the api command answers /healthz on both ports and returns when cancelled", "api", true},
		{"the serve command answers /healthz on both ports, runs workers and returns when cancelled", "serve", true},
		{"the worker command answers /healthz on the admin port only and returns when cancelled", "worker", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testenv.Config(t)
			addr, adminAddr := freePort(t), freePort(t)
			vars := serverVars(cfg, map[string]string{
				"APP_HTTP_ADDR":             addr,
				"APP_ADMIN_ADDR":            adminAddr,
				"APP_HTTP_SHUTDOWN_TIMEOUT": "2s",
			})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr testenv.LogBuffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{tt.cmd}, config.Vars(vars).Get, &stdout, &stderr) }()

			client := &http.Client{Timeout: time.Second}
			get := func(url string) int {
				resp, err := client.Get(url)
				if err != nil {
					return 0
				}
				_ = resp.Body.Close()
				return resp.StatusCode
			}
			healthy := false
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				select {
				case err := <-done:
					t.Fatalf("run returned before serving: %v\nstderr: %s", err, stderr.String())
				default:
				}
				if get("http://"+adminAddr+"/healthz") == http.StatusOK {
					healthy = true
					break
				}
			}
			if !healthy {
				t.Fatalf("the admin listener's /healthz never answered 200\nstderr: %s", stderr.String())
			}
			if got := get("http://" + adminAddr + "/readyz"); got != http.StatusOK {
				t.Errorf("admin /readyz = %d, want 200", got)
			}
			if got := get("http://" + adminAddr + "/metrics"); got != http.StatusOK {
				t.Errorf("admin /metrics = %d, want 200", got)
			}
			if got, want := get("http://"+addr+"/healthz"), map[bool]int{true: 200, false: 0}[tt.api]; got != want {
				t.Errorf("API port /healthz = %d, want %d (0: nothing listens)", got, want)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run returned %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("run did not return within 10s of cancel\nstderr: %s", stderr.String())
			}
			for _, a := range []string{addr, adminAddr} {
				if get("http://"+a+"/healthz") != 0 {
					t.Errorf("%s still answers after run returned", a)
				}
			}
		})
	}
}

func TestTheAdminListenerIsOffWhenSaid(t *testing.T) {
	cfg := testenv.Config(t)
	vars := serverVars(cfg, map[string]string{
		"APP_HTTP_ADDR":  freePort(t),
		"APP_ADMIN_ADDR": "off",
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testenv.LogBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"api"}, config.Vars(vars).Get, &stdout, &stderr) }()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(stderr.String(), "HTTP API listening"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the API never listened\nstderr: %s", stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "admin listener is off") || strings.Contains(stderr.String(), "admin listener listening") {
		t.Errorf("with APP_ADMIN_ADDR=off the log does not say the admin listener is off:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after cancel", err)
	}
}

func TestAnAdminPortInUseStopsTheServerNamingTheSetting(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := testenv.Config(t)
	vars := serverVars(cfg, map[string]string{
		"APP_HTTP_ADDR":  freePort(t),
		"APP_ADMIN_ADDR": busy.Addr().String(),
	})
	var stdout, stderr testenv.LogBuffer
	err = run(context.Background(), []string{"worker"}, config.Vars(vars).Get, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "APP_ADMIN_ADDR") {
		t.Fatalf("run with a busy admin port = %v, want an error naming APP_ADMIN_ADDR", err)
	}
}

// A dependency that is down at start is an error to report, not a panic: the
// database is already open when Redis refuses, and it is closed on the way out.
func TestAnUnreachableRedisAtStartIsAnErrorNotAPanic(t *testing.T) {
	cfg := testenv.Config(t)
	refused := freePort(t) // nothing listens there
	vars := serverVars(cfg, map[string]string{
		"APP_HTTP_ADDR":  freePort(t),
		"APP_ADMIN_ADDR": "off",
		"APP_REDIS_URL":  "redis://" + refused + "/0",
		// it gives up on a refusing Redis after this, instead of a second
		"APP_REDIS_TIMEOUT": "200ms",
	})
	var stdout, stderr testenv.LogBuffer
	err := run(context.Background(), []string{"api"}, config.Vars(vars).Get, &stdout, &stderr)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "redis") {
		t.Fatalf("run with Redis refusing connections = %v, want an error about Redis", err)
	}
}
