// Command statsbench measures the assessment endpoints at scale: it seeds a
// tree of -orgs orgs and -members memberships into a fresh PostgreSQL
// database with org.Seed, adds -days days of activity up to today (tasks
// with assignments, daily check-ins, reports with escalations, deeds with
// their events) with set-based SQL, then times
//
//	GET /api/v1/orgs/{root}/stats   over the whole period, in process over
//	                                loopback HTTP (goal: under 2 s);
//	GET /api/v1/orgs/{root}/export.xlsx
//	                                in a child process of its own (this binary
//	                                with -export-child), which prints the time
//	                                and its peak RSS, VmHWM (goal: under 300 MB).
//
// The workbook is then opened with excelize and its rows counted against the
// database. scripts/bench-stats.sh creates the scratch database, runs this
// and cleans up. It lives under server/ because it uses the server's
// internal packages.
//
// Usage:
//
//	go run ./server/cmd/statsbench -db postgres://postgres@127.0.0.1:5432/xianfeng_statsbench?sslmode=disable \
//		[-redis redis://127.0.0.1:6379/0] [-orgs 50000] [-members 500000] [-days 30] [-tasks 200] \
//		[-task-members 50000] [-checkin-percent 20] [-reports 20000] [-deeds 5000] [-n 5] [-export=true] [-verify=true]
//
// The activity, all within the period (days in Asia/Shanghai, as the server):
//
//	tasks        -tasks tasks of the root, evenly over the period, each due
//	             48 hours after it was made;
//	assignments  the first -task-members approved members, split in 20
//	             groups; task k goes to group k mod 20, so each member has
//	             -tasks/20 tasks: half completed (some after the due time),
//	             some accepted, declined, checked in or untouched, some overdue;
//	checkins     -checkin-percent % of the approved members each day;
//	reports      -reports reports by those members, 70 % acknowledged, half
//	             of the rest escalated once or twice by the job, some
//	             acknowledged after one escalation;
//	deeds        -deeds deeds, 80 % approved, a quarter of those commended.
//
// It exits 1 if a call fails or a figure disagrees with the database; a
// missed goal is printed, not an error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai, as the server

	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/cmd/internal/drive"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/stats"
)

// Goals of the issue.
const (
	goalStats = 2 * time.Second
	goalRSSKB = 300 * 1024
)

type options struct {
	benchapp.Flags
	benchapp.Tree
	days, tasks      int
	taskMembers      int
	checkinPercent   int
	reports, deeds   int
	n                int
	verify, export   bool
	seed             bool
	exportChild      bool
	org, user        int64
	from, to, output string
}

func main() {
	var o options
	o.Flags.Register("(scratch) database")
	o.Tree.Register(50000, 500000, "")
	flag.IntVar(&o.days, "days", 30, "days of activity, up to today, and the period measured")
	flag.IntVar(&o.tasks, "tasks", 200, "tasks")
	flag.IntVar(&o.taskMembers, "task-members", 50000, "approved members who get tasks")
	flag.IntVar(&o.checkinPercent, "checkin-percent", 20, "percentage of approved members who check in each day")
	flag.IntVar(&o.reports, "reports", 20000, "reports")
	flag.IntVar(&o.deeds, "deeds", 5000, "deeds")
	flag.IntVar(&o.n, "n", 5, "measured GET stats calls (after one unmeasured)")
	flag.BoolVar(&o.seed, "seed", true, "seed the tree and the activity (false: measure a database an earlier run seeded today and left)")
	flag.BoolVar(&o.export, "export", true, "time the export")
	flag.BoolVar(&o.verify, "verify", true, "open the exported workbook and count its rows")
	flag.BoolVar(&o.exportChild, "export-child", false, "internal: export -org as -user for -from..-to into -out and print time and peak RSS")
	flag.Int64Var(&o.org, "org", 0, "internal (-export-child): org to export")
	flag.Int64Var(&o.user, "user", 0, "internal (-export-child): the secretary who exports")
	flag.StringVar(&o.from, "from", "", "internal (-export-child): first day")
	flag.StringVar(&o.to, "to", "", "internal (-export-child): last day")
	flag.StringVar(&o.output, "out", "", "internal (-export-child): file to write the workbook to")
	benchapp.Main(func() string { return "statsbench" }, func() bool {
		return o.DB != "" && o.n >= 1 && o.days >= 1 && o.days <= stats.MaxDays && o.tasks >= 1 && o.checkinPercent >= 0 && o.checkinPercent <= 100
	}, func() error {
		ctx := context.Background()
		// The export child reads the database its parent migrated and seeded.
		a, err := open(ctx, o, !o.exportChild)
		if err != nil {
			return err
		}
		defer a.Close()
		if o.exportChild {
			return exportChild(ctx, a, o)
		}
		return run(ctx, a, o)
	})
}

// open builds the real app on the database, as the server would with the
// same APP_* settings (time zone Asia/Shanghai).
func open(ctx context.Context, o options, migrate bool) (*app.App, error) {
	cfg, err := benchapp.Settings{Flags: o.Flags, Prefix: "statsbench:", Namespace: "statsbench", LogLevel: "error"}.Config()
	if err != nil {
		return nil, err
	}
	if dialect, ok, err := benchapp.Postgres(o.DB); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("the activity is seeded with PostgreSQL SQL: -db must be postgres://, got %s", dialect)
	}
	return benchapp.Open(ctx, cfg, app.Options{Migrate: migrate})
}

func run(ctx context.Context, a *app.App, o options) error {
	db := a.DB.DB
	if err := benchapp.Machine(ctx, a, "; time zone "+a.Config.Location().String()); err != nil {
		return err
	}

	var res org.SeedResult
	if o.seed {
		fmt.Printf("seeding %d orgs and %d members...\n", o.Orgs, o.Members)
		var err error
		if res, err = org.Seed(ctx, db, org.SeedSpec{Orgs: o.Orgs, Members: o.Members}); err != nil {
			return err
		}
		fmt.Printf("seeded the tree in %s: %d orgs (%d committees, %d general branches, %d branches), %d closure pairs, %d memberships (%d approved)\n",
			res.Duration.Round(time.Millisecond), res.Orgs, res.Committees, res.GeneralBranches, res.Branches, res.Closure, res.Memberships, res.Approved)
	} else {
		err := db.Raw(`SELECT o.id AS root_id, m.user_id AS root_secretary_user_id,
				(SELECT MAX(id) FROM orgs WHERE kind = 'branch') AS leaf_id,
				(SELECT COUNT(*) FROM orgs WHERE parent_id = o.id) AS committees
			FROM orgs o JOIN memberships m ON m.org_id = o.id AND m.role = 'secretary' AND m.status = 'approved'
			WHERE o.parent_id IS NULL ORDER BY o.id LIMIT 1`).Scan(&res).Error
		if err != nil || res.RootID == 0 {
			return fmt.Errorf("find the seeded root: %v", err)
		}
		fmt.Printf("measuring the existing data: root %d, secretary user %d\n", res.RootID, res.RootSecretaryUserID)
	}

	p, err := a.Stats.Period("", "")
	if err != nil {
		return err
	}
	if o.days != stats.DefaultDays {
		if p, err = a.Stats.Period(time.Now().In(a.Config.Location()).AddDate(0, 0, -(o.days-1)).Format(time.DateOnly), ""); err != nil {
			return err
		}
	}
	if o.seed {
		fmt.Printf("seeding %d days of activity (%s..%s)...\n", p.Days, p.From, p.To)
		if err := seedActivity(ctx, a, o, res, p); err != nil {
			return err
		}
	}

	get, stop, err := benchapp.Serve(ctx, a, res.RootSecretaryUserID)
	if err != nil {
		return err
	}
	defer stop()
	failed := false

	// GET stats for the root, then a committee and a branch for comparison.
	path := func(id int64, what string) string {
		return fmt.Sprintf("/api/v1/orgs/%d/%s?from=%s&to=%s", id, what, p.From, p.To)
	}
	var body strings.Builder
	first, lat, err := drive.Repeat(get, path(res.RootID, "stats"), &body, o.n)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	med := lat[len(lat)/2]
	verdict := "goal met"
	if med >= goalStats {
		verdict = "GOAL MISSED"
	}
	fmt.Printf("GET /orgs/{root}/stats (%d days, %d children): first %s; then n=%d min=%s median=%s max=%s  [median < %s: %s]\n",
		p.Days, res.Committees, ms(first), o.n, ms(lat[0]), ms(med), ms(lat[len(lat)-1]), goalStats, verdict)
	// The member page is not checked here, and its cursor (paging.Cursor)
	// is written for clients, not read back: it is decoded as raw JSON.
	var decoded struct {
		stats.JSON
		Members json.RawMessage `json:"members"`
	}
	if err := json.Unmarshal([]byte(body.String()), &decoded); err != nil {
		return fmt.Errorf("stats body: %w", err)
	}
	st := decoded.JSON
	fmt.Printf("root figures: approved_members=%d tasks=%+v checkins=%+v reports={filed:%d acknowledged:%d median_ack_seconds:%s escalations:%d} deeds=%+v; %d bytes\n",
		st.Org.ApprovedMembers, st.Org.Tasks, st.Org.Checkins, st.Org.Reports.Filed, st.Org.Reports.Acknowledged,
		seconds(st.Org.Reports.MedianAckSeconds), st.Org.Reports.Escalations, st.Org.Deeds, body.Len())
	if err := sane(ctx, a, st, p); err != nil {
		failed = true
		fmt.Fprintf(os.Stderr, "statsbench: %v\n", err)
	}
	for _, id := range []int64{st.Children[0].OrgID, res.LeafID} {
		took, err := drive.Time(get, path(id, "stats"))
		if err != nil {
			return err
		}
		fmt.Printf("GET /orgs/%d/stats: %s\n", id, ms(took))
	}

	// The export, in a process of its own.
	if !o.export {
		return nil
	}
	out, _, remove, err := benchapp.ChildExport(ctx, "-export-child", "-db", o.DB, "-redis", o.Redis,
		"-org", strconv.FormatInt(res.RootID, 10), "-user", strconv.FormatInt(res.RootSecretaryUserID, 10),
		"-from", p.From, "-to", p.To)
	if err != nil {
		return err
	}
	defer remove()
	if o.verify {
		if err := verifyWorkbook(ctx, a, out, res.RootID, p); err != nil {
			failed = true
			fmt.Fprintf(os.Stderr, "statsbench: %v\n", err)
		}
	}
	if failed {
		return errors.New("some figures disagree with the database")
	}
	return nil
}

// exportChild runs one export and prints its time and the process's peak RSS.
func exportChild(ctx context.Context, a *app.App, o options) error {
	return benchapp.Export(ctx, a, o.user, fmt.Sprintf("/api/v1/orgs/%d/export.xlsx?from=%s&to=%s", o.org, o.from, o.to), o.output,
		"GET /orgs/{root}/export.xlsx", goalRSSKB)
}

// sane checks the root's figures against plain counts of the tables.
func sane(ctx context.Context, a *app.App, st stats.JSON, p stats.Period) error {
	db := a.DB.WithContext(ctx)
	var want struct {
		Assigned, Checkins, Reports, Approved int64
	}
	err := db.Raw(`SELECT
			(SELECT COUNT(*) FROM assignments a JOIN tasks t ON t.id = a.task_id WHERE t.created_at >= ? AND t.created_at < ?) AS assigned,
			(SELECT COUNT(*) FROM checkins WHERE day BETWEEN ? AND ?) AS checkins,
			(SELECT COUNT(*) FROM reports WHERE created_at >= ? AND created_at < ?) AS reports,
			(SELECT COUNT(*) FROM deed_events WHERE kind = 'approved' AND created_at >= ? AND created_at < ?) AS approved`,
		p.Start, p.End, p.From, p.To, p.Start, p.End, p.Start, p.End).Scan(&want).Error
	if err != nil {
		return err
	}
	got := struct{ Assigned, Checkins, Reports, Approved int64 }{st.Org.Tasks.Assigned, st.Org.Checkins.Days, st.Org.Reports.Filed, st.Org.Deeds.Approved}
	fmt.Printf("sanity: root figures vs table counts: assigned %d/%d, check-ins %d/%d, reports %d/%d, deeds approved %d/%d\n",
		got.Assigned, want.Assigned, got.Checkins, want.Checkins, got.Reports, want.Reports, got.Approved, want.Approved)
	if got != want {
		return errors.New("the root's figures differ from the table counts")
	}
	return nil
}

// verifyWorkbook counts the rows of each sheet and compares them with the database.
func verifyWorkbook(ctx context.Context, a *app.App, path string, root int64, p stats.Period) error {
	t0 := time.Now()
	sheets, err := benchapp.SheetRows(path)
	if err != nil {
		return err
	}
	db := a.DB.WithContext(ctx)
	want := map[string]int64{}
	for sheet, q := range map[string]string{
		stats.SheetOrgs:    `SELECT COUNT(*) FROM org_closure WHERE ancestor_id = @root`,
		stats.SheetMembers: `SELECT COUNT(*) FROM memberships WHERE org_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = @root)`,
		stats.SheetTasks: `SELECT COUNT(DISTINCT t.id) FROM tasks t JOIN assignments a ON a.task_id = t.id
			WHERE t.created_at >= @start AND t.created_at < @end`,
		stats.SheetReports: `SELECT COUNT(*) FROM reports WHERE created_at >= @start AND created_at < @end`,
		stats.SheetDeeds: `SELECT COUNT(*) FROM deeds WHERE (created_at >= @start AND created_at < @end)
			OR (updated_at >= @start AND updated_at < @end)`,
		stats.SheetForms: `SELECT COUNT(*) FROM (SELECT form_id FROM form_entries WHERE day BETWEEN @from AND @to
			UNION SELECT form_id FROM form_misses WHERE day BETWEEN @from AND @to) f`,
	} {
		var n int64
		if err := db.Raw(q, map[string]any{"root": root, "start": p.Start, "end": p.End, "from": p.From, "to": p.To}).Scan(&n).Error; err != nil {
			return err
		}
		want[sheet] = n
	}
	var lines []string
	ok := true
	for _, sh := range sheets {
		lines = append(lines, fmt.Sprintf("%s %d/%d", sh.Name, sh.Rows, want[sh.Name]))
		ok = ok && sh.Rows == want[sh.Name]
	}
	fmt.Printf("workbook: sheets with data rows (got/database): %s; read back in %s\n", strings.Join(lines, ", "), time.Since(t0).Round(time.Millisecond))
	if !ok || len(lines) != len(want) {
		return errors.New("the workbook's rows differ from the database")
	}
	return nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

func seconds(s *float64) string {
	if s == nil {
		return "null"
	}
	return strconv.FormatFloat(*s, 'f', 1, 64)
}
