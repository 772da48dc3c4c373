// Command checkinbench measures the daily check-in (POST /api/v1/checkins)
// of a running server at scale, and the fan-out of one task to every member
// of a big tree. scripts/bench-checkin.sh drives it: seed, start the server,
// load, verify, stop the server, fan-out. It lives under server/ because it
// uses the server's internal packages.
//
// Usage:
//
//	checkinbench -mode seed   -db URL [-redis URL] [-prefix bcheck:] [-members 300000] [-orgs 1000] -tokens FILE
//	checkinbench -mode load   -url http://127.0.0.1:18082 [-baseline http://127.0.0.1:18182] [-baseline-users 500000]
//	                          -tokens FILE -counts FILE [-c 64] [-d 10s] [-warmup 2s] [-runs 3] [-scenario new,mix]
//	checkinbench -mode verify -db URL [-redis URL] [-prefix bcheck:] -counts FILE
//	checkinbench -mode fanout -db URL [-redis URL] [-prefix bcheck:] [-namespace bcheck] [-targets 10000] [-runs 3]
//
// Modes:
//
//	seed    migrates a fresh database (app.New), seeds -orgs orgs and
//	        -members memberships with org.Seed (every tenth one pending, as
//	        org.Seed makes them), prints how long that took, then creates one
//	        session per approved member directly in Redis under -prefix (the
//	        server must use the same APP_REDIS_KEY_PREFIX) and writes
//	        "<token> <user id>" lines to -tokens. The tokens are test
//	        credentials of a scratch database.
//	load    drives POST /api/v1/checkins with -c keep-alive workers for
//	        -warmup (not measured) and then -d, -runs times per scenario, and
//	        after each run the same against the bare-stack baseline's POST
//	        /checkin (-baseline; X-User 1..-baseline-users, which it seeded)
//	        with the same workers and durations. Scenario new: every request
//	        is a member's first check-in of the day (201), members taken in
//	        order across the runs; if they run out, the run is measured up to
//	        that moment and says so. Scenario mix: every second request of a
//	        worker repeats a check-in already made today (a phone retrying:
//	        200 from Xianfeng, 409 from the baseline), a member that checked
//	        in before the run. Each body carries a unique request_id, a
//	        position and an accuracy. It prints one line per run and target
//	        (throughput, latency percentiles, p99 of new and repeated
//	        check-ins, status counts), then a table of medians, spreads and
//	        ratios to the baseline, judged against the goal (at least 0.6 of
//	        the baseline's throughput, p99 at most twice its p99), and
//	        writes to -counts how many distinct members got a 201 (warm-up
//	        included) for verify. Exits 1 on any transport error or status
//	        other than those two (for either server), or a member with two
//	        201s.
//	verify  checks that the checkins table holds exactly one row per
//	        (user, org, day) and per (user, day), that the number of rows equals
//	        the number of distinct members that got a 201, and that the live
//	        board's root counter in Redis agrees. Exits 1 if not.
//	fanout  seeds a fresh database with a tree whose root subtree has exactly
//	        -targets approved members, then -runs times creates a task for the
//	        root with include_suborgs and no filter through task.Service.Create
//	        (as the root secretary), runs the real task.Service.FanOut on it
//	        directly (with the notification inbox app.New wires), times it
//	        and checks that assignments and notifications both number
//	        -targets; beside it, the bare stack's figure: the same rows
//	        written again by one transaction of 1,000-row INSERTs into empty
//	        copies of the two tables. Goal: under 1 s. Exits 1 if a check
//	        fails.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai, as the server

	"xianfeng/config"
	"xianfeng/scripts/benchfig"
	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/cmd/internal/loadgen"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
)

// Goals of the issue: check-ins at 0.6 of the bare stack's throughput with
// a p99 at most twice its p99, measured in the same run; fan-out under 1 s.
const (
	goalRatio    = 0.6
	goalP99Ratio = 2.0
	goalFanOut   = time.Second
)

type options struct {
	mode string
	benchapp.Flags
	benchapp.Tree
	loadgen.Options
	prefix               string
	namespace            string
	targets              int
	scenario             string
	fanoutOrgs, fanBatch int
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "seed, load, verify or fanout")
	o.Flags.Register("scratch database (seed, verify, fanout)")
	flag.StringVar(&o.prefix, "prefix", "bcheck:", "Redis key prefix; must be the server's APP_REDIS_KEY_PREFIX")
	flag.StringVar(&o.namespace, "namespace", "bcheck", "asynq namespace (fanout enqueues its job there; nothing runs it)")
	o.Tree.Register(1000, 300000, " (seed)")
	flag.IntVar(&o.targets, "targets", 10000, "approved members under the root to fan a task out to (fanout)")
	flag.IntVar(&o.fanoutOrgs, "fanout-orgs", 200, "orgs of the fan-out tree (fanout)")
	o.Options.Register("http://127.0.0.1:18082")
	flag.StringVar(&o.scenario, "scenario", "new,mix", "new (every request a member's first check-in of the day), mix (every second one a repeat), or both (load)")
	benchapp.Main(func() string { return "checkinbench " + o.mode }, o.Options.Valid, func() error {
		switch o.mode {
		case "seed":
			return seed(o)
		case "load":
			return load(o)
		case "verify":
			return verify(o)
		case "fanout":
			return fanout(o)
		}
		fmt.Fprintf(os.Stderr, "checkinbench: -mode must be seed, load, verify or fanout, got %q\n", o.mode)
		os.Exit(2)
		return nil
	})
}

// open builds the real app on the database, as the server would with the
// same APP_* settings.
func open(ctx context.Context, o options, migrate bool) (*app.App, config.Config, error) {
	if o.DB == "" {
		return nil, config.Config{}, errors.New("-db is required")
	}
	cfg, err := benchapp.Settings{Flags: o.Flags, Prefix: o.prefix, Namespace: o.namespace, LogLevel: "error"}.Config()
	if err != nil {
		return nil, cfg, err
	}
	if err := benchapp.WarnUnlessPostgres("checkinbench", o.DB); err != nil {
		return nil, cfg, err
	}
	a, err := benchapp.Open(ctx, cfg, app.Options{Migrate: migrate})
	return a, cfg, err
}

// ---------------------------------------------------------------- seed

func seed(o options) error {
	ctx := context.Background()
	if o.Tokens == "" {
		return errors.New("-tokens is required")
	}
	a, _, err := open(ctx, o, true)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.Orgs, Members: o.Members})
	if err != nil {
		return err
	}
	fmt.Printf("seed: %d orgs, %d memberships (%d approved, %d pending, secretaries included) in %s\n",
		res.Orgs, res.Memberships, res.Approved, res.Pending, res.Duration.Round(time.Millisecond))
	return loadgen.Sessions(ctx, a, o.prefix, o.Options)
}

// ---------------------------------------------------------------- load

func load(o options) error {
	if o.Tokens == "" || o.Counts == "" {
		return errors.New("-tokens and -counts are required")
	}
	mem, err := loadgen.ReadTokens(o.Tokens)
	if err != nil {
		return err
	}
	client := loadgen.Client(o.C)
	var scen []string
	for s := range strings.SplitSeq(o.scenario, ",") {
		switch s = strings.TrimSpace(s); s {
		case "new", "mix":
			scen = append(scen, s)
		default:
			return fmt.Errorf("-scenario: unknown %q (want new, mix or both)", s)
		}
	}
	xurl := o.URL + "/api/v1/checkins"
	xf := loadgen.Xianfeng(client, xurl, mem, position)
	targets := []*loadgen.Target{xf}
	if o.Baseline != "" {
		targets = append(targets, loadgen.Baseline(client, o.Baseline, o.BaseUsers, position))
	}
	fmt.Printf("load: %d members with a session, %d clients, warm-up %s, measured %s, %d runs of %s; POST %s",
		len(mem), o.C, o.Warmup, o.D, o.Runs, strings.Join(scen, " and "), xurl)
	if o.Baseline != "" {
		fmt.Printf(", beside the baseline's POST %s/checkin (%d users) after each run", o.Baseline, o.BaseUsers)
	}
	fmt.Println()
	start := time.Now()
	label := map[string]string{"new": "check-in, new", "mix": "check-in, half repeats"}
	var figs []benchfig.Figure
	var errs []error
	for _, sc := range scen {
		s, err := loadgen.Compare(o.Options, sc, sc == "mix", targets)
		if err != nil {
			errs = append(errs, err)
		}
		figs = append(figs, loadgen.Judge(label[sc], s, goalRatio, goalP99Ratio)...)
	}
	err = loadgen.Summary(o.Options, "checkinbench", figs, xf, start, targets)
	return errors.Join(append(errs, err)...)
}

// position is the body of a check-in after its request_id: a position and
// an accuracy.
func position(body []byte, i int) []byte {
	body = append(body, `,"lat":`...)
	body = strconv.AppendFloat(body, 36.0+float64(i%1000)/10000, 'f', 6, 64)
	body = append(body, `,"lng":`...)
	body = strconv.AppendFloat(body, 120.3+float64(i/1000%1000)/10000, 'f', 6, 64)
	body = append(body, `,"accuracy_m":`...)
	return strconv.AppendInt(body, int64(5+i%60), 10)
}

// ---------------------------------------------------------------- verify

func verify(o options) error {
	ctx := context.Background()
	c, err := loadgen.ReadCounts(o.Counts)
	if err != nil {
		return err
	}
	a, _, err := open(ctx, o, false)
	if err != nil {
		return err
	}
	defer a.Close()
	var st struct {
		Rows, Keys, UserDays, Users int64
	}
	if err := a.DB.Raw(`SELECT COUNT(*) AS rows,
		COUNT(DISTINCT (user_id, org_id, day)) AS keys,
		COUNT(DISTINCT (user_id, day)) AS user_days,
		COUNT(DISTINCT user_id) AS users FROM checkins`).Scan(&st).Error; err != nil {
		return err
	}
	var days []struct {
		Day string
		N   int64
	}
	if err := a.DB.Raw(`SELECT day, COUNT(*) AS n FROM checkins GROUP BY day ORDER BY day`).Scan(&days).Error; err != nil {
		return err
	}
	ds := make([]string, len(days))
	for i, d := range days {
		ds[i] = fmt.Sprintf("%s:%d", d.Day, d.N)
	}
	fmt.Printf("verify: checkins rows=%d distinct (user,org,day)=%d distinct (user,day)=%d distinct users=%d, by day %s\n",
		st.Rows, st.Keys, st.UserDays, st.Users, strings.Join(ds, " "))
	fmt.Printf("verify: load saw %d distinct members with a 201 (%d 201 answers, %d members with two)\n", c.Distinct, c.Created, c.Repeated)
	ok := st.Rows == st.Keys && st.Rows == st.UserDays && st.Rows == c.Distinct && c.Created == c.Distinct
	// The live board's root counter, for each day, must agree with the rows.
	var root int64
	if err := a.DB.Raw(`SELECT id FROM orgs WHERE parent_id IS NULL ORDER BY id LIMIT 1`).Scan(&root).Error; err != nil {
		return err
	}
	for _, d := range days {
		t, done, err := a.Board.Read(ctx, root, d.Day)
		if err != nil || !done {
			fmt.Printf("verify: board of %s not readable (done=%v err=%v)\n", d.Day, done, err)
			ok = false
			continue
		}
		fmt.Printf("verify: board (Redis) root %d on %s counts %d\n", root, d.Day, t.Total)
		ok = ok && t.Total == d.N
	}
	fmt.Printf("goal one row per member and day, rows = members with a 201: %s\n", benchfig.Verdict(ok))
	if !ok {
		return errors.New("verification failed")
	}
	return nil
}

// ---------------------------------------------------------------- fanout

func fanout(o options) error {
	ctx := context.Background()
	a, _, err := open(ctx, o, true)
	if err != nil {
		return err
	}
	defer a.Close()
	var name string
	if err := a.DB.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		return err
	}
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.fanoutOrgs, Members: benchapp.MembersFor(o.targets)})
	if err != nil {
		return err
	}
	fmt.Printf("fanout: database %s (separate, fresh): seeded %d orgs and %d memberships (%d approved) in %s\n",
		name, res.Orgs, res.Memberships, res.Approved, res.Duration.Round(time.Millisecond))
	sqlDB, err := a.DB.DB.DB()
	if err != nil {
		return err
	}
	yard, err := newYardstick(ctx, sqlDB)
	if err != nil {
		return fmt.Errorf("yardstick: %w", err)
	}
	want := int64(res.Approved)
	var took, bare []float64
	for run := 1; run <= o.Runs; run++ {
		tk, _, err := a.Task.Create(ctx, res.RootSecretaryUserID, res.RootID, task.Input{
			Title: fmt.Sprintf("全员值守压测 %d", run), Description: "checkinbench fan-out", Kind: task.KindDuty,
			Target: task.Target{IncludeSuborgs: true},
		})
		if err != nil {
			return fmt.Errorf("create task: %w", err)
		}
		start := time.Now()
		if err := a.Task.FanOut(ctx, tk.ID); err != nil {
			return fmt.Errorf("fan-out: %w", err)
		}
		d := time.Since(start)
		var st struct {
			Assignments, Notifications, AssignedCount int64
			Status                                    string
		}
		if err := a.DB.Raw(`SELECT
			(SELECT COUNT(*) FROM assignments WHERE task_id = ?) AS assignments,
			(SELECT COUNT(*) FROM notifications WHERE ref_type = 'task' AND ref_id = ? AND kind = 'task_assigned') AS notifications,
			(SELECT assigned_count FROM tasks WHERE id = ?) AS assigned_count,
			(SELECT status FROM tasks WHERE id = ?) AS status`, tk.ID, tk.ID, tk.ID, tk.ID).Scan(&st).Error; err != nil {
			return err
		}
		y, rows, err := yard.run(ctx, tk.ID)
		if err != nil {
			return fmt.Errorf("yardstick: %w", err)
		}
		fmt.Printf("run %d/%d fanout: task %d to the root with include_suborgs, no filter: FanOut took %s; assignments=%d notifications=%d assigned_count=%d status=%s (want %d each); bare write of the same %d rows %s\n",
			run, o.Runs, tk.ID, benchfig.Latency(d), st.Assignments, st.Notifications, st.AssignedCount, st.Status, want, rows, benchfig.Latency(y))
		if st.Assignments != want || st.Notifications != want || st.AssignedCount != want || st.Status != string(task.StatusOpen) {
			return errors.New("fan-out verification failed")
		}
		took = append(took, benchfig.Ms(d))
		bare = append(bare, benchfig.Ms(y))
	}
	fig := benchfig.Figure{Name: fmt.Sprintf("fan-out of one task to %s members", benchfig.Format(benchfig.Count, float64(want))),
		Unit: benchfig.Millis, Values: took, Base: bare, Goal: benchfig.Goal{Max: benchfig.Ms(goalFanOut)}}
	fmt.Printf("goal fan-out to %d members < %s: median %s: %s\n", want, goalFanOut, benchfig.Format(benchfig.Millis, benchfig.Median(took)), fig.Verdict())
	return benchfig.Table(os.Stdout, fmt.Sprintf("summary of checkinbench fan-out (%d runs; baseline: the same assignment and notification rows written by one transaction of 1,000-row INSERTs through pgx into empty copies of the two tables, same run)", o.Runs),
		[]benchfig.Figure{fig})
}

// yardstick is the bare stack's fan-out: the least any fan-out must do once
// it knows its members is to write their assignment and notification rows.
// It writes the rows a FanOut made again, into empty copies of the two
// tables (same columns, defaults and indexes), in one transaction of
// 1,000-row INSERTs through database/sql on pgx, and times that.
type yardstick struct {
	db     *sql.DB
	tables []yardTable
}

type yardTable struct {
	from, to, where string
	cols, types     []string
}

func newYardstick(ctx context.Context, db *sql.DB) (*yardstick, error) {
	y := &yardstick{db: db, tables: []yardTable{
		{from: "assignments", to: "yard_assignments", where: "task_id = $1"},
		{from: "notifications", to: "yard_notifications", where: "ref_type = 'task' AND kind = 'task_assigned' AND ref_id = $1"},
	}}
	for i := range y.tables {
		t := &y.tables[i]
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+t.to+" (LIKE "+t.from+" INCLUDING ALL)"); err != nil {
			return nil, err
		}
		rows, err := db.QueryContext(ctx, `SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'id' ORDER BY attnum`, t.from)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			t.cols = append(t.cols, `"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
			t.types = append(t.types, typ)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return y, nil
}

// run writes the rows of one task again and returns how long that took and
// how many rows it wrote.
func (y *yardstick) run(ctx context.Context, taskID int64) (time.Duration, int, error) {
	type batch struct {
		sql  string
		args []any
	}
	var batches []batch
	total := 0
	for _, t := range y.tables {
		if _, err := y.db.ExecContext(ctx, "TRUNCATE "+t.to); err != nil {
			return 0, 0, err
		}
		sel := make([]string, len(t.cols))
		for i, c := range t.cols {
			sel[i] = c + "::text"
		}
		rows, err := y.db.QueryContext(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+t.from+" WHERE "+t.where, taskID)
		if err != nil {
			return 0, 0, err
		}
		var all [][]any
		for rows.Next() {
			vals := make([]sql.NullString, len(t.cols))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return 0, 0, err
			}
			row := make([]any, len(vals))
			for i, v := range vals {
				if v.Valid {
					row[i] = v.String
				}
			}
			all = append(all, row)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, 0, err
		}
		total += len(all)
		for start := 0; start < len(all); start += 1000 {
			chunk := all[start:min(start+1000, len(all))]
			var b strings.Builder
			b.WriteString("INSERT INTO " + t.to + " (" + strings.Join(t.cols, ", ") + ") VALUES ")
			args := make([]any, 0, len(chunk)*len(t.cols))
			for r, row := range chunk {
				if r > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('(')
				for i := range row {
					if i > 0 {
						b.WriteString(", ")
					}
					args = append(args, row[i])
					fmt.Fprintf(&b, "$%d::%s", len(args), t.types[i])
				}
				b.WriteByte(')')
			}
			batches = append(batches, batch{sql: b.String(), args: args})
		}
	}
	start := time.Now()
	tx, err := y.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	for _, b := range batches {
		if _, err := tx.ExecContext(ctx, b.sql, b.args...); err != nil {
			_ = tx.Rollback()
			return 0, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), total, nil
}
