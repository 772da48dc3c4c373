package benchapp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xuri/excelize/v2"

	"xianfeng/server/cmd/internal/drive"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/auth"
)

// Serve starts the app's router on loopback and returns a Get that signs
// in as userID, with a session created in the app's Redis.
func Serve(ctx context.Context, a *app.App, userID int64) (get drive.Get, stop func(), err error) {
	token, _, err := auth.NewSessions(a.Redis, a.Config.Redis.KeyPrefix, time.Hour).
		Create(ctx, auth.Session{UserID: userID, OpenID: "seed-" + strconv.FormatInt(userID, 10)})
	if err != nil {
		return nil, nil, fmt.Errorf("create session: %w", err)
	}
	srv := httptest.NewServer(a.Router)
	client := &http.Client{Timeout: 20 * time.Minute, Transport: &http.Transport{Proxy: nil, DisableCompression: true}}
	get = func(path string, w io.Writer) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			return 0, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
		}
		return io.Copy(w, resp.Body)
	}
	return get, srv.Close, nil
}

// VM returns a field of /proc/self/status in kB (VmHWM, VmRSS), or 0.
func VM(field string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// Child runs this binary again with args, its output on ours: a
// measurement whose peak RSS must be its own. It returns the child's peak
// RSS in kB, as the kernel counted it (getrusage's ru_maxrss).
func Child(ctx context.Context, args ...string) (int64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss, nil
	}
	return 0, nil
}

// ChildExport runs this binary again with args and "-out FILE" (see Child),
// FILE being a workbook in a temporary directory of its own, and returns
// FILE, the child's peak RSS in kB and a function that removes the directory.
func ChildExport(ctx context.Context, args ...string) (out string, peakKB int64, remove func(), err error) {
	dir, err := os.MkdirTemp("", filepath.Base(os.Args[0])+"-")
	if err != nil {
		return "", 0, nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	out = filepath.Join(dir, "export.xlsx")
	if peakKB, err = Child(ctx, append(args, "-out", out)...); err != nil {
		remove()
		return "", 0, nil, fmt.Errorf("export child: %w", err)
	}
	return out, peakKB, remove, nil
}

// Export serves the app (see Serve) and downloads path as userID into the
// file out (see Download): an export measured in a child process of its own.
func Export(ctx context.Context, a *app.App, userID int64, path, out, what string, goalKB int64) error {
	get, stop, err := Serve(ctx, a, userID)
	if err != nil {
		return err
	}
	defer stop()
	_, err = Download(get, path, out, what, goalKB)
	return err
}

// Download fetches path with get into the file out and prints, as what,
// how long it took, how much it wrote and the process's peak RSS (VmHWM)
// judged against goalKB; it returns the peak in kB.
func Download(get drive.Get, path, out, what string, goalKB int64) (int64, error) {
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	before := VM("VmHWM")
	t0 := time.Now()
	n, err := get(path, f)
	if err != nil {
		return 0, err
	}
	took := time.Since(t0)
	peak := VM("VmHWM")
	verdict := "goal met"
	if peak >= goalKB {
		verdict = "GOAL MISSED"
	}
	fmt.Printf("%s (separate process): %s, %.1f MB written; peak RSS (VmHWM) %.1f MB, %.1f MB before the export  [peak < %d MB: %s]\n",
		what, took.Round(time.Millisecond), float64(n)/1e6, float64(peak)/1024, float64(before)/1024, goalKB/1024, verdict)
	return peak, f.Close()
}

// Sheet is a sheet of a workbook and its rows below the header.
type Sheet struct {
	Name string
	Rows int64
}

// SheetRows opens the workbook at path and counts the rows of each sheet,
// header excluded, streaming them.
func SheetRows(path string) ([]Sheet, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("open the workbook: %w", err)
	}
	defer f.Close()
	var out []Sheet
	for _, sheet := range f.GetSheetList() {
		rows, err := f.Rows(sheet)
		if err != nil {
			return nil, err
		}
		n := int64(-1) // the header
		for rows.Next() {
			n++
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		out = append(out, Sheet{Name: sheet, Rows: n})
	}
	return out, nil
}

// MembersFor returns the org.Seed Members that give exactly want approved
// memberships in the root's subtree (every tenth member is pending; the two
// secretaries are approved), or the next size up if none does.
func MembersFor(want int) int {
	for m := 0; ; m++ {
		if m-m/10+2 >= want {
			return m
		}
	}
}
