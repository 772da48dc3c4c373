package web

import (
	"encoding/base64"
	"log/slog"
	"strconv"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
)

// PathID reads a positive integer path parameter. Anything else is answered
// with 400 and ok is false.
func PathID(c *gin.Context, log *slog.Logger, name string) (id int64, ok bool) {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n <= 0 {
		Fail(c, log, apperr.Invalid("参数错误", map[string]string{name: "应为正整数"}))
		return 0, false
	}
	return n, true
}

// Page reads the list parameters ?limit= (1..200, default 50) and the
// opaque ?cursor= that a previous page's next_cursor gave. Bad values are
// answered with 400 and ok is false.
func Page(c *gin.Context, log *slog.Logger) (limit int, after int64, ok bool) {
	limit = 50
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			Fail(c, log, apperr.Invalid("参数错误", map[string]string{"limit": "应为 1 到 200 的整数"}))
			return 0, 0, false
		}
		limit = n
	}
	if s := c.Query("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		n, err2 := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || err2 != nil || n <= 0 {
			Fail(c, log, apperr.Invalid("参数错误", map[string]string{"cursor": "无效的分页游标"}))
			return 0, 0, false
		}
		after = n
	}
	return limit, after, true
}

// Cursor encodes a list position (the last id of a page) as next_cursor;
// 0 means there is no next page and gives "".
func Cursor(id int64) string {
	if id == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// Bind decodes the JSON body into dst, answering a bad body itself; ok is
// false when it did.
func Bind(c *gin.Context, log *slog.Logger, dst any) (ok bool) {
	if err := BindJSON(c, dst); err != nil {
		Fail(c, log, err)
		return false
	}
	return true
}

// Failed answers err when it is not nil and reports whether it did.
func Failed(c *gin.Context, log *slog.Logger, err error) bool {
	if err == nil {
		return false
	}
	Fail(c, log, err)
	return true
}
