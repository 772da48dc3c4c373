package deed

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/web"
)

// Handler serves the deed endpoints.
type Handler struct {
	svc   *Service
	media *media.Service
}

// Actions are the secretaries' steps on a nomination, each POST /deeds/{id}/<action>.
var Actions = []string{"approve", "reject", "recommend", "commend"}

// NewHandler returns the deed HTTP handler; photos are shown through media.
func NewHandler(svc *Service, media *media.Service) *Handler {
	return &Handler{svc: svc, media: media}
}

// show puts the photos of each deed in out, signed for viewer.
func (h *Handler) show(ctx context.Context, viewer int64, out []JSON, err error) ([]JSON, error) {
	if err != nil {
		return out, err
	}
	return out, media.Fill(ctx, h.media, viewer, media.OwnerDeed, out, func(j *JSON) (int64, *[]media.View) { return j.ID, &j.Media })
}

// one is show for one deed.
func (h *Handler) one(ctx context.Context, viewer int64, d Deed, err error) (JSON, error) {
	out, err := h.show(ctx, viewer, []JSON{newJSON(d)}, err)
	return out[0], err
}

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

func (h *Handler) Create(ctx context.Context, userID int64, in createInput) (JSON, error) {
	d, err := h.svc.Create(ctx, userID, Input{Title: in.Title, Content: in.Content, UserID: in.UserID, TaskIDs: in.TaskIDs, ReportIDs: in.ReportIDs, MediaIDs: in.MediaIDs})
	return h.one(ctx, userID, d, err)
}

type eventJSON struct {
	Kind      string    `json:"kind"`
	OrgID     int64     `json:"org_id"`
	ActorID   int64     `json:"actor_id"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func (h *Handler) Get(ctx context.Context, userID int64, in web.ID) (gin.H, error) {
	d, evs, err := h.svc.Get(ctx, userID, in.ID)
	if err != nil {
		return nil, err
	}
	timeline := make([]eventJSON, len(evs))
	for i, e := range evs {
		timeline[i] = eventJSON{Kind: e.Kind, OrgID: e.OrgID, ActorID: e.ActorID, Note: e.Note, CreatedAt: e.CreatedAt.UTC()}
	}
	j, err := h.one(ctx, userID, d, nil)
	return gin.H{"deed": j, "timeline": timeline}, err
}

type actInput struct {
	web.OptionalBody
	ID     int64  `path:"id"`
	Reason string `json:"reason"`
}

func (h *Handler) Act(action string) func(context.Context, int64, actInput) (JSON, error) {
	return func(ctx context.Context, userID int64, in actInput) (JSON, error) {
		d, err := h.svc.Act(ctx, userID, in.ID, action, in.Reason)
		return h.one(ctx, userID, d, err)
	}
}

type listInput struct {
	OrgID  int64 `path:"id"`
	Page   web.PageQuery
	Status string `query:"status"`
}

func (h *Handler) List(ctx context.Context, userID int64, in listInput) (paging.Page[JSON], error) {
	if in.Status != "" && statusLabels[in.Status] == "" {
		return paging.Page[JSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 pending、approved、recommended、commended 或 rejected"})
	}
	p, err := h.svc.List(ctx, userID, in.OrgID, in.Status, in.Page.Cursor, in.Page.Limit)
	out := paging.Map(p, newJSON)
	out.Items, err = h.show(ctx, userID, out.Items, err)
	return out, err
}
