package task

import (
	"context"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/checkin"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// TaskJSON is a task in responses.
type TaskJSON struct {
	ID                  int64      `json:"id"`
	OrgID               int64      `json:"org_id"`
	Title               string     `json:"title"`
	Description         string     `json:"description"`
	Kind                Kind       `json:"kind"`
	KindLabel           string     `json:"kind_label"`
	Target              Target     `json:"target"`
	Location            *Location  `json:"location"`
	StartsAt            *time.Time `json:"starts_at"`
	DueAt               *time.Time `json:"due_at"`
	RemindBeforeMinutes int        `json:"remind_before_minutes"`
	Status              Status     `json:"status"`
	AssignedCount       int        `json:"assigned_count"`
	Overdue             bool       `json:"overdue"`
	CreatedBy           int64      `json:"created_by"`
	CreatedAt           time.Time  `json:"created_at"`
	CancelledAt         *time.Time `json:"cancelled_at"`
}

// NewTaskJSON renders a task.
func NewTaskJSON(t Task) TaskJSON {
	// Empty lists are [] in JSON, not null.
	target := Target{Badges: t.Badges(), UserIDs: t.UserIDs(), IncludeSuborgs: t.IncludeSuborgs}
	if target.Badges == nil {
		target.Badges = []org.Badge{}
	}
	if target.UserIDs == nil {
		target.UserIDs = []int64{}
	}
	return TaskJSON{ID: t.ID, OrgID: t.OrgID, Title: t.Title, Description: t.Description, Kind: t.Kind, KindLabel: t.Kind.Label(),
		Target: target, Location: t.Location(), StartsAt: web.UTC(t.StartsAt), DueAt: web.UTC(t.DueAt), RemindBeforeMinutes: t.RemindBeforeMinutes,
		Status: t.Status, AssignedCount: t.AssignedCount, Overdue: t.OverdueAt != nil && t.Status == StatusOpen,
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt.UTC(), CancelledAt: web.UTC(t.CancelledAt)}
}

// CheckinJSON is where and when a member checked in at a task's post.
type CheckinJSON struct {
	Lat       *float64   `json:"lat"`
	Lng       *float64   `json:"lng"`
	AccuracyM *float64   `json:"accuracy_m"`
	DistanceM *float64   `json:"distance_m"`
	At        *time.Time `json:"at"`
}

// AssignmentJSON is an assignment in responses.
type AssignmentJSON struct {
	ID          int64        `json:"id"`
	TaskID      int64        `json:"task_id"`
	UserID      int64        `json:"user_id"`
	OrgID       int64        `json:"org_id"`
	Status      AStatus      `json:"status"`
	StatusLabel string       `json:"status_label"`
	Overdue     bool         `json:"overdue"`
	Reason      string       `json:"reason"`
	Note        string       `json:"note"`
	Checkin     *CheckinJSON `json:"checkin"`
	AcceptedAt  *time.Time   `json:"accepted_at"`
	CompletedAt *time.Time   `json:"completed_at"`
	CreatedAt   time.Time    `json:"created_at"`
	// CheckinMedia and CompleteMedia are the photos of the check-in and
	// of the completion, in the answers of those steps and of GET
	// /tasks/{id}; absent elsewhere and when there are none.
	CheckinMedia  []media.View `json:"checkin_media,omitempty"`
	CompleteMedia []media.View `json:"complete_media,omitempty"`
}

// NewAssignmentJSON renders an assignment.
func NewAssignmentJSON(a Assignment) AssignmentJSON {
	out := AssignmentJSON{ID: a.ID, TaskID: a.TaskID, UserID: a.UserID, OrgID: a.OrgID, Status: a.Status, StatusLabel: statusLabel(a.Status),
		Overdue: a.Overdue, Reason: a.Reason, Note: a.Note, AcceptedAt: web.UTC(a.AcceptedAt), CompletedAt: web.UTC(a.CompletedAt), CreatedAt: a.CreatedAt.UTC()}
	if a.CheckedInAt != nil {
		out.Checkin = &CheckinJSON{Lat: a.CheckinLat, Lng: a.CheckinLng, AccuracyM: a.CheckinAccuracyM, DistanceM: a.CheckinDistanceM, At: web.UTC(a.CheckedInAt)}
	}
	return out
}

type createInput struct {
	OrgID               int64      `path:"id"`
	RequestID           string     `json:"request_id"`
	Title               string     `json:"title"`
	Description         string     `json:"description"`
	Kind                Kind       `json:"kind"`
	Target              *Target    `json:"target"`
	Location            *locInput  `json:"location"`
	StartsAt            *time.Time `json:"starts_at"`
	DueAt               *time.Time `json:"due_at"`
	RemindBeforeMinutes int        `json:"remind_before_minutes"`
}

// Create is POST /orgs/{id}/tasks.
func Create(ctx context.Context, s *Service, userID int64, req createInput) (TaskJSON, error) {
	in := Input{RequestID: req.RequestID, Title: req.Title, Description: req.Description, Kind: req.Kind,
		StartsAt: req.StartsAt, DueAt: req.DueAt, RemindBeforeMinutes: req.RemindBeforeMinutes}
	if req.Target != nil {
		in.Target = *req.Target
	}
	if req.Location != nil {
		loc, err := req.Location.location()
		if err != nil {
			return TaskJSON{}, err
		}
		in.Location = loc
	}
	t, _, err := s.Create(ctx, userID, req.OrgID, in)
	return NewTaskJSON(t), err
}

type locInput struct {
	Lat     *float64 `json:"lat"`
	Lng     *float64 `json:"lng"`
	RadiusM *int     `json:"radius_m"`
	Address string   `json:"address"`
}

func (l locInput) location() (*Location, error) {
	if l.Lat == nil || l.Lng == nil || l.RadiusM == nil {
		return nil, apperr.Invalid("参数错误", map[string]string{"location": "需要 lat、lng 和 radius_m"})
	}
	return &Location{Lat: *l.Lat, Lng: *l.Lng, RadiusM: *l.RadiusM, Address: l.Address}, nil
}

type listInput struct {
	OrgID  int64 `path:"id"`
	Page   web.PageQuery
	Status Status `query:"status"`
}

// List is GET /orgs/{id}/tasks.
func List(ctx context.Context, s *Service, userID int64, in listInput) (paging.Page[TaskJSON], error) {
	if in.Status != "" && in.Status != StatusDispatching && in.Status != StatusOpen && in.Status != StatusCancelled {
		return paging.Page[TaskJSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 dispatching、open 或 cancelled"})
	}
	p, err := s.List(ctx, userID, in.OrgID, in.Status, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, NewTaskJSON), err
}

type detailInput struct {
	ID     int64 `path:"id"`
	Page   web.PageQuery
	Status AStatus `query:"status"`
}

func checkAStatus(s AStatus) error {
	if s != "" && statusLabel(s) == "" {
		return apperr.Invalid("参数错误", map[string]string{"status": "未知的任务状态"})
	}
	return nil
}

// assigneeJSON is an assignment with its member, in a secretary's view of
// a task.
type assigneeJSON struct {
	AssignmentJSON
	Name       string    `json:"name"`
	Badge      org.Badge `json:"badge"`
	BadgeLabel string    `json:"badge_label"`
}

// detailJSON is a task as Get answers it: its progress and pushes, a page
// of its assignees for a secretary (null for a member), and the caller's
// own assignment (null when they have none).
type detailJSON struct {
	Task                TaskJSON        `json:"task"`
	Progress            *Progress       `json:"progress"`
	Delivery            *notify.Stats   `json:"delivery"`
	Assignees           []assigneeJSON  `json:"assignees"`
	AssigneesNextCursor paging.Cursor   `json:"assignees_next_cursor"`
	MyAssignment        *AssignmentJSON `json:"my_assignment"`
}

// Get is GET /tasks/{id}.
func Get(ctx context.Context, s *Service, userID int64, in detailInput) (detailJSON, error) {
	if err := checkAStatus(in.Status); err != nil {
		return detailJSON{}, err
	}
	d, err := s.Detail(ctx, userID, in.ID, in.Status, in.Page.Cursor, in.Page.Limit)
	if err != nil {
		return detailJSON{}, err
	}
	out := detailJSON{Task: NewTaskJSON(d.Task), Progress: d.Progress, Delivery: d.Delivery}
	if d.Mine != nil {
		mine := []AssignmentJSON{NewAssignmentJSON(*d.Mine)}
		if err := withMedia(ctx, s, userID, mine); err != nil {
			return detailJSON{}, err
		}
		out.MyAssignment = &mine[0]
	}
	if d.Manager {
		p := paging.Map(d.Assignees, func(a Assignee) assigneeJSON {
			return assigneeJSON{AssignmentJSON: NewAssignmentJSON(a.Assignment), Name: a.Name, Badge: a.Badge, BadgeLabel: a.Badge.Label()}
		})
		if err := FillPhotos(ctx, s, userID, p.Items, func(a *assigneeJSON) (int64, *[]media.View, *[]media.View) {
			return a.ID, &a.CheckinMedia, &a.CompleteMedia
		}); err != nil {
			return detailJSON{}, err
		}
		out.Assignees, out.AssigneesNextCursor = p.Items, p.Next
	}
	return out, nil
}

type rescheduleInput struct {
	ID                  int64      `path:"id"`
	DueAt               *time.Time `json:"due_at"`
	RemindBeforeMinutes *int       `json:"remind_before_minutes"`
}

// Reschedule is PATCH /tasks/{id}.
func Reschedule(ctx context.Context, s *Service, userID int64, in rescheduleInput) (TaskJSON, error) {
	if in.DueAt == nil {
		return TaskJSON{}, apperr.Invalid("参数错误", map[string]string{"due_at": "需要新的截止时间"})
	}
	t, err := s.Reschedule(ctx, userID, in.ID, in.DueAt, in.RemindBeforeMinutes)
	return NewTaskJSON(t), err
}

// Cancel is POST /tasks/{id}/cancel.
func Cancel(ctx context.Context, s *Service, userID int64, in web.ID) (TaskJSON, error) {
	t, err := s.Cancel(ctx, userID, in.ID)
	return NewTaskJSON(t), err
}

// progressJSON is the answer of an assignee's step: the task and their
// assignment after it.
type progressJSON struct {
	Task       TaskJSON       `json:"task"`
	Assignment AssignmentJSON `json:"assignment"`
}

func progress(t Task, a Assignment, err error) (progressJSON, error) {
	return progressJSON{Task: NewTaskJSON(t), Assignment: NewAssignmentJSON(a)}, err
}

// Accept is POST /tasks/{id}/accept.
func Accept(ctx context.Context, s *Service, userID int64, in web.ID) (progressJSON, error) {
	return progress(s.Accept(ctx, userID, in.ID))
}

// Decline is POST /tasks/{id}/decline.
func Decline(ctx context.Context, s *Service, userID int64, in web.IDReason) (progressJSON, error) {
	return progress(s.Decline(ctx, userID, in.ID, in.Reason))
}

type checkinInput struct {
	ID int64 `path:"id"`
	checkin.Fix
	MediaIDs []int64 `json:"media_ids"`
}

// Checkin is POST /tasks/{id}/checkin.
func Checkin(ctx context.Context, s *Service, userID int64, in checkinInput) (progressJSON, error) {
	t, a, err := s.Checkin(ctx, userID, in.ID, CheckinInput{Lat: in.Lat, Lng: in.Lng, AccuracyM: in.AccuracyM, RequestID: in.RequestID,
		ClientTime: in.ClientTime, MediaIDs: in.MediaIDs})
	return progressWithMedia(ctx, s, userID, t, a, err)
}

type completeInput struct {
	ID        int64   `path:"id"`
	Note      string  `json:"note"`
	RequestID string  `json:"request_id"`
	MediaIDs  []int64 `json:"media_ids"`
}

// Complete is POST /tasks/{id}/complete.
func Complete(ctx context.Context, s *Service, userID int64, in completeInput) (progressJSON, error) {
	t, a, err := s.Complete(ctx, userID, in.ID, in.Note, in.RequestID, in.MediaIDs)
	return progressWithMedia(ctx, s, userID, t, a, err)
}

// progressWithMedia is progress with the photos of the assignment's
// check-in and completion, signed for viewer.
func progressWithMedia(ctx context.Context, s *Service, viewer int64, t Task, a Assignment, err error) (progressJSON, error) {
	out, err := progress(t, a, err)
	if err != nil {
		return out, err
	}
	one := []AssignmentJSON{out.Assignment}
	err = withMedia(ctx, s, viewer, one)
	out.Assignment = one[0]
	return out, err
}

// withMedia puts the photos of each assignment's check-in and completion
// in out, signed for viewer.
func withMedia(ctx context.Context, s *Service, viewer int64, out []AssignmentJSON) error {
	return FillPhotos(ctx, s, viewer, out, func(a *AssignmentJSON) (int64, *[]media.View, *[]media.View) {
		return a.ID, &a.CheckinMedia, &a.CompleteMedia
	})
}

// FillPhotos puts into each of items (rows about assignments) the photos
// of the assignment's check-in and of its completion, signed for viewer
// by the service's media, as the API's answers show them: of returns an
// item's assignment id and where the two lists go. One query per kind for
// the whole list. The caller has checked that viewer may see the
// assignments (Detail). The web console's task page shows them with it.
func FillPhotos[T any](ctx context.Context, s *Service, viewer int64, items []T, of func(*T) (id int64, checkin, complete *[]media.View)) error {
	if err := media.Fill(ctx, s.opts.Media, viewer, media.OwnerTaskCheckin, items, func(x *T) (int64, *[]media.View) {
		id, checkin, _ := of(x)
		return id, checkin
	}); err != nil {
		return err
	}
	return media.Fill(ctx, s.opts.Media, viewer, media.OwnerTaskComplete, items, func(x *T) (int64, *[]media.View) {
		id, _, complete := of(x)
		return id, complete
	})
}

type mineInput struct {
	Page   web.PageQuery
	Status AStatus `query:"status"`
}

// Mine is GET /me/tasks.
func Mine(ctx context.Context, s *Service, userID int64, in mineInput) (paging.Page[progressJSON], error) {
	if err := checkAStatus(in.Status); err != nil {
		return paging.Page[progressJSON]{}, err
	}
	p, err := s.Mine(ctx, userID, in.Status, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, func(r MyTask) progressJSON {
		return progressJSON{Task: NewTaskJSON(r.Task), Assignment: NewAssignmentJSON(r.Assignment)}
	}), err
}
