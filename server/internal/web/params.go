package web

import (
	"encoding/base64"
	"strconv"

	"github.com/gin-gonic/gin"

	"xianfeng/server/internal/apperr"
)

// pathID reads a path id: a positive integer in canonical decimal (no sign,
// no leading zeros, no spaces), so that /tasks/+2 and /tasks/00002 are not
// /tasks/2. Anything else is a 400; a canonical number above MaxID names
// nothing that can exist and is a 404.
func pathID(c *gin.Context, name string) (int64, error) {
	id, malformed := parseID(c.Param(name))
	switch {
	case malformed:
		return 0, apperr.Invalid("参数错误", map[string]string{name: "应为正整数"})
	case id == 0:
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

// queryID reads an optional id from the query string: 0 when it is absent,
// else a positive integer in canonical decimal up to MaxID.
func queryID(c *gin.Context, name string) (int64, error) {
	s := c.Query(name)
	if s == "" {
		return 0, nil
	}
	id, malformed := parseID(s)
	if malformed || id == 0 {
		return 0, apperr.Invalid("参数错误", map[string]string{name: "应为正整数"})
	}
	return id, nil
}

// parseID reads a positive integer in canonical decimal. malformed is true
// for anything else; a well-formed number above MaxID gives id 0.
func parseID(s string) (id int64, malformed bool) {
	if s == "" || s[0] == '0' {
		return 0, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, true
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > MaxID {
		return 0, false
	}
	return n, false
}

// pageQuery reads the list parameters ?limit= (1..200, default 50) and the
// opaque ?cursor= that a previous page's next_cursor gave (the encoding of
// paging.Cursor).
func pageQuery(c *gin.Context) (PageQuery, error) {
	q := PageQuery{Limit: 50}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return PageQuery{}, apperr.Invalid("参数错误", map[string]string{"limit": "应为 1 到 200 的整数"})
		}
		q.Limit = n
	}
	if s := c.Query("cursor"); s != "" {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		n, malformed := parseID(string(raw))
		if err != nil || malformed || n == 0 {
			return PageQuery{}, apperr.Invalid("参数错误", map[string]string{"cursor": "无效的分页游标"})
		}
		q.Cursor = n
	}
	return q, nil
}

// PathID, QueryID and Page read a path id, an optional query id and the
// list parameters by the same rules as the adapter, for handlers that do
// not go through it (the web console's pages).
func PathID(c *gin.Context, name string) (int64, error) { return pathID(c, name) }

// QueryID reads an optional query id (see PathID).
func QueryID(c *gin.Context, name string) (int64, error) { return queryID(c, name) }

// Page reads ?limit= and ?cursor= (see PathID).
func Page(c *gin.Context) (PageQuery, error) { return pageQuery(c) }
