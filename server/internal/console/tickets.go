package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/redisdb"
)

// TicketTTL is how long a login ticket (its QR code) can be confirmed.
const TicketTTL = 2 * time.Minute

// ticketKeep is how long Redis keeps a ticket after it is made, whatever
// happened to it: long enough that a late poll or confirm is told the
// ticket expired (410) rather than that it never existed (404).
const ticketKeep = 10 * time.Minute

// ticketBytes is a ticket id's randomness (128 bits): it is shown on the
// screen, so it is no secret; the browser binding is.
const ticketBytes = 16

var ticketLen = base64.RawURLEncoding.EncodedLen(ticketBytes)

// The states of a ticket.
const (
	statePending   = "pending"   // waiting for a secretary's phone
	stateConfirmed = "confirmed" // confirmed; the waiting browser has not taken its session yet
	stateDone      = "done"      // the browser took its session: the ticket is spent
)

var (
	errTicketNotFound = apperr.New(apperr.KindNotFound, "ticket_not_found", "登录二维码不存在")
	errTicketExpired  = apperr.New(apperr.KindGone, "ticket_expired", "登录二维码已过期，请在电脑上刷新后重新扫码")
	errTicketUsed     = apperr.New(apperr.KindGone, "ticket_used", "该登录二维码已使用，请在电脑上刷新后重新扫码")
	errNotSecretary   = apperr.New(apperr.KindForbidden, "forbidden", "只有书记可以登录管理后台")
)

// Ticket is a login ticket as the phone sees it before confirming: where
// and when the browser asked for it.
type Ticket struct {
	ID        string
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	State     string
}

// Tickets keeps login tickets in Redis, one hash per ticket (a single key,
// so the scripts below also run on Redis Cluster).
type Tickets struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewTickets returns the ticket store with keys under prefix; expiry is
// decided on the clock now (Redis only drops old tickets).
func NewTickets(rdb redis.UniversalClient, prefix string, now func() time.Time) *Tickets {
	return &Tickets{rdb: rdb, prefix: prefix + "cticket:", now: now}
}

func (t *Tickets) key(id string) string { return t.prefix + id }

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wellFormedTicket checks a ticket id's shape before any Redis round trip:
// the unpadded base64url of ticketBytes bytes.
func wellFormedTicket(id string) bool {
	if len(id) != ticketLen {
		return false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(raw) == ticketBytes
}

// Create makes a ticket for the browser at ip with user agent ua. binding
// is the secret the browser keeps in its cookie: only it can collect the
// session once the ticket is confirmed.
func (t *Tickets) Create(ctx context.Context, ip, ua string) (tk Ticket, binding string, err error) {
	defer apperr.Annotate(&err, "console.CreateTicket")
	id, err := randomToken(ticketBytes)
	if err != nil {
		return Ticket{}, "", err
	}
	if binding, err = randomToken(32); err != nil {
		return Ticket{}, "", err
	}
	if len(ua) > 300 {
		ua = ua[:300]
	}
	now := t.now().UTC()
	tk = Ticket{ID: id, IP: ip, UserAgent: ua, CreatedAt: now, ExpiresAt: now.Add(TicketTTL), State: statePending}
	key := t.key(id)
	_, err = t.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, map[string]any{
			"bind": hashSecret(binding), "ip": ip, "ua": ua,
			"created": now.UnixMilli(), "exp": tk.ExpiresAt.UnixMilli(), "state": statePending,
		})
		p.Expire(ctx, key, ticketKeep)
		return nil
	})
	if err != nil {
		return Ticket{}, "", redisErr(err)
	}
	return tk, binding, nil
}

// Get returns a ticket for the phone that scanned it: 404 when there is
// no such ticket, 410 when it expired or was used.
func (t *Tickets) Get(ctx context.Context, id string) (Ticket, error) {
	if !wellFormedTicket(id) {
		return Ticket{}, errTicketNotFound
	}
	v, err := t.rdb.HGetAll(ctx, t.key(id)).Result()
	if err != nil {
		return Ticket{}, redisErr(err)
	}
	if len(v) == 0 {
		return Ticket{}, errTicketNotFound
	}
	created, _ := strconv.ParseInt(v["created"], 10, 64)
	exp, _ := strconv.ParseInt(v["exp"], 10, 64)
	tk := Ticket{ID: id, IP: v["ip"], UserAgent: v["ua"], CreatedAt: time.UnixMilli(created).UTC(),
		ExpiresAt: time.UnixMilli(exp).UTC(), State: v["state"]}
	switch {
	case tk.State != statePending:
		return Ticket{}, errTicketUsed
	case !t.now().Before(tk.ExpiresAt):
		return Ticket{}, errTicketExpired
	}
	return tk, nil
}

// confirm marks a pending, unexpired ticket confirmed by a user. KEYS[1]
// is the ticket; ARGV: now (Unix ms), the user id. It returns 0 when the
// ticket is missing, -1 when it was used, -2 when it expired, 1 when it is
// now confirmed.
var confirm = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'state', 'exp')
if not v[1] then return 0 end
if v[1] ~= 'pending' then return -1 end
if tonumber(ARGV[1]) >= tonumber(v[2]) then return -2 end
redis.call('HSET', KEYS[1], 'state', 'confirmed', 'uid', ARGV[2])
return 1`)

// Confirm lets the user's session be handed to the browser that holds the
// ticket: once, within TicketTTL.
func (t *Tickets) Confirm(ctx context.Context, id string, userID int64) error {
	if !wellFormedTicket(id) {
		return errTicketNotFound
	}
	n, err := confirm.Run(ctx, t.rdb, []string{t.key(id)}, t.now().UnixMilli(), userID).Int()
	if err != nil {
		return redisErr(err)
	}
	switch n {
	case 1:
		return nil
	case -1:
		return errTicketUsed
	case -2:
		return errTicketExpired
	}
	return errTicketNotFound
}

// collect answers a poll from the browser. KEYS[1] is the ticket; ARGV:
// now (Unix ms), the hash of the browser's binding secret. It returns
// "missing" (no such ticket, or another browser's), "pending", "expired"
// (timed out unconfirmed, or spent), or the user id of a confirmed ticket,
// which it spends: only one poll ever gets it.
var collect = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'state', 'exp', 'bind', 'uid')
if not v[1] then return 'missing' end
if v[3] ~= ARGV[2] then return 'missing' end
if v[1] == 'confirmed' then
  redis.call('HSET', KEYS[1], 'state', 'done')
  return 'uid:' .. v[4]
end
if v[1] == 'done' then return 'expired' end
if tonumber(ARGV[1]) >= tonumber(v[2]) then return 'expired' end
return 'pending'`)

// Collect answers the browser's poll: the ticket's status and, the first
// time it reports confirmed, the user to start a session for. A browser
// without the ticket's binding secret is told the ticket does not exist.
func (t *Tickets) Collect(ctx context.Context, id, binding string) (status string, userID int64, err error) {
	if !wellFormedTicket(id) || binding == "" {
		return "", 0, errTicketNotFound
	}
	res, err := collect.Run(ctx, t.rdb, []string{t.key(id)}, t.now().UnixMilli(), hashSecret(binding)).Text()
	if err != nil {
		return "", 0, redisErr(err)
	}
	switch res {
	case "missing":
		return "", 0, errTicketNotFound
	case statePending, "expired":
		return res, 0, nil
	}
	uid, err := strconv.ParseInt(res[len("uid:"):], 10, 64)
	if err != nil || uid <= 0 {
		return "", 0, fmt.Errorf("console: ticket %s confirmed without a user", id[:4])
	}
	return stateConfirmed, uid, nil
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// redisErr turns a Redis failure into the 503 "unavailable" error.
func redisErr(err error) error { return redisdb.Err("console", err) }
