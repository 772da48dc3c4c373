package org

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// Handler serves the org and membership endpoints.
type Handler struct {
	svc     *Service
	log     *slog.Logger
	userID  func(*gin.Context) int64
	limiter gin.HandlerFunc
}

// NewHandler returns the org HTTP handler. userID reads the signed-in user
// from a request that passed authentication; signupLimit guards signups
// against invite-code guessing.
func NewHandler(svc *Service, log *slog.Logger, userID func(*gin.Context) int64, signupLimit gin.HandlerFunc) *Handler {
	return &Handler{svc: svc, log: log, userID: userID, limiter: signupLimit}
}

// Register adds the routes to the authenticated /api/v1 group.
func (h *Handler) Register(authed *gin.RouterGroup) {
	authed.POST("/orgs/claim", h.claim)
	authed.GET("/orgs/:id", h.get)
	authed.POST("/orgs/:id/children", h.createChild)
	authed.GET("/orgs/:id/invite", h.invite)
	authed.POST("/orgs/:id/invite/rotate", h.rotate)
	authed.POST("/orgs/:id/dissolve", h.dissolve)
	authed.GET("/orgs/:id/audit", h.audit)
	authed.GET("/orgs/:id/members", h.members)
	authed.POST("/orgs/:id/members", h.second)
	authed.POST("/orgs/:id/members/:user_id/approve", h.approve)
	authed.POST("/orgs/:id/members/:user_id/reject", h.reject)
	authed.PATCH("/orgs/:id/members/:user_id", h.change)
	authed.DELETE("/orgs/:id/members/:user_id", h.remove)
	authed.POST("/members/signup", h.limiter, h.signup)
}

// OrgJSON is an org in responses.
type OrgJSON struct {
	ID          int64      `json:"id"`
	ParentID    *int64     `json:"parent_id"`
	Name        string     `json:"name"`
	Kind        Kind       `json:"kind"`
	KindLabel   string     `json:"kind_label"`
	Depth       int        `json:"depth"`
	Post        *Post      `json:"post"`
	EndsAt      *time.Time `json:"ends_at"`
	DissolvedAt *time.Time `json:"dissolved_at"`
	Ended       bool       `json:"ended"`
	CreatedAt   time.Time  `json:"created_at"`
}

// KindLabel is the Chinese name of an org kind.
func KindLabel(k Kind) string {
	return map[Kind]string{KindCommittee: "党委", KindGeneralBranch: "党总支", KindBranch: "党支部", KindTemporary: "临时党组织"}[k]
}

func newOrgJSON(o Org) OrgJSON {
	return OrgJSON{ID: o.ID, ParentID: o.ParentID, Name: o.Name, Kind: o.Kind, KindLabel: KindLabel(o.Kind), Depth: o.Depth,
		Post: o.Post(), EndsAt: utc(o.EndsAt), DissolvedAt: utc(o.DissolvedAt), Ended: o.Ended(time.Now()), CreatedAt: o.CreatedAt.UTC()}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// MembershipJSON is a membership as its member sees it (/me, signup).
type MembershipJSON struct {
	ID           int64      `json:"id"`
	OrgID        int64      `json:"org_id"`
	OrgName      string     `json:"org_name"`
	OrgKind      Kind       `json:"org_kind"`
	Role         Role       `json:"role"`
	Badge        Badge      `json:"badge"`
	BadgeLabel   string     `json:"badge_label"`
	Status       Status     `json:"status"`
	Name         string     `json:"name"`
	Reason       string     `json:"reason"`
	SecondedFrom *int64     `json:"seconded_from"`
	CreatedAt    time.Time  `json:"created_at"`
	ApprovedAt   *time.Time `json:"approved_at"`
}

// NewMembershipJSON renders a membership for its member.
func NewMembershipJSON(v MembershipView) MembershipJSON {
	return MembershipJSON{ID: v.ID, OrgID: v.OrgID, OrgName: v.OrgName, OrgKind: v.OrgKind, Role: v.Role, Badge: v.Badge,
		BadgeLabel: v.Badge.Label(), Status: v.Status, Name: v.Name, Reason: v.Reason, SecondedFrom: v.SecondedFrom,
		CreatedAt: v.CreatedAt.UTC(), ApprovedAt: utc(v.ApprovedAt)}
}

// MembershipsJSON renders a user's memberships.
func MembershipsJSON(vs []MembershipView) []MembershipJSON {
	out := make([]MembershipJSON, len(vs))
	for i, v := range vs {
		out[i] = NewMembershipJSON(v)
	}
	return out
}

// memberJSON is a membership as a secretary sees it in the member list.
type memberJSON struct {
	UserID       int64      `json:"user_id"`
	MembershipID int64      `json:"membership_id"`
	Name         string     `json:"name"`
	PhoneMasked  string     `json:"phone_masked"`
	Badge        Badge      `json:"badge"`
	BadgeLabel   string     `json:"badge_label"`
	Role         Role       `json:"role"`
	Status       Status     `json:"status"`
	Reason       string     `json:"reason"`
	SecondedFrom *int64     `json:"seconded_from"`
	CreatedAt    time.Time  `json:"created_at"`
	ApprovedAt   *time.Time `json:"approved_at"`
}

func (h *Handler) claim(c *gin.Context) {
	var req struct {
		Code  string `json:"code"`
		Name  string `json:"name"`
		Badge Badge  `json:"badge"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	v, err := h.svc.Claim(c.Request.Context(), h.userID(c), req.Code, req.Name, req.Badge)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, NewMembershipJSON(v))
}

func (h *Handler) get(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	d, err := h.svc.View(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	type child struct {
		OrgJSON
		Subtree Counts `json:"subtree"`
	}
	children := make([]child, len(d.Children))
	for i, ch := range d.Children {
		children[i] = child{OrgJSON: newOrgJSON(ch), Subtree: d.ChildCounts[ch.ID]}
	}
	c.JSON(http.StatusOK, gin.H{
		"org": newOrgJSON(d.Org), "children": children, "members": d.Members, "seconded": d.Seconded,
		"subtree": d.Subtree, "can_manage": d.Manages,
	})
}

func (h *Handler) createChild(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		Name string `json:"name"`
		Kind Kind   `json:"kind"`
		Post *struct {
			Lat     *float64 `json:"lat"`
			Lng     *float64 `json:"lng"`
			RadiusM *int     `json:"radius_m"`
			Address string   `json:"address"`
		} `json:"post"`
		EndsAt *time.Time `json:"ends_at"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	in := ChildInput{Name: req.Name, Kind: req.Kind, EndsAt: req.EndsAt}
	if p := req.Post; p != nil {
		if p.Lat == nil || p.Lng == nil || p.RadiusM == nil {
			web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"post": "需要 lat、lng 和 radius_m"}))
			return
		}
		in.Post = &Post{Lat: *p.Lat, Lng: *p.Lng, RadiusM: *p.RadiusM, Address: p.Address}
	}
	o, err := h.svc.CreateChild(c.Request.Context(), h.userID(c), id, in)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, newOrgJSON(o))
}

func (h *Handler) invite(c *gin.Context) {
	h.inviteAnswer(c, h.svc.Invite)
}

func (h *Handler) rotate(c *gin.Context) {
	h.inviteAnswer(c, h.svc.RotateInvite)
}

func (h *Handler) inviteAnswer(c *gin.Context, fn func(ctx context.Context, userID, orgID int64) (string, time.Time, error)) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	code, exp, err := fn(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"invite_code": code, "expires_at": exp.UTC()})
}

func (h *Handler) dissolve(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	o, err := h.svc.Dissolve(c.Request.Context(), h.userID(c), id)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, newOrgJSON(o))
}

func (h *Handler) audit(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	p, err := h.svc.AuditPage(c.Request.Context(), h.userID(c), id, after, limit)
	if web.Failed(c, h.log, err) {
		return
	}
	type entry struct {
		ID           int64          `json:"id"`
		OrgID        int64          `json:"org_id"`
		ActorID      int64          `json:"actor_id"`
		Action       string         `json:"action"`
		TargetUserID *int64         `json:"target_user_id"`
		Detail       map[string]any `json:"detail"`
		CreatedAt    time.Time      `json:"created_at"`
	}
	items := make([]entry, len(p.Items))
	for i, e := range p.Items {
		d := map[string]any{}
		if e.Detail != "" {
			_ = json.Unmarshal([]byte(e.Detail), &d)
		}
		items[i] = entry{ID: e.ID, OrgID: e.OrgID, ActorID: e.ActorID, Action: e.Action, TargetUserID: e.TargetUserID, Detail: d, CreatedAt: e.CreatedAt.UTC()}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(p.Next)})
}

func (h *Handler) members(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	limit, after, ok := web.Page(c, h.log)
	if !ok {
		return
	}
	f := MemberFilter{Status: Status(c.Query("status")), Badge: Badge(c.Query("badge")), After: after, Limit: limit + 1}
	if f.Status != "" && !f.Status.Valid() {
		web.Fail(c, h.log, apperr.Invalid("参数错误", map[string]string{"status": "应为 pending、approved、rejected 或 removed"}))
		return
	}
	if f.Badge != "" && !f.Badge.Valid() {
		web.Fail(c, h.log, badgeInvalid())
		return
	}
	rows, err := h.svc.Members(c.Request.Context(), h.userID(c), id, f)
	if web.Failed(c, h.log, err) {
		return
	}
	next := int64(0)
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].ID
	}
	items := make([]memberJSON, len(rows))
	for i, r := range rows {
		items[i] = memberJSON{UserID: r.UserID, MembershipID: r.ID, Name: r.Name, PhoneMasked: user.MaskPhone(r.Phone),
			Badge: r.Badge, BadgeLabel: r.Badge.Label(), Role: r.Role, Status: r.Status, Reason: r.Reason,
			SecondedFrom: r.SecondedFrom, CreatedAt: r.CreatedAt.UTC(), ApprovedAt: utc(r.ApprovedAt)}
	}
	c.JSON(http.StatusOK, gin.H{"items": items, "next_cursor": web.Cursor(next)})
}

func (h *Handler) second(c *gin.Context) {
	id, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	var req struct {
		UserIDs []int64 `json:"user_ids"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	added, skipped, err := h.svc.Second(c.Request.Context(), h.userID(c), id, req.UserIDs)
	if web.Failed(c, h.log, err) {
		return
	}
	if skipped == nil {
		skipped = []Skipped{}
	}
	c.JSON(http.StatusOK, gin.H{"added": MembershipsJSON(added), "skipped": skipped})
}

func (h *Handler) approve(c *gin.Context) {
	h.memberAction(c, func(actor, org, target int64) (MembershipView, error) {
		return h.svc.Approve(c.Request.Context(), actor, org, target)
	})
}

func (h *Handler) reject(c *gin.Context) {
	var req struct {
		Reason string `json:"reason"`
	}
	if err := web.BindOptionalJSON(c, &req); err != nil {
		web.Fail(c, h.log, err)
		return
	}
	h.memberAction(c, func(actor, org, target int64) (MembershipView, error) {
		return h.svc.Reject(c.Request.Context(), actor, org, target, req.Reason)
	})
}

func (h *Handler) change(c *gin.Context) {
	var req struct {
		Badge *Badge `json:"badge"`
		Role  *Role  `json:"role"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	h.memberAction(c, func(actor, org, target int64) (MembershipView, error) {
		return h.svc.Change(c.Request.Context(), actor, org, target, req.Badge, req.Role)
	})
}

func (h *Handler) remove(c *gin.Context) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	target, ok := web.PathID(c, h.log, "user_id")
	if !ok {
		return
	}
	if web.Failed(c, h.log, h.svc.Remove(c.Request.Context(), h.userID(c), orgID, target)) {
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *Handler) memberAction(c *gin.Context, fn func(actor, org, target int64) (MembershipView, error)) {
	orgID, ok := web.PathID(c, h.log, "id")
	if !ok {
		return
	}
	target, ok := web.PathID(c, h.log, "user_id")
	if !ok {
		return
	}
	v, err := fn(h.userID(c), orgID, target)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusOK, NewMembershipJSON(v))
}

func (h *Handler) signup(c *gin.Context) {
	var req struct {
		InviteCode string `json:"invite_code"`
		Name       string `json:"name"`
		Badge      Badge  `json:"badge"`
	}
	if !web.Bind(c, h.log, &req) {
		return
	}
	v, err := h.svc.Signup(c.Request.Context(), h.userID(c), req.InviteCode, req.Name, req.Badge)
	if web.Failed(c, h.log, err) {
		return
	}
	c.JSON(http.StatusCreated, NewMembershipJSON(v))
}
