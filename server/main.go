// Command server runs Xianfeng: the HTTP API for the mini-program and the
// background workers, together (the default) or apart, and the database
// migrations.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Shanghai must work in a minimal image with no zoneinfo.

	"golang.org/x/sync/errgroup"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/pii"
	"xianfeng/server/internal/service"
)

const usage = `Usage: server [-config file.yaml] [command]

Commands:
  serve     run the HTTP API and the queue workers in one process (default)
  api       run only the HTTP API
  worker    run only the queue workers
  migrate   apply pending database migrations and exit
  bootstrap -name <org name> [-kind committee|general_branch|branch]
            create a root organisation and print a one-time claim code
            (valid 24 h) that makes its redeemer the org's secretary
  rekey     re-encrypt the ID and phone numbers of form entries sealed with
            an old key (APP_DATA_OLD_KEYS) with APP_DATA_KEY, and exit
  config    print the effective configuration, secrets masked, and exit

A leading "server" word is skipped, so the container image's entrypoint
takes both "docker run IMAGE api" and "docker run IMAGE server api".

Every serving command also runs the admin listener (APP_ADMIN_ADDR, default
127.0.0.1:9090, "off" to disable): /metrics, /debug/pprof/, /healthz and
/readyz, for operators only.

Settings come from built-in defaults, then the YAML file named by -config or
APP_CONFIG, then APP_* environment variables (see config/config.example.yaml).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := fs.String("config", getenv("APP_CONFIG"), "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cmd, rest := "serve", fs.Args()
	if len(rest) > 0 && rest[0] == "server" {
		// The container's entrypoint already is the server, so
		// `docker run IMAGE server api` arrives as `server api`.
		rest = rest[1:]
	}
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	var orgName, orgKind string
	if cmd == "bootstrap" {
		fs.StringVar(&orgName, "name", "", "name of the root organisation")
		fs.StringVar(&orgKind, "kind", "committee", "kind of the root organisation")
	}
	if len(rest) > 0 {
		// Allow flags after the command too: `server api -config x.yaml`.
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("unexpected arguments %v\n\n%s", fs.Args(), usage)
		}
	}

	cfg, err := config.Load(*configPath, getenv)
	if err != nil {
		return err
	}
	if err := cfg.CheckNotifyKinds(notify.Kinds()); err != nil {
		return err
	}
	log := logging.New(stderr, cfg.Log.Level, cfg.Log.Format)
	slog.SetDefault(log)

	switch cmd {
	case "config":
		_, err := fmt.Fprint(stdout, cfg.Redacted())
		return err
	case "migrate":
		return migrate(ctx, cfg, log)
	case "bootstrap":
		return bootstrap(ctx, cfg, log, orgName, orgKind, stdout)
	case "rekey":
		return rekey(ctx, cfg, log, stdout)
	case "serve", "api", "worker":
		return serve(ctx, cfg, log, cmd)
	default:
		return fmt.Errorf("unknown command %q\n\n%s", cmd, usage)
	}
}

func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	db, err := database.Open(ctx, database.Options{URL: cfg.Database.URL, MaxOpenConns: 2, ConnMaxLife: cfg.Database.ConnMaxLife, Log: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := database.Migrate(ctx, db, database.Migrations, log); err != nil {
		return err
	}
	log.Info("database schema is up to date", "dialect", db.Dialect)
	return nil
}

// bootstrap creates a root org straight in the database, so it works while a
// server runs, and prints the claim code for its first secretary.
func bootstrap(ctx context.Context, cfg config.Config, log *slog.Logger, name, kind string, stdout io.Writer) error {
	if name == "" {
		return fmt.Errorf("bootstrap needs -name \"<organisation name>\"\n\n%s", usage)
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.Database.URL, MaxOpenConns: 2, ConnMaxLife: cfg.Database.ConnMaxLife, Log: log})
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate() {
		if err := database.Migrate(ctx, db, database.Migrations, log); err != nil {
			return err
		}
	}
	svc := org.NewService(org.NewStore(db.DB), org.Options{Deps: service.Deps{Log: log}, InviteTTL: cfg.Org.InviteTTL,
		Notifier: notify.NewInbox(db.DB, notify.InboxOptions{Log: log})})
	o, code, exp, err := svc.Bootstrap(ctx, name, org.Kind(kind))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "Created organisation #%d %q (%s).\n"+
		"One-time claim code: %s\n"+
		"It expires at %s. Log in to the mini-program and send\n"+
		"  POST /api/v1/orgs/claim {\"code\":\"%s\"}\n"+
		"to become its secretary (in development, or enter it with a mock name in the web\n"+
		"console's development login); the code then stops working.\n",
		o.ID, o.Name, org.KindLabel(o.Kind), code, exp.In(cfg.Location()).Format(time.RFC3339), code)
	return err
}

// rekey re-seals the personal information sealed with an old data key.
func rekey(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	box, err := pii.New(cfg.DataKey(), cfg.Data.OldKeys)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, database.Options{URL: cfg.Database.URL, MaxOpenConns: 2, ConnMaxLife: cfg.Database.ConnMaxLife, Log: log})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := form.Rekey(ctx, db.DB, box)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "Re-encrypted %d form entries with the current data key.\n", n)
	return err
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger, cmd string) error {
	log.Info("starting Xianfeng", "command", cmd, "env", cfg.Env)
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	g, gctx := errgroup.WithContext(ctx)
	if cfg.AdminEnabled() {
		// Sampled, so cheap enough to leave on: /debug/pprof/mutex and
		// /debug/pprof/block then have something to show under load.
		runtime.SetMutexProfileFraction(cfg.Admin.MutexProfileFraction)
		runtime.SetBlockProfileRate(int(cfg.Admin.BlockProfileRate.Nanoseconds()))
	}
	g.Go(func() error { return a.ServeAdmin(gctx, nil) })
	if cmd != "worker" {
		g.Go(func() error { return a.ServeHTTP(gctx, nil) })
	}
	if cmd != "api" {
		g.Go(func() error { return a.RunWorkers(gctx) })
	}
	return g.Wait()
}
