// Package paging is the one shape of a list: a page of items and where the
// next page starts. List services fetch one row more than asked for and
// Trim the result; the HTTP answer of a Page is the contract's
// {"items":[...],"next_cursor":"..."}.
package paging

import (
	"encoding/base64"
	"strconv"
)

// Page is one page of a list.
type Page[T any] struct {
	Items []T `json:"items"`
	// Next is where the next page starts; 0 when this is the last page.
	Next Cursor `json:"next_cursor"`
}

// Cursor is a list position: the id of the last item of a page, which the
// next page continues after (or before, in a list newest first). In JSON it
// is an opaque string, "" for 0; web reads it back from ?cursor=.
type Cursor int64

// MarshalText encodes the cursor as base64url of its decimal id, "" for 0.
func (c Cursor) MarshalText() ([]byte, error) {
	if c == 0 {
		return []byte{}, nil
	}
	return base64.RawURLEncoding.AppendEncode(nil, strconv.AppendInt(nil, int64(c), 10)), nil
}

// Trim makes the page of at most limit rows out of rows, which were fetched
// with a limit of limit+1: the extra row, when it came, says there is a next
// page, which continues from the id of the page's last row.
func Trim[T any](rows []T, limit int, id func(T) int64) Page[T] {
	if len(rows) <= limit {
		return Page[T]{Items: rows}
	}
	if limit < 1 {
		return Page[T]{Items: rows[:0]}
	}
	rows = rows[:limit]
	return Page[T]{Items: rows, Next: Cursor(id(rows[limit-1]))}
}

// Map renders a page item by item; the items of the result are never nil,
// so that an empty page answers "items": [].
func Map[T, U any](p Page[T], f func(T) U) Page[U] {
	out := make([]U, len(p.Items))
	for i, v := range p.Items {
		out[i] = f(v)
	}
	return Page[U]{Items: out, Next: p.Next}
}
