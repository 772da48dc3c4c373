package form

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/task"
	"xianfeng/server/internal/web"
)

// Handler serves the form endpoints.
type Handler struct {
	svc   *Service
	media media.Photos
}

// NewHandler returns the form HTTP handler; photos are shown through media.
func NewHandler(svc *Service, media media.Photos) *Handler {
	return &Handler{svc: svc, media: media}
}

// JSON is a form in responses.
type JSON struct {
	ID                  int64       `json:"id"`
	OrgID               int64       `json:"org_id"`
	Title               string      `json:"title"`
	Description         string      `json:"description"`
	Mode                Mode        `json:"mode"`
	Target              task.Target `json:"target"`
	DueAt               *string     `json:"due_at"`
	RemindBeforeMinutes int         `json:"remind_before_minutes"`
	Fields              []Field     `json:"fields"`
	Status              string      `json:"status"`
	CreatedBy           int64       `json:"created_by"`
	CreatedAt           time.Time   `json:"created_at"`
	ClosedAt            *time.Time  `json:"closed_at"`
}

// NewJSON renders a form.
func NewJSON(f Form) JSON {
	out := JSON{ID: f.ID, OrgID: f.OrgID, Title: f.Title, Description: f.Description, Mode: f.Mode, Target: f.Audience(),
		RemindBeforeMinutes: f.RemindBeforeMinutes, Fields: f.FieldList(), Status: f.Status, CreatedBy: f.CreatedBy,
		CreatedAt: f.CreatedAt.UTC(), ClosedAt: web.UTC(f.ClosedAt)}
	if f.DueAt != nil {
		s := f.DueAt.UTC().Format(time.RFC3339Nano)
		out.DueAt = &s
	} else if f.DueTime != "" {
		out.DueAt = &f.DueTime
	}
	return out
}

// EntryJSON is an entry in responses.
type EntryJSON struct {
	ID         int64           `json:"id"`
	FormID     int64           `json:"form_id"`
	UserID     int64           `json:"user_id"`
	OrgID      int64           `json:"org_id"`
	Day        string          `json:"day"`
	Answers    json.RawMessage `json:"answers"`
	Alert      bool            `json:"alert"`
	ReportID   *int64          `json:"report_id"`
	Version    int             `json:"version"`
	ClientTime *time.Time      `json:"client_time"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	// Media are the entry's photos, in the answer of its submission and
	// in the secretaries' list; absent elsewhere and when there are none.
	Media []media.View `json:"media,omitempty"`
}

// NewEntryJSON renders an entry.
func NewEntryJSON(e Entry) EntryJSON {
	return EntryJSON{ID: e.ID, FormID: e.FormID, UserID: e.UserID, OrgID: e.OrgID, Day: e.Day, Answers: json.RawMessage(e.Answers),
		Alert: e.Alert, ReportID: e.ReportID, Version: e.Version, ClientTime: web.UTC(e.ClientTime), CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

type createInput struct {
	OrgID               int64        `path:"id"`
	RequestID           string       `json:"request_id"`
	Title               string       `json:"title"`
	Description         string       `json:"description"`
	Mode                Mode         `json:"mode"`
	Target              *task.Target `json:"target"`
	DueAt               *string      `json:"due_at"`
	RemindBeforeMinutes int          `json:"remind_before_minutes"`
	Fields              []Field      `json:"fields"`
}

func (h *Handler) Create(ctx context.Context, userID int64, req createInput) (JSON, error) {
	in := Input{RequestID: req.RequestID, Title: req.Title, Description: req.Description, Mode: req.Mode,
		RemindBeforeMinutes: req.RemindBeforeMinutes, Fields: req.Fields}
	if req.Target != nil {
		in.Target = *req.Target
	}
	if req.DueAt != nil {
		if len(*req.DueAt) == len("15:04") {
			in.DueTime = *req.DueAt
		} else if t, err := time.Parse(time.RFC3339Nano, *req.DueAt); err == nil {
			in.DueAt = &t
		} else {
			return JSON{}, apperr.Invalid("参数错误", map[string]string{"due_at": "应为 RFC 3339 时间，每日填报为 HH:MM"})
		}
	}
	f, err := h.svc.Create(ctx, userID, req.OrgID, in)
	return NewJSON(f), err
}

func (h *Handler) List(ctx context.Context, userID int64, in web.IDPage) (paging.Page[JSON], error) {
	p, err := h.svc.List(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, NewJSON), err
}

// DetailJSON is a form with the caller's latest entry.
type DetailJSON struct {
	Form    JSON       `json:"form"`
	Manager bool       `json:"manager"`
	MyEntry *EntryJSON `json:"my_entry"`
}

func (h *Handler) Get(ctx context.Context, userID int64, in web.ID) (DetailJSON, error) {
	d, err := h.svc.Get(ctx, userID, in.ID)
	if err != nil {
		return DetailJSON{}, err
	}
	out := DetailJSON{Form: NewJSON(d.Form), Manager: d.Manager}
	if d.Mine != nil {
		e := NewEntryJSON(*d.Mine)
		out.MyEntry = &e
	}
	return out, nil
}

func (h *Handler) Close(ctx context.Context, userID int64, in web.ID) (JSON, error) {
	f, err := h.svc.Close(ctx, userID, in.ID)
	return NewJSON(f), err
}

type submitInput struct {
	FormID     int64                      `path:"id"`
	RequestID  string                     `json:"request_id"`
	Answers    map[string]json.RawMessage `json:"answers"`
	ClientTime *time.Time                 `json:"client_time"`
	CopyLast   bool                       `json:"copy_last"`
	MediaIDs   []int64                    `json:"media_ids"`
}

func (h *Handler) Submit(ctx context.Context, userID int64, in submitInput) (web.Status[EntryJSON], error) {
	e, created, err := h.svc.Submit(ctx, userID, in.FormID, SubmitInput{RequestID: in.RequestID, Answers: in.Answers,
		ClientTime: in.ClientTime, CopyLast: in.CopyLast, MediaIDs: in.MediaIDs})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	out := []EntryJSON{NewEntryJSON(e)}
	// A new entry made without photos has none: no statement to find them.
	if err == nil && (!created || len(in.MediaIDs) > 0) {
		err = media.Fill(ctx, h.media, userID, media.OwnerFormEntry, out, func(j *EntryJSON) (int64, *[]media.View) { return j.ID, &j.Media })
	}
	return web.Status[EntryJSON]{Code: status, Body: out[0]}, err
}

// MineJSON is a form in a member's list.
type MineJSON struct {
	Form    JSON   `json:"form"`
	Day     string `json:"day"`
	Done    bool   `json:"done"`
	Entries int64  `json:"entries"`
}

func (h *Handler) Mine(ctx context.Context, userID int64, _ struct{}) (paging.Page[MineJSON], error) {
	items, err := h.svc.Mine(ctx, userID)
	out := make([]MineJSON, len(items))
	for i, it := range items {
		out[i] = MineJSON{Form: NewJSON(it.Form), Day: it.Day, Done: it.Done, Entries: it.Entries}
	}
	return paging.Page[MineJSON]{Items: out}, err
}

type entriesInput struct {
	FormID int64 `path:"id"`
	Page   web.PageQuery
	Alert  string `query:"alert"`
	OrgID  int64  `query:"org_id"`
	Day    string `query:"day"`
}

// RowJSON is an entry in a secretary's list.
type RowJSON struct {
	EntryJSON
	Name string `json:"name"`
}

func (h *Handler) Entries(ctx context.Context, userID int64, in entriesInput) (paging.Page[RowJSON], error) {
	flt := Filter{OrgID: in.OrgID, Day: in.Day}
	bad := map[string]string{}
	switch in.Alert {
	case "":
	case "true", "false":
		v := in.Alert == "true"
		flt.Alert = &v
	default:
		bad["alert"] = "应为 true 或 false"
	}
	if _, err := time.Parse(time.DateOnly, in.Day); in.Day != "" && err != nil {
		bad["day"] = "日期格式应为 YYYY-MM-DD"
	}
	if len(bad) > 0 {
		return paging.Page[RowJSON]{}, apperr.Invalid("参数错误", bad)
	}
	p, err := h.svc.Entries(ctx, userID, in.FormID, flt, in.Page.Cursor, in.Page.Limit)
	out := paging.Map(p, func(r Row) RowJSON { return RowJSON{EntryJSON: NewEntryJSON(r.Entry), Name: r.Name} })
	if err == nil {
		err = media.Fill(ctx, h.media, userID, media.OwnerFormEntry, out.Items, func(j *RowJSON) (int64, *[]media.View) { return j.ID, &j.Media })
	}
	return out, err
}

type correctInput struct {
	FormID  int64                      `path:"id"`
	EntryID int64                      `path:"entry_id"`
	Answers map[string]json.RawMessage `json:"answers"`
}

func (h *Handler) Correct(ctx context.Context, userID int64, in correctInput) (EntryJSON, error) {
	e, err := h.svc.Correct(ctx, userID, in.FormID, in.EntryID, in.Answers)
	return NewEntryJSON(e), err
}

type summaryInput struct {
	FormID int64  `path:"id"`
	Day    string `query:"day"`
	// Page pages the per-org list (orgs); the other figures are whole.
	Page web.PageQuery
}

func (h *Handler) Summary(ctx context.Context, userID int64, in summaryInput) (Summary, error) {
	if _, err := time.Parse(time.DateOnly, in.Day); in.Day != "" && err != nil {
		return Summary{}, apperr.Invalid("参数错误", map[string]string{"day": "日期格式应为 YYYY-MM-DD"})
	}
	return h.svc.SummarizePage(ctx, userID, in.FormID, in.Day, in.Page.Cursor, in.Page.Limit)
}

// Export is GET /forms/{id}/export.xlsx: the workbook of a form's entries
// over a range of days (web.Attach streams it).
func (h *Handler) Export(ctx context.Context, userID int64, in web.IDRange) (web.Attachment, error) {
	r, err := h.svc.ExportRange(in.From, in.To)
	if err != nil {
		return nil, err
	}
	return h.svc.Export(ctx, userID, in.ID, r)
}
