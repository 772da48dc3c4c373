package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"xianfeng/config"
	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/redisdb"
	"xianfeng/server/internal/testenv/testdb"
)

const testTTL = 7 * 24 * time.Hour

// openRedis connects the way the server does, with the given Redis timeout.
func openRedis(t *testing.T, url string, timeout time.Duration) *redisdb.Client {
	t.Helper()
	rdb, err := redisdb.Open(context.Background(), config.Redis{URL: url, Timeout: timeout, PoolSize: 8}, logging.Discard())
	if err != nil {
		t.Fatalf("redisdb.Open: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// testStore returns a session store on miniredis, or on the Redis (single,
// Cluster or Sentinel) that the TEST_REDIS_ settings name, under a key
// prefix of its own, deleted afterwards.
func testStore(t *testing.T) (*Sessions, redis.UniversalClient, string) {
	t.Helper()
	if os.Getenv("TEST_REDIS_URL") == "" && os.Getenv("TEST_REDIS_ADDRS") == "" {
		rdb := openRedis(t, "redis://"+miniredis.RunT(t).Addr(), time.Second)
		return NewSessions(rdb, "xf:", testTTL), rdb, "xf:"
	}
	cfg := testdb.Config(t).Redis
	cfg.Timeout, cfg.PoolSize = time.Second, 8
	rdb, err := redisdb.Open(context.Background(), cfg, logging.Discard())
	if err != nil {
		t.Fatalf("redisdb.Open: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	prefix := cfg.KeyPrefix
	return NewSessions(rdb, prefix, testTTL), rdb, prefix
}

func keys(t *testing.T, rdb redis.UniversalClient, prefix string) []string {
	t.Helper()
	out, err := redisdb.Keys(context.Background(), rdb, prefix+"*")
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// dump renders every value stored under key, whatever its type.
func dump(t *testing.T, rdb redis.UniversalClient, key string) string {
	t.Helper()
	ctx := context.Background()
	switch typ := rdb.Type(ctx, key).Val(); typ {
	case "hash":
		return fmt.Sprint(rdb.HGetAll(ctx, key).Val())
	case "set":
		return fmt.Sprint(rdb.SMembers(ctx, key).Val())
	case "string":
		return rdb.Get(ctx, key).Val()
	default:
		t.Fatalf("key %s has unexpected type %q", key, typ)
		return ""
	}
}

func create(t *testing.T, s *Sessions, userID int64, openID, sessionKey string) string {
	t.Helper()
	token, _, err := s.Create(context.Background(), Session{UserID: userID, OpenID: openID, SessionKey: sessionKey})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return token
}

func TestTokensAreLongRandomAndFindTheirSession(t *testing.T) {
	s, _, _ := testStore(t)
	const n = 1000
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = create(t, s, int64(i+1), fmt.Sprintf("o-%d", i+1), "sk")
	}
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"every token carries at least 128 random bits", func(t *testing.T) {
			for _, tok := range tokens {
				raw, err := base64.RawURLEncoding.DecodeString(tok)
				if err != nil || len(raw)*8 < 128 {
					t.Fatalf("token %q decodes to %d bits (err %v), want at least 128", tok, len(raw)*8, err)
				}
			}
		}},
		{"no two of a thousand tokens are the same", func(t *testing.T) {
			seen := make(map[string]bool, n)
			for _, tok := range tokens {
				if seen[tok] {
					t.Fatalf("token %q was issued twice", tok)
				}
				seen[tok] = true
			}
		}},
		{"each token finds its own user's session", func(t *testing.T) {
			for i, tok := range tokens {
				sess, err := s.Lookup(context.Background(), tok)
				if err != nil {
					t.Fatalf("Lookup token %d: %v", i, err)
				}
				if sess.UserID != int64(i+1) || sess.OpenID != fmt.Sprintf("o-%d", i+1) {
					t.Fatalf("token %d found user %d (%s), want %d", i, sess.UserID, sess.OpenID, i+1)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestRedisNeverHoldsTheRawToken(t *testing.T) {
	s, rdb, prefix := testStore(t)
	token := create(t, s, 42, "o-alice", "session-key-of-alice")
	sum := sha256.Sum256([]byte(token))
	hash := hex.EncodeToString(sum[:])

	all := keys(t, rdb, prefix)
	if len(all) == 0 {
		t.Fatal("Create stored nothing under the prefix")
	}
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"no key contains the token", func(t *testing.T) {
			for _, k := range all {
				if strings.Contains(k, token) {
					t.Errorf("key %q contains the token", k)
				}
			}
		}},
		{"no stored value contains the token", func(t *testing.T) {
			for _, k := range all {
				if v := dump(t, rdb, k); strings.Contains(v, token) {
					t.Errorf("value of %q contains the token: %s", k, v)
				}
			}
		}},
		{"the session is stored under the SHA-256 of the token", func(t *testing.T) {
			if n := rdb.Exists(context.Background(), prefix+"sess:"+hash).Val(); n != 1 {
				t.Errorf("no session under %ssess:%s; keys are %v", prefix, hash, all)
			}
		}},
		{"the session expires after the session lifetime", func(t *testing.T) {
			ttl := rdb.TTL(context.Background(), prefix+"sess:"+hash).Val()
			if ttl <= testTTL-time.Minute || ttl > testTTL {
				t.Errorf("session TTL = %s, want about %s", ttl, testTTL)
			}
		}},
		{"the WeChat session_key is kept for the server", func(t *testing.T) {
			sess, err := s.Lookup(context.Background(), token)
			if err != nil || sess.SessionKey != "session-key-of-alice" {
				t.Errorf("Lookup = %q, %v; want the stored session_key", sess.SessionKey, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestLoggingASessionNeverShowsItsSessionKey(t *testing.T) {
	s, _, _ := testStore(t)
	token := create(t, s, 42, "o-alice", "session-key-of-alice")
	sess, err := s.Lookup(context.Background(), token)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	tests := []struct {
		name   string
		format string
	}{
		{"a JSON log line names the user but not the session_key", "json"},
		{"a text log line names the user but not the session_key", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logging.New(&buf, "debug", tt.format).Info("request", "session", sess)
			out := buf.String()
			if strings.Contains(out, "session-key-of-alice") {
				t.Errorf("log line shows the session_key: %s", out)
			}
			if !strings.Contains(out, "42") {
				t.Errorf("log line does not name user 42: %s", out)
			}
		})
	}
}

func TestLookupRefusesTokensWithoutASession(t *testing.T) {
	s, _, _ := testStore(t)
	valid := create(t, s, 42, "o-alice", "sk")
	unknown := strings.Repeat("A", len(valid))
	tests := []struct {
		name, token string
	}{
		{"an empty token is refused", ""},
		{"a short token is refused", valid[:20]},
		{"a token with a character outside base64url is refused", "!" + valid[1:]},
		{"a well-formed token that was never issued is refused", unknown},
		{"a valid token with trailing junk is refused", valid + "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Lookup(context.Background(), tt.token); !errors.Is(err, apperr.ErrUnauthenticated) {
				t.Errorf("Lookup(%q) error = %v, want unauthenticated", tt.token, err)
			}
		})
	}
}

func TestRevokingSignsDevicesOut(t *testing.T) {
	type devices struct{ phone, tablet, other string }
	tests := []struct {
		name   string
		revoke func(t *testing.T, s *Sessions, d devices)
		// wantIn lists which of phone, tablet, other still work.
		wantIn [3]bool
	}{
		{"revoking one session signs out only that device", func(t *testing.T, s *Sessions, d devices) {
			sess, err := s.Lookup(context.Background(), d.phone)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Revoke(context.Background(), sess); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
		}, [3]bool{false, true, true}},
		{"revoking all of a user's sessions signs out every device of that user only", func(t *testing.T, s *Sessions, d devices) {
			if err := s.RevokeAll(context.Background(), 1); err != nil {
				t.Fatalf("RevokeAll: %v", err)
			}
		}, [3]bool{false, false, true}},
		{"revoking all sessions of a user who has none changes nothing", func(t *testing.T, s *Sessions, d devices) {
			if err := s.RevokeAll(context.Background(), 999); err != nil {
				t.Fatalf("RevokeAll: %v", err)
			}
		}, [3]bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := testStore(t)
			d := devices{
				phone:  create(t, s, 1, "o-alice", "sk1"),
				tablet: create(t, s, 1, "o-alice", "sk2"),
				other:  create(t, s, 2, "o-bob", "sk3"),
			}
			tt.revoke(t, s, d)
			for i, tok := range []string{d.phone, d.tablet, d.other} {
				_, err := s.Lookup(context.Background(), tok)
				if gotIn := err == nil; gotIn != tt.wantIn[i] {
					t.Errorf("device %d signed in = %v (err %v), want %v", i, gotIn, err, tt.wantIn[i])
				}
			}
		})
	}
}

func TestUsingASessionSlidesItsExpiry(t *testing.T) {
	tests := []struct {
		name string
		// after is how long after sign-in the session is used.
		after time.Duration
		// revokeMidway revokes the session between Lookup's read and its touch.
		revokeMidway bool
		wantErr      error
		wantTTLReset bool
	}{
		{"a session used within a minute is not rewritten", 30 * time.Second, false, nil, false},
		{"a session used after a minute gets its full lifetime back", 2 * time.Minute, false, nil, true},
		{"a session revoked while a request is touching it stays revoked", 2 * time.Minute, true, apperr.ErrUnauthenticated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, rdb, prefix := testStore(t)
			token := create(t, s, 42, "o-alice", "sk")
			created, err := s.Lookup(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			key := prefix + "sess:" + created.ID
			// Pretend most of the lifetime has passed.
			rdb.Expire(ctx, key, time.Hour)

			now := time.Now().Add(tt.after)
			s.now = func() time.Time {
				if tt.revokeMidway {
					// Lookup has read the session; another instance revokes it now.
					if err := s.Revoke(ctx, created); err != nil {
						t.Errorf("Revoke: %v", err)
					}
				}
				return now
			}
			sess, err := s.Lookup(ctx, token)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Lookup error = %v, want %v", err, tt.wantErr)
			}
			if tt.revokeMidway {
				if n := rdb.Exists(ctx, key).Val(); n != 0 {
					t.Errorf("the revoked session is back in Redis: %v", rdb.HGetAll(ctx, key).Val())
				}
				return
			}
			ttl := rdb.TTL(ctx, key).Val()
			if reset := ttl > time.Hour; reset != tt.wantTTLReset {
				t.Errorf("TTL after use = %s, want reset to the lifetime: %v", ttl, tt.wantTTLReset)
			}
			wantSeen := created.LastSeen.Unix()
			if tt.wantTTLReset {
				wantSeen = now.Unix()
			}
			if got := rdb.HGet(ctx, key, "seen").Val(); got != strconv.FormatInt(wantSeen, 10) {
				t.Errorf("stored last-seen = %s, want %d", got, wantSeen)
			}
			if sess.LastSeen.Unix() != wantSeen {
				t.Errorf("Lookup's LastSeen = %s, want %s", sess.LastSeen, time.Unix(wantSeen, 0).UTC())
			}
		})
	}
}

func TestARedisThatIsDownMakesSessionsUnavailable(t *testing.T) {
	operations := []struct {
		name string
		op   func(ctx context.Context, s *Sessions, token string, sess Session) error
	}{
		{"signing in fails as unavailable", func(ctx context.Context, s *Sessions, _ string, sess Session) error {
			_, _, err := s.Create(ctx, sess)
			return err
		}},
		{"looking a token up fails as unavailable, not as signed out", func(ctx context.Context, s *Sessions, token string, _ Session) error {
			_, err := s.Lookup(ctx, token)
			return err
		}},
		{"signing out fails as unavailable", func(ctx context.Context, s *Sessions, _ string, sess Session) error {
			return s.Revoke(ctx, sess)
		}},
		{"signing out everywhere fails as unavailable", func(ctx context.Context, s *Sessions, _ string, sess Session) error {
			return s.RevokeAll(ctx, sess.UserID)
		}},
	}
	for _, tt := range operations {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := miniredis.RunT(t)
			url := "redis://" + m.Addr()
			setup := NewSessions(openRedis(t, url, time.Second), "xf:", testTTL)
			token := create(t, setup, 42, "o-alice", "sk")
			sess, err := setup.Lookup(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			// The store under test gives Redis 50 ms, so that the client's
			// dial retries end soon; a store that waited on regardless
			// would hang the test rather than answer.
			s := NewSessions(openRedis(t, url, 50*time.Millisecond), "xf:", testTTL)
			m.Close()

			err = tt.op(context.Background(), s, token, sess)
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindUnavailable {
				t.Errorf("error = %v, want an apperr of kind unavailable", err)
			}
		})
	}
}
