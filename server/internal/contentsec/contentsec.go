// Package contentsec passes what members write for others to read, and the
// photos they attach, through WeChat's content security service (内容安全)
// before anyone else sees them.
//
// A text is checked with msgSecCheck before it is stored: a risky text is
// refused (422 content_risky naming the field), except an urgent report,
// which is stored, flagged risky for the secretary, and still escalates.
// When WeChat cannot or will not check (unreachable, busy, or 61010: the
// author has not opened the mini-program in the last two hours) the text is
// accepted and a row in content_checks queues it for a later check (a job,
// and a periodic sweep that re-creates lost jobs); a text found risky then
// is hidden from everyone but its author and flagged, and the author is told
// in the inbox. Each kind of text has its mode: queue, refuse or off.
//
// A photo is checked with mediaCheckAsync once attached; WeChat fetches it
// from a signed URL under the public origin and pushes its verdict to the
// callback (Callback), which records it once per trace id.
package contentsec

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/wechat"
)

// Kinds of text, each with its own mode (APP_CONTENT_<KIND>).
const (
	KindReport       = "report"        // report content
	KindUrgentReport = "urgent_report" // content of an urgent report: flagged, never refused (mode of KindReport)
	KindDeed         = "deed"          // deed title and content
	KindAnnouncement = "announcement"  // announcement title and body
	KindTask         = "task"          // task title and description
	KindOrg          = "org"           // organisation names
	KindForm         = "form"          // form titles and labels
	KindFormEntry    = "form_entry"    // text answers of form entries (mode of KindForm)
	KindMember       = "member"        // member names
	// KindImage is an attached photo, checked with mediaCheckAsync.
	KindImage = "image"
)

// Modes of a kind of text.
const (
	// ModeQueue accepts a text WeChat could not check and checks it later.
	ModeQueue = "queue"
	// ModeRefuse refuses a text WeChat could not check (503): ask again.
	ModeRefuse = "refuse"
	// ModeOff checks nothing of the kind.
	ModeOff = "off"
)

// Kinds lists the kinds that have a mode of their own.
func Kinds() []string {
	return []string{KindReport, KindDeed, KindAnnouncement, KindTask, KindOrg, KindForm, KindMember}
}

// modeKind is the kind whose mode a kind follows.
func modeKind(kind string) string {
	switch kind {
	case KindUrgentReport:
		return KindReport
	case KindFormEntry:
		return KindForm
	}
	return kind
}

// tables holds, for each kind of text, the table of the rows it is stored
// in; each has the columns content_risky and content_hidden. Members'
// names are flagged through Options.Flaggers, by the org package.
var tables = map[string]string{
	KindReport: "reports", KindUrgentReport: "reports", KindDeed: "deeds", KindAnnouncement: "announcements",
	KindTask: "tasks", KindOrg: "orgs", KindForm: "forms", KindFormEntry: "form_entries",
}

// scene is the WeChat scene of a kind: names are 资料, the rest 论坛.
func scene(kind string) int {
	if kind == KindOrg || kind == KindMember {
		return wechat.SceneProfile
	}
	return wechat.SceneForum
}

// ErrRisky is the answer to a risky text, naming the field (Risky).
var ErrRisky = apperr.New(apperr.KindRule, "content_risky", "内容可能含有违规信息，请修改后再提交")

// ErrUnchecked refuses a text that WeChat could not check, for a kind in
// ModeRefuse.
var ErrUnchecked = &apperr.Error{Kind: apperr.KindUnavailable, Code: "content_check_unavailable",
	Message: "内容安全检测暂时不可用，请稍后重试", RetryAfter: 10 * time.Second}

// Risky is ErrRisky naming field.
func Risky(field string) *apperr.Error {
	e := *ErrRisky
	e.Fields = map[string]string{field: "内容可能含有违规信息"}
	return &e
}

// Flagger flags the row id of a kind whose table contentsec does not name
// (members' names), or whose owner has more to do (organisations' names):
// risky, and hidden from all but the author when hide. It runs in tx, a
// database.Transact transaction (database.AfterCommit works).
type Flagger func(tx *gorm.DB, id int64, hide bool) error

// OpenIDs returns a user's openid ("" when they have none).
type OpenIDs func(ctx context.Context, userID int64) (string, error)

// Options configure the service.
type Options struct {
	service.Deps
	// Security is WeChat's content security; OpenIDs finds authors'
	// openids; Notifier tells authors in the inbox.
	Security wechat.Security
	OpenIDs  OpenIDs
	Notifier notify.Notifier
	// Images is media's side of the image checks; nil checks no image.
	Images Images
	// Modes gives each kind (Kinds) its mode; a kind not named is ModeQueue.
	Modes map[string]string
	// Flaggers flag the rows of kinds outside contentsec's tables (KindMember).
	Flaggers map[string]Flagger
	// Recheck is how long a queued text waits before it is checked again,
	// and how often the sweep looks for due checks; at least a minute.
	Recheck time.Duration
	// ImageURLTTL is how long the URL WeChat fetches an image from works.
	ImageURLTTL time.Duration
	// Timeout bounds a check made while a member waits; 0 means 3 s.
	Timeout time.Duration
}

// Service checks content.
type Service struct {
	service.Base
	opts Options
	jobs *Jobs
}

// NewService returns the content security service; jobs queues the later
// checks (NewJobs).
func NewService(db *gorm.DB, jobs *Jobs, opts Options) *Service {
	if opts.Security == nil || opts.OpenIDs == nil || opts.Notifier == nil || jobs == nil {
		panic("contentsec.NewService: jobs, Options.Security, OpenIDs and Notifier are required")
	}
	if opts.Recheck < time.Minute {
		opts.Recheck = time.Minute
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.ImageURLTTL <= 0 {
		opts.ImageURLTTL = time.Hour
	}
	return &Service{Base: service.New("contentsec.NewService", db, opts.Deps), opts: opts, jobs: jobs}
}

// Mode is the mode of a kind of text.
func (s *Service) Mode(kind string) string {
	if m := s.opts.Modes[modeKind(kind)]; m != "" {
		return m
	}
	return ModeQueue
}

// Pending is what a checked text leaves to do once it is stored: a check
// to queue (WeChat could not check it), or a flag to set (an urgent report
// found risky). A nil *Pending leaves nothing; pass it to Record anyway.
type Pending struct {
	svc         *Service
	kind, field string
	text        string
	author      int64
	risky       bool
}

// Checker is the one call every service that stores text others read
// makes before it stores it. *Service is one.
type Checker interface {
	// Check checks text, written by author, for the field of a thing of
	// kind. A risky text is Risky(field), except KindUrgentReport, which
	// comes back as a Pending that flags the report. When WeChat does not
	// check, a kind in ModeQueue comes back as a Pending that queues the
	// check, and one in ModeRefuse as ErrUnchecked. Record the Pending in
	// the transaction that stores the text.
	Check(ctx context.Context, author int64, kind, field, text string) (*Pending, error)
}

var _ Checker = (*Service)(nil)

// Check checks text (see Checker).
func (s *Service) Check(ctx context.Context, author int64, kind, field, text string) (_ *Pending, err error) {
	defer apperr.Annotate(&err, "contentsec.Check(%s.%s)", kind, field)
	text = strings.TrimSpace(text)
	if text == "" || s.Mode(kind) == ModeOff {
		return nil, nil
	}
	p := &Pending{svc: s, kind: kind, field: field, text: text, author: author}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	v, err := s.verdict(cctx, author, kind, text)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		s.Log().InfoContext(ctx, "content check deferred: WeChat did not check", "kind", kind, "field", field, "err", err)
		if s.Mode(kind) == ModeRefuse {
			return nil, ErrUnchecked
		}
		return p, nil
	}
	if !v.Risky() {
		return nil, nil
	}
	s.Log().InfoContext(ctx, "risky content", "kind", kind, "field", field, "label", v.Label, "trace_id", v.TraceID)
	if kind != KindUrgentReport {
		return nil, Risky(field)
	}
	p.risky = true
	return p, nil
}

// chunk is how many characters msgSecCheck takes at once.
const chunk = 2500

// verdict asks WeChat about text, in pieces of at most chunk characters:
// risky if any piece is. An author without an openid (a console-only
// account) cannot be checked: errNoOpenID.
func (s *Service) verdict(ctx context.Context, author int64, kind, text string) (wechat.Verdict, error) {
	openid, err := s.opts.OpenIDs(ctx, author)
	if err != nil {
		return wechat.Verdict{}, err
	}
	if openid == "" {
		return wechat.Verdict{}, errNoOpenID
	}
	var last wechat.Verdict
	for text != "" {
		piece := text
		if utf8.RuneCountInString(piece) > chunk {
			piece = string([]rune(piece)[:chunk])
		}
		text = text[len(piece):]
		v, err := s.opts.Security.MsgSecCheck(ctx, openid, scene(kind), piece)
		if err != nil {
			return wechat.Verdict{}, err
		}
		if v.Risky() {
			return v, nil
		}
		last = v
	}
	return last, nil
}

var errNoOpenID = fmt.Errorf("contentsec: the author has no openid")

// Record writes in tx, the transaction that stores the thing refID of the
// pendings' kind, what the checks left to do: the flag of an urgent
// report found risky, the rows of the checks to make later. Nil pendings
// are skipped.
func Record(tx *gorm.DB, refID int64, ps ...*Pending) error {
	for _, p := range ps {
		if p == nil {
			continue
		}
		if err := p.svc.record(tx, refID, p); err != nil {
			return fmt.Errorf("contentsec.Record(%s %d): %w", p.kind, refID, err)
		}
	}
	return nil
}

func (s *Service) record(tx *gorm.DB, refID int64, p *Pending) error {
	if p.risky {
		return s.flag(tx, p.kind, refID, false)
	}
	now := s.Now()
	c := Check{Kind: p.kind, RefID: refID, Field: p.field, AuthorID: p.author, Text: p.text, Status: StatusQueued,
		NextAt: now.Add(s.opts.Recheck), CreatedAt: now, UpdatedAt: now}
	if err := tx.Create(&c).Error; err != nil {
		return err
	}
	// Queued in the transaction: should it roll back, the job finds no row.
	// Should the queue fail, the sweep queues the check when it is due.
	if err := s.jobs.dispatch(tx.Statement.Context, c.ID, c.NextAt); err != nil {
		s.Log().WarnContext(tx.Statement.Context, "could not queue a content check; the sweep will", "check_id", c.ID, "err", err)
	}
	return nil
}

// Replace drops, in tx, the queued checks of the texts of the thing refID
// of kind, whose author is replacing them (a corrected form entry): a
// later check of a text no longer shown must not hide what replaced it.
// Record the checks of the new texts in the same transaction.
func Replace(tx *gorm.DB, kind string, refID int64) error {
	return tx.Model(&Check{}).Where("kind = ? AND ref_id = ? AND status = ?", kind, refID, StatusQueued).
		Update("status", StatusReplaced).Error
}

// flag marks the row refID of kind risky and, when hide, hidden from all
// but its author.
func (s *Service) flag(tx *gorm.DB, kind string, refID int64, hide bool) error {
	if f := s.opts.Flaggers[kind]; f != nil {
		return f(tx, refID, hide)
	}
	table := tables[kind]
	if table == "" {
		return fmt.Errorf("contentsec: no table for kind %q", kind)
	}
	updates := map[string]any{"content_risky": true}
	if hide {
		updates["content_hidden"] = true
	}
	return tx.Table(table).Where("id = ?", refID).Updates(updates).Error
}

// Shown is the gorm scope of the rows of a table with content_hidden that
// viewer may see: those not hidden, and their own (authorColumn names the
// author's column). An authorColumn qualified by a table or alias
// ("e.user_id") qualifies content_hidden alike, for queries that join
// other tables with the column.
func Shown(authorColumn string, viewer int64) func(*gorm.DB) *gorm.DB {
	hidden := "content_hidden"
	if i := strings.LastIndexByte(authorColumn, '.'); i >= 0 {
		hidden = authorColumn[:i+1] + hidden
	}
	return func(db *gorm.DB) *gorm.DB {
		return db.Where("("+hidden+" = ? OR "+authorColumn+" = ?)", false, viewer)
	}
}

// Off is the Checker of a service built without content checks (tests of
// its own rules): it checks nothing.
var Off Checker = off{}

type off struct{}

func (off) Check(context.Context, int64, string, string, string) (*Pending, error) { return nil, nil }

// Or returns c, or Off when c is nil: for a service's optional checker.
func Or(c Checker) Checker {
	if c == nil {
		return Off
	}
	return c
}

// Fields checks several fields of one thing, given as field, text pairs,
// in order: the first risky field is the error. The pendings go to Record.
func Fields(ctx context.Context, c Checker, author int64, kind string, pairs ...string) ([]*Pending, error) {
	var out []*Pending
	for i := 0; i+1 < len(pairs); i += 2 {
		p, err := c.Check(ctx, author, kind, pairs[i], pairs[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Hidden reports whether a thing found risky (hidden) by author is hidden
// from viewer: from everyone but its author.
func Hidden(hidden bool, author, viewer int64) bool { return hidden && author != viewer }

// MaskText stands, for everyone but its author, in place of a name found
// risky (hidden): a name is masked where a thing would be left out.
const MaskText = "（已隐藏）"

// Mask is text as viewer sees it: MaskText when it is hidden from them
// (Hidden).
func Mask(text string, hidden bool, author, viewer int64) string {
	if Hidden(hidden, author, viewer) {
		return MaskText
	}
	return text
}

// MaskSQL is the SQL expression of column as others than its author see
// it, in lists of many authors' names: MaskText where the boolean
// hiddenColumn is set.
func MaskSQL(column, hiddenColumn string) string {
	return "CASE WHEN " + hiddenColumn + " THEN '" + MaskText + "' ELSE " + column + " END"
}
