// Package checkin is the daily duty check-in (打卡): one per member per org
// per calendar day, safe to retry from a phone on a bad network, with a live
// board for secretaries kept in Redis.
package checkin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/service"
)

// Checkin is one member's duty check-in for one org and day.
type Checkin struct {
	ID     int64
	UserID int64
	OrgID  int64
	Day    string // YYYY-MM-DD in the configured time zone
	Badge  org.Badge
	// Seconded marks a check-in at a temporary org by a member lent to it:
	// it counts on that org's board only, not again up the home tree.
	Seconded   bool
	Lat        *float64
	Lng        *float64
	AccuracyM  *float64
	RequestID  string
	ClientTime *time.Time
	CreatedAt  time.Time
}

// TableName is the checkins table.
func (Checkin) TableName() string { return "checkins" }

// Members is what check-ins need from the org service.
type Members = org.Badger

// Options configure the service.
type Options struct {
	service.Deps
	// Location decides what a calendar day is; it is required.
	Location *time.Location
	// Window is how old an offline check-in's client_time may be.
	Window time.Duration
	// Skew is how far in the future a client clock may run.
	Skew  time.Duration
	Board *Board
	// Queue lines up the check-in statements for the connection pool in
	// the order they came (database.Gate); nil: no queue.
	Queue database.Gate
}

// Service records check-ins.
type Service struct {
	service.Base
	members Members
	opts    Options
	oneTrip oneTrip // nil: the dialect has no one-statement path
}

// NewService returns the check-in service.
func NewService(db *gorm.DB, members Members, opts Options) *Service {
	if opts.Location == nil {
		panic("checkin.NewService: Options.Location is required")
	}
	if opts.Skew == 0 {
		opts.Skew = ClientSkew
	}
	return &Service{Base: service.New("checkin.NewService", db, opts.Deps), members: members, opts: opts, oneTrip: oneTripFor(db)}
}

// Input is a check-in from a phone.
type Input struct {
	OrgID      int64
	Lat, Lng   *float64
	AccuracyM  *float64
	RequestID  string
	ClientTime *time.Time
}

// Errors of the service.
var (
	ErrNotMember = apperr.New(apperr.KindNotFound, "not_member", "您还不是该组织已通过审核的党员，无法打卡")
	ErrWindow    = apperr.New(apperr.KindRule, "client_time_out_of_window", "离线打卡时间超出允许范围")
)

// ClientSkew is how far ahead of the server a phone's clock may run, for
// every offline client_time (check-ins, task check-ins, form entries).
const ClientSkew = 2 * time.Minute

// CheckPosition writes into f (under "lat" and "accuracy_m") what is wrong
// with a position a phone reported: both coordinates or neither, each in
// range, and an accuracy of 0 to 100 km. Daily and task check-ins take the
// same position.
func CheckPosition(f map[string]string, lat, lng, accuracyM *float64) {
	if (lat == nil) != (lng == nil) {
		f["lat"] = "lat 与 lng 需同时提供"
	} else if lat != nil && (*lat < -90 || *lat > 90 || *lng < -180 || *lng > 180) {
		f["lat"] = "经纬度超出范围"
	}
	if accuracyM != nil && (*accuracyM < 0 || *accuracyM > 100000) {
		f["accuracy_m"] = "应在 0 到 100000 之间"
	}
}

// ClientAt is when something recorded offline happened: clientTime (to
// the millisecond) if it lies between window before now and skew after it,
// now when clientTime is nil; anything else is ErrWindow. Check-ins and
// other offline records (form entries) share this rule.
func ClientAt(now time.Time, clientTime *time.Time, window, skew time.Duration) (time.Time, error) {
	if clientTime == nil {
		return now, nil
	}
	ct := clientTime.UTC().Truncate(time.Millisecond)
	if ct.Before(now.Add(-window)) || ct.After(now.Add(skew)) {
		e := *ErrWindow
		e.Message = fmt.Sprintf("离线打卡只接受 %g 小时以内的记录", window.Hours())
		return time.Time{}, &e
	}
	return ct, nil
}

// Day returns the calendar day of t in the configured time zone.
func (s *Service) Day(t time.Time) string { return t.In(s.opts.Location).Format(time.DateOnly) }

// Today returns the calendar day that is days days from today on the
// service's clock (0 is today, -30 thirty days ago).
func (s *Service) Today(days int) string {
	n := s.Now().In(s.opts.Location)
	return time.Date(n.Year(), n.Month(), n.Day()+days, 12, 0, 0, 0, s.opts.Location).Format(time.DateOnly)
}

// Reads are the Redis keys a check-in made now reads first (the member's
// records of the day and generation, see Records), for the session lookup
// to read with the session; none without a board.
func (s *Service) Reads() []redisdb.Read {
	if s.opts.Board == nil {
		return nil
	}
	return s.opts.Board.records.Reads(s.Day(s.Now()))
}

// Checkin records today's check-in, or returns the one already made today:
// created tells which. Concurrent identical requests, from any number of
// server instances, make one row and all get that row back.
func (s *Service) Checkin(ctx context.Context, userID int64, in Input) (Checkin, bool, error) {
	f := map[string]string{}
	if in.RequestID == "" || len(in.RequestID) > 64 {
		f["request_id"] = "需要 1 到 64 个字符的请求编号"
	}
	CheckPosition(f, in.Lat, in.Lng, in.AccuracyM)
	if in.OrgID < 0 {
		f["org_id"] = "应为正整数"
	}
	if len(f) > 0 {
		return Checkin{}, false, apperr.Invalid("参数错误", f)
	}
	// Milliseconds are what every database keeps: the first answer and its
	// retries then show the same times.
	now := s.Now().UTC().Truncate(time.Millisecond)
	at, err := ClientAt(now, in.ClientTime, s.opts.Window, s.opts.Skew)
	if err != nil {
		return Checkin{}, false, err
	}
	if in.ClientTime != nil {
		in.ClientTime = &at
	}
	day := s.Day(at)
	b := s.opts.Board
	var gen string
	haveGen := false
	if b != nil {
		// A repeat is answered from the member's record in Redis when it may
		// (see Records); otherwise the generation read here lets the answer
		// below be kept as the record.
		c, ok, g, err := b.records.recall(ctx, userID, day, in.OrgID, now)
		if ok {
			return c, false, nil
		}
		gen, haveGen = g, err == nil // Redis not answering: the database does, and no record is kept
	}
	// Whatever happens to the request now, what the database did is told
	// to Redis, after the answer (see settle).
	settle := func(c Checkin, created bool, endsAt *time.Time) {
		if b != nil {
			b.settle(c, created, in.OrgID, endsAt, gen, haveGen)
		}
	}
	if s.oneTrip != nil {
		// A first check-in and a repeat are both one round trip here.
		if err := s.opts.Queue.Enter(ctx); err != nil {
			return Checkin{}, false, err
		}
		c, endsAt, created, found, err := s.oneTrip(ctx, s.DB(), userID, in, day, now)
		s.opts.Queue.Leave()
		if err != nil {
			return Checkin{}, false, err
		}
		if found {
			settle(c, created, endsAt)
			return c, created, nil
		}
		// Not a member, or a race the statement could not see: the general path tells which.
	}
	m, err := s.members.Badge(ctx, userID, in.OrgID)
	if errors.Is(err, org.ErrMembershipAbsent) {
		return Checkin{}, false, ErrNotMember
	}
	if err != nil {
		return Checkin{}, false, err
	}
	c := Checkin{UserID: userID, OrgID: m.OrgID, Day: day, Badge: m.Badge, Seconded: m.SecondedFrom != nil, Lat: in.Lat, Lng: in.Lng,
		AccuracyM: in.AccuracyM, RequestID: in.RequestID, ClientTime: in.ClientTime, CreatedAt: now}
	db := s.DB().WithContext(ctx)
	// A plain INSERT, and the unique (user, org, day) index decides who was
	// first: ON CONFLICT DO NOTHING cannot tell, as MariaDB's RETURNING
	// reports the existing row as if it had been inserted.
	err = db.Create(&c).Error
	if err != nil && !errors.Is(err, gorm.ErrDuplicatedKey) {
		return Checkin{}, false, fmt.Errorf("checkin: insert: %w", err)
	}
	if err == nil {
		// The row is committed: count it even if the phone hangs up now.
		settle(c, true, m.OrgEndsAt)
		return c, true, nil
	}
	var first Checkin
	if err := db.Take(&first, "user_id = ? AND org_id = ? AND day = ?", userID, m.OrgID, c.Day).Error; err != nil {
		return Checkin{}, false, fmt.Errorf("checkin: read the day's check-in: %w", err)
	}
	settle(first, false, m.OrgEndsAt)
	return first, false, nil
}

// Mine lists the user's check-ins between two days (inclusive), newest first.
func (s *Service) Mine(ctx context.Context, userID int64, from, to string, limit int) (out []Checkin, err error) {
	defer apperr.Annotate(&err, "checkin.Mine")
	err = s.DB().WithContext(ctx).Where("user_id = ? AND day >= ? AND day <= ?", userID, from, to).
		Order("day DESC, id DESC").Limit(limit).Find(&out).Error
	if err != nil {
		return nil, err
	}
	return out, nil
}
