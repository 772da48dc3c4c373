// Package config holds Xianfeng's typed settings and loads them in three layers:
// built-in defaults, then an optional YAML file, then APP_* environment variables.
// A bad value stops start-up with an error that names the setting.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // every zone loads, even on a machine without zoneinfo

	"gopkg.in/yaml.v3"
)

// Environments the server can run in.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
)

// Config is every setting of the server. The yaml tag names the key in the
// configuration file; the env tag names the environment variable that overrides it.
type Config struct {
	// Env is development (embedded services and the WeChat mock allowed) or production.
	Env string `yaml:"env" env:"APP_ENV"`
	// Timezone decides what a calendar day is for check-ins and statistics.
	Timezone string `yaml:"timezone" env:"APP_TIMEZONE"`

	HTTP     HTTP     `yaml:"http"`
	Admin    Admin    `yaml:"admin"`
	Database Database `yaml:"database"`
	Redis    Redis    `yaml:"redis"`
	WeChat   WeChat   `yaml:"wechat"`
	Session  Session  `yaml:"session"`
	Console  Console  `yaml:"console"`
	Queue    Queue    `yaml:"queue"`
	Log      Log      `yaml:"log"`
	Org      Org      `yaml:"org"`
	Checkin  Checkin  `yaml:"checkin"`
	Notify   Notify   `yaml:"notify"`
	Report   Report   `yaml:"report"`
	Badge    Badge    `yaml:"badge"`
	Data     Data     `yaml:"data"`
	Media    Media    `yaml:"media"`
	Content  Content  `yaml:"content"`

	location *time.Location
}

// HTTP configures the API listener.
type HTTP struct {
	Addr            string        `yaml:"addr" env:"APP_HTTP_ADDR"`
	ReadTimeout     time.Duration `yaml:"read_timeout" env:"APP_HTTP_READ_TIMEOUT"`
	WriteTimeout    time.Duration `yaml:"write_timeout" env:"APP_HTTP_WRITE_TIMEOUT"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"APP_HTTP_SHUTDOWN_TIMEOUT"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes" env:"APP_HTTP_MAX_BODY_BYTES"`
	// TrustedProxies lists the addresses or CIDRs of load balancers whose
	// X-Forwarded-For is believed when deciding a client's IP.
	TrustedProxies []string `yaml:"trusted_proxies" env:"APP_HTTP_TRUSTED_PROXIES"`
}

// Admin configures the operators' listener: /metrics, pprof under
// /debug/pprof/, /healthz and /readyz, apart from the API port so that none
// of it is open to the public. A process that runs only workers answers its
// health checks there too.
type Admin struct {
	// Addr is host:port of the admin listener, or "off". Several processes
	// on one machine each need their own port.
	Addr string `yaml:"addr" env:"APP_ADMIN_ADDR"`
	// MutexProfileFraction samples one in this many contended mutex events
	// for /debug/pprof/mutex; 0 records none.
	MutexProfileFraction int `yaml:"mutex_profile_fraction" env:"APP_ADMIN_MUTEX_PROFILE_FRACTION"`
	// BlockProfileRate samples, for /debug/pprof/block, about one blocking
	// event per this much time spent blocked (longer events always); 0 records none.
	BlockProfileRate time.Duration `yaml:"block_profile_rate" env:"APP_ADMIN_BLOCK_PROFILE_RATE"`
}

// AdminOff is the Admin.Addr that turns the admin listener off.
const AdminOff = "off"

// Database configures the relational store.
type Database struct {
	// URL is sqlite:<path>, postgres://… or mysql://user:pass@host:port/db.
	URL          string        `yaml:"url" env:"APP_DATABASE_URL"`
	MaxOpenConns int           `yaml:"max_open_conns" env:"APP_DATABASE_MAX_OPEN_CONNS"`
	ConnMaxLife  time.Duration `yaml:"conn_max_lifetime" env:"APP_DATABASE_CONN_MAX_LIFETIME"`
	// AutoMigrate applies pending schema migrations at start. Defaults to true in
	// development and false in production, where `server migrate` does it.
	AutoMigrate *bool `yaml:"auto_migrate" env:"APP_DATABASE_AUTO_MIGRATE"`
}

// Redis configures the one Redis client shared by sessions, queues and caches.
type Redis struct {
	// URL is redis://[user:pass@]host:port/db or rediss://…; empty means the
	// embedded in-process Redis in development, and is refused in production.
	URL string `yaml:"url" env:"APP_REDIS_URL"`
	// Addrs, with MasterName for Sentinel, selects Sentinel or Cluster mode
	// instead of URL: several addresses without a master name mean Cluster.
	Addrs      []string `yaml:"addrs" env:"APP_REDIS_ADDRS"`
	MasterName string   `yaml:"master_name" env:"APP_REDIS_MASTER_NAME"`
	Username   string   `yaml:"username" env:"APP_REDIS_USERNAME"`
	Password   string   `yaml:"password" env:"APP_REDIS_PASSWORD"`
	DB         int      `yaml:"db" env:"APP_REDIS_DB"`
	// KeyPrefix starts every key Xianfeng writes, so that several deployments
	// (or test runs) can share one Redis.
	KeyPrefix string        `yaml:"key_prefix" env:"APP_REDIS_KEY_PREFIX"`
	Timeout   time.Duration `yaml:"timeout" env:"APP_REDIS_TIMEOUT"`
	PoolSize  int           `yaml:"pool_size" env:"APP_REDIS_POOL_SIZE"`
}

// WeChat configures the mini-program's WeChat credentials.
type WeChat struct {
	AppID     string `yaml:"app_id" env:"APP_WECHAT_APP_ID"`
	AppSecret string `yaml:"app_secret" env:"APP_WECHAT_APP_SECRET"`
	// Mock answers logins and phone bindings locally and records subscribe
	// messages instead of sending them. Defaults to true in development;
	// refused in production.
	Mock    *bool         `yaml:"mock" env:"APP_WECHAT_MOCK"`
	Timeout time.Duration `yaml:"timeout" env:"APP_WECHAT_TIMEOUT"`
	// QRVerifyFile is the check file WeChat asks the site to serve before it
	// accepts a "scan an ordinary link QR code" rule, as name.txt:content; it
	// is served at /name.txt. Empty serves none.
	QRVerifyFile string `yaml:"qr_verify_file" env:"APP_WECHAT_QR_VERIFY_FILE"`
	// CallbackToken is the message push token set in the WeChat console:
	// POST /api/v1/wechat/callback refuses pushes not signed with it
	// (secret, masked when printed).
	CallbackToken string `yaml:"callback_token" env:"APP_WECHAT_CALLBACK_TOKEN"`
}

// qrVerifyName is the shape of the check file's name WeChat hands out.
var qrVerifyName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}\.txt$`)

// QRVerify splits QRVerifyFile into the file's name and content; ok is false
// when no file is configured.
func (w WeChat) QRVerify() (name, content string, ok bool) {
	if w.QRVerifyFile == "" {
		return "", "", false
	}
	name, content, _ = strings.Cut(w.QRVerifyFile, ":")
	return name, content, true
}

// Session configures login sessions.
type Session struct {
	// TTL is the sliding lifetime of a session: each use extends it by TTL.
	TTL time.Duration `yaml:"ttl" env:"APP_SESSION_TTL"`
}

// Console configures the web console at /console/ (secretaries log in by
// scanning a QR code with the mini-program).
type Console struct {
	// IdleTimeout ends a console session unused for this long; each use
	// extends it (at most once a minute).
	IdleTimeout time.Duration `yaml:"idle_timeout" env:"APP_CONSOLE_IDLE_TIMEOUT"`
	// TicketsPerMinute caps the login tickets (QR codes) one client address
	// may ask for per minute.
	TicketsPerMinute int `yaml:"tickets_per_minute" env:"APP_CONSOLE_TICKETS_PER_MINUTE"`
}

// Queue configures the asynq workers.
type Queue struct {
	Concurrency int `yaml:"concurrency" env:"APP_QUEUE_CONCURRENCY"`
	// Namespace starts every asynq queue name, so that deployments sharing a
	// Redis do not take each other's jobs.
	Namespace string `yaml:"namespace" env:"APP_QUEUE_NAMESPACE"`
}

// Org configures organisations and sign-up.
type Org struct {
	// InviteTTL is how long an org's invite code works after it is made.
	InviteTTL time.Duration `yaml:"invite_ttl" env:"APP_ORG_INVITE_TTL"`
	// SignupPerMinute caps sign-up attempts per user, against invite-code guessing.
	SignupPerMinute int `yaml:"signup_per_minute" env:"APP_ORG_SIGNUP_PER_MINUTE"`
}

// Data configures the encryption at rest of personal information (ID and
// phone numbers in form entries).
type Data struct {
	// Key encrypts new ciphertexts (AES-256-GCM with a key derived from
	// it): at least 32 characters, the same on every instance. Required in
	// production.
	Key string `yaml:"key" env:"APP_DATA_KEY"`
	// OldKeys are earlier keys, still read after a rotation until
	// `server rekey` has re-encrypted everything with Key.
	OldKeys []string `yaml:"old_keys" env:"APP_DATA_OLD_KEYS"`
}

// DevDataKey encrypts personal information in development when no key is
// configured. It is public, so production refuses it.
const DevDataKey = "xianfeng-development-data-key-not-secret"

// DataKey is the key that encrypts personal information: the configured
// one, or the development key.
func (c Config) DataKey() string {
	if c.Data.Key == "" {
		return DevDataKey
	}
	return c.Data.Key
}

// Badge configures the verifiable identity badge (亮身份).
type Badge struct {
	// Key signs badge verification tokens (HMAC-SHA256); at least 32
	// characters, the same on every instance. Required in production.
	Key string `yaml:"key" env:"APP_BADGE_KEY"`
	// TokenTTL is how long a badge's verification token (and its QR code) is
	// good for, so a screenshot goes stale.
	TokenTTL time.Duration `yaml:"token_ttl" env:"APP_BADGE_TOKEN_TTL"`
	// VerifyURL is the link a badge QR code opens; the token is appended as ?token=.
	VerifyURL string `yaml:"verify_url" env:"APP_BADGE_VERIFY_URL"`
	// VerifyPerMinute caps public verifications per client IP.
	VerifyPerMinute int `yaml:"verify_per_minute" env:"APP_BADGE_VERIFY_PER_MINUTE"`
	// MiniProgramPath is the mini-program page that WeChat opens when a badge
	// QR code is scanned inside WeChat (the "scan an ordinary link QR code"
	// rule, whose prefix is VerifyURL); the page gets the link as its q option.
	MiniProgramPath string `yaml:"miniprogram_path" env:"APP_BADGE_MINIPROGRAM_PATH"`
}

// Content configures WeChat's content security checks of what members
// write for others, per kind of text: queue (accept a text WeChat could
// not check and check it later), refuse (answer 503 until WeChat checks)
// or off. Risky texts are refused in every mode but off.
type Content struct {
	Report       string `yaml:"report" env:"APP_CONTENT_REPORT"`
	Deed         string `yaml:"deed" env:"APP_CONTENT_DEED"`
	Announcement string `yaml:"announcement" env:"APP_CONTENT_ANNOUNCEMENT"`
	Task         string `yaml:"task" env:"APP_CONTENT_TASK"`
	Org          string `yaml:"org" env:"APP_CONTENT_ORG"`
	Form         string `yaml:"form" env:"APP_CONTENT_FORM"`
	Member       string `yaml:"member" env:"APP_CONTENT_MEMBER"`
	// Recheck is how long a queued text waits before it is checked again
	// (doubling up to 6 h), and how often the sweep runs.
	Recheck time.Duration `yaml:"recheck" env:"APP_CONTENT_RECHECK"`
}

// ContentModes returns the mode of each kind of text.
func (c Config) ContentModes() map[string]string {
	m := c.Content
	return map[string]string{"report": m.Report, "deed": m.Deed, "announcement": m.Announcement, "task": m.Task,
		"org": m.Org, "form": m.Form, "member": m.Member}
}

// ContentChecks reports whether any kind of text is checked with WeChat's
// content security (a mode other than off): the server then also checks
// photos, and needs the callback token and the public media origin.
func (c Config) ContentChecks() bool {
	for _, mode := range c.ContentModes() {
		if mode != "off" {
			return true
		}
	}
	return false
}

// Media configures uploaded photos: where they are kept, how large they
// may be, and how long their signed URLs work.
type Media struct {
	// URL names the store: file:<directory> (local disk, for one API
	// machine) or s3://bucket?endpoint=host:port&region=…&secure=false for
	// an S3-compatible store (MinIO, Tencent COS, Aliyun OSS), which a
	// deployment of several API machines needs.
	URL string `yaml:"url" env:"APP_MEDIA_URL"`
	// AccessKey and SecretKey are the S3 store's credentials (secret,
	// masked when printed).
	AccessKey string `yaml:"access_key" env:"APP_MEDIA_ACCESS_KEY"`
	SecretKey string `yaml:"secret_key" env:"APP_MEDIA_SECRET_KEY"`
	// PublicURL, when set, is the public origin put before the signed media
	// URLs in answers (https://xf.example.cn); empty gives paths.
	PublicURL string `yaml:"public_url" env:"APP_MEDIA_PUBLIC_URL"`
	// MaxBytes bounds an uploaded file (413 beyond).
	MaxBytes int64 `yaml:"max_bytes" env:"APP_MEDIA_MAX_BYTES"`
	// MaxPixels bounds an image's width × height, read from its header
	// before it is decoded: a small PNG can decode to gigabytes.
	MaxPixels int64 `yaml:"max_pixels" env:"APP_MEDIA_MAX_PIXELS"`
	// ReadTimeout is how long an upload may take to arrive.
	ReadTimeout time.Duration `yaml:"read_timeout" env:"APP_MEDIA_READ_TIMEOUT"`
	// URLTTL is how long a signed media URL works.
	URLTTL time.Duration `yaml:"url_ttl" env:"APP_MEDIA_URL_TTL"`
	// UploadsPerMinute caps one user's uploads per minute.
	UploadsPerMinute int `yaml:"uploads_per_minute" env:"APP_MEDIA_UPLOADS_PER_MINUTE"`
	// Decoders is how many images one process decodes at once.
	Decoders int `yaml:"decoders" env:"APP_MEDIA_DECODERS"`
}

// MediaStore parses Media.URL: its kind ("file" or "s3"), its directory or
// bucket, and the options of an s3 URL (endpoint, region, secure, lookup).
func (c Config) MediaStore() (kind, target string, opts url.Values, err error) {
	raw := c.Media.URL
	if rest, ok := strings.CutPrefix(raw, "file:"); ok || !strings.Contains(raw, "://") {
		if !ok {
			rest = raw
		}
		if strings.TrimSpace(rest) == "" {
			return "", "", nil, errors.New("needs a directory, e.g. file:data/media")
		}
		return "file", rest, url.Values{}, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" {
		return "", "", nil, errors.New("must be file:<directory> or s3://bucket?endpoint=host:port&region=…")
	}
	q := u.Query()
	switch {
	case u.Host == "":
		return "", "", nil, errors.New("s3:// needs a bucket name")
	case q.Get("endpoint") == "":
		return "", "", nil, errors.New("s3:// needs ?endpoint=host:port")
	case q.Get("secure") != "" && q.Get("secure") != "true" && q.Get("secure") != "false":
		return "", "", nil, errors.New("secure must be true or false")
	case q.Get("lookup") != "" && q.Get("lookup") != "path" && q.Get("lookup") != "dns":
		return "", "", nil, errors.New("lookup must be path or dns")
	}
	return "s3", u.Host, q, nil
}

// Checkin configures the daily duty check-in.
type Checkin struct {
	// OfflineWindow is how old a check-in queued offline on a phone may be
	// (its client_time) and still count.
	OfflineWindow time.Duration `yaml:"offline_window" env:"APP_CHECKIN_OFFLINE_WINDOW"`
}

// Report configures reports upward (上报).
type Report struct {
	// SLAUrgent and SLANormal are how long the secretaries at one level have
	// to acknowledge a report before it escalates to the level above.
	SLAUrgent time.Duration `yaml:"sla_urgent" env:"APP_REPORT_SLA_URGENT"`
	SLANormal time.Duration `yaml:"sla_normal" env:"APP_REPORT_SLA_NORMAL"`
	// PerMinute caps the reports one member may file per minute, so a
	// member cannot flood their secretaries.
	PerMinute int `yaml:"per_minute" env:"APP_REPORT_PER_MINUTE"`
}

// Notify configures push notifications through WeChat subscribe messages.
type Notify struct {
	// RatePerMinute caps subscribe messages sent per minute by all instances
	// together. WeChat documents no per-minute limit for
	// subscribeMessage.send, only a daily call quota (answered with 45009;
	// WeChat's community answers give 10 million a day, 30 million with
	// payments). The default, 60,000 (1,000/s), lets an emergency reach
	// 10,000 members in about 10 s and still needs hours of a runaway loop
	// to use up that quota; each message also spends a consent of its own.
	RatePerMinute int `yaml:"rate_per_minute" env:"APP_NOTIFY_RATE_PER_MINUTE"`
	// MaxConsent bounds how many unused consents a user can bank per template.
	MaxConsent int `yaml:"max_consent" env:"APP_NOTIFY_MAX_CONSENT"`
	// ReportCoalesce is how long after a report_received push to a
	// secretary the next reports from the same reporter reach that
	// secretary's inbox only, so a flood of reports cannot use up their
	// consents; 0 pushes every one. Escalations are never held back.
	ReportCoalesce time.Duration `yaml:"report_coalesce" env:"APP_NOTIFY_REPORT_COALESCE"`
	// MiniprogramState is the mini-program version a message opens:
	// developer, trial or formal.
	MiniprogramState string `yaml:"miniprogram_state" env:"APP_NOTIFY_MINIPROGRAM_STATE"`
	// Templates maps each notification kind to its subscribe-message
	// template. A kind without a template id is delivered to the inbox only.
	// The id of a kind can also be set with APP_NOTIFY_TEMPLATE_<KIND>, e.g.
	// APP_NOTIFY_TEMPLATE_TASK_ASSIGNED.
	Templates map[string]Template `yaml:"templates"`
}

// Template is a WeChat subscribe-message template for one notification
// kind: its id, the mini-program page it opens, and how its data fields are
// filled from the notification ({{title}}, {{body}}, {{due}}, {{org}}, …).
type Template struct {
	ID     string            `yaml:"id"`
	Page   string            `yaml:"page"`
	Fields map[string]string `yaml:"fields"`
}

// devTemplatePrefix marks the placeholder template ids of development.
const devTemplatePrefix = "dev-"

// NotifyTemplates returns the template of each kind. With the WeChat mock,
// kinds without a template id get a placeholder one ("dev-task-assigned"),
// so the whole push flow can be tried without a real AppID.
func (c Config) NotifyTemplates() map[string]Template {
	out := make(map[string]Template, len(c.Notify.Templates))
	for kind, t := range c.Notify.Templates {
		if t.ID == "" && c.WeChatMock() {
			t.ID = devTemplatePrefix + strings.ReplaceAll(kind, "_", "-")
		}
		out[kind] = t
	}
	return out
}

func defaultTemplates() map[string]Template {
	task := map[string]string{"thing1": "{{title}}", "thing2": "{{org}}", "time3": "{{due}}", "thing4": "{{body}}"}
	return map[string]Template{
		"task_assigned":    {ID: "", Page: "pages/task/detail?id={{ref_id}}", Fields: task},
		"task_reminder":    {ID: "", Page: "pages/task/detail?id={{ref_id}}", Fields: task},
		"task_overdue":     {ID: "", Page: "pages/task/detail?id={{ref_id}}", Fields: task},
		"task_cancelled":   {ID: "", Page: "pages/task/detail?id={{ref_id}}", Fields: task},
		"member_approved":  {ID: "", Page: "pages/me/badge", Fields: map[string]string{"thing1": "{{org}}", "phrase2": "审核通过", "thing3": "{{body}}"}},
		"announcement":     {ID: "", Page: "pages/announcement/detail?id={{ref_id}}", Fields: map[string]string{"thing1": "{{title}}", "thing2": "{{org}}", "time3": "{{time}}"}},
		"report_received":  {ID: "", Page: "pages/report/detail?id={{ref_id}}", Fields: map[string]string{"thing1": "{{title}}", "thing2": "{{org}}", "time3": "{{time}}"}},
		"report_escalated": {ID: "", Page: "pages/report/detail?id={{ref_id}}", Fields: map[string]string{"thing1": "{{title}}", "thing2": "{{org}}", "time3": "{{time}}"}},
		"deed_update":      {ID: "", Page: "pages/deed/detail?id={{ref_id}}", Fields: map[string]string{"thing1": "{{title}}", "phrase2": "{{status}}", "thing3": "{{org}}"}},
		"form_published":   {ID: "", Page: "pages/form/detail?id={{ref_id}}", Fields: task},
		"form_reminder":    {ID: "", Page: "pages/form/detail?id={{ref_id}}", Fields: task},
		"content_hidden":   {ID: "", Page: "pages/me/inbox", Fields: map[string]string{"thing1": "{{title}}", "thing2": "{{body}}"}},
	}
}

// DevBadgeKey signs badges in development when no key is configured. It is
// public, so production refuses it.
const DevBadgeKey = "xianfeng-development-badge-key-not-secret"

// Log configures structured logging.
type Log struct {
	Level  string `yaml:"level" env:"APP_LOG_LEVEL"`
	Format string `yaml:"format" env:"APP_LOG_FORMAT"`
}

// Default returns the settings used when nothing else is given: a laptop run
// with SQLite under ./data, embedded Redis and the WeChat mock.
func Default() Config {
	return Config{
		Env:      EnvDevelopment,
		Timezone: "Asia/Shanghai",
		HTTP: HTTP{
			Addr:            ":8080",
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			MaxBodyBytes:    1 << 20,
		},
		Admin: Admin{
			Addr:                 "127.0.0.1:9090",
			MutexProfileFraction: 100,
			BlockProfileRate:     100 * time.Microsecond,
		},
		Database: Database{
			URL:          "sqlite:data/xianfeng.db",
			MaxOpenConns: 16,
			ConnMaxLife:  30 * time.Minute,
		},
		Redis: Redis{
			KeyPrefix: "xf:",
			Timeout:   time.Second,
			PoolSize:  64,
		},
		WeChat:  WeChat{Timeout: 5 * time.Second},
		Session: Session{TTL: 7 * 24 * time.Hour},
		Console: Console{IdleTimeout: 30 * time.Minute, TicketsPerMinute: 10},
		Queue:   Queue{Concurrency: 10, Namespace: "xf"},
		Log:     Log{Level: "info", Format: "json"},
		Org:     Org{InviteTTL: 30 * 24 * time.Hour, SignupPerMinute: 10},
		Checkin: Checkin{OfflineWindow: 12 * time.Hour},
		Report:  Report{SLAUrgent: 10 * time.Minute, SLANormal: 2 * time.Hour, PerMinute: 10},
		Notify:  Notify{RatePerMinute: 60000, MaxConsent: 20, ReportCoalesce: 10 * time.Minute, MiniprogramState: "formal", Templates: defaultTemplates()},
		Media: Media{URL: "file:data/media", MaxBytes: 10 << 20, MaxPixels: 40_000_000, ReadTimeout: 2 * time.Minute,
			URLTTL: 10 * time.Minute, UploadsPerMinute: 30, Decoders: 2},
		Content: Content{Report: "queue", Deed: "queue", Announcement: "queue", Task: "queue", Org: "queue", Form: "queue",
			Member: "queue", Recheck: 5 * time.Minute},
		Badge: Badge{
			TokenTTL:        10 * time.Minute,
			VerifyURL:       "http://localhost:8080/api/v1/badges/verify",
			VerifyPerMinute: 30,
			MiniProgramPath: "pages/verify/verify",
		},
	}
}

// Vars is a set of settings by name, for Load without the process
// environment: config.Load("", config.Vars{"APP_ENV": "development"}.Get).
type Vars map[string]string

// Get returns the setting of that name, "" when it is not set.
func (v Vars) Get(name string) string { return v[name] }

// Load builds the configuration from defaults, the YAML file at path (skipped
// when path is empty) and the environment as read by getenv. It validates the
// result, so a returned Config is ready to use.
func Load(path string, getenv func(string) string) (Config, error) {
	cfg := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&cfg).Elem(), getenv); err != nil {
		return Config{}, err
	}
	// Every kind has a default template (CheckNotifyKinds holds the list to
	// the notification kinds), so this reaches APP_NOTIFY_TEMPLATE_<KIND>
	// of each.
	for kind := range cfg.Notify.Templates {
		if id := strings.TrimSpace(getenv("APP_NOTIFY_TEMPLATE_" + strings.ToUpper(kind))); id != "" {
			t := cfg.Notify.Templates[kind]
			t.ID = id
			cfg.Notify.Templates[kind] = t
		}
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Production reports whether the server runs in production mode.
func (c Config) Production() bool { return c.Env == EnvProduction }

// Location is the time zone that decides calendar days: the zone that
// Timezone names, whether or not the configuration went through Load (tests
// and tools start from Default()). A zone that cannot be loaded is a
// programming error here, since Load refuses it: Location panics rather
// than fall back to UTC, which would move every day boundary by hours.
func (c Config) Location() *time.Location {
	if c.location != nil && c.location.String() == c.Timezone {
		return c.location
	}
	loc, err := loadZone(c.Timezone)
	if err != nil {
		panic("config: APP_TIMEZONE (timezone): " + err.Error())
	}
	return loc
}

// loadZone loads a named zone. The empty name and "Local" are refused:
// time.LoadLocation takes them as UTC and as the machine's zone, so days
// would depend on where the server happens to run.
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("name a zone such as Asia/Shanghai, got %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// AdminEnabled reports whether the admin listener runs.
func (c Config) AdminEnabled() bool { return c.Admin.Addr != AdminOff }

// WeChatMock reports whether the WeChat mock answers instead of WeChat.
func (c Config) WeChatMock() bool {
	if c.WeChat.Mock != nil {
		return *c.WeChat.Mock
	}
	return !c.Production()
}

// AutoMigrate reports whether migrations run when the server starts.
func (c Config) AutoMigrate() bool {
	if c.Database.AutoMigrate != nil {
		return *c.Database.AutoMigrate
	}
	return !c.Production()
}

// BadgeKey is the key that signs badge tokens: the configured one, or the
// public development key.
func (c Config) BadgeKey() string {
	if c.Badge.Key == "" {
		return DevBadgeKey
	}
	return c.Badge.Key
}

// EmbeddedRedis reports whether the server should start an in-process Redis.
func (c Config) EmbeddedRedis() bool {
	return c.Redis.URL == "" && len(c.Redis.Addrs) == 0
}

func (c *Config) validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
	}
	switch c.Env {
	case EnvDevelopment, EnvProduction:
	default:
		bad("APP_ENV (env)", "must be %q or %q, got %q", EnvDevelopment, EnvProduction, c.Env)
	}
	loc, err := loadZone(c.Timezone)
	if err != nil {
		bad("APP_TIMEZONE (timezone)", "%v", err)
	} else {
		c.location = loc
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("APP_HTTP_ADDR (http.addr)", "must be host:port or :port, got %q", c.HTTP.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("APP_HTTP_ADDR (http.addr)", "port must be 0-65535, got %q", port)
	}
	if c.AdminEnabled() {
		if _, port, err := net.SplitHostPort(c.Admin.Addr); err != nil {
			bad("APP_ADMIN_ADDR (admin.addr)", "must be host:port, :port or %q, got %q", AdminOff, c.Admin.Addr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("APP_ADMIN_ADDR (admin.addr)", "port must be 0-65535, got %q", port)
		} else if _, apiPort, err := net.SplitHostPort(c.HTTP.Addr); err == nil && port == apiPort && port != "0" {
			bad("APP_ADMIN_ADDR (admin.addr)", "must not use the API's port %s (APP_HTTP_ADDR)", port)
		}
	}
	if c.Admin.MutexProfileFraction < 0 {
		bad("APP_ADMIN_MUTEX_PROFILE_FRACTION (admin.mutex_profile_fraction)", "must be 0 (off) or more, got %d", c.Admin.MutexProfileFraction)
	}
	if c.Admin.BlockProfileRate < 0 {
		bad("APP_ADMIN_BLOCK_PROFILE_RATE (admin.block_profile_rate)", "must be 0 (off) or a positive duration such as 100us, got %s", c.Admin.BlockProfileRate)
	}
	positive := func(setting string, d time.Duration) {
		if d <= 0 {
			bad(setting, "must be a positive duration such as 5s, got %s", d)
		}
	}
	atLeast := func(setting string, n, min int64) {
		if n < min {
			bad(setting, "must be at least %d, got %d", min, n)
		}
	}
	positive("APP_HTTP_READ_TIMEOUT (http.read_timeout)", c.HTTP.ReadTimeout)
	positive("APP_HTTP_WRITE_TIMEOUT (http.write_timeout)", c.HTTP.WriteTimeout)
	positive("APP_HTTP_SHUTDOWN_TIMEOUT (http.shutdown_timeout)", c.HTTP.ShutdownTimeout)
	positive("APP_REDIS_TIMEOUT (redis.timeout)", c.Redis.Timeout)
	positive("APP_WECHAT_TIMEOUT (wechat.timeout)", c.WeChat.Timeout)
	positive("APP_DATABASE_CONN_MAX_LIFETIME (database.conn_max_lifetime)", c.Database.ConnMaxLife)
	if c.Session.TTL < time.Minute {
		bad("APP_SESSION_TTL (session.ttl)", "must be at least 1m, got %s", c.Session.TTL)
	}
	if c.Console.IdleTimeout < time.Minute {
		bad("APP_CONSOLE_IDLE_TIMEOUT (console.idle_timeout)", "must be at least 1m, got %s", c.Console.IdleTimeout)
	}
	atLeast("APP_CONSOLE_TICKETS_PER_MINUTE (console.tickets_per_minute)", int64(c.Console.TicketsPerMinute), 1)
	atLeast("APP_HTTP_MAX_BODY_BYTES (http.max_body_bytes)", c.HTTP.MaxBodyBytes, 1024)
	atLeast("APP_DATABASE_MAX_OPEN_CONNS (database.max_open_conns)", int64(c.Database.MaxOpenConns), 1)
	atLeast("APP_REDIS_POOL_SIZE (redis.pool_size)", int64(c.Redis.PoolSize), 1)
	atLeast("APP_QUEUE_CONCURRENCY (queue.concurrency)", int64(c.Queue.Concurrency), 1)
	if c.Queue.Namespace == "" {
		bad("APP_QUEUE_NAMESPACE (queue.namespace)", "must not be empty")
	}
	if _, _, err := ParseDatabaseURL(c.Database.URL); err != nil {
		bad("APP_DATABASE_URL (database.url)", "%v", err)
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			bad("APP_REDIS_URL (redis.url)", "must be redis://host:port/db or rediss://…")
		}
		if len(c.Redis.Addrs) > 0 {
			bad("APP_REDIS_ADDRS (redis.addrs)", "give either redis.url or redis.addrs, not both")
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("APP_LOG_LEVEL (log.level)", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("APP_LOG_FORMAT (log.format)", "must be json or text, got %q", c.Log.Format)
	}
	positive("APP_ORG_INVITE_TTL (org.invite_ttl)", c.Org.InviteTTL)
	positive("APP_BADGE_TOKEN_TTL (badge.token_ttl)", c.Badge.TokenTTL)
	positive("APP_CHECKIN_OFFLINE_WINDOW (checkin.offline_window)", c.Checkin.OfflineWindow)
	if c.Report.SLAUrgent < 10*time.Second {
		bad("APP_REPORT_SLA_URGENT (report.sla_urgent)", "must be at least 10s, got %s", c.Report.SLAUrgent)
	}
	if c.Report.SLANormal < 10*time.Second {
		bad("APP_REPORT_SLA_NORMAL (report.sla_normal)", "must be at least 10s, got %s", c.Report.SLANormal)
	}
	atLeast("APP_REPORT_PER_MINUTE (report.per_minute)", int64(c.Report.PerMinute), 1)
	atLeast("APP_ORG_SIGNUP_PER_MINUTE (org.signup_per_minute)", int64(c.Org.SignupPerMinute), 1)
	atLeast("APP_BADGE_VERIFY_PER_MINUTE (badge.verify_per_minute)", int64(c.Badge.VerifyPerMinute), 1)
	if u, err := url.Parse(c.Badge.VerifyURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("APP_BADGE_VERIFY_URL (badge.verify_url)", "must be an http(s) URL, got %q", c.Badge.VerifyURL)
	}
	if !miniProgramPath.MatchString(c.Badge.MiniProgramPath) {
		bad("APP_BADGE_MINIPROGRAM_PATH (badge.miniprogram_path)", "must be a mini-program page path such as pages/verify/verify (no leading /), got %q", c.Badge.MiniProgramPath)
	}
	if name, content, ok := c.WeChat.QRVerify(); ok && (!qrVerifyName.MatchString(name) || !printableASCII(content)) {
		bad("APP_WECHAT_QR_VERIFY_FILE (wechat.qr_verify_file)", "must be name.txt:content as WeChat gives them (letters, digits, _ or - then .txt; content of 1-256 printable ASCII characters)")
	}
	if c.Badge.Key != "" && len(c.Badge.Key) < 32 {
		bad("APP_BADGE_KEY (badge.key)", "must be at least 32 characters")
	}
	atLeast("APP_NOTIFY_RATE_PER_MINUTE (notify.rate_per_minute)", int64(c.Notify.RatePerMinute), 1)
	if c.Notify.MaxConsent < 1 || c.Notify.MaxConsent > 1000 {
		bad("APP_NOTIFY_MAX_CONSENT (notify.max_consent)", "must be 1-1000, got %d", c.Notify.MaxConsent)
	}
	if c.Notify.ReportCoalesce < 0 {
		bad("APP_NOTIFY_REPORT_COALESCE (notify.report_coalesce)", "must not be negative (0 pushes every report), got %s", c.Notify.ReportCoalesce)
	}
	switch c.Notify.MiniprogramState {
	case "developer", "trial", "formal":
	default:
		bad("APP_NOTIFY_MINIPROGRAM_STATE (notify.miniprogram_state)", "must be developer, trial or formal, got %q", c.Notify.MiniprogramState)
	}
	for kind, t := range c.Notify.Templates {
		if c.Production() && strings.HasPrefix(t.ID, devTemplatePrefix) {
			bad("APP_NOTIFY_TEMPLATE_"+strings.ToUpper(kind)+" (notify.templates."+kind+".id)", "is a development placeholder; set the real template id, or empty for inbox only")
		}
	}
	if kind, _, _, err := c.MediaStore(); err != nil {
		bad("APP_MEDIA_URL (media.url)", "%v", err)
	} else if kind == "s3" && (c.Media.AccessKey == "" || c.Media.SecretKey == "") {
		bad("APP_MEDIA_ACCESS_KEY (media.access_key)", "an s3:// store needs APP_MEDIA_ACCESS_KEY and APP_MEDIA_SECRET_KEY")
	}
	if c.Media.PublicURL != "" {
		if u, err := url.Parse(c.Media.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("APP_MEDIA_PUBLIC_URL (media.public_url)", "must be an origin such as https://xf.example.cn, got %q", c.Media.PublicURL)
		}
	}
	atLeast("APP_MEDIA_MAX_BYTES (media.max_bytes)", c.Media.MaxBytes, 1024)
	for kind, mode := range c.ContentModes() {
		if mode != "queue" && mode != "refuse" && mode != "off" {
			bad("APP_CONTENT_"+strings.ToUpper(kind)+" (content."+kind+")", "must be queue, refuse or off, got %q", mode)
		}
	}
	if c.Content.Recheck < time.Minute {
		bad("APP_CONTENT_RECHECK (content.recheck)", "must be at least 1m, got %s", c.Content.Recheck)
	}
	atLeast("APP_MEDIA_MAX_PIXELS (media.max_pixels)", c.Media.MaxPixels, 1)
	if c.Media.ReadTimeout < c.HTTP.ReadTimeout {
		bad("APP_MEDIA_READ_TIMEOUT (media.read_timeout)", "must be at least APP_HTTP_READ_TIMEOUT (%s), got %s", c.HTTP.ReadTimeout, c.Media.ReadTimeout)
	}
	if c.Media.URLTTL < time.Minute || c.Media.URLTTL > 24*time.Hour {
		bad("APP_MEDIA_URL_TTL (media.url_ttl)", "must be 1m to 24h, got %s", c.Media.URLTTL)
	}
	atLeast("APP_MEDIA_UPLOADS_PER_MINUTE (media.uploads_per_minute)", int64(c.Media.UploadsPerMinute), 1)
	if c.Media.Decoders < 1 || c.Media.Decoders > 64 {
		bad("APP_MEDIA_DECODERS (media.decoders)", "must be 1-64, got %d", c.Media.Decoders)
	}
	if c.Data.Key != "" && len(c.Data.Key) < 32 {
		bad("APP_DATA_KEY (data.key)", "must be at least 32 characters")
	}
	for _, k := range c.Data.OldKeys {
		if len(k) < 32 {
			bad("APP_DATA_OLD_KEYS (data.old_keys)", "each key must be at least 32 characters")
		}
	}
	if c.Production() {
		if c.Data.Key == "" || c.Data.Key == DevDataKey {
			bad("APP_DATA_KEY (data.key)", "is required in production (at least 32 random characters, the same on every instance)")
		}
		if c.Badge.Key == "" || c.Badge.Key == DevBadgeKey {
			bad("APP_BADGE_KEY (badge.key)", "is required in production (at least 32 random characters, the same on every instance)")
		}
		if u, err := url.Parse(c.Badge.VerifyURL); err == nil && loopback(u.Hostname()) {
			bad("APP_BADGE_VERIFY_URL (badge.verify_url)", "points to %s, which a phone scanning a badge cannot reach; set the public https URL of /api/v1/badges/verify", u.Host)
		}
		if c.EmbeddedRedis() {
			bad("APP_REDIS_URL (redis.url)", "production needs a real Redis; the embedded one keeps nothing across restarts")
		}
		if c.WeChatMock() {
			bad("APP_WECHAT_MOCK (wechat.mock)", "the WeChat mock is refused in production")
		}
		if c.WeChat.AppID == "" {
			bad("APP_WECHAT_APP_ID (wechat.app_id)", "is required in production")
		}
		if c.WeChat.AppSecret == "" {
			bad("APP_WECHAT_APP_SECRET (wechat.app_secret)", "is required in production")
		}
		if c.ContentChecks() {
			// Without them image verdicts never arrive (every push is
			// refused) or WeChat cannot fetch the images: photos would
			// stay pending, unseen by the public, for ever.
			if c.WeChat.CallbackToken == "" {
				bad("APP_WECHAT_CALLBACK_TOKEN (wechat.callback_token)", "is required in production while content checks are on: WeChat's image check verdicts are pushed signed with it (set APP_CONTENT_<KIND>=off for every kind to run without checks)")
			}
			if c.Media.PublicURL == "" {
				bad("APP_MEDIA_PUBLIC_URL (media.public_url)", "is required in production while content checks are on: WeChat fetches the images it checks from under it (set APP_CONTENT_<KIND>=off for every kind to run without checks)")
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return nil
}

// CheckNotifyKinds checks the templates against the notification kinds the
// server knows (notify.Kinds, which config cannot import): a template of an
// unknown kind is a mistake in the YAML file, and a kind without a default
// template could not be set with APP_NOTIFY_TEMPLATE_<KIND>.
func (c Config) CheckNotifyKinds(known []string) error {
	var errs []error
	kinds := make([]string, 0, len(c.Notify.Templates))
	for kind := range c.Notify.Templates {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		if !slices.Contains(known, kind) {
			errs = append(errs, fmt.Errorf("notify.templates: unknown notification kind %q (known: %s)", kind, strings.Join(known, ", ")))
		}
	}
	for _, kind := range known {
		if _, ok := defaultTemplates()[kind]; !ok {
			errs = append(errs, fmt.Errorf("notify.templates: kind %q has no default template in package config", kind))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return nil
}

// loopback reports whether host names this machine only: localhost, a
// loopback address or the unspecified address.
func loopback(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// Dialects the database URL can name.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
	DialectMySQL    = "mysql"
)

// ParseDatabaseURL returns the dialect of a database URL and the DSN its
// driver expects: a file path for SQLite, the URL itself for PostgreSQL and a
// go-sql-driver DSN for MySQL.
func ParseDatabaseURL(raw string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("sqlite URL needs a file path, e.g. sqlite:data/xianfeng.db or sqlite::memory:")
		}
		return DialectSQLite, path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		if _, err := url.Parse(raw); err != nil {
			return "", "", errors.New("malformed postgres URL")
		}
		return DialectPostgres, raw, nil
	case strings.HasPrefix(raw, "mysql://"):
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
			return "", "", errors.New("mysql URL must look like mysql://user:pass@host:3306/dbname")
		}
		var auth string
		if u.User != nil {
			auth = u.User.Username()
			if p, ok := u.User.Password(); ok {
				auth += ":" + p
			}
			auth += "@"
		}
		q := u.Query()
		for k, v := range map[string]string{"parseTime": "true", "charset": "utf8mb4", "loc": "UTC", "collation": "utf8mb4_unicode_ci"} {
			if q.Get(k) == "" {
				q.Set(k, v)
			}
		}
		return DialectMySQL, fmt.Sprintf("%stcp(%s)/%s?%s", auth, u.Host, strings.Trim(u.Path, "/"), q.Encode()), nil
	default:
		return "", "", errors.New("must start with sqlite:, postgres:// or mysql://")
	}
}

// applyEnv overrides fields that carry an env tag with the variable's value
// when that variable is set and not empty.
func applyEnv(v reflect.Value, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Tag.Get("env")
		if name == "" {
			if fv.Kind() == reflect.Struct {
				if err := applyEnv(fv, getenv); err != nil {
					return err
				}
			}
			continue
		}
		raw := strings.TrimSpace(getenv(name))
		if raw == "" {
			continue
		}
		if err := setValue(fv, raw); err != nil {
			return fmt.Errorf("invalid configuration:\n  %s: %v", name, err)
		}
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func setValue(fv reflect.Value, raw string) error {
	switch {
	case fv.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration such as 30s or 168h, got %q", raw)
		}
		fv.SetInt(int64(d))
	case fv.Kind() == reflect.String:
		fv.SetString(raw)
	case fv.Kind() == reflect.Int, fv.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", raw)
		}
		fv.SetInt(n)
	case fv.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		fv.SetBool(b)
	case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		fv.Set(reflect.ValueOf(&b))
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		fv.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported setting type %s", fv.Type())
	}
	return nil
}

// miniProgramPath is a mini-program page path: segments of letters, digits,
// _ and -, separated by single slashes, with no leading slash.
var miniProgramPath = regexp.MustCompile(`^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$`)

// printableASCII reports whether s is 1 to 256 printable ASCII characters.
func printableASCII(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
