package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/wechat"
)

// batchChunk is how many pushes of a batch are claimed, marked "sending"
// and recorded together: small enough that several batches share the
// sends in flight, large enough that the database work around a send is a
// few statements per chunk rather than six per message.
const batchChunk = 64

// chunkLanes is how many chunks of one batch are under way at once: while
// one waits for the last of its WeChat answers, the next is sending.
const chunkLanes = 2

// batchItem is a notification of a batch with its recipient's openid.
type batchItem struct {
	Notification `gorm:"embedded"`
	OpenID       string
}

// claimedItem is a batch item whose attempt this batch holds (its token).
type claimedItem struct {
	batchItem
	tmpl  Template
	token string
}

// DeliverBatch pushes the notifications ids (a fan-out's batch, at most a
// few thousand) with the consent ledger exactly as Deliver keeps it, but
// with the database work of a chunk of messages done by a few set-based
// statements: one read of the batch, one read of its consents, and per
// chunk one transaction that marks the chunk "sending" and spends its
// consents, then one UPDATE per outcome. Each message is marked "sending",
// with its consent spent, before WeChat is asked, so that a crash between
// the send and its record never sends it twice (Deliver then records it
// unconfirmed). The per-notification Redis claim keeps out a send job of
// the same notification (it gets ErrAttemptInFlight), and the global rate
// is honoured slot for slot.
//
// Notifications the batch path does not cover (one being sent, one of a
// coalescing kind, a second one for the same user and template) go
// through Deliver one by one. Every send, of either path, holds a token
// of gate while it runs. The result maps each notification whose push is
// not finished to Deliver's error for it: the caller hands it to a send
// job of its own. Pushes not begun when ctx ends are left queued, for the
// batch's job to run again.
func (p *Pusher) DeliverBatch(ctx context.Context, ids []int64, gate chan struct{}) map[int64]error {
	out := map[int64]error{}
	var mu sync.Mutex
	fail := func(id int64, err error) {
		mu.Lock()
		out[id] = err
		mu.Unlock()
	}
	var items []batchItem
	err := p.db.WithContext(ctx).Table("notifications AS n").Select("n.*, u.open_id").
		Joins("LEFT JOIN users u ON u.id = n.user_id").Where("n.id IN ?", ids).Order("n.id").Scan(&items).Error
	if err != nil {
		for _, id := range ids {
			out[id] = fmt.Errorf("notify: load batch: %w", err)
		}
		return out
	}
	var (
		single  []int64
		noTmpl  = map[string][]int64{}
		byTmpl  = map[string][]batchItem{}
		pending = map[string]bool{} // user and template of a push of this batch
	)
	for _, it := range items {
		if it.Delivery != DeliveryQueued {
			if it.Delivery == DeliverySending {
				single = append(single, it.ID)
			}
			continue
		}
		tmpl := p.opts.Templates[it.Kind]
		key := strconv.FormatInt(it.UserID, 10) + " " + tmpl.ID
		switch {
		case tmpl.ID == "":
			noTmpl[it.Kind] = append(noTmpl[it.Kind], it.ID)
		case it.PushGroup != "" && p.opts.Coalesce[it.Kind] > 0, pending[key]:
			single = append(single, it.ID)
		default:
			pending[key] = true
			byTmpl[tmpl.ID] = append(byTmpl[tmpl.ID], it)
		}
	}
	for kind, ids := range noTmpl {
		if err := p.setDeliveries(p.db.WithContext(ctx), ids, DeliveryQueued, DeliveryNoConsent, "no template for "+kind); err != nil {
			for _, id := range ids {
				fail(id, err)
			}
		}
	}
	var wg sync.WaitGroup
	deliver := func(id int64) {
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			return // the batch's job runs again
		}
		wg.Go(func() {
			defer func() { <-gate }()
			if err := p.Deliver(ctx, id, false); err != nil && !errors.Is(err, ErrPermanent) {
				fail(id, err)
			}
		})
	}
	for _, id := range single {
		deliver(id)
	}
	var chunks sync.WaitGroup
	lanes := make(chan struct{}, chunkLanes)
	for tid, its := range byTmpl {
		consenting, err := p.withConsent(ctx, its, tid)
		if err != nil {
			for _, it := range its {
				fail(it.ID, err)
			}
			continue
		}
		for start := 0; start < len(consenting); start += batchChunk {
			chunk := consenting[start:min(start+batchChunk, len(consenting))]
			if ctx.Err() != nil {
				break // the batch's job runs again: what is still queued goes then
			}
			lanes <- struct{}{}
			chunks.Go(func() {
				defer func() { <-lanes }()
				p.sendChunk(ctx, chunk, p.opts.Templates[chunk[0].Kind], gate, fail, deliver)
			})
		}
	}
	chunks.Wait() // before wg.Wait: a chunk may hand pushes to deliver
	wg.Wait()
	return out
}

// withConsent reads the consents of the items' users for template tid in
// one query, records the items of users without one inbox only (as
// Deliver does, without waiting for the send rate) and returns the others.
func (p *Pusher) withConsent(ctx context.Context, its []batchItem, tid string) ([]batchItem, error) {
	users := make([]int64, len(its))
	for i, it := range its {
		users[i] = it.UserID
	}
	var have []int64
	db := p.db.WithContext(ctx)
	if err := db.Model(&Subscription{}).Where("template_id = ? AND user_id IN ? AND count > 0", tid, users).
		Pluck("user_id", &have).Error; err != nil {
		return nil, fmt.Errorf("notify: consents: %w", err)
	}
	ok := make(map[int64]bool, len(have))
	for _, u := range have {
		ok[u] = true
	}
	var yes []batchItem
	var no []int64
	for _, it := range its {
		if ok[it.UserID] {
			yes = append(yes, it)
		} else {
			no = append(no, it.ID)
		}
	}
	if err := p.setDeliveries(db, no, DeliveryQueued, DeliveryNoConsent, ""); err != nil {
		return nil, err
	}
	return yes, nil
}

// errChunkRace rolls back a chunk whose consents or states changed between
// the batch's read and its transaction; its pushes then go one by one.
var errChunkRace = errors.New("a consent or a delivery changed under the batch")

// sendChunk claims the chunk's pushes, waits for their send slots, marks
// them "sending" and spends their consents in one transaction, sends them
// (each holding a token of gate) and records the outcomes by group.
func (p *Pusher) sendChunk(ctx context.Context, chunk []batchItem, tmpl Template, gate chan struct{}, fail func(int64, error), deliver func(int64)) {
	claimed := p.claimAll(ctx, chunk, tmpl, fail)
	for len(claimed) > 0 {
		n, err := p.waitForSlots(ctx, claimed)
		if err != nil {
			p.unlockAll(claimed)
			if ctx.Err() == nil {
				for _, c := range claimed {
					fail(c.ID, err)
				}
			}
			return
		}
		p.sendClaimed(ctx, claimed[:n], gate, fail, deliver)
		claimed = claimed[n:]
	}
}

// sendClaimed is sendChunk's work on pushes that hold their claim and a
// send slot each.
func (p *Pusher) sendClaimed(ctx context.Context, cs []claimedItem, gate chan struct{}, fail func(int64, error), deliver func(int64)) {
	ids := make([]int64, len(cs))
	users := make([]int64, len(cs))
	for i, c := range cs {
		ids[i], users[i] = c.ID, c.UserID
	}
	tid := cs[0].tmpl.ID
	err := database.Transact(ctx, p.db, func(tx *gorm.DB) error {
		res := tx.Model(&Notification{}).Where("id IN ? AND delivery = ?", ids, DeliveryQueued).
			Updates(map[string]any{"delivery": DeliverySending, "attempted_at": p.now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(len(ids)) {
			return errChunkRace
		}
		res = tx.Model(&Subscription{}).Where("template_id = ? AND user_id IN ? AND count > 0", tid, users).
			Updates(map[string]any{"count": gorm.Expr("count - 1"), "updated_at": tx.NowFunc()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(len(users)) {
			return errChunkRace
		}
		return nil
	})
	if err != nil {
		// Nothing was marked or spent: each goes the one-by-one way, which
		// sorts out a withdrawn push or a consent spent meanwhile.
		p.unlockAll(cs)
		for _, c := range cs {
			if errors.Is(err, errChunkRace) {
				deliver(c.ID)
			} else {
				fail(c.ID, fmt.Errorf("notify %d: take consent: %w", c.ID, err))
			}
		}
		return
	}
	errs := make([]error, len(cs))
	sendCtx := context.WithoutCancel(ctx) // marked "sending": sent whatever the job's context says
	var wg sync.WaitGroup
	for i, c := range cs {
		gate <- struct{}{}
		wg.Go(func() {
			defer func() { <-gate }()
			errs[i] = p.sender.SendSubscribe(sendCtx, p.message(c.Notification, c.OpenID, c.tmpl))
		})
	}
	wg.Wait()
	p.recordAll(context.WithoutCancel(ctx), cs, errs, fail)
	p.unlockAll(cs)
}

// recordAll records WeChat's answers to a chunk's sends, one statement (or
// one transaction, when consents change) per outcome and reason, as
// Deliver records one answer.
func (p *Pusher) recordAll(ctx context.Context, cs []claimedItem, errs []error, fail func(int64, error)) {
	type group struct {
		final, reason string
		consent       string // "": spent; "refund"; "revoke"
		err           error  // what the caller gets for each
	}
	groups := map[group][]int{}
	for i, sendErr := range errs {
		var g group
		switch {
		case sendErr == nil:
			if p.opts.AfterSend != nil {
				if err := p.opts.AfterSend(cs[i].ID); err != nil {
					fail(cs[i].ID, err) // stands for a crash: left "sending"
					continue
				}
			}
			g = group{final: DeliverySent}
		case errors.Is(sendErr, wechat.ErrConsentRefused):
			g = group{final: DeliveryNoConsent, reason: "user refused (43101)", consent: "revoke"}
		case errors.Is(sendErr, wechat.ErrBusy), errors.Is(sendErr, wechat.ErrQuota),
			errors.Is(sendErr, wechat.ErrUnavailable), errors.Is(sendErr, wechat.ErrTokenInvalid):
			g = group{final: DeliveryQueued, reason: clipReason(sendErr.Error()), consent: "refund", err: sendErr}
		default:
			g = group{final: DeliveryFailed, reason: clipReason(sendErr.Error()), consent: "refund"}
		}
		groups[g] = append(groups[g], i)
	}
	for g, idx := range groups {
		ids := make([]int64, len(idx))
		users := make([]int64, len(idx))
		for k, i := range idx {
			ids[k], users[k] = cs[i].ID, cs[i].UserID
		}
		err := database.Transact(ctx, p.db, func(tx *gorm.DB) error {
			q := tx.Model(&Subscription{}).Where("template_id = ? AND user_id IN ?", cs[idx[0]].tmpl.ID, users)
			var err error
			switch g.consent {
			case "refund":
				err = q.Updates(map[string]any{"count": gorm.Expr("count + 1"), "updated_at": tx.NowFunc()}).Error
			case "revoke":
				err = q.Updates(map[string]any{"count": 0, "updated_at": tx.NowFunc()}).Error
			}
			if err != nil {
				return err
			}
			return p.setDeliveries(tx, ids, DeliverySending, g.final, g.reason)
		})
		for _, id := range ids {
			switch {
			case err != nil:
				fail(id, fmt.Errorf("notify %d: record %s: %w", id, g.final, err))
			case g.err != nil:
				fail(id, fmt.Errorf("notify %d: %w", id, g.err))
			}
		}
	}
}

// setDeliveries moves the notifications ids still in state from to state
// to, with the reason, in one statement.
func (p *Pusher) setDeliveries(db *gorm.DB, ids []int64, from, to, reason string) error {
	if len(ids) == 0 {
		return nil
	}
	updates := map[string]any{"delivery": to, "delivery_error": reason}
	if to == DeliverySent {
		updates["sent_at"] = p.now()
	}
	if err := db.Model(&Notification{}).Where("id IN ? AND delivery = ?", ids, from).Updates(updates).Error; err != nil {
		return fmt.Errorf("notify: record %s: %w", to, err)
	}
	return nil
}

// claimAll claims the attempts of the items in one Redis round trip; an
// item another attempt holds gets ErrAttemptInFlight.
func (p *Pusher) claimAll(ctx context.Context, its []batchItem, tmpl Template, fail func(int64, error)) []claimedItem {
	base := strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	cmds := make([]*redis.BoolCmd, len(its))
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, it := range its {
			cmds[i] = pipe.SetNX(ctx, p.attemptKey(it.ID), base+strconv.Itoa(i), attemptTTL)
		}
		return nil
	})
	var out []claimedItem
	for i, it := range its {
		ok, cerr := cmds[i].Result()
		switch {
		case cerr != nil:
			fail(it.ID, fmt.Errorf("notify %d: attempt lock: %w", it.ID, errors.Join(err, cerr)))
		case !ok:
			fail(it.ID, fmt.Errorf("notify %d: %w", it.ID, ErrAttemptInFlight))
		default:
			out = append(out, claimedItem{batchItem: it, tmpl: tmpl, token: base + strconv.Itoa(i)})
		}
	}
	return out
}

// unlockAll releases the claims that are still the items'; it runs even
// when the job's context has ended.
func (p *Pusher) unlockAll(cs []claimedItem) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, c := range cs {
			unlockAttempt.Eval(ctx, pipe, []string{p.attemptKey(c.ID)}, c.token)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		p.opts.Log.Warn("could not release push attempts; they expire on their own", "count", len(cs), "err", err)
	}
}

// slots takes up to ARGV[4] send slots in the sliding one-minute window
// (see slot); it returns how many it took or, when none is free, minus how
// long to wait for the next.
var slots = redis.NewScript(`
local now, window, limit, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local free = limit - redis.call('ZCARD', KEYS[1])
if free > 0 then
  local n = math.min(free, want)
  for i = 1, n do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
  redis.call('PEXPIRE', KEYS[1], window)
  return n
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return -math.max(1, tonumber(oldest[2]) + window - now)`)

// waitForSlots blocks until the global send rate allows at least one of
// the claimed pushes and returns how many of them (the first n) may go,
// keeping their claims alive while it waits.
func (p *Pusher) waitForSlots(ctx context.Context, cs []claimedItem) (int, error) {
	key := p.opts.KeyPrefix + "push:rate"
	member := "b" + strconv.FormatInt(cs[0].ID, 10) + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for first := true; ; first = false {
		if !first {
			if err := p.renewAll(ctx, cs); err != nil {
				return 0, err
			}
		}
		n, err := slots.Run(ctx, p.rdb, []string{key}, time.Now().UnixMilli(), 60000, p.opts.RatePerMinute, len(cs), member).Int64()
		if err != nil {
			return 0, fmt.Errorf("notify: rate limit: %w", err)
		}
		if n > 0 {
			return int(n), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(min(time.Duration(-n)*time.Millisecond, attemptTTL/3)):
		}
	}
}

// renewAll extends the claims of the items while they wait for slots.
func (p *Pusher) renewAll(ctx context.Context, cs []claimedItem) error {
	_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, c := range cs {
			renewAttempt.Eval(ctx, pipe, []string{p.attemptKey(c.ID)}, c.token, attemptTTL.Milliseconds())
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("notify: attempt lock: %w", err)
	}
	return nil
}
