package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/wechat"
)

// Delivery states of a notification's push. Read is not a delivery state:
// a notification read in the inbox has read_at set, whatever its push did.
const (
	DeliveryQueued    = "queued"     // waiting for a worker
	DeliverySending   = "sending"    // consent taken, WeChat being asked
	DeliverySent      = "sent"       // WeChat accepted the message
	DeliveryNoConsent = "no_consent" // inbox only: no consent, no template, or coalesced (see PushOptions.Coalesce)
	DeliveryFailed    = "failed"     // WeChat refused it for good
	// DeliveryUnconfirmed: the worker stopped between asking WeChat and
	// recording its answer. The message is not sent again (the consent
	// counts as used), but whether it arrived is unknown.
	DeliveryUnconfirmed = "unconfirmed"
)

// PushOptions configure the pusher.
type PushOptions struct {
	Templates        map[string]Template
	RatePerMinute    int
	MiniprogramState string
	KeyPrefix        string
	// Location is the zone of the times written in messages; it is required.
	Location *time.Location
	Log      *slog.Logger
	// AfterSend, when set, runs after WeChat accepted a message and before
	// the result is recorded. Tests make it fail to stand for a crash there.
	AfterSend func(notificationID int64) error
	// Coalesce maps a kind to an interval: a notification of that kind with
	// a PushGroup is not pushed (inbox only) while another of the same
	// group went out to the same user within the interval, so that one
	// sender cannot use up a recipient's consents (a flood of reports).
	Coalesce map[string]time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Pusher sends notifications as WeChat subscribe messages, one consent each.
type Pusher struct {
	db     *gorm.DB
	rdb    redis.UniversalClient
	sender wechat.Client
	opts   PushOptions
	now    func() time.Time
}

// NewPusher returns the pusher.
func NewPusher(db *gorm.DB, rdb redis.UniversalClient, sender wechat.Client, opts PushOptions) *Pusher {
	if opts.Location == nil {
		panic("notify.NewPusher: PushOptions.Location is required")
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	return &Pusher{db: db, rdb: rdb, sender: sender, opts: opts, now: func() time.Time { return clock().UTC() }}
}

// Pushable reports whether a kind has a template, i.e. can be pushed at all.
func (p *Pusher) Pushable(kind string) bool { return p != nil && p.opts.Templates[kind].ID != "" }

// ErrPermanent wraps failures that retrying cannot fix; the job goes to the
// archive with the reason.
var ErrPermanent = errors.New("permanent push failure")

// staleSending is how long a "sending" mark may stand before a retry
// treats it as a crash after WeChat answered.
const staleSending = 30 * time.Second

// Deliver pushes one notification. It is the body of the per-notification
// job, and safe to run again at any point:
//
//   - the consent is taken and the notification marked "sending" in one
//     transaction before WeChat is asked, so a retry after a crash between
//     WeChat's answer and our record finds "sending" and does not send twice:
//     it records "unconfirmed" (the consent counts as used, the message as
//     neither sent nor failed, since nobody knows whether WeChat got it);
//   - a send that failed in a way retrying can fix gives the consent back and
//     returns to "queued" before returning its error for a retry;
//   - 43101 (the user withdrew consent) zeroes that consent and ends in
//     no_consent; other refusals end in failed and are not retried;
//   - a notification coalesced with one of its group that went out within
//     the kind's interval (PushOptions.Coalesce) ends in no_consent without
//     a consent taken: the inbox has it.
func (p *Pusher) Deliver(ctx context.Context, id int64, lastAttempt bool) error {
	var n Notification
	db := p.db.WithContext(ctx)
	if err := db.Take(&n, "id = ?", id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return fmt.Errorf("notify: load %d: %w", id, err)
	}
	switch n.Delivery {
	case DeliverySent, DeliveryNoConsent, DeliveryFailed, DeliveryUnconfirmed:
		return nil
	case DeliverySending:
		if n.AttemptedAt != nil && p.now().Sub(*n.AttemptedAt) < staleSending {
			return fmt.Errorf("notify %d: another attempt is in flight", id)
		}
		p.opts.Log.WarnContext(ctx, "push outcome unknown after a crash; recording it unconfirmed rather than sending twice", "notification_id", id)
		return p.finish(ctx, n.ID, DeliverySending, DeliveryUnconfirmed, "the worker stopped after asking WeChat, before its answer was recorded")
	}
	tmpl := p.opts.Templates[n.Kind]
	if tmpl.ID == "" {
		return p.finish(ctx, n.ID, DeliveryQueued, DeliveryNoConsent, "no template for "+n.Kind)
	}
	var openID string
	if err := db.Table("users").Select("open_id").Where("id = ?", n.UserID).Scan(&openID).Error; err != nil {
		return fmt.Errorf("notify %d: user: %w", id, err)
	}
	// Only messages that go to WeChat count against the send rate: without
	// a consent the notification is inbox-only at once, not after a wait.
	consented, cerr := hasConsent(db, n.UserID, tmpl.ID)
	if cerr != nil {
		return fmt.Errorf("notify %d: consent: %w", id, cerr)
	}
	if !consented {
		return p.finish(ctx, n.ID, DeliveryQueued, DeliveryNoConsent, "")
	}
	if held, err := p.coalesced(db, n); err != nil || held {
		if err != nil {
			return fmt.Errorf("notify %d: coalesce: %w", id, err)
		}
		return p.finish(ctx, n.ID, DeliveryQueued, DeliveryNoConsent, coalescedReason)
	}
	// One attempt at a time waits for a send slot: a fan-out batch and a
	// send job queued again by a sweep may both reach this point for one
	// notification, and each slot spent by the loser is a message that
	// waits for the next minute.
	token, err := p.lockAttempt(ctx, n.ID)
	if err != nil {
		return err
	}
	defer p.unlockAttempt(n.ID, token)
	if err := p.waitForSlot(ctx, n.ID, token); err != nil {
		return err
	}
	taken, held := false, false
	err = database.Transact(ctx, p.db, func(tx *gorm.DB) error {
		taken, held = false, false // a retried transaction starts afresh
		ok, err := take(tx, n.UserID, tmpl.ID)
		if err != nil || !ok {
			return err
		}
		// Asked again now that the consent row is locked: of two pushes of
		// one group racing here, the second sees the first one sending.
		if held, err = p.coalesced(tx, n); err != nil || held {
			return errors.Join(err, errHeld) // roll the consent back
		}
		res := tx.Model(&Notification{}).Where("id = ? AND delivery = ?", n.ID, DeliveryQueued).
			Updates(map[string]any{"delivery": DeliverySending, "attempted_at": p.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("notify %d: changed under us", n.ID)
		}
		taken = true
		return nil
	})
	if held {
		return p.finish(ctx, n.ID, DeliveryQueued, DeliveryNoConsent, coalescedReason)
	}
	if err != nil {
		return fmt.Errorf("notify %d: take consent: %w", id, err)
	}
	if !taken {
		return p.finish(ctx, n.ID, DeliveryQueued, DeliveryNoConsent, "")
	}
	sendErr := p.sender.SendSubscribe(ctx, p.message(n, openID, tmpl))
	// WeChat's answer is recorded even if the job's context ended during
	// the call: left "sending", the message would later count as sent and
	// its consent as used, whatever WeChat said.
	ctx = context.WithoutCancel(ctx)
	db = p.db.WithContext(ctx)
	if sendErr == nil {
		if p.opts.AfterSend != nil {
			if err := p.opts.AfterSend(n.ID); err != nil {
				return err
			}
		}
		return p.finish(ctx, n.ID, DeliverySending, DeliverySent, "")
	}
	if errors.Is(sendErr, wechat.ErrConsentRefused) {
		return database.Transact(ctx, p.db, func(tx *gorm.DB) error {
			if err := revoke(tx, n.UserID, tmpl.ID); err != nil {
				return err
			}
			return setDelivery(tx, n.ID, DeliverySending, DeliveryNoConsent, "user refused (43101)", p.now())
		})
	}
	// Any other failure gives the consent back. A passing one (busy, quota,
	// unavailable, a stale token) queues the message again for the job's
	// retry, until its last attempt; anything else fails it for good.
	reason := sendErr.Error()
	final, failure := DeliveryFailed, fmt.Errorf("notify %d: %s: %w", n.ID, reason, ErrPermanent)
	if errors.Is(sendErr, wechat.ErrBusy) || errors.Is(sendErr, wechat.ErrQuota) ||
		errors.Is(sendErr, wechat.ErrUnavailable) || errors.Is(sendErr, wechat.ErrTokenInvalid) {
		failure = fmt.Errorf("notify %d: %w", n.ID, sendErr)
		if !lastAttempt {
			final = DeliveryQueued
		}
	}
	err = database.Transact(ctx, p.db, func(tx *gorm.DB) error {
		if err := refund(tx, n.UserID, tmpl.ID); err != nil {
			return err
		}
		return setDelivery(tx, n.ID, DeliverySending, final, clipReason(reason), p.now())
	})
	if err != nil {
		return err
	}
	return failure
}

// errHeld rolls back the consent taken for a push that is coalesced.
var errHeld = errors.New("coalesced")

// coalescedReason is the delivery_error of a notification held back.
const coalescedReason = "coalesced: another of its group was pushed recently"

// coalesced reports whether n is held back: its kind coalesces, it has a
// group, and another notification of that group went out (or may have: it
// is being sent, or its outcome is unknown) to the same user within the
// kind's interval.
func (p *Pusher) coalesced(db *gorm.DB, n Notification) (bool, error) {
	every := p.opts.Coalesce[n.Kind]
	if n.PushGroup == "" || every <= 0 {
		return false, nil
	}
	var hits int64
	err := db.Model(&Notification{}).
		Where("user_id = ? AND push_group = ? AND id <> ? AND delivery NOT IN ? AND attempted_at > ?",
			n.UserID, n.PushGroup, n.ID, []string{DeliveryQueued, DeliveryNoConsent, DeliveryFailed}, p.now().Add(-every)).
		Count(&hits).Error
	return hits > 0, err
}

func clipReason(s string) string {
	if utf8.RuneCountInString(s) > 200 {
		return string([]rune(s)[:199]) + "…"
	}
	return s
}

func setDelivery(tx *gorm.DB, id int64, from, to, reason string, now time.Time) error {
	updates := map[string]any{"delivery": to, "delivery_error": reason}
	if to == DeliverySent {
		updates["sent_at"] = now
	}
	return tx.Model(&Notification{}).Where("id = ? AND delivery = ?", id, from).Updates(updates).Error
}

func (p *Pusher) finish(ctx context.Context, id int64, from, to, reason string) error {
	if err := setDelivery(p.db.WithContext(ctx), id, from, to, reason, p.now()); err != nil {
		return fmt.Errorf("notify %d: record %s: %w", id, to, err)
	}
	return nil
}

// message fills the template's fields from the notification.
func (p *Pusher) message(n Notification, openID string, t Template) wechat.SubscribeMessage {
	vars := map[string]string{}
	_ = json.Unmarshal([]byte(n.Vars), &vars)
	vars["title"], vars["body"], vars["ref_id"] = n.Title, n.Body, strconv.FormatInt(n.RefID, 10)
	if vars["time"] == "" {
		vars["time"] = n.CreatedAt.In(p.opts.Location).Format("2006-01-02 15:04")
	}
	fill := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "{{"+k+"}}", v)
		}
		return unfilled.ReplaceAllString(s, "")
	}
	data := make(map[string]string, len(t.Fields))
	for field, tmpl := range t.Fields {
		v := fill(tmpl)
		if v == "" && strings.HasPrefix(field, "time") {
			v = vars["time"] // a time field must hold a time
		}
		data[field] = fieldValue(field, v)
	}
	return wechat.SubscribeMessage{ToOpenID: openID, TemplateID: t.ID, Page: fill(t.Page), Data: data, State: p.opts.MiniprogramState}
}

// fieldValue cuts a value to what WeChat accepts for the field's type.
func fieldValue(field, v string) string {
	limit := 0
	switch {
	case strings.HasPrefix(field, "thing"):
		limit = 20
	case strings.HasPrefix(field, "phrase"):
		limit = 5
	case strings.HasPrefix(field, "name"):
		limit = 10
	case strings.HasPrefix(field, "character_string"):
		limit = 32
	}
	if v == "" {
		v = "-"
	}
	if limit > 0 && utf8.RuneCountInString(v) > limit {
		v = string([]rune(v)[:limit-1]) + "…"
	}
	return v
}

// unfilled matches a placeholder the notification had no value for.
var unfilled = regexp.MustCompile(`{{[a-z_]+}}`)

// slot takes a send slot in a sliding one-minute window shared by every
// instance; it returns 0, or how long to wait for the next free slot.
var slot = redis.NewScript(`
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)`)

// ErrAttemptInFlight is a push another worker is already trying; that
// attempt records the outcome.
var ErrAttemptInFlight = errors.New("another attempt at this push is in flight")

// attemptTTL bounds how long a crashed attempt keeps others away; a live
// one renews it at least every attemptTTL/3 while it waits for a slot.
const attemptTTL = 9 * time.Second

func (p *Pusher) attemptKey(id int64) string {
	return p.opts.KeyPrefix + "push:attempt:" + strconv.FormatInt(id, 10)
}

// lockAttempt claims the notification's attempt in Redis and returns the
// claim's token, or ErrAttemptInFlight when another attempt holds it.
func (p *Pusher) lockAttempt(ctx context.Context, id int64) (string, error) {
	token := strconv.FormatInt(time.Now().UnixNano(), 36) + ":" + strconv.FormatInt(rand.Int64(), 36)
	ok, err := p.rdb.SetNX(ctx, p.attemptKey(id), token, attemptTTL).Result()
	if err != nil {
		return "", fmt.Errorf("notify %d: attempt lock: %w", id, err)
	}
	if !ok {
		return "", fmt.Errorf("notify %d: %w", id, ErrAttemptInFlight)
	}
	return token, nil
}

var unlockAttempt = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

var renewAttempt = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)

// unlockAttempt releases the claim if it is still this attempt's; it runs
// even when the job's context has ended.
func (p *Pusher) unlockAttempt(id int64, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := unlockAttempt.Run(ctx, p.rdb, []string{p.attemptKey(id)}, token).Err(); err != nil {
		p.opts.Log.Warn("could not release a push attempt; it expires on its own", "notification_id", id, "err", err)
	}
}

// waitForSlot blocks until the global send rate allows one more message,
// keeping the attempt's claim (token) alive while it waits.
// The window runs on real time, not p.now: it lives in Redis, whose expiry does.
func (p *Pusher) waitForSlot(ctx context.Context, id int64, token string) error {
	key := p.opts.KeyPrefix + "push:rate"
	member := strconv.FormatInt(id, 10) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for first := true; ; first = false {
		if !first {
			if err := renewAttempt.Run(ctx, p.rdb, []string{p.attemptKey(id)}, token, attemptTTL.Milliseconds()).Err(); err != nil {
				return fmt.Errorf("notify %d: attempt lock: %w", id, err)
			}
		}
		wait, err := slot.Run(ctx, p.rdb, []string{key}, time.Now().UnixMilli(), 60000, p.opts.RatePerMinute, member).Int64()
		if err != nil {
			return fmt.Errorf("notify: rate limit: %w", err)
		}
		if wait == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Duration(wait)*time.Millisecond, attemptTTL/3)):
		}
	}
}
