//go:build faults

package faulttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/logging"
)

// TestMain runs the tests, or, when XF_FAULT_CHILD=worker, is the queue
// worker process that the kill -9 tests start and kill: the same wiring as
// `server worker`, configured from the APP_ environment.
func TestMain(m *testing.M) {
	if os.Getenv("XF_FAULT_CHILD") == "worker" {
		if err := runWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runWorker() error {
	cfg, err := config.Load("", os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	return a.RunWorkers(ctx)
}

// worker is a worker process started by a test.
type worker struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
}

// startWorker starts a worker process on cfg's database, Redis and queue
// namespace, with the WeChat mock and any further APP_ settings in env; it
// is killed when t ends.
func startWorker(t *testing.T, cfg config.Config, name string, env ...string) *worker {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"XF_FAULT_CHILD=worker",
		"APP_ENV=development",
		"APP_DATABASE_URL="+cfg.Database.URL,
		"APP_DATABASE_AUTO_MIGRATE=false",
		"APP_REDIS_URL="+cfg.Redis.URL,
		"APP_REDIS_ADDRS="+strings.Join(cfg.Redis.Addrs, ","),
		"APP_REDIS_MASTER_NAME="+cfg.Redis.MasterName,
		"APP_REDIS_KEY_PREFIX="+cfg.Redis.KeyPrefix,
		"APP_QUEUE_NAMESPACE="+cfg.Queue.Namespace,
		"APP_WECHAT_MOCK=true",
		"APP_LOG_LEVEL=info",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = out, out
	w := &worker{cmd: cmd, log: logPath, started: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = out.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("%s log (tail):\n%s", name, b)
		}
	})
	return w
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *worker) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w.cmd.Wait()
}

// eventually polls cond every 10 ms until it holds or limit passes.
func eventually(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}
