package web

import (
	"log/slog"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/text"
)

// MaxID is the largest id the API accepts, in a path, a query or a body:
// 2^53−1, the largest integer the mini-program's JavaScript numbers hold
// exactly, so no id above it can have been handed out to a client. The id
// columns are 64-bit on every database, so every accepted id fits them.
const MaxID = 1<<53 - 1

// checkInput applies the input rules to a decoded request body: every string,
// however deep, must be acceptable free text (text.Free; CR LF pairs are
// normalised in place), and every id field (named id, …_id or …_ids) must be
// 0 or a positive id up to MaxID. It returns an invalid_argument error naming
// each offending field by its JSON path, or nil.
func checkInput(dst any) error {
	fields := map[string]string{}
	walkInput(reflect.ValueOf(dst), "", false, fields)
	if len(fields) > 0 {
		return apperr.Invalid("参数错误", fields)
	}
	return nil
}

const problemID = "应为有效的编号"

func walkInput(v reflect.Value, path string, isID bool, fields map[string]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkInput(v.Elem(), path, isID, fields)
		}
	case reflect.String:
		s, problem := text.Free(v.String())
		switch {
		case problem != "":
			addField(fields, path, problem)
		case v.CanSet() && len(s) != v.Len():
			v.SetString(s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if isID && (v.Int() < 0 || v.Int() > MaxID) {
			addField(fields, path, problemID)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if isID && v.Uint() > MaxID {
			addField(fields, path, problemID)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkInput(v.Index(i), path, isID, fields)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			key := iter.Key()
			if key.Kind() == reflect.String {
				if _, problem := text.Free(key.String()); problem != "" {
					addField(fields, path, problem)
					continue
				}
			}
			val := iter.Value()
			if val.Kind() == reflect.String {
				// Map values cannot be set in place: put the normalised text back.
				s, problem := text.Free(val.String())
				if problem != "" {
					addField(fields, joinPath(path, key.String()), problem)
				} else if len(s) != val.Len() {
					v.SetMapIndex(key, reflect.ValueOf(s).Convert(val.Type()))
				}
				continue
			}
			walkInput(val, joinPath(path, key.String()), idName(key.String()), fields)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				if f.Anonymous {
					walkInput(v.Field(i), path, false, fields)
					continue
				}
				name = f.Name
			}
			walkInput(v.Field(i), joinPath(path, name), idName(name), fields)
		}
	}
}

// idName reports whether a JSON field holds ids.
func idName(name string) bool {
	return name == "id" || name == "ids" || strings.HasSuffix(name, "_id") || strings.HasSuffix(name, "_ids")
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func addField(fields map[string]string, path, problem string) {
	if path == "" {
		path = "body"
	}
	if _, ok := fields[path]; !ok {
		fields[path] = problem
	}
}

// CheckQuery refuses a request whose query string holds a value that is not
// acceptable free text (text.Free), answering 400 naming the parameter.
func CheckQuery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.URL.RawQuery == "" {
			c.Next()
			return
		}
		for key, values := range c.Request.URL.Query() {
			name := key
			if _, problem := text.Free(key); problem != "" || len(key) > 64 {
				name = "query"
			}
			for _, s := range append([]string{key}, values...) {
				if _, problem := text.Free(s); problem != "" {
					Fail(c, log, apperr.Invalid("参数错误", map[string]string{name: problem}))
					return
				}
			}
		}
		c.Next()
	}
}
