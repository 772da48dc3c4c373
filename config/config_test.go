package config_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the server embeds zone data; so do the tests.

	"xianfeng/config"
)

// writeYAML writes content to a temporary YAML file and returns its path.
func writeYAML(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xianfeng.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsRunALaptopWithoutAnySettings(t *testing.T) {
	cfg, err := config.Load("", config.Vars(nil).Get)
	if err != nil {
		t.Fatalf("Load with no file and no environment: %v", err)
	}
	dialect, path, err := config.ParseDatabaseURL(cfg.Database.URL)
	if err != nil {
		t.Fatalf("default database URL %q does not parse: %v", cfg.Database.URL, err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"the API listens on port 8080", cfg.HTTP.Addr, ":8080"},
		{"the database is SQLite", dialect, config.DialectSQLite},
		{"the SQLite file lives under data/", filepath.Dir(path), "data"},
		{"calendar days are Shanghai days", cfg.Location().String(), "Asia/Shanghai"},
		{"a session lasts seven days", cfg.Session.TTL, 7 * 24 * time.Hour},
		{"the WeChat mock is on in development", cfg.WeChatMock(), true},
		{"Redis is embedded", cfg.EmbeddedRedis(), true},
		{"migrations run at start", cfg.AutoMigrate(), true},
		{"the server is not in production", cfg.Production(), false},
		{"the admin listener is on the loopback port 9090", cfg.Admin.Addr, "127.0.0.1:9090"},
		{"the admin listener is on", cfg.AdminEnabled(), true},
		{"photos are kept on disk under data/media", cfg.Media.URL, "file:data/media"},
		{"an upload may be 10 MB", cfg.Media.MaxBytes, int64(10 << 20)},
		{"an upload may take long enough for 10 MB at 100 KB/s", cfg.Media.ReadTimeout >= 100*time.Second, true},
		{"signed media URLs work ten minutes", cfg.Media.URLTTL, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// layered is the part of the configuration the precedence tests look at.
type layered struct {
	Addr    string
	TTL     time.Duration
	Level   string
	Mock    bool
	Proxies []string
}

func layeredOf(c config.Config) layered {
	return layered{c.HTTP.Addr, c.Session.TTL, c.Log.Level, c.WeChatMock(), c.HTTP.TrustedProxies}
}

func TestLaterLayersOverrideEarlierOnes(t *testing.T) {
	const file = `
http:
  addr: "127.0.0.1:9000"
  trusted_proxies: ["10.0.0.1"]
session:
  ttl: 24h
log:
  level: debug
wechat:
  mock: false
`
	defaults := layered{":8080", 7 * 24 * time.Hour, "info", true, nil}
	fromFile := layered{"127.0.0.1:9000", 24 * time.Hour, "debug", false, []string{"10.0.0.1"}}
	tests := []struct {
		name string
		yaml string // "" means no file
		env  map[string]string
		want layered
	}{
		{
			name: "without file or environment the defaults hold",
			want: defaults,
		},
		{
			name: "the YAML file overrides the defaults",
			yaml: file,
			want: fromFile,
		},
		{
			name: "the environment overrides the defaults without a file",
			env:  map[string]string{"APP_HTTP_ADDR": ":7000", "APP_SESSION_TTL": "1h"},
			want: layered{":7000", time.Hour, "info", true, nil},
		},
		{
			name: "the environment overrides the YAML file",
			yaml: file,
			env: map[string]string{
				"APP_HTTP_ADDR": ":9100", "APP_SESSION_TTL": "2h", "APP_LOG_LEVEL": "warn",
				"APP_WECHAT_MOCK": "true", "APP_HTTP_TRUSTED_PROXIES": "10.0.0.2, 192.168.0.0/16",
			},
			want: layered{":9100", 2 * time.Hour, "warn", true, []string{"10.0.0.2", "192.168.0.0/16"}},
		},
		{
			name: "an empty or blank variable leaves the file's value in place",
			yaml: file,
			env:  map[string]string{"APP_HTTP_ADDR": "", "APP_LOG_LEVEL": "   "},
			want: fromFile,
		},
		{
			name: "a file of only comments keeps the defaults",
			yaml: "# nothing set here\n",
			want: defaults,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeYAML(t, tt.yaml)
			}
			cfg, err := config.Load(path, config.Vars(tt.env).Get)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := layeredOf(cfg); !reflect.DeepEqual(tt.want, got) {
				t.Errorf("(-want +got)\n-%+v\n+%+v", tt.want, got)
			}
		})
	}
}

func TestAFileThatCannotBeUsedStopsLoad(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		wantText []string
	}{
		{"an unknown top-level key is an error that names it", "htpp:\n  addr: \":9000\"\n", []string{"htpp"}},
		{"an unknown nested key is an error that names it", "http:\n  adress: \":9000\"\n", []string{"adress"}},
		{"a value of the wrong type is an error", "session:\n  ttl: soon\n", []string{"soon"}},
		{"a bad value from the file names its YAML key", "log:\n  level: loud\n", []string{"log.level", "loud"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeYAML(t, tt.yaml)
			_, err := config.Load(path, config.Vars(nil).Get)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
	t.Run("a missing file is an error that names its path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "absent.yaml")
		_, err := config.Load(path, config.Vars(nil).Get)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("Load(%q) error = %v, want one naming the path", path, err)
		}
	})
}

func TestEachBadSettingStopsLoadNamingIt(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		setting string
	}{
		{"an unknown environment name is refused", map[string]string{"APP_ENV": "staging"}, "APP_ENV"},
		{"an unknown time zone is refused", map[string]string{"APP_TIMEZONE": "Mars/Base"}, "APP_TIMEZONE"},
		{"a listen address without a port is refused", map[string]string{"APP_HTTP_ADDR": "nonsense"}, "APP_HTTP_ADDR"},
		{"a listen port out of range is refused", map[string]string{"APP_HTTP_ADDR": ":70000"}, "APP_HTTP_ADDR"},
		{"a session TTL that is not a duration is refused", map[string]string{"APP_SESSION_TTL": "abc"}, "APP_SESSION_TTL"},
		{"a session TTL under a minute is refused", map[string]string{"APP_SESSION_TTL": "10s"}, "APP_SESSION_TTL"},
		{"an unsupported database is refused", map[string]string{"APP_DATABASE_URL": "oracle://x"}, "APP_DATABASE_URL"},
		{"a Redis URL with another scheme is refused", map[string]string{"APP_REDIS_URL": "http://x"}, "APP_REDIS_URL"},
		{"an unknown log level is refused", map[string]string{"APP_LOG_LEVEL": "loud"}, "APP_LOG_LEVEL"},
		{"a mock switch that is not a boolean is refused", map[string]string{"APP_WECHAT_MOCK": "maybe"}, "APP_WECHAT_MOCK"},
		{"a pool size that is not a number is refused", map[string]string{"APP_DATABASE_MAX_OPEN_CONNS": "many"}, "APP_DATABASE_MAX_OPEN_CONNS"},
		{"an admin address without a port is refused", map[string]string{"APP_ADMIN_ADDR": "localhost"}, "APP_ADMIN_ADDR"},
		{"an admin address on the API's port is refused", map[string]string{"APP_ADMIN_ADDR": "127.0.0.1:8080"}, "APP_ADMIN_ADDR"},
		{"a negative mutex profile fraction is refused", map[string]string{"APP_ADMIN_MUTEX_PROFILE_FRACTION": "-1"}, "APP_ADMIN_MUTEX_PROFILE_FRACTION"},
		{"a mini-program path with a leading slash is refused", map[string]string{"APP_BADGE_MINIPROGRAM_PATH": "/pages/verify/verify"}, "APP_BADGE_MINIPROGRAM_PATH"},
		{"a QR check file without its content is refused", map[string]string{"APP_WECHAT_QR_VERIFY_FILE": "abc.txt"}, "APP_WECHAT_QR_VERIFY_FILE"},
		{"a QR check file that is not a .txt at the root is refused", map[string]string{"APP_WECHAT_QR_VERIFY_FILE": "../etc/passwd:x"}, "APP_WECHAT_QR_VERIFY_FILE"},
		{"a negative block profile rate is refused", map[string]string{"APP_ADMIN_BLOCK_PROFILE_RATE": "-1ms"}, "APP_ADMIN_BLOCK_PROFILE_RATE"},
		{"a media store of another scheme is refused", map[string]string{"APP_MEDIA_URL": "ftp://host/media"}, "APP_MEDIA_URL"},
		{"an s3 store without an endpoint is refused", map[string]string{"APP_MEDIA_URL": "s3://bucket?region=x", "APP_MEDIA_ACCESS_KEY": "a", "APP_MEDIA_SECRET_KEY": "b"}, "APP_MEDIA_URL"},
		{"an s3 store without credentials is refused", map[string]string{"APP_MEDIA_URL": "s3://bucket?endpoint=minio:9000"}, "APP_MEDIA_ACCESS_KEY"},
		{"an s3 store with secure neither true nor false is refused", map[string]string{"APP_MEDIA_URL": "s3://bucket?endpoint=minio:9000&secure=yes", "APP_MEDIA_ACCESS_KEY": "a", "APP_MEDIA_SECRET_KEY": "b"}, "APP_MEDIA_URL"},
		{"a media public URL with a path is refused", map[string]string{"APP_MEDIA_PUBLIC_URL": "https://xf.example.cn/api"}, "APP_MEDIA_PUBLIC_URL"},
		{"a media size limit under 1 KB is refused", map[string]string{"APP_MEDIA_MAX_BYTES": "100"}, "APP_MEDIA_MAX_BYTES"},
		{"a media read timeout shorter than the listener's is refused", map[string]string{"APP_MEDIA_READ_TIMEOUT": "5s"}, "APP_MEDIA_READ_TIMEOUT"},
		{"a signed media URL living over a day is refused", map[string]string{"APP_MEDIA_URL_TTL": "48h"}, "APP_MEDIA_URL_TTL"},
		{"no media decoder at all is refused", map[string]string{"APP_MEDIA_DECODERS": "0"}, "APP_MEDIA_DECODERS"},
		{"no uploads at all is refused", map[string]string{"APP_MEDIA_UPLOADS_PER_MINUTE": "0"}, "APP_MEDIA_UPLOADS_PER_MINUTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load("", config.Vars(tt.env).Get)
			if err == nil {
				t.Fatalf("Load(%v) succeeded, want an error naming %s", tt.env, tt.setting)
			}
			if !strings.Contains(err.Error(), tt.setting) {
				t.Errorf("error %q does not name %s", err, tt.setting)
			}
		})
	}
	t.Run("several bad settings are all reported at once", func(t *testing.T) {
		_, err := config.Load("", config.Vars(map[string]string{"APP_ENV": "staging", "APP_LOG_LEVEL": "loud", "APP_TIMEZONE": "Mars/Base"}).Get)
		if err == nil {
			t.Fatal("Load succeeded, want an error")
		}
		for _, setting := range []string{"APP_ENV", "APP_LOG_LEVEL", "APP_TIMEZONE"} {
			if !strings.Contains(err.Error(), setting) {
				t.Errorf("error %q does not name %s", err, setting)
			}
		}
	})
}

// production is a complete production environment.
func production() map[string]string {
	return map[string]string{
		"APP_ENV":                   "production",
		"APP_DATABASE_URL":          "postgres://xf:db-secret@db:5432/xianfeng?sslmode=require",
		"APP_REDIS_URL":             "redis://:redis-secret@redis:6379/0",
		"APP_WECHAT_APP_ID":         "wx0123456789abcdef",
		"APP_WECHAT_APP_SECRET":     "0123456789abcdef0123456789abcdef",
		"APP_BADGE_KEY":             "badge-key-badge-key-badge-key-badge-key",
		"APP_DATA_KEY":              "data-key-data-key-data-key-data-key-data",
		"APP_BADGE_VERIFY_URL":      "https://xf.example.cn/api/v1/badges/verify",
		"APP_WECHAT_CALLBACK_TOKEN": "callback-token-callback-token",
		"APP_MEDIA_PUBLIC_URL":      "https://xf.example.cn",
	}
}

func TestProductionRefusesTrialSettings(t *testing.T) {
	tests := []struct {
		name    string
		change  map[string]string // "" deletes the variable
		setting string            // "" means Load must succeed
	}{
		{"the embedded Redis is refused", map[string]string{"APP_REDIS_URL": ""}, "APP_REDIS_URL"},
		{"the WeChat mock is refused", map[string]string{"APP_WECHAT_MOCK": "true"}, "APP_WECHAT_MOCK"},
		{"a missing WeChat app id is refused", map[string]string{"APP_WECHAT_APP_ID": ""}, "APP_WECHAT_APP_ID"},
		{"a missing WeChat app secret is refused", map[string]string{"APP_WECHAT_APP_SECRET": ""}, "APP_WECHAT_APP_SECRET"},
		{"a missing badge signing key is refused", map[string]string{"APP_BADGE_KEY": ""}, "APP_BADGE_KEY"},
		{"a missing data key is refused", map[string]string{"APP_DATA_KEY": ""}, "APP_DATA_KEY"},
		{"the public development data key is refused", map[string]string{"APP_DATA_KEY": config.DevDataKey}, "APP_DATA_KEY"},
		{"the public development badge key is refused", map[string]string{"APP_BADGE_KEY": config.DevBadgeKey}, "APP_BADGE_KEY"},
		{"the default badge verify URL on localhost is refused", map[string]string{"APP_BADGE_VERIFY_URL": ""}, "APP_BADGE_VERIFY_URL"},
		{"a badge verify URL on a loopback address is refused", map[string]string{"APP_BADGE_VERIFY_URL": "http://127.0.0.1:8080/api/v1/badges/verify"}, "APP_BADGE_VERIFY_URL"},
		{"a missing WeChat callback token is refused while content is checked", map[string]string{"APP_WECHAT_CALLBACK_TOKEN": ""}, "APP_WECHAT_CALLBACK_TOKEN"},
		{"a missing public media origin is refused while content is checked", map[string]string{"APP_MEDIA_PUBLIC_URL": ""}, "APP_MEDIA_PUBLIC_URL"},
		{"with every kind of content check off neither is needed", map[string]string{"APP_WECHAT_CALLBACK_TOKEN": "", "APP_MEDIA_PUBLIC_URL": "",
			"APP_CONTENT_REPORT": "off", "APP_CONTENT_DEED": "off", "APP_CONTENT_ANNOUNCEMENT": "off", "APP_CONTENT_TASK": "off",
			"APP_CONTENT_ORG": "off", "APP_CONTENT_FORM": "off", "APP_CONTENT_MEMBER": "off"}, ""},
		{"a complete production configuration is accepted", nil, ""},
		{"Redis Sentinel counts as a real Redis", map[string]string{"APP_REDIS_URL": "", "APP_REDIS_ADDRS": "s1:26379,s2:26379", "APP_REDIS_MASTER_NAME": "mymaster"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := production()
			for k, v := range tt.change {
				vars[k] = v
			}
			cfg, err := config.Load("", config.Vars(vars).Get)
			if tt.setting != "" {
				if err == nil || !strings.Contains(err.Error(), tt.setting) {
					t.Fatalf("Load error = %v, want one naming %s", err, tt.setting)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := []bool{cfg.Production(), cfg.WeChatMock(), cfg.EmbeddedRedis(), cfg.AutoMigrate()}
			want := []bool{true, false, false, false}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("[production mock embedded-redis auto-migrate] (-want +got)\n-%v\n+%v", want, got)
			}
		})
	}
}

func TestRedactedMasksSecretsAndKeepsTheRestReadable(t *testing.T) {
	vars := production()
	vars["APP_REDIS_PASSWORD"] = "redis-field-secret"
	vars["APP_HTTP_ADDR"] = ":9443"
	vars["APP_MEDIA_URL"] = "s3://xf-media?endpoint=cos.ap-shanghai.myqcloud.com&region=ap-shanghai"
	vars["APP_MEDIA_ACCESS_KEY"], vars["APP_MEDIA_SECRET_KEY"] = "AKIDmediaaccess", "media-secret-key-value"
	tests := []struct {
		name string
		vars map[string]string
		// hidden must not appear in the output; shown must.
		hidden, shown []string
	}{
		{
			name:   "production secrets are masked",
			vars:   vars,
			hidden: []string{"0123456789abcdef0123456789abcdef", "badge-key-badge-key", "db-secret", "redis-secret", "redis-field-secret", "media-secret-key-value"},
			shown:  []string{"******", "wx0123456789abcdef", "db:5432/xianfeng", "sslmode=require", "redis:6379", ":9443", "production", "Asia/Shanghai", "AKIDmediaaccess", "xf-media"},
		},
		{
			name:   "a password given as a database URL parameter is masked",
			vars:   map[string]string{"APP_DATABASE_URL": "postgres://db:5432/xianfeng?user=xf&password=query-secret"},
			hidden: []string{"query-secret"},
			shown:  []string{"user=xf", "db:5432"},
		},
		{
			name:   "a MySQL password is masked",
			vars:   map[string]string{"APP_DATABASE_URL": "mysql://root:mysql-secret@db:3306/xianfeng"},
			hidden: []string{"mysql-secret"},
			shown:  []string{"root:", "db:3306/xianfeng"},
		},
		{
			name:  "the defaults print as they are",
			vars:  nil,
			shown: []string{"sqlite:data/xianfeng.db", ":8080", "168h", "mock: true", "auto_migrate: true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load("", config.Vars(tt.vars).Get)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			out := cfg.Redacted()
			for _, s := range tt.hidden {
				if strings.Contains(out, s) {
					t.Errorf("secret %q appears in\n%s", s, out)
				}
			}
			for _, s := range tt.shown {
				if !strings.Contains(out, s) {
					t.Errorf("%q is missing from\n%s", s, out)
				}
			}
		})
	}
	t.Run("redacting leaves the configuration itself untouched", func(t *testing.T) {
		cfg, err := config.Load("", config.Vars(vars).Get)
		if err != nil {
			t.Fatal(err)
		}
		_ = cfg.Redacted()
		if cfg.WeChat.AppSecret != vars["APP_WECHAT_APP_SECRET"] || cfg.Redis.Password != "redis-field-secret" || cfg.Database.URL != vars["APP_DATABASE_URL"] {
			t.Errorf("Redacted changed the configuration: secret=%q password=%q url=%q", cfg.WeChat.AppSecret, cfg.Redis.Password, cfg.Database.URL)
		}
	})
}

// mysqlDSN splits a go-sql-driver DSN user:pass@tcp(host)/db?params.
func mysqlDSN(t *testing.T, dsn string) (auth, host, db string, params url.Values) {
	t.Helper()
	rest := dsn
	if at := strings.LastIndex(dsn, "@tcp("); at >= 0 {
		auth, rest = dsn[:at], dsn[at+1:]
	}
	addr, ok := strings.CutPrefix(rest, "tcp(")
	host, rest, ok2 := strings.Cut(addr, ")/")
	db, q, ok3 := strings.Cut(rest, "?")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("DSN %q is not user:pass@tcp(host)/db?params", dsn)
	}
	params, err := url.ParseQuery(q)
	if err != nil {
		t.Fatalf("DSN %q params: %v", dsn, err)
	}
	return auth, host, db, params
}

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		name, raw, dialect, dsn string
	}{
		{"a relative SQLite path is a file path", "sqlite:data/xianfeng.db", config.DialectSQLite, "data/xianfeng.db"},
		{"an absolute SQLite path keeps its leading slash", "sqlite:///var/lib/xianfeng.db", config.DialectSQLite, "/var/lib/xianfeng.db"},
		{"SQLite can run in memory", "sqlite::memory:", config.DialectSQLite, ":memory:"},
		{"a PostgreSQL URL is passed through", "postgres://xf:pw@db:5432/xianfeng?sslmode=disable", config.DialectPostgres, "postgres://xf:pw@db:5432/xianfeng?sslmode=disable"},
		{"the postgresql scheme is PostgreSQL too", "postgresql://db/xianfeng", config.DialectPostgres, "postgresql://db/xianfeng"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dialect, dsn, err := config.ParseDatabaseURL(tt.raw)
			if err != nil {
				t.Fatalf("ParseDatabaseURL(%q): %v", tt.raw, err)
			}
			if dialect != tt.dialect || dsn != tt.dsn {
				t.Errorf("ParseDatabaseURL(%q) (-want +got)\n-%s %s\n+%s %s", tt.raw, tt.dialect, tt.dsn, dialect, dsn)
			}
		})
	}

	mysqlTests := []struct {
		name, raw        string
		auth, host, db   string
		parseTime, loc   string
		charset, collate string
	}{
		{"a MySQL URL becomes a DSN with UTC times and utf8mb4", "mysql://root:p%40ss@db:3306/xianfeng",
			"root:p@ss", "db:3306", "xianfeng", "true", "UTC", "utf8mb4", "utf8mb4_unicode_ci"},
		{"a MySQL URL without password keeps the user", "mysql://root@127.0.0.1:3306/test",
			"root", "127.0.0.1:3306", "test", "true", "UTC", "utf8mb4", "utf8mb4_unicode_ci"},
		{"parameters given in the URL win over the added ones", "mysql://app:pw@db/xf?loc=Local&parseTime=false",
			"app:pw", "db", "xf", "false", "Local", "utf8mb4", "utf8mb4_unicode_ci"},
	}
	for _, tt := range mysqlTests {
		t.Run(tt.name, func(t *testing.T) {
			dialect, dsn, err := config.ParseDatabaseURL(tt.raw)
			if err != nil || dialect != config.DialectMySQL {
				t.Fatalf("ParseDatabaseURL(%q) = %q, %v; want mysql", tt.raw, dialect, err)
			}
			auth, host, db, params := mysqlDSN(t, dsn)
			want := []string{tt.auth, tt.host, tt.db, tt.parseTime, tt.loc, tt.charset, tt.collate}
			got := []string{auth, host, db, params.Get("parseTime"), params.Get("loc"), params.Get("charset"), params.Get("collation")}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("DSN %q [auth host db parseTime loc charset collation] (-want +got)\n-%q\n+%q", dsn, want, got)
			}
		})
	}

	bad := []struct{ name, raw string }{
		{"an empty URL is refused", ""},
		{"an unknown scheme is refused", "oracle://x"},
		{"a SQLite URL without a path is refused", "sqlite:"},
		{"a MySQL URL without a database is refused", "mysql://root@db:3306"},
		{"a MySQL URL without a host is refused", "mysql:///xianfeng"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if dialect, dsn, err := config.ParseDatabaseURL(tt.raw); err == nil {
				t.Errorf("ParseDatabaseURL(%q) = %q, %q; want an error", tt.raw, dialect, dsn)
			}
		})
	}
}

// TestLocationIsTheConfiguredZoneEvenWithoutLoad: tests and tools build their
// configuration from Default() and never call Load; their calendar days must
// still be the configured zone's, never a silent UTC.
func TestLocationIsTheConfiguredZoneEvenWithoutLoad(t *testing.T) {
	changed := config.Default()
	changed.Timezone = "America/Los_Angeles"
	loaded, err := config.Load("", config.Vars(map[string]string{"APP_TIMEZONE": "Europe/Berlin"}).Get)
	if err != nil {
		t.Fatal(err)
	}
	reloaded := loaded
	reloaded.Timezone = "Asia/Tokyo"
	for _, tt := range []struct {
		name string
		cfg  config.Config
		want string
	}{
		{"Default() without Load is Asia/Shanghai", config.Default(), "Asia/Shanghai"},
		{"a zone set after Default() is that zone", changed, "America/Los_Angeles"},
		{"a loaded zone is that zone", loaded, "Europe/Berlin"},
		{"a zone changed after Load is the new zone", reloaded, "Asia/Tokyo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cfg.Location().String(); got != tt.want {
				t.Errorf("Location() = %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("midnight in Shanghai is 16:00 UTC the day before", func(t *testing.T) {
		at := time.Date(2026, 3, 1, 16, 0, 1, 0, time.UTC)
		if got := at.In(config.Default().Location()).Format(time.DateTime); got != "2026-03-02 00:00:01" {
			t.Errorf("16:00:01 UTC is %s in the default zone, want 2026-03-02 00:00:01", got)
		}
	})
	for _, zone := range []string{"", "Local", "Mars/Olympus"} {
		t.Run("a zone that cannot be loaded ("+zone+") panics, never falls back to UTC", func(t *testing.T) {
			cfg := config.Default()
			cfg.Timezone = zone
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "APP_TIMEZONE") {
					t.Errorf("Location() with timezone %q recovered %v, want a panic naming APP_TIMEZONE", zone, r)
				}
			}()
			t.Errorf("Location() with timezone %q returned %v", zone, cfg.Location())
		})
	}
	for _, zone := range []string{"Local", "Mars/Olympus"} {
		t.Run("Load refuses the zone "+zone, func(t *testing.T) {
			if _, err := config.Load("", config.Vars(map[string]string{"APP_TIMEZONE": zone}).Get); err == nil || !strings.Contains(err.Error(), "APP_TIMEZONE") {
				t.Errorf("Load with APP_TIMEZONE=%s: %v, want an error naming APP_TIMEZONE", zone, err)
			}
		})
	}
}

func TestTheAdminListenerCanBeTurnedOff(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want bool
	}{
		{"off turns the admin listener off", "off", false},
		{"an address of its own keeps it on", "127.0.0.1:9191", true},
		{"any interface on a port of its own keeps it on", ":9091", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Load("", config.Vars(map[string]string{"APP_ADMIN_ADDR": tt.addr}).Get)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.AdminEnabled() != tt.want {
				t.Errorf("AdminEnabled() = %v, want %v", cfg.AdminEnabled(), tt.want)
			}
		})
	}
}

func TestTheWeChatQRCheckFileSplitsIntoNameAndContent(t *testing.T) {
	cfg, err := config.Load("", config.Vars(map[string]string{"APP_WECHAT_QR_VERIFY_FILE": "Ab3xYz_9.txt:0123abcd:ef"}).Get)
	if err != nil {
		t.Fatal(err)
	}
	name, content, ok := cfg.WeChat.QRVerify()
	if !ok || name != "Ab3xYz_9.txt" || content != "0123abcd:ef" {
		t.Errorf("QRVerify() = %q, %q, %v", name, content, ok)
	}
	if _, _, ok := config.Default().WeChat.QRVerify(); ok {
		t.Error("the defaults serve a QR check file")
	}
	if got := config.Default().Badge.MiniProgramPath; got != "pages/verify/verify" {
		t.Errorf("default mini-program path = %q", got)
	}
}

func TestTheMediaStoreURLSaysWhereAndHow(t *testing.T) {
	cfg, err := config.Load("", config.Vars(map[string]string{"APP_MEDIA_URL": "s3://xf-media?endpoint=minio:9000&region=cn-east-1&secure=false",
		"APP_MEDIA_ACCESS_KEY": "a", "APP_MEDIA_SECRET_KEY": "b"}).Get)
	if err != nil {
		t.Fatal(err)
	}
	kind, bucket, opts, err := cfg.MediaStore()
	if err != nil || kind != "s3" || bucket != "xf-media" || opts.Get("endpoint") != "minio:9000" || opts.Get("region") != "cn-east-1" || opts.Get("secure") != "false" {
		t.Errorf("MediaStore() = %q %q %v %v", kind, bucket, opts, err)
	}
	cfg.Media.URL = "/srv/xf/media"
	if kind, dir, _, err := cfg.MediaStore(); err != nil || kind != "file" || dir != "/srv/xf/media" {
		t.Errorf("a plain path: %q %q %v", kind, dir, err)
	}
}
