package report_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/queue"
	"xianfeng/server/internal/report"
)

// near fails unless got is within tolerance of want; asynq and the
// databases keep whole seconds, so tolerances are seconds.
func near(t *testing.T, what string, got, want time.Time, tolerance time.Duration) {
	t.Helper()
	if d := got.Sub(want); d < -tolerance || d > tolerance {
		t.Errorf("%s = %s, want %s ± %s (off by %s)", what, got.UTC().Format(time.RFC3339), want.UTC().Format(time.RFC3339), tolerance, d)
	}
}

// job returns the queued escalation step of a report from level, or nil
// when there is none.
func (w *world) job(reportID int64, level int) *asynq.TaskInfo {
	w.t.Helper()
	info, err := w.App.Queue.Inspector().GetTaskInfo(w.App.Queue.Name(queue.Critical), fmt.Sprintf("report-escalate-%d-%d", reportID, level))
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		w.t.Fatalf("escalation job of report %d from level %d: %v", reportID, level, err)
	}
	return info
}

// runNow has the workers run the scheduled escalation job of a report from
// level now, instead of at its time on the machine's clock.
func (w *world) runNow(reportID int64, level int) {
	w.t.Helper()
	if err := w.App.Queue.Inspector().RunTask(w.App.Queue.Name(queue.Critical), fmt.Sprintf("report-escalate-%d-%d", reportID, level)); err != nil {
		w.t.Fatalf("run the escalation job of report %d from level %d: %v", reportID, level, err)
	}
}

// escalate plays the escalation job of a report from level, as the worker would.
func (w *world) escalate(id int64, level int) report.Report {
	w.t.Helper()
	r, err := w.App.Report.Escalate(context.Background(), id, level, 0, "")
	if err != nil {
		w.t.Fatalf("escalate report %d from level %d: %v", id, level, err)
	}
	return r
}

// overdue moves a report's escalation time into the past, as if its job
// had been lost.
func (w *world) overdue(id int64) {
	w.t.Helper()
	if err := w.App.DB.Table("reports").Where("id = ?", id).Update("next_escalate_at", time.Now().UTC().Add(-time.Hour)).Error; err != nil {
		w.t.Fatal(err)
	}
}

func TestAnUnacknowledgedReportClimbsOneLevelPerSLAToTheRoot(t *testing.T) {
	w := newWorld(t)
	sla := w.App.Config.Report.SLAUrgent
	var r reportJSON

	t.Run("an urgent report from a branch member notifies the branch secretary and starts its clock", func(t *testing.T) {
		w := w.in(t)
		r = w.file(w.MemberA, "urgent", "小区东门发现两名发热人员，未戴口罩")
		if r.Status != "open" || r.OrgID != w.A || r.CurrentOrgID != w.A || r.EscalationLevel != 0 || r.ReporterID != w.MemberA.ID {
			t.Fatalf("new report = %+v", r)
		}
		if r.NextEscalateAt == nil {
			t.Fatal("a new open report has no next_escalate_at")
		}
		near(t, "next_escalate_at", *r.NextEscalateAt, r.CreatedAt.Add(sla), 2*time.Second)
		if n := w.notifications(notify.KindReportReceived, r.ID, w.SecA.ID); n != 1 {
			t.Errorf("branch secretary got %d report_received notifications, want 1", n)
		}
		for _, p := range []person{w.comSec, w.RootSec, w.SecB} {
			if n := w.notifications(notify.KindReportReceived, r.ID, p.ID) + w.notifications(notify.KindReportEscalated, r.ID, p.ID); n != 0 {
				t.Errorf("%s was notified %d times of a report still at the branch", p.Name, n)
			}
		}
		job := w.job(r.ID, 0)
		if job == nil || job.State != asynq.TaskStateScheduled {
			t.Fatalf("escalation job from level 0 = %+v, want a scheduled job", job)
		}
		near(t, "the job's due time", job.NextProcessAt, *r.NextEscalateAt, 2*time.Second)
	})

	t.Run("after one SLA period it is escalated to the committee and its secretary notified", func(t *testing.T) {
		w := w.in(t)
		w.escalate(r.ID, 0)
		got, evs := w.timeline(w.MemberA, r.ID)
		if got.Status != "open" || got.CurrentOrgID != w.com || got.EscalationLevel != 1 || got.NextEscalateAt == nil {
			t.Fatalf("report after one escalation = %+v", got)
		}
		near(t, "next_escalate_at", *got.NextEscalateAt, time.Now().Add(sla), 3*time.Second)
		if want := "created@A/0 notified@A/0 escalated@com/1 notified@com/1"; w.steps(evs) != want {
			t.Errorf("timeline = %s, want %s", w.steps(evs), want)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.comSec.ID); n != 1 {
			t.Errorf("committee secretary got %d report_escalated notifications, want 1", n)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.RootSec.ID); n != 0 {
			t.Errorf("root secretary notified %d times a level early", n)
		}
		if job := w.job(r.ID, 1); job == nil {
			t.Error("no escalation job queued from level 1")
		} else {
			near(t, "the level-1 job's due time", job.NextProcessAt, *got.NextEscalateAt, 2*time.Second)
		}
	})

	t.Run("running the same level's escalation again, as a duplicate job would, changes nothing", func(t *testing.T) {
		w := w.in(t)
		before, evsBefore := w.timeline(w.MemberA, r.ID)
		again := w.escalate(r.ID, 0)
		if again.EscalationLevel != 1 || again.CurrentOrgID != w.com {
			t.Errorf("the duplicate step answered level %d at org %d", again.EscalationLevel, again.CurrentOrgID)
		}
		after, evs := w.timeline(w.MemberA, r.ID)
		if w.steps(evs) != w.steps(evsBefore) || after.EscalationLevel != 1 || !after.NextEscalateAt.Equal(*before.NextEscalateAt) {
			t.Errorf("a duplicate step changed the report: %+v, timeline %s", after, w.steps(evs))
		}
		jobs := report.NewJobs(w.App.Queue)
		if err := jobs.ScheduleEscalation(context.Background(), r.ID, 1, time.Now().Add(time.Hour)); err != nil {
			t.Errorf("queueing the level-1 step a second time: %v", err)
		}
		if job := w.job(r.ID, 1); job == nil || !job.NextProcessAt.Before(time.Now().Add(30*time.Minute)) {
			t.Errorf("the second enqueue replaced the first job: %+v", job)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.comSec.ID); n != 1 {
			t.Errorf("committee secretary notified %d times, want 1", n)
		}
	})

	t.Run("after a second period it reaches the root and stops there", func(t *testing.T) {
		w := w.in(t)
		w.escalate(r.ID, 1)
		atRoot, _ := w.timeline(w.RootSec, r.ID)
		if atRoot.CurrentOrgID != w.Root || atRoot.EscalationLevel != 2 || atRoot.NextEscalateAt == nil {
			t.Fatalf("report after two escalations = %+v", atRoot)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.RootSec.ID); n != 1 {
			t.Errorf("root secretary got %d report_escalated notifications, want 1", n)
		}
		w.escalate(r.ID, 2) // the step from the root: nobody is above
		got, evs := w.timeline(w.MemberA, r.ID)
		if got.Status != "open" || got.CurrentOrgID != w.Root || got.EscalationLevel != 2 || got.NextEscalateAt != nil {
			t.Errorf("report after the step from the root = %+v, want open at the root with next_escalate_at null", got)
		}
		want := "created@A/0 notified@A/0 escalated@com/1 notified@com/1 escalated@root/2 notified@root/2"
		if w.steps(evs) != want {
			t.Errorf("timeline = %s, want %s", w.steps(evs), want)
		}
		if job := w.job(r.ID, 3); job != nil {
			t.Errorf("a job from level 3 was queued: %+v", job)
		}
		w.overdue(r.ID)
		if err := w.App.Report.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, evs := w.timeline(w.MemberA, r.ID); w.steps(evs) != want || got.NextEscalateAt != nil {
			t.Errorf("the sweeper moved a report at the root: %+v, timeline %s", got, w.steps(evs))
		}
	})
}

func TestTheSweeperEscalatesReportsWhoseJobWasLostOneLevelAtATime(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	late := w.file(w.MemberA, "normal", "药店口罩断货三天")
	onTime := w.file(w.MemberB, "normal", "卡口缺少测温枪")
	w.overdue(late.ID)

	t.Run("an overdue report climbs exactly one level per sweep", func(t *testing.T) {
		w := w.in(t)
		if err := w.App.Report.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, evs := w.timeline(w.MemberA, late.ID)
		if got.EscalationLevel != 1 || got.CurrentOrgID != w.com {
			t.Fatalf("after one sweep the report is at level %d, org %d", got.EscalationLevel, got.CurrentOrgID)
		}
		if err := w.App.Report.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, evs2 := w.timeline(w.MemberA, late.ID)
		if got.EscalationLevel != 1 || len(evs2) != len(evs) {
			t.Errorf("a second sweep within the SLA moved it again: level %d, timeline %s", got.EscalationLevel, w.steps(evs2))
		}
	})

	t.Run("a report still within its SLA is left alone", func(t *testing.T) {
		w := w.in(t)
		got, evs := w.timeline(w.MemberB, onTime.ID)
		if got.EscalationLevel != 0 || w.steps(evs) != "created@B/0 notified@B/0" {
			t.Errorf("the sweeper escalated a report within its SLA: %+v, %s", got, w.steps(evs))
		}
	})

	t.Run("an acknowledged report is not escalated even when overdue", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("POST", reportPath(onTime.ID, "ack"), w.SecB, nil), 200)
		w.overdue(onTime.ID) // a stale time must not bring it back
		if err := w.App.Report.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		got, evs := w.timeline(w.MemberB, onTime.ID)
		if got.EscalationLevel != 0 || got.Status != "acknowledged" || w.steps(evs) != "created@B/0 notified@B/0 acknowledged@B/0" {
			t.Errorf("acknowledged report after a sweep: %+v, %s", got, w.steps(evs))
		}
	})
}

func TestAnAcknowledgementStopsTheEscalation(t *testing.T) {
	w := newWorld(t)
	r := w.file(w.MemberA, "urgent", "发现有人散布封城谣言")
	w.escalate(r.ID, 0)

	t.Run("the committee secretary acknowledges it at level 1", func(t *testing.T) {
		w := w.in(t)
		var got reportJSON
		w.Expect(w.DoAs("POST", reportPath(r.ID, "ack"), w.comSec, nil), 200).JSON(t, &got)
		if got.Status != "acknowledged" || got.EscalationLevel != 1 || got.NextEscalateAt != nil || got.AckedBy == nil || *got.AckedBy != w.comSec.ID {
			t.Errorf("acknowledged report = %+v", got)
		}
		if job := w.job(r.ID, 1); job != nil {
			t.Errorf("the level-1 job is still queued after the acknowledgement: %+v", job)
		}
	})

	t.Run("a later job for level 1 is stale and does nothing", func(t *testing.T) {
		w := w.in(t)
		w.escalate(r.ID, 1)
		if err := w.App.Report.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, evs := w.timeline(w.MemberA, r.ID)
		want := "created@A/0 notified@A/0 escalated@com/1 notified@com/1 acknowledged@com/1"
		if got.Status != "acknowledged" || got.EscalationLevel != 1 || w.steps(evs) != want {
			t.Errorf("after a stale job: %+v, timeline %s, want %s", got, w.steps(evs), want)
		}
	})

	t.Run("no job for level 2 is queued and the root secretary hears nothing", func(t *testing.T) {
		w := w.in(t)
		if job := w.job(r.ID, 2); job != nil {
			t.Errorf("a level-2 job was queued: %+v", job)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.RootSec.ID); n != 0 {
			t.Errorf("root secretary notified %d times", n)
		}
	})

	t.Run("escalating an acknowledged report by hand is refused", func(t *testing.T) {
		w := w.in(t)
		res := w.DoAs("POST", reportPath(r.ID, "escalate"), w.comSec, map[string]string{"note": "请市委关注"})
		if res.Status != 409 || res.ErrorCode() != "invalid_transition" {
			t.Errorf("escalate after ack = %d %s, want 409 invalid_transition", res.Status, res.Body)
		}
	})
}

// raceEscalation has MemberA file an urgent report, then runs act on it
// and its escalation from level 0 at the same moment, and returns the report
// and its timeline after both, with the errors of act and of the escalation.
func (w *world) raceEscalation(in report.Input, act func(ctx context.Context, id int64) error) (report.Report, []report.Event, error, error) {
	w.t.Helper()
	ctx := context.Background()
	in.Urgency = report.Urgent
	r, _, err := w.App.Report.Create(ctx, w.MemberA.ID, in)
	w.Must(err)
	var actErr, escErr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() { <-start; actErr = act(ctx, r.ID) })
	wg.Go(func() { <-start; _, escErr = w.App.Report.Escalate(ctx, r.ID, 0, 0, "") })
	close(start)
	wg.Wait()
	got, evs, err := w.App.Report.Timeline(ctx, w.MemberA.ID, r.ID)
	w.Must(err)
	return got, evs, actErr, escErr
}

func TestAnAcknowledgementRacingAnEscalationLeavesOneConsistentTimeline(t *testing.T) {
	w := newWorld(t)
	outcomes := map[string]int{}
	for i := range 30 {
		got, evs, ackErr, escErr := w.raceEscalation(report.Input{Category: "help_needed", Content: "独居老人缺药", RequestID: fmt.Sprintf("race-%d", i)},
			func(ctx context.Context, id int64) error { _, err := w.App.Report.Ack(ctx, w.SecA.ID, id); return err })
		ack, lastEsc, acks := -1, -1, 0
		for j, e := range evs {
			switch e.Kind {
			case report.EventAcknowledged:
				ack, acks = j, acks+1
			case report.EventEscalated:
				lastEsc = j
			}
		}
		outcome := "acknowledged at the branch, never escalated"
		switch {
		case acks == 0:
			outcome = "without an acknowledgement"
		case lastEsc >= 0:
			outcome = "escalated, then acknowledged at the committee"
		}
		t.Run(fmt.Sprintf("race %d ends %s", i, outcome), func(t *testing.T) {
			w := w.in(t)
			if ackErr != nil || escErr != nil {
				t.Fatalf("ack: %v; escalate: %v", ackErr, escErr)
			}
			if acks != 1 || got.Status != report.StatusAcknowledged || got.NextEscalateAt != nil {
				t.Fatalf("report %+v with %d acknowledgements, want acknowledged once with no clock", got, acks)
			}
			if lastEsc > ack {
				t.Fatalf("escalated after it was acknowledged: %v", evs)
			}
			wantLevel, wantOrg := 0, w.A
			if lastEsc >= 0 {
				wantLevel, wantOrg = 1, w.com
			}
			if got.EscalationLevel != wantLevel || got.CurrentOrgID != wantOrg || evs[ack].Level != wantLevel || evs[ack].OrgID != wantOrg {
				t.Errorf("report at level %d org %d, acknowledged at level %d org %d; want both level %d org %d",
					got.EscalationLevel, got.CurrentOrgID, evs[ack].Level, evs[ack].OrgID, wantLevel, wantOrg)
			}
		})
		outcomes[outcome]++
	}
	t.Logf("%s: %v", w.Env, outcomes)
}

func TestAResolutionRacingAnEscalationIsRecordedWhereTheReportIs(t *testing.T) {
	w := newWorld(t)
	outcomes := map[string]int{}
	for i := range 20 {
		got, evs, resErr, escErr := w.raceEscalation(report.Input{Category: "supplies", Content: "口罩短缺", RequestID: fmt.Sprintf("resolve-race-%d", i)},
			func(ctx context.Context, id int64) error {
				_, err := w.App.Report.Resolve(ctx, w.SecA.ID, id, "已送达")
				return err
			})
		outcome := "resolved at the branch"
		if got.EscalationLevel == 1 {
			outcome = "escalated, then resolved at the committee"
		}
		t.Run(fmt.Sprintf("race %d ends %s", i, outcome), func(t *testing.T) {
			w := w.in(t)
			if resErr != nil || escErr != nil {
				t.Fatalf("resolve: %v; escalate: %v", resErr, escErr)
			}
			resolved := -1
			for j, e := range evs {
				if e.Kind == report.EventResolved {
					resolved = j
				}
				if e.Kind == report.EventEscalated && resolved >= 0 {
					t.Fatalf("escalated after it was resolved: %+v", evs)
				}
			}
			if resolved < 0 || got.Status != report.StatusResolved || got.AckedBy == nil || *got.AckedBy != w.SecA.ID {
				t.Fatalf("report %+v, events %+v: want resolved and acknowledged by the branch secretary", got, evs)
			}
			if e := evs[resolved]; e.Level != got.EscalationLevel || e.OrgID != got.CurrentOrgID {
				t.Errorf("resolved at level %d org %d while the report is at level %d org %d", e.Level, e.OrgID, got.EscalationLevel, got.CurrentOrgID)
			}
		})
		outcomes[outcome]++
	}
	t.Logf("%s: %v", w.Env, outcomes)
}

func TestTheWorkersRunTheQueuedEscalationOnceAfterTheSLA(t *testing.T) {
	const sla = 10 * time.Second // the configuration's minimum
	w := newWorld(t, func(c *config.Config) { c.Report.SLAUrgent = sla })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.App.RunWorkers(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("workers: %v", err)
		}
	})
	// asynq moves due jobs by the clock of this process, not by Redis time,
	// so FastForward on the embedded Redis cannot bring a scheduled job
	// forward: the test checks that the job waits for the SLA, then has the
	// workers run it at once instead of waiting the SLA out.
	before := time.Now().Truncate(time.Second)
	r := w.file(w.MemberA, "urgent", "隔离点物资告急")
	after := time.Now()

	// waitFor polls the report until ok holds, for at most a generous deadline.
	waitFor := func(t *testing.T, what string, ok func(report.Report, []report.Event) bool) (report.Report, []report.Event) {
		t.Helper()
		deadline := time.Now().Add(sla + 40*time.Second)
		for {
			got, evs, err := w.App.Report.Timeline(context.Background(), w.MemberA.ID, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if ok(got, evs) {
				return got, evs
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s: report %+v, %d events", what, got, len(evs))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	kinds := func(evs []report.Event, kind string) int {
		n := 0
		for _, e := range evs {
			if e.Kind == kind {
				n++
			}
		}
		return n
	}

	t.Run("the job queued at filing escalates the report to the committee after the SLA", func(t *testing.T) {
		w := w.in(t)
		job := w.job(r.ID, 0)
		if job == nil || job.State != asynq.TaskStateScheduled {
			t.Fatalf("escalation job from level 0 = %+v, want scheduled", job)
		}
		if at := job.NextProcessAt; at.Before(before.Add(sla)) || at.After(after.Add(sla)) {
			t.Errorf("the escalation is scheduled at %s, want the SLA of %s after filing (%s)", at, sla, after)
		}
		w.runNow(r.ID, 0)
		got, _ := waitFor(t, "the first escalation", func(got report.Report, evs []report.Event) bool {
			return got.EscalationLevel >= 1 && kinds(evs, report.EventNotified) >= 2
		})
		if got.CurrentOrgID != w.com || got.EscalationLevel != 1 {
			t.Errorf("report after the job = level %d at org %d, want 1 at the committee", got.EscalationLevel, got.CurrentOrgID)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.comSec.ID); n != 1 {
			t.Errorf("committee secretary got %d report_escalated notifications, want 1", n)
		}
		waitFor(t, "the level-1 job", func(report.Report, []report.Event) bool { return w.job(r.ID, 1) != nil }) // queued right after the notification
		if job := w.job(r.ID, 1); job == nil || job.State != asynq.TaskStateScheduled {
			t.Errorf("no scheduled job from level 1: %+v", job)
		}
		if _, evs := waitFor(t, "the level-0 job to finish", func(report.Report, []report.Event) bool { return w.job(r.ID, 0) == nil }); kinds(evs, report.EventEscalated) != 1 {
			t.Errorf("the level-0 job escalated %d times, want once", kinds(evs, report.EventEscalated))
		}
	})

	t.Run("the committee secretary acknowledges it and the level-1 job is withdrawn", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("POST", reportPath(r.ID, "ack"), w.comSec, nil), 200)
		if job := w.job(r.ID, 1); job != nil {
			t.Errorf("level-1 job still queued: %+v", job)
		}
	})

	t.Run("a stale level-1 job run by the workers does nothing", func(t *testing.T) {
		w := w.in(t)
		jobs := report.NewJobs(w.App.Queue)
		if err := jobs.ScheduleEscalation(context.Background(), r.ID, 1, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		w.runNow(r.ID, 1)
		deadline := time.Now().Add(30 * time.Second)
		for w.job(r.ID, 1) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("the workers never ran the stale job: %+v", w.job(r.ID, 1))
			}
			time.Sleep(200 * time.Millisecond)
		}
		got, evs, err := w.App.Report.Timeline(context.Background(), w.MemberA.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != report.StatusAcknowledged || got.EscalationLevel != 1 || kinds(evs, report.EventEscalated) != 1 || evs[len(evs)-1].Kind != report.EventAcknowledged {
			t.Errorf("after the stale job: %+v, events %+v", got, evs)
		}
		if job := w.job(r.ID, 2); job != nil {
			t.Errorf("a level-2 job was queued: %+v", job)
		}
		if n := w.notifications(notify.KindReportEscalated, r.ID, w.RootSec.ID); n != 0 {
			t.Errorf("root secretary notified %d times", n)
		}
	})
}
