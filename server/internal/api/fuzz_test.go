package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	miniprogramapi "xianfeng/miniprogram-api"
	"xianfeng/server/internal/testenv"
)

// TestFuzzEveryOperation sends every operation of openapi.yaml random and
// mutated requests — bodies derived from the operation's request schema and
// then broken (wrong types, huge and negative numbers, control, bidi and
// invisible characters, long strings, missing and extra fields, invalid JSON),
// path ids and query values, valid and not — through the real router, as a
// secretary, a member and others who have real data. No answer may be a 5xx
// or a redirect, and every error under /api/v1 must be the JSON error shape.
//
// XF_FUZZ_SEED replays a run (the seed is printed at the start and in every
// failure); XF_FUZZ_CASES sets the cases per operation (default 40).
func TestFuzzEveryOperation(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("XF_FUZZ_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("XF_FUZZ_SEED=%q: %v", s, err)
		}
		seed = n
	}
	cases := 40
	if s := os.Getenv("XF_FUZZ_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("XF_FUZZ_CASES=%q: want a positive number", s)
		}
		cases = n
	}
	t.Logf("fuzz seed %d: replay with XF_FUZZ_SEED=%d", seed, seed)

	doc, err := miniprogramapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	// The limits are lifted so that the cases reach past the limiters; a
	// 429 would be a fine answer, but it would end the search early.
	w := newWorld(t, testenv.Options{Mock: true, Configure: roomy})
	f := &fuzzer{t: t, w: w, seed: seed}
	f.temporary = w.Env.Child(w.SecA, w.A, "卡口临时党支部", "temporary")
	client := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	ops := fuzzOperations(t, doc)
	start := time.Now()
	sent := 0
	for _, op := range ops {
		h := fnv.New64a()
		h.Write([]byte(op.method + " " + op.path))
		rng := rand.New(rand.NewPCG(seed, h.Sum64()))
		statuses := map[int]int{}
		for i := range cases {
			req := f.request(rng, op, i)
			sent++
			status, header, body := f.send(client, req)
			statuses[status]++
			f.check(op, i, req, status, header, body)
		}
		if testing.Verbose() {
			t.Logf("%-28s %v", op.id, statuses)
		}
	}
	t.Logf("fuzz: %d operations, %d requests in %s (seed %d)", len(ops), sent, time.Since(start).Round(time.Millisecond), seed)
}

// fuzzOp is one operation of the document.
type fuzzOp struct {
	method, path, id string
	op               *openapi3.Operation
	params           openapi3.Parameters // the path item's and the operation's
	rank             int
}

// spoilers are operations that take away the callers' standing or data;
// they run last, so the other operations meet a world with data.
var spoilers = map[string]int{
	"rotateOrgInvite": 1, "cancelTask": 1, "declineTask": 1, "rejectMember": 1, "changeMember": 2, "removeMember": 2,
	"dissolveOrg": 2, "logout": 3, "logoutAll": 3,
}

func fuzzOperations(t *testing.T, doc *openapi3.T) []fuzzOp {
	var ops []fuzzOp
	known := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			known[op.OperationID] = true
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			ops = append(ops, fuzzOp{method: method, path: path, id: op.OperationID, op: op, params: params, rank: spoilers[op.OperationID]})
		}
	}
	for id := range spoilers {
		if !known[id] {
			t.Fatalf("fuzz: spoiler %q is no operation of openapi.yaml", id)
		}
	}
	slices.SortFunc(ops, func(a, b fuzzOp) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		return strings.Compare(a.path+" "+a.method, b.path+" "+b.method)
	})
	return ops
}

type fuzzer struct {
	t         *testing.T
	w         *world
	seed      uint64
	temporary int64
	throwaway int
}

// fuzzRequest is one generated request.
type fuzzRequest struct {
	method, uri, caller string
	token               string
	body                []byte
	hasBody             bool
}

func (f *fuzzer) request(rng *rand.Rand, op fuzzOp, i int) fuzzRequest {
	// Every fourth case is well-formed throughout, to reach deep into the
	// services; the others break something.
	clean := i%4 == 0
	r := fuzzRequest{method: op.method}
	r.caller, r.token = f.caller(rng, op)
	path := op.path
	for _, p := range op.params {
		if p.Value.In == "path" {
			path = strings.Replace(path, "{"+p.Value.Name+"}", f.pathID(rng, op.path, p.Value.Name, clean), 1)
		}
	}
	q := f.query(rng, op, clean)
	if !clean && rng.IntN(15) == 0 {
		// Not quite the path: no redirect may answer it.
		switch rng.IntN(3) {
		case 0:
			path += "/"
		case 1:
			path = strings.ToUpper(path)
		default:
			path = strings.Replace(path, "/api/v1/", "/api/v1//", 1)
		}
	}
	r.uri = path
	if q != "" {
		r.uri += "?" + q
	}
	if rb := op.op.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			r.body, r.hasBody = f.body(rng, mt.Schema.Value, clean), true
		}
	} else if !clean && rng.IntN(10) == 0 {
		r.body, r.hasBody = f.body(rng, &openapi3.Schema{Type: &openapi3.Types{"object"}}, false), true
	}
	return r
}

// caller picks who sends the request: mostly the secretary of branch A or
// its member, who have data, sometimes others or nobody.
func (f *fuzzer) caller(rng *rand.Rand, op fuzzOp) (string, string) {
	w := f.w
	if op.id == "logout" || op.id == "logoutAll" {
		// Ending sessions: a throwaway user's, so the others keep theirs.
		f.throwaway++
		name := fmt.Sprintf("throwaway%d", f.throwaway)
		return name, w.Env.Login(name)
	}
	switch n := rng.IntN(20); {
	case n < 10:
		return "SecA", w.SecA.Token
	case n < 15:
		return "MemberA", w.MemberA.Token
	case n < 17:
		return "RootSec", w.RootSec.Token
	case n < 18:
		return "PendingA", w.PendingA.Token
	case n < 19:
		return "MemberB", w.MemberB.Token
	default:
		return "nobody", ""
	}
}

// badIDs are path ids that must not be taken for an id, or name none.
var badIDs = []string{
	"0", "-1", "%2B2", "00002", "%202", "2%20", "2147483648", "4294967296", "9007199254740992",
	"9223372036854775807", "9223372036854775808", "99999999999999999999999999", "abc", "1e3", "2.0",
	"0x10", "%00", "1%00", "%E2%80%AE2", "%EF%BC%92", "null", "%27%20OR%201%3D1", strings.Repeat("9", 300),
}

func (f *fuzzer) pathID(rng *rand.Rand, path, name string, clean bool) string {
	if !clean && rng.IntN(10) < 4 {
		return badIDs[rng.IntN(len(badIDs))]
	}
	w := f.w
	if name == "ticket" {
		// A console login ticket: well-formed but unknown, or not even
		// well-formed (package console confirms real ones).
		tickets := []string{"AAAAAAAAAAAAAAAAAAAAAA", "AAAA", "~~~~~~~~~~~~~~~~~~~~~~"}
		return tickets[rng.IntN(len(tickets))]
	}
	var pool []int64
	switch {
	case name == "user_id":
		pool = []int64{w.MemberA.ID, w.PendingA.ID, w.SecA.ID, w.MemberB.ID}
	case strings.HasPrefix(path, "/api/v1/orgs/"):
		pool = []int64{w.A, w.Root, w.B, f.temporary}
	case strings.HasPrefix(path, "/api/v1/tasks/"):
		pool = []int64{w.Task}
	case strings.HasPrefix(path, "/api/v1/reports/"):
		pool = []int64{w.Report}
	case strings.HasPrefix(path, "/api/v1/deeds/"):
		pool = []int64{w.Deed}
	case strings.HasPrefix(path, "/api/v1/announcements/"):
		pool = []int64{w.Announcement}
	case strings.HasPrefix(path, "/api/v1/me/notifications/"):
		pool = []int64{w.Notification}
	case name == "entry_id":
		pool = []int64{w.Entry}
	case strings.HasPrefix(path, "/api/v1/forms/"):
		pool = []int64{w.Form}
	case strings.HasPrefix(path, "/api/v1/media/"):
		pool = []int64{1}
	}
	if !clean {
		pool = append(pool, 1, 2, int64(rng.IntN(50)+1))
	}
	return strconv.FormatInt(pool[rng.IntN(len(pool))], 10)
}

func (f *fuzzer) query(rng *rand.Rand, op fuzzOp, clean bool) string {
	var parts []string
	for _, p := range op.params {
		if p.Value.In != "query" || rng.IntN(2) == 0 {
			continue
		}
		var v string
		if !clean && rng.IntN(10) < 3 {
			v = f.badString(rng)
		} else {
			v = f.queryValue(rng, p.Value.Name, p.Value.Schema)
		}
		parts = append(parts, url.QueryEscape(p.Value.Name)+"="+url.QueryEscape(queryCap(v)))
	}
	if clean {
		return strings.Join(parts, "&")
	}
	if rng.IntN(10) == 0 {
		parts = append(parts, url.QueryEscape(queryCap(f.badString(rng)))+"="+url.QueryEscape(queryCap(f.badString(rng))))
	}
	if rng.IntN(20) == 0 {
		parts = append(parts, "raw=%ZZ%00%FF&&=&limit=1&limit=2")
	}
	return strings.Join(parts, "&")
}

// queryCap keeps a query value within 16 KB, so that the request line
// stays within what net/http reads (over it, net/http itself answers 431 in
// plain text before any router sees the request). The cut may split a
// character: invalid UTF-8 is a fine query value to send too.
func queryCap(s string) string {
	if len(s) > 16<<10 {
		return s[:16<<10]
	}
	return s
}

func (f *fuzzer) queryValue(rng *rand.Rand, name string, ref *openapi3.SchemaRef) string {
	switch name {
	case "cursor":
		return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(f.anyID(rng), 10)))
	case "from", "to", "date":
		return time.Now().AddDate(0, 0, rng.IntN(60)-30).Format(time.DateOnly)
	case "token":
		return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(rng.Uint64())))
	}
	if ref == nil || ref.Value == nil {
		return f.badString(rng)
	}
	v := f.value(rng, ref.Value, name, 0)
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		raw, _ := json.Marshal(v)
		return string(raw)
	}
}

// anyID is an id that exists in the world, or a near miss.
func (f *fuzzer) anyID(rng *rand.Rand) int64 {
	w := f.w
	pool := []int64{w.A, w.B, w.Root, f.temporary, w.Task, w.Report, w.Deed, w.Announcement, w.Notification,
		w.MemberA.ID, w.SecA.ID, w.PendingA.ID, 0, 1, int64(rng.IntN(100))}
	return pool[rng.IntN(len(pool))]
}

// value generates a value that fits schema s; name is the property name.
func (f *fuzzer) value(rng *rand.Rand, s *openapi3.Schema, name string, depth int) any {
	if s == nil {
		return nil
	}
	if len(s.AllOf) > 0 {
		if s.Nullable && rng.IntN(4) == 0 {
			return nil
		}
		return f.value(rng, s.AllOf[rng.IntN(len(s.AllOf))].Value, name, depth)
	}
	if alt := append(slices.Clone(s.OneOf), s.AnyOf...); len(alt) > 0 {
		return f.value(rng, alt[rng.IntN(len(alt))].Value, name, depth)
	}
	if s.Nullable && rng.IntN(6) == 0 {
		return nil
	}
	if len(s.Enum) > 0 {
		return s.Enum[rng.IntN(len(s.Enum))]
	}
	if s.Example != nil && rng.IntN(3) == 0 {
		return s.Example
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		obj := map[string]any{}
		if depth > 4 {
			return obj
		}
		for prop, ref := range s.Properties {
			if ref.Value != nil && ref.Value.ReadOnly {
				continue
			}
			if slices.Contains(s.Required, prop) || rng.IntN(10) < 6 {
				obj[prop] = f.value(rng, ref.Value, prop, depth+1)
			}
		}
		return obj
	case s.Type.Is("array"):
		n := rng.IntN(4)
		out := make([]any, n)
		for i := range out {
			if s.Items != nil {
				out[i] = f.value(rng, s.Items.Value, strings.TrimSuffix(name, "s"), depth+1)
			}
		}
		return out
	case s.Type.Is("integer"):
		if strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids") || name == "id" {
			return f.anyID(rng)
		}
		lo, hi := 0.0, 1000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return int64(lo) + rng.Int64N(int64(hi-lo)+1)
	case s.Type.Is("number"):
		lo, hi := -180.0, 180.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return lo + rng.Float64()*(hi-lo)
	case s.Type.Is("boolean"):
		return rng.IntN(2) == 0
	case s.Type.Is("string"):
		switch s.Format {
		case "date-time":
			return time.Now().Add(time.Duration(rng.IntN(96)-24) * time.Hour).UTC().Format(time.RFC3339)
		case "date":
			return time.Now().AddDate(0, 0, rng.IntN(20)-10).Format(time.DateOnly)
		}
		switch {
		case name == "code" || name == "invite_code":
			if rng.IntN(2) == 0 {
				return f.w.Env.Invite(f.w.SecA, f.w.A)
			}
			return "mock:fz" + strconv.Itoa(rng.IntN(1000))
		case name == "request_id":
			return "rid-" + strconv.Itoa(rng.IntN(1000))
		}
		words := []string{"卡口值守", "请按时到岗", "张小明", "青岛站北广场", "发烧在家", "已处理", "ok", "测试"}
		return words[rng.IntN(len(words))]
	}
	return nil
}

// badStrings are texts that have broken servers.
var badStrings = []string{
	"\x00", "a\x00b", "\x01\x02\x1f", "\x7f", "\u0085", "\u009f", "\r", "a\rb", "\r\n", "\u202e反转\u202c",
	"\u2066隔离\u2069", "\u200b", "\u200b\u200d\ufeff", "\u3164", "   ", "", "💪🏻👨‍👩‍👧", "𠀀𪚥", "\ufffd", "\\u0000",
	"' OR 1=1 --", "%00", "null", "-1", "2147483648", "9223372036854775808", "1e309", "NaN", "<script>alert(1)</script>",
	"../../etc/passwd", "\xff\xfe", "\xed\xa0\x80",
}

func (f *fuzzer) badString(rng *rand.Rand) string {
	if rng.IntN(8) == 0 {
		n := []int{65, 101, 201, 1001, 5001, 10001, 70 << 10}[rng.IntN(7)]
		return strings.Repeat(string([]rune("值a\x00")[rng.IntN(3)]), n)
	}
	return badStrings[rng.IntN(len(badStrings))]
}

// poisons are characters that free text, names or both must refuse.
var poisons = []string{"\x00", "\x01", "\x08", "\x1b", "\r", "\x7f", "\u0085", "\u009b", "\u202e", "\u2066", "\u200b"}

// badNumbers are numbers at the edges of the integer types.
var badNumbers = []string{
	"-1", "0", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296", "9007199254740992",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e308", "1e400", "0.5", "-0",
}

// badValues are JSON values that do not fit where they are put.
var badValues = []string{
	`null`, `true`, `0`, `-1`, `2147483648`, `-2147483649`, `4294967296`, `9007199254740993`, `9223372036854775807`,
	`9223372036854775808`, `-9223372036854775809`, `1e308`, `-1e308`, `1e309`, `0.5`, `-0.0`, `1E400`, `""`, `[]`, `{}`,
	`[null]`, `[-1,0,2147483648]`, `{"a":{"b":{"c":[1]}}}`, `"\u0000"`, `"\ud800"`, `"2026-02-30T25:61:00Z"`, `"0001-01-01T00:00:00Z"`,
	`"9999-12-31T23:59:59Z"`, `"2026-11-30"`, `"-1"`,
}

// body generates a JSON body from the schema and usually breaks it.
func (f *fuzzer) body(rng *rand.Rand, s *openapi3.Schema, clean bool) []byte {
	if !clean && rng.IntN(12) == 0 {
		raw := []string{"", "{", "}", "[]", "null", `"x"`, "12", `{"a":1}}`, `{"a":1} {"b":2}`, "\xff\xfe",
			strings.Repeat("[", 20000), `{"title":"a\u0000"`, "{\"content\":\"\xff\"}", `{"a":1,"a":"x"}`}
		return []byte(raw[rng.IntN(len(raw))])
	}
	v := f.value(rng, s, "", 0)
	raw, err := json.Marshal(v)
	if err != nil {
		f.t.Fatalf("marshal generated body: %v", err)
	}
	if clean {
		return raw
	}
	for range []int{1, 1, 1, 2, 2, 3}[rng.IntN(6)] {
		raw = f.mutate(rng, raw)
	}
	return raw
}

// mutate changes one spot of a JSON document: a field's value, a missing
// or an extra field.
func (f *fuzzer) mutate(rng *rand.Rand, raw []byte) []byte {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw // already broken
	}
	// bad breaks a value, mostly keeping its type: a control or bidi
	// character inside otherwise valid text, a number out of range.
	bad := func(cur any) any {
		switch cur := cur.(type) {
		case string:
			if rng.IntN(2) == 0 {
				return cur + poisons[rng.IntN(len(poisons))] + cur
			}
		case json.Number:
			if rng.IntN(3) < 2 {
				return json.RawMessage(badNumbers[rng.IntN(len(badNumbers))])
			}
		}
		if rng.IntN(2) == 0 {
			return f.badString(rng)
		}
		return json.RawMessage(badValues[rng.IntN(len(badValues))])
	}
	var walk func(v any, depth int) any
	walk = func(v any, depth int) any {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			switch n := rng.IntN(10); {
			case n == 0 || len(keys) == 0:
				x[f.badString(rng)+"extra"] = bad(nil)
			case n == 1:
				delete(x, keys[rng.IntN(len(keys))])
			default:
				k := keys[rng.IntN(len(keys))]
				if rng.IntN(3) == 0 && depth < 4 {
					x[k] = walk(x[k], depth+1)
				} else {
					x[k] = bad(x[k])
				}
			}
			return x
		case []any:
			if len(x) == 0 || rng.IntN(3) == 0 {
				return append(x, bad(nil))
			}
			j := rng.IntN(len(x))
			x[j] = walk(x[j], depth+1)
			return x
		default:
			return bad(x)
		}
	}
	out, err := json.Marshal(walk(v, 0))
	if err != nil {
		return raw
	}
	return out
}

func (f *fuzzer) send(client *http.Client, r fuzzRequest) (int, http.Header, []byte) {
	var body io.Reader
	if r.hasBody {
		body = strings.NewReader(string(r.body))
	}
	req, err := http.NewRequest(r.method, f.w.Env.Server.URL, body)
	if err != nil {
		f.t.Fatalf("fuzz seed %d: build %s %.200s: %v", f.seed, r.method, r.uri, err)
	}
	path, query, _ := strings.Cut(r.uri, "?")
	req.URL.Opaque, req.URL.RawQuery = path, query
	if r.hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := client.Do(req)
	if err != nil {
		f.t.Fatalf("fuzz seed %d: %s %.200s as %s: %v", f.seed, r.method, r.uri, r.caller, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func (f *fuzzer) check(op fuzzOp, i int, r fuzzRequest, status int, header http.Header, body []byte) {
	f.t.Helper()
	problem := ""
	switch {
	case status >= 500:
		problem = "a 5xx"
	case status >= 300 && status < 400:
		problem = "a redirect to " + trim(header.Get("Location"), 100)
	case status >= 400 && strings.HasPrefix(op.path, "/api/v1/") && !isErrorShape(body):
		problem = "an error that is not the JSON error shape"
	}
	if problem == "" {
		return
	}
	f.t.Errorf("fuzz seed %d (XF_FUZZ_SEED=%d), operation %s (%s %s) case %d: %s\nrequest: %s %s as %s\nbody: %s\nanswer: %d %s",
		f.seed, f.seed, op.id, strings.ToUpper(op.method), op.path, i, problem,
		strings.ToUpper(r.method), trim(r.uri, 300), r.caller, trim(string(r.body), 500), status, trim(string(body), 500))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + fmt.Sprintf("… (%d bytes)", len(s))
}
