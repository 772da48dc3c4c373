// Package app wires the server together from its configuration: database,
// Redis, queue, WeChat client, domain services and the HTTP router. main uses
// it to run, and tests use it to get the real thing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"xianfeng/config"
	miniprogramapi "xianfeng/miniprogram-api"
	"xianfeng/server/internal/announce"
	"xianfeng/server/internal/api"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/badge"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/console"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/pii"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/stats"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
	"xianfeng/server/internal/wechat"
)

// Options adjust how the app is built, for tests.
type Options struct {
	// WeChatTransport replaces the HTTP transport to WeChat (a fake server in tests).
	WeChatTransport http.RoundTripper
	// Migrate forces migrations at start, whatever the configuration says.
	Migrate bool
	// Now is the clock of every service and of the database's timestamps
	// (gorm's NowFunc); nil means time.Now. The queue's scheduler, Redis
	// expiry (sessions, rate windows) and HTTP timing keep real time.
	Now func() time.Time
}

// App is the assembled server.
type App struct {
	Config config.Config
	Log    *slog.Logger
	DB     *database.DB
	Redis  *redisdb.Client
	Queue  *queue.Queue
	Router *gin.Engine
	// Admin serves the operators' listener (APP_ADMIN_ADDR): metrics,
	// pprof and the health checks.
	Admin    http.Handler
	Auth     *auth.Service
	Org      *org.Service
	Badge    *badge.Service
	Task     *task.Service
	Checkin  *checkin.Service
	Board    *checkin.Board
	Inbox    *notify.Inbox
	Announce *announce.Service
	Report   *report.Service
	Deed     *deed.Service
	Stats    *stats.Service
	Form     *form.Service
	Media    *media.Service
	Content  *contentsec.Service
	Console  *console.Console
	Pusher   *notify.Pusher
	Mock     *wechat.Mock
	closers  []func() error
}

// New builds the app. Close releases what it opened, even after an error.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opts Options) (a *App, err error) {
	a = &App{Config: cfg, Log: log}
	built := a // a itself is nil by the time a failed return reaches the deferred close
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	loc := cfg.Location()
	// Every domain service gets the same logger and the one clock.
	shared := service.Deps{Log: log, Now: now}
	if err := cfg.CheckNotifyKinds(notify.Kinds()); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = built.Close()
			a = nil
		}
	}()

	a.DB, err = database.Open(ctx, database.Options{
		URL: cfg.Database.URL, MaxOpenConns: cfg.Database.MaxOpenConns,
		ConnMaxLife: cfg.Database.ConnMaxLife, Log: log, Now: now,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.DB.Close)
	if cfg.AutoMigrate() || opts.Migrate {
		if err := database.Migrate(ctx, a.DB, database.Migrations, log); err != nil {
			return nil, err
		}
	}
	schema := database.NewSchemaCheck(a.DB, database.Migrations, log)
	_ = schema.Check(ctx) // says at start, not only at the first probe, when `server migrate` is due

	a.Redis, err = redisdb.Open(ctx, cfg.Redis, log)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Redis.Close)

	a.Queue = queue.New(a.Redis, queue.Options{
		Namespace: cfg.Queue.Namespace, Concurrency: cfg.Queue.Concurrency,
		ShutdownTimeout: cfg.HTTP.ShutdownTimeout, Log: log,
	})
	a.closers = append(a.closers, a.Queue.Close)

	var (
		wx          wechat.Client
		sec         wechat.Security
		callbackTok = cfg.WeChat.CallbackToken
	)
	if cfg.WeChatMock() {
		a.Mock = wechat.NewMock(a.Redis, cfg.Redis.KeyPrefix)
		wx = a.Mock
		if callbackTok == "" {
			callbackTok = mockCallbackToken
		}
		sec = wechat.NewMockSecurity(callbackURL(cfg), callbackTok, 2*time.Second, log)
		log.Warn("WeChat MOCK is on: login code mock:<name> signs in as openid mock-<name>; subscribe messages are recorded, not sent; " +
			"texts containing " + wechat.MockRiskyText + " are risky, images of mock:risky… users too")
	} else {
		api := wechat.New(wechat.Config{
			AppID: cfg.WeChat.AppID, AppSecret: cfg.WeChat.AppSecret,
			Timeout: cfg.WeChat.Timeout, Transport: opts.WeChatTransport,
		}, a.Redis, cfg.Redis.KeyPrefix, log)
		wx, sec = api, api
	}

	users := user.NewStore(a.DB.DB)
	sessions := auth.NewSessions(a.Redis, cfg.Redis.KeyPrefix, cfg.Session.TTL)
	// The web console's sessions: the same store under keys of their own,
	// sliding by the idle timeout; signing out everywhere ends them too.
	consoleSessions := auth.NewSessions(a.Redis, cfg.Redis.KeyPrefix+console.SessionKeys, cfg.Console.IdleTimeout)
	meCache := auth.NewMeCache(a.Redis, cfg.Redis.KeyPrefix)
	a.Auth = auth.NewService(wx, users, sessions, meCache, log, consoleSessions)

	templates := NotifyTemplates(cfg)
	a.Pusher = notify.NewPusher(a.DB.DB, a.Redis, wx, notify.PushOptions{
		Templates: templates, RatePerMinute: cfg.Notify.RatePerMinute, MiniprogramState: cfg.Notify.MiniprogramState,
		KeyPrefix: cfg.Redis.KeyPrefix, Location: loc, Log: log, Now: now,
		Coalesce: map[string]time.Duration{notify.KindReportReceived: cfg.Notify.ReportCoalesce},
	})
	pushJobs := notify.NewJobs(a.Queue)
	a.Inbox = notify.NewInbox(a.DB.DB, notify.InboxOptions{Log: log, Now: now, Pusher: a.Pusher, Queue: pushJobs})
	pushJobs.Register(a.Pusher, a.Inbox)
	consents := notify.NewConsents(a.DB.DB, cfg.Notify.MaxConsent)

	kind, target, storeOpts, _ := cfg.MediaStore()
	store, err := media.OpenStore(kind, target, storeOpts, media.Credentials{AccessKey: cfg.Media.AccessKey, SecretKey: cfg.Media.SecretKey})
	if err != nil {
		return nil, err
	}
	if kind == "file" {
		log.Info("media are kept on local disk: run one API machine, or set APP_MEDIA_URL=s3://… for several", "dir", target)
	}
	// An attached image's check starts right after the attaching commit.
	secJobs := contentsec.NewJobs(a.Queue)
	flaggers := map[string]contentsec.Flagger{contentsec.KindMember: org.FlagName}
	a.Media = media.NewService(a.DB.DB, media.Options{Deps: shared, Store: store, Signer: media.NewSigner(cfg.BadgeKey()),
		MaxBytes: cfg.Media.MaxBytes, MaxPixels: cfg.Media.MaxPixels, Decoders: cfg.Media.Decoders, URLTTL: cfg.Media.URLTTL,
		BasePath: strings.TrimSuffix(cfg.Media.PublicURL, "/") + "/api/v1", Checked: true, Attached: secJobs.Attached})
	media.RegisterJobs(a.Queue, a.Media)
	if cfg.Media.PublicURL == "" && !cfg.WeChatMock() {
		log.Warn("APP_MEDIA_PUBLIC_URL is not set: WeChat cannot fetch the images it is asked to check, so they stay pending")
	}
	a.Content = contentsec.NewService(a.DB.DB, secJobs, contentsec.Options{Deps: shared, Security: sec, Notifier: a.Inbox,
		OpenIDs: func(ctx context.Context, id int64) (string, error) {
			u, err := users.Get(ctx, id)
			return u.OpenID, err
		},
		Images: a.Media, Modes: cfg.ContentModes(), Recheck: cfg.Content.Recheck, ImageURLTTL: time.Hour, Flaggers: flaggers})
	secJobs.Register(a.Content)

	// Each service gets its jobs at construction; the jobs' handlers are
	// registered with the service afterwards.
	orgJobs := org.NewJobs(a.Queue)
	// The check-in board's records answer repeated check-ins from Redis:
	// a membership change must reach them as it reaches the /me cache.
	a.Board = checkin.NewBoard(a.Redis, a.DB.DB, cfg.Redis.KeyPrefix, log)
	a.closers = append(a.closers, a.Board.Close) // before Redis closes: what was answered reaches the board
	a.Org = org.NewService(org.NewStore(a.DB.DB), org.Options{Deps: shared, InviteTTL: cfg.Org.InviteTTL,
		Ender: orgJobs, Notifier: a.Inbox, OnEnd: task.CloseEnded, Changed: org.Invalidators{meCache, a.Board.Records()}, Content: a.Content})
	orgJobs.Register(a.Org)
	// The org service needs the checker and flags org names for it.
	flaggers[contentsec.KindOrg] = a.Org.FlagOrg
	if cfg.Badge.Key == "" {
		log.Warn("APP_BADGE_KEY is not set: badges are signed with the public development key")
	}
	a.Badge = badge.NewService(a.Org, badge.NewSigner(cfg.BadgeKey()), cfg.Badge.TokenTTL, cfg.Badge.VerifyURL, now)
	limiter := web.NewLimiter(a.Redis, cfg.Redis.KeyPrefix, log, now)
	perUser := func(c *gin.Context) string { return strconv.FormatInt(auth.UserID(c), 10) }

	inbox := a.Inbox
	taskJobs := task.NewJobs(a.Queue)
	a.Task = task.NewService(a.DB.DB, a.Org, task.Options{Deps: shared, Location: loc, Notifier: inbox, Scheduler: taskJobs, Deliveries: inbox, OfflineWindow: cfg.Checkin.OfflineWindow, Media: a.Media, Content: a.Content})
	taskJobs.Register(a.Task)
	annJobs := announce.NewJobs(a.Queue)
	a.Announce = announce.NewService(a.DB.DB, a.Org, inbox, announce.Options{Deps: shared, Dispatcher: annJobs, Content: a.Content})
	announce.Register(a.Queue, a.Announce)
	reportJobs := report.NewJobs(a.Queue)
	a.Report = report.NewService(a.DB.DB, a.Org, a.Org, report.Options{Deps: shared, SLAUrgent: cfg.Report.SLAUrgent, SLANormal: cfg.Report.SLANormal,
		Notifier: inbox, Scheduler: reportJobs, Media: a.Media, Content: a.Content})
	reportJobs.Register(a.Report)
	a.Deed = deed.NewService(a.DB.DB, a.Org, a.Org, deed.Options{Deps: shared, Notifier: inbox, Media: a.Media, Content: a.Content})
	a.Stats = stats.NewService(a.DB.DB, a.Org, stats.Options{Deps: shared, Location: loc})
	if cfg.Data.Key == "" {
		log.Warn("APP_DATA_KEY is not set: ID and phone numbers in form entries are sealed with the public development key")
	}
	box, err := pii.New(cfg.DataKey(), cfg.Data.OldKeys)
	if err != nil {
		return nil, err
	}
	formJobs := form.NewJobs(a.Queue)
	a.Form = form.NewService(a.DB.DB, a.Org, form.Options{Deps: shared, Location: loc, Window: cfg.Checkin.OfflineWindow,
		Box: box, Alerts: a.Report, Notifier: inbox, Publisher: formJobs, Media: a.Media, Content: a.Content})
	formJobs.Register(a.Form)
	a.Checkin = checkin.NewService(a.DB.DB, a.Org, checkin.Options{Deps: shared, Location: loc, Window: cfg.Checkin.OfflineWindow, Board: a.Board, Queue: a.DB.Queue})

	statsAPI := stats.NewHandler(a.Stats)
	formAPI := form.NewHandler(a.Form, a.Media)
	a.Console, err = console.New(console.Options{Log: log, Now: now, Location: loc, Redis: a.Redis, KeyPrefix: cfg.Redis.KeyPrefix,
		Sessions: consoleSessions, Auth: a.Auth, DevLogin: a.Mock != nil && !cfg.Production(), TrustedProxies: cfg.HTTP.TrustedProxies,
		TicketLimit: limiter.Limit("console-ticket", cfg.Console.TicketsPerMinute, time.Minute, func(c *gin.Context) string { return c.ClientIP() }),
		Org:         a.Org, Task: a.Task, Checkin: a.Checkin, Report: a.Report, Announce: a.Announce, Deed: a.Deed, Form: a.Form, FormAPI: formAPI, Stats: a.Stats, StatsAPI: statsAPI, Media: a.Media})
	if err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), a.Queue.Collector())
	deps := api.Deps{
		Log: log, Registry: reg, MetricsOnAPI: !cfg.Production(), MaxBodyBytes: cfg.HTTP.MaxBodyBytes, TrustedProxies: cfg.HTTP.TrustedProxies,
		Spec:     miniprogramapi.Spec,
		Auth:     auth.NewHandler(a.Auth, log, a.Org.MembershipsOf),
		Org:      a.Org,
		Task:     a.Task,
		Announce: a.Announce,
		Report:   a.Report,
		Deed:     a.Deed,
		Media: media.NewHandler(a.Media, a.Media.Access(map[string]media.Viewer{
			media.OwnerReport: a.Report.CanSee, media.OwnerDeed: a.Deed.CanSee,
			media.OwnerTaskCheckin: a.Task.CanSeeAssignment, media.OwnerTaskComplete: a.Task.CanSeeAssignment,
			media.OwnerFormEntry: a.Form.CanSeeEntry,
		}, map[string]media.Viewer{media.OwnerDeed: a.Deed.Handles}), log, auth.UserID, cfg.Media.ReadTimeout),
		Stats:   statsAPI,
		Console: a.Console,
		Notify:  notify.NewHandler(inbox, consents, templates),
		Checkin: checkin.NewHandler(a.Checkin, a.Org),
		Badge:   badge.NewHandler(a.Badge, log, badgePage(cfg)),
		// signups are limited against invite-code guessing, reports so that
		// nobody floods their secretaries, verification per client address
		SignupLimit: limiter.Limit("signup", cfg.Org.SignupPerMinute, time.Minute, perUser),
		ReportLimit: limiter.Limit("report", cfg.Report.PerMinute, time.Minute, perUser),
		UploadLimit: limiter.Limit("media-upload", cfg.Media.UploadsPerMinute, time.Minute, perUser),
		VerifyLimit: limiter.Limit("badge-verify", cfg.Badge.VerifyPerMinute, time.Minute, func(c *gin.Context) string { return c.ClientIP() }),
		Form:        formAPI,
		WeChat:      contentsec.NewHandler(a.Content, callbackTok, log),
		Ready: map[string]api.Pinger{
			"database": func(ctx context.Context) error {
				if err := a.DB.Ping(ctx); err != nil {
					return err
				}
				return schema.Check(ctx)
			},
			"redis": func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() },
		},
	}
	if a.Mock != nil && !cfg.Production() {
		deps.DevMessages = a.Mock
	}
	a.Router, err = api.NewRouter(deps)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	a.Admin = api.NewAdmin(reg, deps.Ready)
	return a, nil
}

// NotifyTemplates returns the configured template of each notification kind
// (config.Config.NotifyTemplates) as package notify takes them.
func NotifyTemplates(cfg config.Config) map[string]notify.Template {
	out := make(map[string]notify.Template, len(cfg.Notify.Templates))
	for kind, t := range cfg.NotifyTemplates() {
		out[kind] = notify.Template(t)
	}
	return out
}

// ServeHTTP serves the API until ctx is cancelled, then stops accepting
// connections and waits up to the shutdown timeout for requests in flight.
// ready, if not nil, receives the listening address once the port is open.
func (a *App) ServeHTTP(ctx context.Context, ready chan<- string) error {
	return a.serve(ctx, "HTTP API", "APP_HTTP_ADDR", a.Config.HTTP.Addr, ready, &http.Server{
		Handler:           a.Router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       a.Config.HTTP.ReadTimeout,
		WriteTimeout:      a.Config.HTTP.WriteTimeout,
		IdleTimeout:       2 * time.Minute,
		// Go's default (1 MB): a longer request target than web.MaxURIBytes
		// then reaches the router and gets the JSON 414, not a plain 431.
		MaxHeaderBytes: http.DefaultMaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	})
}

// ServeAdmin serves the admin handler on APP_ADMIN_ADDR until ctx is
// cancelled; with the listener off it returns nil at once. ready, if not
// nil, receives the listening address once the port is open.
func (a *App) ServeAdmin(ctx context.Context, ready chan<- string) error {
	if !a.Config.AdminEnabled() {
		a.Log.Info("admin listener is off (APP_ADMIN_ADDR=off)")
		return nil
	}
	// No write timeout: a CPU profile or trace streams for as long as asked.
	return a.serve(ctx, "admin listener", "APP_ADMIN_ADDR", a.Config.Admin.Addr, ready, &http.Server{
		Handler:           a.Admin,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       a.Config.HTTP.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	})
}

// serve runs srv on addr (the value of setting) until ctx is cancelled,
// then drains it for up to the shutdown timeout.
func (a *App) serve(ctx context.Context, name, setting, addr string, ready chan<- string, srv *http.Server) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen %s (%s): %w", name, addr, setting, err)
	}
	a.Log.Info(name+" listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info(name+" draining", "timeout", a.Config.HTTP.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.HTTP.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Log.Info(name + " stopped")
	return nil
}

// RunWorkers processes queued jobs until ctx is cancelled, then hands
// unfinished jobs back to the queue.
func (a *App) RunWorkers(ctx context.Context) error {
	if err := a.Queue.Start(); err != nil {
		return err
	}
	a.Log.Info("queue workers running", "queues", a.Queue.Names(), "concurrency", a.Config.Queue.Concurrency)
	<-ctx.Done()
	a.Queue.Shutdown()
	a.Log.Info("queue workers stopped")
	return nil
}

// Close releases everything New opened, newest first.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	a.closers = nil
	return errors.Join(errs...)
}

// badgePage is what the badge verification page needs from the configuration.
func badgePage(cfg config.Config) badge.Page {
	name, content, _ := cfg.WeChat.QRVerify()
	return badge.Page{Zone: cfg.Location(), MiniProgramPath: cfg.Badge.MiniProgramPath, CheckFileName: name, CheckFileContent: content}
}

// mockCallbackToken signs the WeChat mock's message pushes when no
// APP_WECHAT_CALLBACK_TOKEN is set (development only).
const mockCallbackToken = "xianfeng-mock-callback-token"

// callbackURL is where the WeChat mock pushes image verdicts: the public
// origin, or this server's own HTTP port.
func callbackURL(cfg config.Config) string {
	origin := strings.TrimSuffix(cfg.Media.PublicURL, "/")
	if origin == "" {
		_, port, err := net.SplitHostPort(cfg.HTTP.Addr)
		if err != nil || port == "" || port == "0" {
			port = "8080"
		}
		origin = "http://127.0.0.1:" + port
	}
	return origin + "/api/v1/wechat/callback"
}
