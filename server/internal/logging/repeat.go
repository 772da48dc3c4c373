package logging

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RepeatInterval is how often New writes a failure that keeps repeating
// identically (same level, message and attributes, request ids and
// durations aside): once, then once per interval with the count of the
// identical lines it left out.
const RepeatInterval = 10 * time.Second

// volatile names the attributes that differ between lines of one failure
// and so do not make a line different.
var volatile = map[string]bool{
	"request_id": true, "duration_us": true, "duration_ms": true, "ip": true, "retried": true,
}

// NewRepeatHandler wraps next so that a warning or error repeated
// identically within interval is written once; the next identical one after
// the interval carries "repeated", the count of those left out, and so does
// a copy of the last one when the failure stopped. Lines below warn level
// pass straight through at the cost of one atomic load. now is the
// clock (time.Now in production).
func NewRepeatHandler(next slog.Handler, interval time.Duration, now func() time.Time) slog.Handler {
	return &repeatHandler{next: next, st: &repeatState{interval: interval, now: now, seen: map[string]*repeatEntry{}}}
}

type repeatState struct {
	interval time.Duration
	now      func() time.Time
	// flushAt is the UnixNano after which a pass over seen may be due.
	flushAt atomic.Int64

	mu   sync.Mutex
	seen map[string]*repeatEntry
}

type repeatEntry struct {
	since   time.Time    // when the last line of this failure was written
	left    int          // identical lines left out since then
	record  slog.Record  // the last one left out, to write with the count
	handler slog.Handler // the handler (with its attributes) it came through
}

type repeatHandler struct {
	next   slog.Handler
	prefix string // the attributes and groups added by With, as part of keys
	st     *repeatState
}

func (h *repeatHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *repeatHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		writeAttr(&b, a)
	}
	return &repeatHandler{next: h.next.WithAttrs(attrs), prefix: b.String(), st: h.st}
}

func (h *repeatHandler) WithGroup(name string) slog.Handler {
	return &repeatHandler{next: h.next.WithGroup(name), prefix: h.prefix + name + ".", st: h.st}
}

func (h *repeatHandler) Handle(ctx context.Context, r slog.Record) error {
	st := h.st
	if r.Level < slog.LevelWarn {
		st.maybeFlush(ctx)
		return h.next.Handle(ctx, r)
	}
	defer st.maybeFlush(ctx)
	key := h.key(r)
	now := st.now()
	st.mu.Lock()
	e := st.seen[key]
	if e != nil && now.Sub(e.since) < st.interval {
		e.left++
		e.record, e.handler = r.Clone(), h.next
		st.mu.Unlock()
		return nil
	}
	left := 0
	if e != nil {
		left = e.left
	}
	st.seen[key] = &repeatEntry{since: now}
	if st.flushAt.Load() == 0 {
		st.flushAt.Store(now.Add(st.interval).UnixNano())
	}
	st.mu.Unlock()
	if left > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", left))
	}
	return h.next.Handle(ctx, r)
}

// maybeFlush flushes when an interval may have ended; while no failure is
// held back it costs one atomic load.
func (st *repeatState) maybeFlush(ctx context.Context) {
	if at := st.flushAt.Load(); at != 0 && st.now().UnixNano() >= at {
		st.flush(ctx)
	}
}

// flush writes the count of every failure whose interval ended with lines
// left out, and forgets the failures that stopped.
func (st *repeatState) flush(ctx context.Context) {
	now := st.now()
	type pending struct {
		h    slog.Handler
		r    slog.Record
		left int
	}
	var out []pending
	st.mu.Lock()
	next := time.Time{}
	for k, e := range st.seen {
		end := e.since.Add(st.interval)
		if now.Before(end) {
			if next.IsZero() || end.Before(next) {
				next = end
			}
			continue
		}
		if e.left > 0 {
			out = append(out, pending{e.handler, e.record, e.left})
		}
		delete(st.seen, k)
	}
	if next.IsZero() {
		st.flushAt.Store(0)
	} else {
		st.flushAt.Store(next.UnixNano())
	}
	st.mu.Unlock()
	for _, p := range out {
		p.r.AddAttrs(slog.Int("repeated", p.left))
		_ = p.h.Handle(ctx, p.r)
	}
}

// key identifies a failure: level, message and the attributes that do not
// change from one occurrence to the next.
func (h *repeatHandler) key(r slog.Record) string {
	var b strings.Builder
	b.WriteString(r.Level.String())
	b.WriteByte('|')
	b.WriteString(h.prefix)
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, a)
		return true
	})
	return b.String()
}

func writeAttr(b *strings.Builder, a slog.Attr) {
	if volatile[a.Key] {
		return
	}
	b.WriteByte('|')
	b.WriteString(a.Key)
	b.WriteByte('=')
	b.WriteString(a.Value.Resolve().String())
}
