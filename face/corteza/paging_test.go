package corteza

import (
	"math"
	"testing"

	"usher"
)

// TestPagingRequest: a page is numbered in the rows the core serves it in,
// and a page number is the core's to refuse, never multiplied here: page
// 4294967297 of 4294967296 rows each was offset 0, the first page.
func TestPagingRequest(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		pg   paging
		want usher.PageRequest
	}{
		{"nothing asked", paging{}, usher.PageRequest{Limit: listCap}},
		{"limit and offset", paging{Limit: 10, Offset: 30}, usher.PageRequest{Limit: 10, Offset: 30}},
		{"limit past the cap", paging{Limit: 5000, Offset: 30}, usher.PageRequest{Limit: listCap, Offset: 30}},
		{"limit and offset win over a page", paging{Limit: 10, Offset: 30, Page: 9, PerPage: 2}, usher.PageRequest{Limit: 10, Offset: 30}},
		{"page 1", paging{Page: 1, PerPage: 20}, usher.PageRequest{Limit: 20}},
		{"page 3", paging{Page: 3, PerPage: 20}, usher.PageRequest{Limit: 20, Number: 3}},
		{"page 2 of more than the cap", paging{Page: 2, PerPage: 5000}, usher.PageRequest{Limit: listCap, Number: 2}},
		{"a product past an int", paging{Page: 1<<32 + 1, PerPage: 1 << 32}, usher.PageRequest{Limit: listCap, Number: 1<<32 + 1}},
		{"the largest page", paging{Page: math.MaxInt, PerPage: 2}, usher.PageRequest{Limit: 2, Number: math.MaxInt}},
	} {
		tt.want.WithTotal = true
		if got := tt.pg.request(); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
