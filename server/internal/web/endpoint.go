package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/render"
)

// Adapter turns service calls into gin handlers for one domain: it knows
// how to find the caller of a request and where to log the failures it
// answers. C is what a call gets as its caller (a user id; the session for
// auth).
type Adapter[C any] struct {
	log    *slog.Logger
	caller func(*gin.Context) C
}

// NewAdapter returns the adapter of a domain's endpoints. caller reads the
// caller of a request that passed authentication; for a public endpoint it
// is nil and the call gets C's zero value.
func NewAdapter[C any](log *slog.Logger, caller func(*gin.Context) C) Adapter[C] {
	return Adapter[C]{log: log, caller: caller}
}

// Public is the adapter for the same domain's public endpoints, which have
// no caller.
func (a Adapter[C]) Public() Adapter[C] { return Adapter[C]{log: a.log} }

// OK answers 200 with what call returns. In is a struct that the request
// is decoded into before the call, in this order (the first problem found
// is the answer):
//
//   - a field tagged path:"name" (int64) is a path id (400
//     when not a canonical positive integer, 404 when above MaxID); a
//     string field so tagged gets the path segment as it is (an opaque
//     ticket), for the call to check;
//   - a field of type PageQuery holds ?limit= and ?cursor= (400 when bad);
//   - a field tagged query:"name" is a query parameter: a string (or a
//     named string type) as given, "" when absent; a *string nil when
//     absent; an int64 an optional id (0 when absent, 400 when not a
//     canonical positive integer up to MaxID);
//   - every other exported field is the JSON body, read with BindJSON, so
//     that every input rule applies; the body is required unless In embeds
//     OptionalBody, and is not read at all when In has no body field. An
//     embedded struct of body fields (no path or query ones) puts its
//     fields in the body, for a part of a body that endpoints share.
//
// An Out that is a render.Render (an image, say) is rendered as it is; a
// Status[T] chooses its own status.
func OK[C, In, Out any](a Adapter[C], call func(ctx context.Context, caller C, in In) (Out, error)) gin.HandlerFunc {
	return endpoint(a, http.StatusOK, call)
}

// Created is OK for a call that creates something: it answers 201.
func Created[C, In, Out any](a Adapter[C], call func(ctx context.Context, caller C, in In) (Out, error)) gin.HandlerFunc {
	return endpoint(a, http.StatusCreated, call)
}

// NoContent is OK for a call that answers nothing: 204 with no body.
func NoContent[C, In any](a Adapter[C], call func(ctx context.Context, caller C, in In) error) gin.HandlerFunc {
	return endpoint(a, http.StatusNoContent, func(ctx context.Context, caller C, in In) (struct{}, error) {
		return struct{}{}, call(ctx, caller, in)
	})
}

// On binds a domain's endpoint function to its service, so that a domain
// needs no handler type of its own: an endpoint is a plain function of the
// service, the caller and the decoded input, and routes.go binds it with
// web.OK(api, web.On(svc, report.Ack)).
func On[S, C, In, Out any](svc S, f func(ctx context.Context, svc S, caller C, in In) (Out, error)) func(context.Context, C, In) (Out, error) {
	return func(ctx context.Context, caller C, in In) (Out, error) { return f(ctx, svc, caller, in) }
}

// OnErr is On for an endpoint that answers nothing (see NoContent).
func OnErr[S, C, In any](svc S, f func(ctx context.Context, svc S, caller C, in In) error) func(context.Context, C, In) error {
	return func(ctx context.Context, caller C, in In) error { return f(ctx, svc, caller, in) }
}

// UTC is t in UTC, or nil: the API writes every time in UTC.
func UTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Status is an answer whose status the call decides, e.g. 201 for a record
// it created and 200 for a retry that found it.
type Status[T any] struct {
	Code int
	Body T
}

func (s Status[T]) answer() (int, any) { return s.Code, s.Body }

type answerer interface{ answer() (int, any) }

// ID is the input of an endpoint that reads nothing but the path id :id.
type ID struct {
	ID int64 `path:"id"`
}

// IDRange is the input of an endpoint that reads the path id :id and a
// range of days, ?from= and ?to= (an export); the service checks the range.
type IDRange struct {
	ID   int64  `path:"id"`
	From string `query:"from"`
	To   string `query:"to"`
}

// IDPage is the input of an endpoint that reads the path id :id and a page
// of a list about it (?limit=, ?cursor=).
type IDPage struct {
	ID   int64 `path:"id"`
	Page PageQuery
}

// IDReason is the input of a step taken on the thing at :id with an
// optional body {"reason": …}, the why of a refusal or a verdict.
type IDReason struct {
	OptionalBody
	ID     int64  `path:"id"`
	Reason string `json:"reason"`
}

// OptionalBody, embedded in an endpoint's input, lets the client leave the
// body out; the body fields then keep their zero values.
type OptionalBody struct{}

// PageQuery is a list's ?limit= (1..200, default 50) and ?cursor= (the
// next_cursor of the page before, decoded: the id to continue after or
// before; 0 for the first page).
type PageQuery struct {
	Limit  int
	Cursor int64
}

func endpoint[C, In, Out any](a Adapter[C], status int, call func(context.Context, C, In) (Out, error)) gin.HandlerFunc {
	dec := newDecoder(reflect.TypeFor[In]())
	return func(c *gin.Context) {
		caller, in, ok := request[C, In](a, dec, c)
		if !ok {
			return
		}
		out, err := call(c.Request.Context(), caller, in)
		if err != nil {
			Fail(c, a.log, err)
			return
		}
		if status == http.StatusNoContent {
			c.Status(status)
			return
		}
		code, body := status, any(out)
		if s, ok := body.(answerer); ok {
			code, body = s.answer()
		}
		if r, ok := body.(render.Render); ok {
			c.Render(code, r)
			return
		}
		c.JSON(code, body)
	}
}

// request reads the caller and the input of a request, or answers the
// input's problem and reports that it did.
func request[C, In any](a Adapter[C], dec *decoder, c *gin.Context) (caller C, in In, ok bool) {
	if err := dec.decode(c, reflect.ValueOf(&in).Elem()); err != nil {
		Fail(c, a.log, err)
		return caller, in, false
	}
	if a.caller != nil {
		caller = a.caller(c)
	}
	return caller, in, true
}

// decoder is how one input type is read from a request, worked out once
// when the route is registered.
type decoder struct {
	paths   []param
	page    []int // index of the PageQuery field, if any
	queries []param
	// body is a struct type of In's body fields alone (nil when it has
	// none), so that neither the JSON decoder nor the input rules see the
	// path and query fields; bodyAt maps its fields to In's (an index
	// path: the fields of an embedded body part are flattened into body,
	// so that the JSON decoder names them as the client wrote them).
	body     reflect.Type
	bodyAt   [][]int
	optional bool
}

type param struct {
	name  string
	index int
	kind  reflect.Kind
}

var (
	pageQueryType    = reflect.TypeFor[PageQuery]()
	optionalBodyType = reflect.TypeFor[OptionalBody]()
	stringPtrType    = reflect.TypeFor[*string]()
)

// newDecoder works out the decoder of t; an input type it cannot read is a
// programming error and panics when the route is registered.
func newDecoder(t reflect.Type) *decoder {
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("web: endpoint input %s is not a struct", t))
	}
	d := &decoder{}
	var body []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		switch name, isPath := f.Tag.Lookup("path"); {
		case f.Type == optionalBodyType && f.Anonymous:
			d.optional = true
		case !f.IsExported():
			panic(fmt.Sprintf("web: endpoint input %s: unexported field %s", t, f.Name))
		case isPath:
			if k := f.Type.Kind(); k != reflect.Int64 && k != reflect.String {
				panic(fmt.Sprintf("web: endpoint input %s: path field %s is not an int64 or a string", t, f.Name))
			}
			d.paths = append(d.paths, param{name: name, index: i, kind: f.Type.Kind()})
		case f.Type == pageQueryType:
			d.page = append(d.page, i)
		default:
			if name, ok := f.Tag.Lookup("query"); ok {
				k := f.Type.Kind()
				if k != reflect.String && k != reflect.Int64 && f.Type != stringPtrType {
					panic(fmt.Sprintf("web: endpoint input %s: query field %s is not a string, *string or int64", t, f.Name))
				}
				d.queries = append(d.queries, param{name: name, index: i, kind: k})
				continue
			}
			if !f.Anonymous {
				f.Index, f.Offset = nil, 0
				body = append(body, f)
				d.bodyAt = append(d.bodyAt, []int{i})
				continue
			}
			if f.Tag != "" || !bodyPart(f.Type) {
				panic(fmt.Sprintf("web: endpoint input %s: embedded field %s is not a struct of body fields", t, f.Name))
			}
			for k := range f.Type.NumField() {
				sf := f.Type.Field(k)
				sf.Index, sf.Offset = nil, 0
				body = append(body, sf)
				d.bodyAt = append(d.bodyAt, []int{i, k})
			}
		}
	}
	if len(body) > 0 {
		d.body = reflect.StructOf(body)
	}
	return d
}

// bodyPart reports whether t, embedded in an input, is a struct of
// exported body fields alone: no path, query or page field, nothing
// embedded.
func bodyPart(t reflect.Type) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		_, isPath := f.Tag.Lookup("path")
		_, isQuery := f.Tag.Lookup("query")
		if isPath || isQuery || f.Anonymous || !f.IsExported() || f.Type == pageQueryType {
			return false
		}
	}
	return true
}

// decode fills in (an In) from the request, or returns the error to answer.
func (d *decoder) decode(c *gin.Context, in reflect.Value) error {
	for _, p := range d.paths {
		if p.kind == reflect.String {
			in.Field(p.index).SetString(c.Param(p.name))
			continue
		}
		id, err := pathID(c, p.name)
		if err != nil {
			return err
		}
		in.Field(p.index).SetInt(id)
	}
	for _, i := range d.page {
		q, err := pageQuery(c)
		if err != nil {
			return err
		}
		in.Field(i).Set(reflect.ValueOf(q))
	}
	for _, p := range d.queries {
		f := in.Field(p.index)
		switch p.kind {
		case reflect.Int64:
			id, err := queryID(c, p.name)
			if err != nil {
				return err
			}
			f.SetInt(id)
		case reflect.Pointer:
			if s, ok := c.GetQuery(p.name); ok {
				f.Set(reflect.ValueOf(&s))
			}
		default:
			f.SetString(c.Query(p.name))
		}
	}
	if d.body == nil {
		return nil
	}
	body := reflect.New(d.body)
	bind := BindJSON
	if d.optional {
		bind = BindOptionalJSON
	}
	if err := bind(c, body.Interface()); err != nil {
		return err
	}
	for j, at := range d.bodyAt {
		in.FieldByIndex(at).Set(body.Elem().Field(j))
	}
	return nil
}
