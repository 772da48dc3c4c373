package paging_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"xianfeng/server/internal/paging"
)

type row struct{ ID int64 }

func id(r row) int64 { return r.ID }

func TestTrim(t *testing.T) {
	tests := []struct {
		name      string
		rows      []row
		limit     int
		wantItems []row
		wantNext  paging.Cursor
	}{
		{"no rows is an empty last page", nil, 3, nil, 0},
		{"fewer rows than the limit is the last page", []row{{9}, {8}}, 3, []row{{9}, {8}}, 0},
		{"exactly the limit is the last page", []row{{9}, {8}, {7}}, 3, []row{{9}, {8}, {7}}, 0},
		{"the extra row means a next page after the last row kept", []row{{9}, {8}, {7}, {6}}, 3, []row{{9}, {8}, {7}}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paging.Trim(tt.rows, tt.limit, id)
			if !reflect.DeepEqual(p.Items, tt.wantItems) || p.Next != tt.wantNext {
				t.Errorf("Trim = %v next %d, want %v next %d", p.Items, p.Next, tt.wantItems, tt.wantNext)
			}
		})
	}
}

func TestPageJSON(t *testing.T) {
	tests := []struct {
		name string
		page paging.Page[row]
		want string
	}{
		{"an empty page has an empty list and an empty cursor", paging.Page[row]{}, `{"items":[],"next_cursor":""}`},
		{"the cursor is the base64url of the decimal id", paging.Page[row]{Items: []row{{12}}, Next: 12}, `{"items":[{"id":12}],"next_cursor":"MTI"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := paging.Map(tt.page, func(r row) map[string]int64 { return map[string]int64{"id": r.ID} })
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("JSON = %s, want %s", b, tt.want)
			}
		})
	}
}
