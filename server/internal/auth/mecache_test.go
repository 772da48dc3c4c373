package auth

import (
	"context"
	"testing"
	"time"
)

func TestTheMeCache(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*Sessions, *MeCache, string) {
		s, rdb, prefix := testStore(t)
		return s, NewMeCache(rdb, prefix), create(t, s, 42, "o-alice", "sk")
	}
	lookupMe := func(t *testing.T, s *Sessions, c *MeCache, token string) Session {
		t.Helper()
		sess, err := s.LookupMe(ctx, token, c)
		if err != nil {
			t.Fatalf("LookupMe: %v", err)
		}
		return sess
	}
	store := func(t *testing.T, c *MeCache, sess Session, body string) bool {
		t.Helper()
		ok, err := c.store(ctx, sess.UserID, sess.meGen, []byte(body))
		if err != nil {
			t.Fatalf("store: %v", err)
		}
		return ok
	}

	t.Run("an answer stored after a lookup comes back with the next lookup", func(t *testing.T) {
		s, c, token := setup(t)
		if got := lookupMe(t, s, c, token).me; got != nil {
			t.Fatalf("a new user has a cached answer: %s", got)
		}
		if !store(t, c, lookupMe(t, s, c, token), `{"v":1}`) {
			t.Fatal("the answer was not stored")
		}
		if got := string(lookupMe(t, s, c, token).me); got != `{"v":1}` {
			t.Errorf("cached answer = %q, want {\"v\":1}", got)
		}
	})
	t.Run("a session idle for two minutes gets the answer and its lifetime back in one lookup", func(t *testing.T) {
		s, c, token := setup(t)
		store(t, c, lookupMe(t, s, c, token), `{"v":1}`)
		later := time.Now().Add(2 * time.Minute)
		s.now = func() time.Time { return later }
		sess := lookupMe(t, s, c, token)
		if string(sess.me) != `{"v":1}` || sess.LastSeen.Unix() != later.Unix() {
			t.Errorf("idle lookup: answer %q, last seen %s; want the answer and %s", sess.me, sess.LastSeen, later.UTC())
		}
	})
	t.Run("an answer read before an invalidation is not stored after it", func(t *testing.T) {
		s, c, token := setup(t)
		before := lookupMe(t, s, c, token)
		if err := c.Invalidate(ctx, 42); err != nil {
			t.Fatal(err)
		}
		if store(t, c, before, `{"stale":true}`) {
			t.Error("the stale answer was stored")
		}
		if got := lookupMe(t, s, c, token).me; got != nil {
			t.Errorf("cached answer after the invalidation = %s, want none", got)
		}
	})
	t.Run("an invalidation drops the answer of every user it names", func(t *testing.T) {
		s, c, token := setup(t)
		other := create(t, s, 43, "o-bob", "sk")
		store(t, c, lookupMe(t, s, c, token), `{"u":42}`)
		store(t, c, lookupMe(t, s, c, other), `{"u":43}`)
		if err := c.Invalidate(ctx, 42, 43); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{token, other} {
			if got := lookupMe(t, s, c, tok).me; got != nil {
				t.Errorf("cached answer after the invalidation = %s, want none", got)
			}
		}
	})
	t.Run("a plain lookup does not read the cache", func(t *testing.T) {
		s, c, token := setup(t)
		store(t, c, lookupMe(t, s, c, token), `{"v":1}`)
		sess, err := s.Lookup(ctx, token)
		if err != nil || sess.me != nil {
			t.Errorf("Lookup = %q, %v; want no answer", sess.me, err)
		}
	})
}
