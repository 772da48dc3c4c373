// Command formbench measures screening forms at scale: members submitting a
// daily form's entries to a running server beside the bare-stack
// baseline's check-in of the same run, and the summary and export of one
// day of a daily form filled by hundreds of thousands of members for a
// month. scripts/bench-form.sh drives it: seed, start the server and the
// baseline, load, verify, stop them, scale. It lives under server/ because
// it uses the server's internal packages.
//
// Usage:
//
//	formbench -mode seed   -db URL [-redis URL] [-prefix bform:] [-namespace bform] [-orgs 1000] [-members 150000] -tokens FILE -form-file FILE
//	formbench -mode load   -url http://127.0.0.1:18083 [-baseline http://127.0.0.1:18183] [-baseline-users 500000]
//	                       -tokens FILE -form-file FILE -counts FILE [-c 64] [-d 10s] [-warmup 2s] [-runs 3]
//	formbench -mode verify -db URL [-redis URL] [-prefix bform:] -form-file FILE -counts FILE
//	formbench -mode scale  -db URL [-redis URL] [-prefix bform:] [-orgs 50000] [-members 500000] [-days 30] [-n 5] [-sample 300]
//
// Modes:
//
//	seed    migrates a fresh database (app.New), seeds -orgs orgs with
//	        org.Seed so that -members memberships are approved (org.Seed
//	        makes every tenth one pending), creates a daily form for the
//	        whole tree as the root's secretary through the form service —
//	        fields temperature (alert at 37.3), choice, text and number —
//	        and tells its audience directly (form.Service.FanOut, as the
//	        queued job would before anyone fills it in; the job itself is
//	        queued under -seed-namespace, which the server does not run),
//	        writes the form's id to -form-file, then creates one session per
//	        approved ordinary member in Redis under -prefix (the server must
//	        use the same APP_REDIS_KEY_PREFIX) and writes "<token> <user id>"
//	        lines to -tokens (test credentials of a scratch database).
//	load    drives POST /api/v1/forms/{id}/entries with -c keep-alive
//	        workers for -warmup (not measured) and then -d, -runs times, and
//	        after each run the same against the baseline's POST /checkin
//	        (-baseline) with the same bodies, workers and durations. Every
//	        request is a member's first entry of the day (201), members
//	        taken across the runs in a shuffled order (fixed seed), so that
//	        concurrent entries come from all the branches as on a real
//	        morning (-in-order: in membership order, a branch at a time, the
//	        worst case for the branch's running totals); the answers vary by member (one
//	        in 200 has a temperature that trips the alert and files an urgent
//	        report, as a real day would). It prints one line per run and
//	        target, a table of medians, spreads and ratios to the baseline,
//	        judged against the goal (at least 0.4 of the baseline's
//	        throughput, p99 at most 3 × its p99), and writes to -counts how
//	        many members got a 201 for verify. Exits 1 on any transport error
//	        or other status (for either server), or a member with two 201s.
//	verify  folds what the server's workers had not yet folded into the
//	        totals, then checks that the form has exactly one entry per
//	        member and day, as many as members got a 201, and that its
//	        running totals (form_totals) count every entry of each day and
//	        org once, and of each day for the whole form (org 0). Exits 1
//	        if not.
//	scale   migrates a fresh database, seeds -orgs orgs with -members
//	        approved memberships, creates a daily form for the whole tree,
//	        checks on -sample members that the bulk load below writes the
//	        entries and form_totals rows the service writes (the same
//	        answers submitted through form.Service.Submit to one form and
//	        bulk-loaded into another: same rows, same summary), then
//	        bulk-loads -days days up to today of one entry per member and
//	        day, and their form_totals rows, with COPY (the entries'
//	        secondary indexes are dropped first and built again after),
//	        printing how long each step took. It then times GET
//	        /api/v1/forms/{id}/summary?day= of the last day (its first page
//	        of orgs) as the root's secretary over loopback HTTP, -n times
//	        after one unmeasured call (goal: median under 1 s), checks its
//	        figures, and its orgs read page by page, against what was
//	        loaded, streams GET /api/v1/forms/{id}/export.xlsx of that day
//	        in a child process of its own (this binary with -mode
//	        export-child), whose peak RSS is measured (goal: under 300 MB),
//	        and reads the workbook back to count its rows. Exits 1 if a
//	        call fails or a figure disagrees; a missed goal is printed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai, as the server

	"xianfeng/scripts/benchfig"
	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/cmd/internal/loadgen"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/task"
)

// Goals of the issue: entries at 0.4 of the bare stack's throughput with a
// p99 at most 3 × its p99, measured in the same run; for a daily form of
// 500,000 members with 30 days of entries, the root's summary of a day
// under 1 s and the export of a day streamed in under 300 MB.
const (
	goalRatio    = 0.4
	goalP99Ratio = 3.0
	goalSummary  = time.Second
	goalRSSKB    = 300 * 1024
)

type options struct {
	mode string
	benchapp.Flags
	benchapp.Tree
	loadgen.Options
	prefix, namespace string
	seedNamespace     string
	formFile          string
	days, n, sample   int
	inOrder           bool
	// export-child
	form, user  int64
	day, output string
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "", "seed, load, verify or scale")
	o.Flags.Register("scratch database (seed, verify, scale)")
	o.Tree.Register(50000, 500000, ": approved ones, secretaries included, each in the form's audience (seed, scale)")
	o.Options.Register("http://127.0.0.1:18083")
	flag.StringVar(&o.prefix, "prefix", "bform:", "Redis key prefix; must be the server's APP_REDIS_KEY_PREFIX")
	flag.StringVar(&o.namespace, "namespace", "bform", "asynq namespace")
	flag.StringVar(&o.seedNamespace, "seed-namespace", "bformseed", "asynq namespace of the seed's queued jobs, which nothing runs (seed)")
	flag.StringVar(&o.formFile, "form-file", "", "file of the load's form id (seed writes, load and verify read)")
	flag.IntVar(&o.days, "days", 30, "days of entries, up to today (scale)")
	flag.IntVar(&o.n, "n", 5, "measured GET summary calls, after one unmeasured (scale)")
	flag.BoolVar(&o.inOrder, "in-order", false, "members submit in membership order, a branch at a time, instead of shuffled (load)")
	flag.IntVar(&o.sample, "sample", 300, "members whose entries check the bulk load against the service (scale)")
	flag.Int64Var(&o.form, "form", 0, "internal (export-child): form to export")
	flag.Int64Var(&o.user, "user", 0, "internal (export-child): the secretary who exports")
	flag.StringVar(&o.day, "day", "", "internal (export-child): day to export")
	flag.StringVar(&o.output, "out", "", "internal (export-child): file to write the workbook to")
	benchapp.Main(func() string { return "formbench " + o.mode }, func() bool {
		return o.Options.Valid() && o.days >= 1 && o.n >= 1 && o.sample >= 1 && o.Members >= 2
	}, func() error {
		ctx := context.Background()
		switch o.mode {
		case "seed":
			return seed(ctx, o)
		case "load":
			return load(o)
		case "verify":
			return verify(ctx, o)
		case "scale":
			return scale(ctx, o)
		case "export-child":
			return exportChild(ctx, o)
		}
		fmt.Fprintf(os.Stderr, "formbench: -mode must be seed, load, verify or scale, got %q\n", o.mode)
		os.Exit(2)
		return nil
	})
}

// open builds the real app on the database, as the server would with the
// same APP_* settings, its jobs queued under namespace.
func open(ctx context.Context, o options, namespace string, migrate bool) (*app.App, error) {
	if o.DB == "" {
		return nil, errors.New("-db is required")
	}
	cfg, err := benchapp.Settings{Flags: o.Flags, Prefix: o.prefix, Namespace: namespace, LogLevel: "error"}.Config()
	if err != nil {
		return nil, err
	}
	if err := benchapp.WarnUnlessPostgres("formbench", o.DB); err != nil {
		return nil, err
	}
	return benchapp.Open(ctx, cfg, app.Options{Migrate: migrate})
}

// ---------------------------------------------------------------- the form

func limit(v float64) *float64 { return &v }

// fields are the daily health report the members fill in.
var fields = []form.Field{
	{Key: "temp", Label: "体温", Type: form.TypeTemperature, Required: true, Alert: &form.Alert{Op: "gte", Value: json.RawMessage(`37.3`)}},
	{Key: "status", Label: "今日状态", Type: form.TypeChoice, Required: true, Options: []string{"在家", "外出", "返乡"}},
	{Key: "note", Label: "备注", Type: form.TypeText},
	{Key: "visits", Label: "走访户数", Type: form.TypeNumber, Min: limit(0), Max: limit(50), Unit: "户"},
}

var notes = []string{"", "无异常", "家中有老人需关照"}

// variant is one member's answers on one day; there are variants of them.
type variant struct{ temp, status, note, visits int }

const (
	temps    = 14 // 36.0 … 37.2 and, for one member in 200, 37.6
	variants = temps * 3 * 3 * 10
)

// pick returns the answers of user u on day: spread evenly over the
// options, one in 200 trips the temperature alert, a third leave no note.
func pick(u int64, day string) variant {
	h := uint64(u)*0x9E3779B97F4A7C15 + 0xBF58476D1CE4E5B9
	for i := range len(day) {
		h = (h ^ uint64(day[i])) * 0x100000001B3
	}
	h ^= h >> 31
	h *= 0x94D049BB133111EB
	h ^= h >> 29
	v := variant{temp: int(h>>8) % 13, status: int(h>>16) % 3, note: int(h>>24) % 3, visits: int(h>>32) % 10}
	if h%200 == 0 {
		v.temp = temps - 1
	}
	return v
}

// code numbers the variants 0..variants-1.
func (v variant) code() int { return ((v.temp*3+v.status)*3+v.note)*10 + v.visits }

func (v variant) temperature() float64 {
	if v.temp == temps-1 {
		return 37.6
	}
	return float64(360+v.temp) / 10
}

// answers appends the variant as a JSON object of answers.
func (v variant) answers(b []byte) []byte {
	b = append(b, `{"temp":`...)
	b = strconv.AppendFloat(b, v.temperature(), 'f', 1, 64)
	b = append(b, `,"status":`...)
	b = strconv.AppendQuote(b, fields[1].Options[v.status])
	if notes[v.note] != "" {
		b = append(b, `,"note":`...)
		b = strconv.AppendQuote(b, notes[v.note])
	}
	b = append(b, `,"visits":`...)
	b = strconv.AppendInt(b, int64(v.visits), 10)
	return append(b, '}')
}

// raw is the variant as the service takes answers.
func (v variant) raw() map[string]json.RawMessage {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(v.answers(nil), &m) // written above
	return m
}

// createForm creates the daily form for the whole tree as the root's
// secretary, through the service. It has no due time, so that the server's
// minute sweep neither reminds nor marks misses while it is measured.
func createForm(ctx context.Context, a *app.App, res org.SeedResult, title string) (form.Form, error) {
	f, err := a.Form.Create(ctx, res.RootSecretaryUserID, res.RootID, form.Input{
		Title: title, Description: "formbench", Mode: form.ModeDaily,
		Target: task.Target{IncludeSuborgs: true}, Fields: fields,
	})
	if err != nil {
		return form.Form{}, fmt.Errorf("create form: %w", err)
	}
	return f, nil
}

// seedTree seeds the tree with o.Members approved memberships and prints
// what it made.
func seedTree(ctx context.Context, a *app.App, o options) (org.SeedResult, error) {
	res, err := org.Seed(ctx, a.DB.DB, org.SeedSpec{Orgs: o.Orgs, Members: benchapp.MembersFor(o.Members)})
	if err != nil {
		return res, err
	}
	fmt.Printf("seed: %d orgs, %d memberships (%d approved, %d pending, secretaries included) in %s\n",
		res.Orgs, res.Memberships, res.Approved, res.Pending, res.Duration.Round(time.Millisecond))
	return res, nil
}

// ---------------------------------------------------------------- seed

func seed(ctx context.Context, o options) error {
	if o.Tokens == "" || o.formFile == "" {
		return errors.New("-tokens and -form-file are required")
	}
	a, err := open(ctx, o, o.seedNamespace, true)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := seedTree(ctx, a, o)
	if err != nil {
		return err
	}
	f, err := createForm(ctx, a, res, "每日健康打卡（压测）")
	if err != nil {
		return err
	}
	start := time.Now()
	if err := a.Form.FanOut(ctx, f.ID); err != nil {
		return fmt.Errorf("tell the audience: %w", err)
	}
	fmt.Printf("seed: daily form %d for the whole tree, its audience told in %s\n", f.ID, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(o.formFile, []byte(strconv.FormatInt(f.ID, 10)), 0o644); err != nil {
		return err
	}
	return loadgen.Sessions(ctx, a, o.prefix, o.Options)
}

func readForm(path string) (int64, error) {
	if path == "" {
		return 0, errors.New("-form-file is required")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
}

// ---------------------------------------------------------------- load

func load(o options) error {
	if o.Tokens == "" || o.Counts == "" {
		return errors.New("-tokens and -counts are required")
	}
	id, err := readForm(o.formFile)
	if err != nil {
		return err
	}
	mem, err := loadgen.ReadTokens(o.Tokens)
	if err != nil {
		return err
	}
	order := "in membership order, a branch at a time"
	if !o.inOrder {
		// A morning's entries come from every branch at once; in
		// membership order all the clients would be filling one branch's
		// form_totals rows, and wait on each other's row locks.
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(mem), func(i, j int) { mem[i], mem[j] = mem[j], mem[i] })
		order = "in a shuffled order (fixed seed), across the branches"
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return err
	}
	day := time.Now().In(loc).Format(time.DateOnly)
	answers := func(b []byte, i int) []byte {
		b = append(b, `,"answers":`...)
		return pick(int64(i), day).answers(b)
	}
	client := loadgen.Client(o.C)
	xurl := fmt.Sprintf("%s/api/v1/forms/%d/entries", o.URL, id)
	xf := loadgen.Xianfeng(client, xurl, mem, answers)
	targets := []*loadgen.Target{xf}
	if o.Baseline != "" {
		targets = append(targets, loadgen.Baseline(client, o.Baseline, o.BaseUsers, answers))
	}
	fmt.Printf("load: %d members with a session, taken %s, %d clients, warm-up %s, measured %s, %d runs; POST %s (a day's first entry, %d fields)",
		len(mem), order, o.C, o.Warmup, o.D, o.Runs, xurl, len(fields))
	if o.Baseline != "" {
		fmt.Printf(", beside the baseline's POST %s/checkin (%d users, the same bodies) after each run", o.Baseline, o.BaseUsers)
	}
	fmt.Println()
	start := time.Now()
	s, runErr := loadgen.Compare(o.Options, "new", false, targets)
	figs := loadgen.Judge("form entry, new", s, goalRatio, goalP99Ratio)
	return errors.Join(runErr, loadgen.Summary(o.Options, "formbench load", figs, xf, start, targets))
}

// ---------------------------------------------------------------- verify

func verify(ctx context.Context, o options) error {
	c, err := loadgen.ReadCounts(o.Counts)
	if err != nil {
		return err
	}
	id, err := readForm(o.formFile)
	if err != nil {
		return err
	}
	a, err := open(ctx, o, o.namespace, false)
	if err != nil {
		return err
	}
	defer a.Close()
	// The server's workers fold the entries into the totals every few
	// seconds; what the last seconds of the load left is folded here.
	t0 := time.Now()
	left, err := a.Form.Fold(ctx, id)
	if err != nil {
		return err
	}
	fmt.Printf("verify: %d entries were still to be folded into the totals (folded in %s)\n", left, time.Since(t0).Round(time.Millisecond))
	db := a.DB.WithContext(ctx)
	var st struct {
		Rows, UserDays, Slots, Users, Versions int64
	}
	if err := db.Raw(`SELECT COUNT(*) AS rows, COUNT(DISTINCT (user_id, day)) AS user_days,
		COUNT(DISTINCT (user_id, slot)) AS slots, COUNT(DISTINCT user_id) AS users, COALESCE(MAX(version), 0) AS versions
		FROM form_entries WHERE form_id = ?`, id).Scan(&st).Error; err != nil {
		return err
	}
	// The running totals of each day and org against the entries.
	// Each org's, and the whole form's (org 0).
	var totals struct{ Groups, Off, Counted, WholeOff int64 }
	if err := db.Raw(`SELECT COUNT(*) AS groups, COUNT(*) FILTER (WHERE t.n IS DISTINCT FROM e.n OR t.alerts IS DISTINCT FROM e.alerts) AS off,
			COALESCE(SUM(t.n), 0) AS counted,
			(SELECT COUNT(*) FROM (SELECT day, COUNT(*) AS n, COUNT(*) FILTER (WHERE alert) AS alerts FROM form_entries WHERE form_id = @id GROUP BY day) e
				FULL JOIN (SELECT day, n, alerts FROM form_totals WHERE form_id = @id AND org_id = 0 AND field_key = '' AND choice = '') t
				ON t.day = e.day WHERE t.n IS DISTINCT FROM e.n OR t.alerts IS DISTINCT FROM e.alerts) AS whole_off
		FROM (SELECT day, org_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE alert) AS alerts FROM form_entries WHERE form_id = @id GROUP BY day, org_id) e
		FULL JOIN (SELECT day, org_id, n, alerts FROM form_totals WHERE form_id = @id AND org_id <> 0 AND field_key = '' AND choice = '') t
			ON t.day = e.day AND t.org_id = e.org_id`, map[string]any{"id": id}).Scan(&totals).Error; err != nil {
		return err
	}
	fmt.Printf("verify: form %d: entries=%d distinct (user,day)=%d distinct (user,slot)=%d distinct users=%d, latest version %d\n",
		id, st.Rows, st.UserDays, st.Slots, st.Users, st.Versions)
	fmt.Printf("verify: load saw %d distinct members with a 201 (%d 201 answers, %d members with two)\n", c.Distinct, c.Created, c.Repeated)
	fmt.Printf("verify: form_totals: %d (day, org) groups, %d disagreeing with the entries, %d entries counted; the whole form's day rows disagreeing: %d\n",
		totals.Groups, totals.Off, totals.Counted, totals.WholeOff)
	ok := st.Rows == st.UserDays && st.Rows == st.Slots && st.Rows == c.Distinct && c.Created == c.Distinct &&
		totals.Off == 0 && totals.Counted == st.Rows && totals.WholeOff == 0
	fmt.Printf("goal one entry per member and day, entries = members with a 201, totals = entries: %s\n", benchfig.Verdict(ok))
	if !ok {
		return errors.New("verification failed")
	}
	return nil
}
