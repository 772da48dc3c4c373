package deed

import (
	"context"
	"strconv"
	"strings"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Actions are the secretaries' steps on a nomination, each POST /deeds/{id}/<action>.
var Actions = []string{"approve", "reject", "recommend", "commend"}

// JSON is a deed in responses.
type JSON struct {
	ID           int64     `json:"id"`
	OrgID        int64     `json:"org_id"`
	UserID       int64     `json:"user_id"`
	NominatedBy  int64     `json:"nominated_by"`
	Title        string    `json:"title"`
	Content      string    `json:"content"`
	TaskIDs      []int64   `json:"task_ids"`
	ReportIDs    []int64   `json:"report_ids"`
	Status       string    `json:"status"`
	StatusLabel  string    `json:"status_label"`
	CurrentOrgID int64     `json:"current_org_id"`
	Reason       string    `json:"reason"`
	CreatedAt    time.Time `json:"created_at"`
	// Media are the deed's photos, with signed URLs.
	Media []media.View `json:"media"`
}

func newJSON(d Deed) JSON {
	out := JSON{ID: d.ID, OrgID: d.OrgID, UserID: d.UserID, NominatedBy: d.NominatedBy, Title: d.Title, Content: d.Content,
		TaskIDs: []int64{}, ReportIDs: []int64{}, Status: d.Status, StatusLabel: statusLabels[d.Status],
		CurrentOrgID: d.CurrentOrgID, Reason: d.Reason, CreatedAt: d.CreatedAt.UTC(), Media: []media.View{}}
	for _, l := range strings.Split(d.Links, ",") {
		kind, id, ok := strings.Cut(l, ":")
		n, err := strconv.ParseInt(id, 10, 64)
		if !ok || err != nil {
			continue
		}
		if kind == "t" {
			out.TaskIDs = append(out.TaskIDs, n)
		} else {
			out.ReportIDs = append(out.ReportIDs, n)
		}
	}
	return out
}

type createInput struct {
	Title     string  `json:"title"`
	Content   string  `json:"content"`
	UserID    int64   `json:"user_id"`
	TaskIDs   []int64 `json:"task_ids"`
	ReportIDs []int64 `json:"report_ids"`
	MediaIDs  []int64 `json:"media_ids"`
}

// show puts the photos of each deed in out, signed for viewer; a viewer
// who handles them (a secretary reviewing them) also sees those whose
// verdict is pending.
func show(ctx context.Context, s *Service, viewer int64, handles bool, out []JSON, err error) ([]JSON, error) {
	if err != nil {
		return out, err
	}
	fill := media.Fill[JSON]
	if handles {
		fill = media.FillHandled[JSON]
	}
	return out, fill(ctx, s.media, viewer, media.OwnerDeed, out, func(j *JSON) (int64, *[]media.View) { return j.ID, &j.Media })
}

// one is show for one deed.
func one(ctx context.Context, s *Service, viewer int64, handles bool, d Deed, err error) (JSON, error) {
	out, err := show(ctx, s, viewer, handles, []JSON{newJSON(d)}, err)
	return out[0], err
}

// Create is POST /deeds.
func Create(ctx context.Context, s *Service, userID int64, in createInput) (JSON, error) {
	d, err := s.Create(ctx, userID, Input{Title: in.Title, Content: in.Content, UserID: in.UserID, TaskIDs: in.TaskIDs, ReportIDs: in.ReportIDs, MediaIDs: in.MediaIDs})
	return one(ctx, s, userID, false, d, err)
}

// EventJSON is a step of a deed's timeline in responses.
type EventJSON struct {
	Kind      string    `json:"kind"`
	OrgID     int64     `json:"org_id"`
	ActorID   int64     `json:"actor_id"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// DetailJSON is a deed with its timeline, the answer of Get.
type DetailJSON struct {
	Deed     JSON        `json:"deed"`
	Timeline []EventJSON `json:"timeline"`
}

// Get is GET /deeds/{id}.
func Get(ctx context.Context, s *Service, userID int64, in web.ID) (DetailJSON, error) {
	d, evs, err := s.Get(ctx, userID, in.ID)
	if err != nil {
		return DetailJSON{}, err
	}
	timeline := make([]EventJSON, len(evs))
	for i, e := range evs {
		timeline[i] = EventJSON{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	handles, err := s.orgs.Manages(ctx, userID, d.OrgID)
	if err != nil {
		return DetailJSON{}, err
	}
	j, err := one(ctx, s, userID, handles, d, nil)
	return DetailJSON{Deed: j, Timeline: timeline}, err
}

// Act is POST /deeds/{id}/<action>, one of Actions: a secretary's step on
// a nomination, with an optional reason.
func Act(action string) func(context.Context, *Service, int64, web.IDReason) (JSON, error) {
	return func(ctx context.Context, s *Service, userID int64, in web.IDReason) (JSON, error) {
		d, err := s.Act(ctx, userID, in.ID, action, in.Reason)
		return one(ctx, s, userID, true, d, err) // the actor manages where it waits
	}
}

type listInput struct {
	OrgID  int64 `path:"id"`
	Page   web.PageQuery
	Status string `query:"status"`
}

// List is GET /orgs/{id}/deeds.
func List(ctx context.Context, s *Service, userID int64, in listInput) (paging.Page[JSON], error) {
	if in.Status != "" && statusLabels[in.Status] == "" {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 pending、approved、recommended、commended 或 rejected"})
	}
	p, err := s.List(ctx, userID, in.OrgID, in.Status, in.Page.Cursor, in.Page.Limit)
	out := paging.Map(p, newJSON)
	out.Items, err = show(ctx, s, userID, true, out.Items, err) // only managers of the subtree list it
	return out, err
}
