package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
)

// BindJSON decodes the request body into dst. An empty, oversized, malformed
// or wrongly typed body becomes an *apperr.Error (400 or 413) that names the
// offending field where it can; it never becomes a 500. Every string of the
// body must then pass text.Free (CR LF pairs come back as LF), and every id
// field (id, …_id, …_ids) must lie in 0..MaxID, or the answer is 400 naming
// the field.
func BindJSON(c *gin.Context, dst any) error {
	dec := json.NewDecoder(c.Request.Body)
	err := dec.Decode(dst)
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	if err == nil {
		// Only white space may follow the value: dec.More alone lets a
		// stray '}' or ']' through.
		switch _, err := dec.Token(); {
		case errors.Is(err, io.EOF):
			return checkInput(dst)
		case errors.As(err, &maxErr):
			return errTooLarge
		default:
			return apperr.Invalid("请求内容格式错误", nil)
		}
	}
	switch {
	case errors.As(err, &maxErr):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return errEmpty
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return apperr.Invalid("请求内容应为 JSON 对象", nil)
		}
		return apperr.Invalid("请求参数类型错误", map[string]string{field: "类型错误，应为" + jsonKind(typeErr.Type.Kind().String())})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Invalid("请求内容不是合法的 JSON", nil)
	default:
		if strings.HasPrefix(err.Error(), "json:") {
			return apperr.Invalid("请求内容不是合法的 JSON", nil)
		}
		return apperr.Invalid("无法读取请求内容", nil)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "字符串"
	case "bool":
		return "布尔值"
	case "slice", "array":
		return "数组"
	case "map", "struct":
		return "对象"
	default:
		return "数字"
	}
}

// BindOptionalJSON is BindJSON for endpoints whose body may be left out: an
// empty body leaves dst as it is.
func BindOptionalJSON(c *gin.Context, dst any) error {
	err := BindJSON(c, dst)
	if e, ok := apperr.As(err); ok && e == errEmpty {
		return nil
	}
	return err
}

var errEmpty = apperr.Invalid("请求内容不能为空", nil)

var errTooLarge = apperr.New(apperr.KindTooLarge, "payload_too_large", "请求内容过大")
