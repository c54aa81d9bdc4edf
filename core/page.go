package core

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"usher"
)

// Every list the core pages takes a usher.PageRequest and answers a
// usher.Page: the functions here are the one place the page size, the
// offset's bounds and the total's bound are decided and the one way a page
// is cut.

// pageSize returns the limit to use for a requested one: the policy's
// default for none, its maximum for more.
func (e *env) pageSize(limit int) int {
	switch {
	case limit <= 0:
		return e.policy.DefaultPageSize
	case limit > e.policy.MaxPageSize:
		return e.policy.MaxPageSize
	}
	return limit
}

// page checks and normalises a request's offset, limit and total: an
// offset (or a page number, which becomes one) is not negative, not with a
// cursor, and reaches no deeper than the policy's MaxOffset; the limit is
// the one the core uses; a total counts exactly up to the policy's
// ExactTotal. The cursor is the list's to check.
func (e *env) page(req usher.PageRequest) (usher.PageRequest, error) {
	req.Limit = e.pageSize(req.Limit)
	req.CountUpTo = e.policy.ExactTotal
	field := "offset"
	switch {
	case req.Number < 0:
		return req, errOffset("page", usher.CodeOutOfRange, "must be at least 1")
	case req.Number > 0 && req.Offset > 0:
		return req, errOffset("page", usher.CodeConflict, "cannot be combined with an offset")
	case req.Number > 0:
		field = "page"
		// The deepest page allowed starts before MaxOffset; a larger
		// number is refused below without overflowing.
		req.Offset = min(req.Number-1, e.policy.MaxOffset) * req.Limit
	}
	switch {
	case req.Offset < 0:
		return req, errOffset(field, usher.CodeOutOfRange, "must not be negative")
	case req.Offset > 0 && req.After != nil || req.Number > 0 && req.After != nil:
		return req, errOffset(field, usher.CodeConflict, "cannot be combined with a cursor")
	case req.Offset > e.policy.MaxOffset-req.Limit:
		return req, errOffset(field, usher.CodeOutOfRange,
			"with the page size, must not reach past row "+strconv.Itoa(e.policy.MaxOffset))
	}
	return req, nil
}

// idPage checks and normalises the request of a list ordered by id: its
// cursor, when there is one, holds a row's id and no key; its offset,
// limit and total are as page makes them.
func (e *env) idPage(req usher.PageRequest) (usher.PageRequest, error) {
	if req.After != nil && (req.After.ID <= 0 || req.After.Key != "") {
		return req, errInvalidCursor()
	}
	return e.page(req)
}

// sortedPage checks a list's sort against the columns the list sorts by
// and the cursor against the sort (the key usher.Sort.Cursor writes), then
// normalises the page as page does.
func (e *env) sortedPage(s usher.Sort, columns []string, req usher.PageRequest) (usher.PageRequest, error) {
	if s != "" && !s.In(columns) {
		return req, invalid("sort", "must be one of %s, with an optional leading -", strings.Join(columns, ", "))
	}
	if c := req.After; c != nil {
		bad := c.ID <= 0
		switch s.Column() {
		case "id":
			bad = bad || c.Key != ""
		case "created_at", "updated_at":
			_, err := strconv.ParseInt(c.Key, 10, 64)
			bad = bad || err != nil
		default:
			// A name or a handle: a name is up to maxName characters.
			bad = bad || len(c.Key) > utf8.UTFMax*maxName || !utf8.ValidString(c.Key)
		}
		if bad {
			return req, errInvalidCursor()
		}
	}
	return e.page(req)
}

// cut makes the page of limit rows out of rows read with one more than
// limit: the extra row, when there is one, only says that another page
// follows, which continues after the last row kept. The page does not
// count: Total is -1.
func cut[T any](rows []T, limit int, key func(T) usher.Cursor) *usher.Page[T] {
	p := &usher.Page[T]{Items: rows, Total: -1, Limit: limit}
	if len(rows) > limit {
		p.Items = rows[:limit]
		next := key(rows[limit-1])
		p.Next = &next
	}
	return p
}

// errInvalidCursor refuses a page's after-key that no list gives out.
func errInvalidCursor() error {
	return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidCursor, Message: "cursor: is not a cursor of this list",
		Fields: []usher.FieldError{{Field: "cursor", Code: usher.CodeInvalidCursor, Message: "is not a cursor of this list"}}}
}

// errOffset refuses a page's offset or its number, field.
func errOffset(field, code, msg string) error {
	return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: field + ": " + msg,
		Fields: []usher.FieldError{{Field: field, Code: code, Message: msg}}}
}

// filtered pages a list whose rows the core filters after the store reads
// them, keeping those the caller may see (and making of each what the list
// gives). It reads the store's pages on until its own page is full or the
// rows end; an offset skips that many kept rows, read from the first, so
// it costs what the rows before it cost (the policy caps it).
//
// A total, when asked, is exact while the store's list holds at most
// req.CountUpTo rows: they are read and the kept ones counted. Past that
// it is the store's total (itself an estimate), rows the caller may not
// see included, flagged as an estimate.
func filtered[S, T any](req usher.PageRequest, read func(usher.PageRequest) (*usher.Page[S], error),
	keep func(S) (T, bool, error), key func(T) usher.Cursor) (*usher.Page[T], error) {
	var out []T
	skip := req.Offset
	sreq := usher.PageRequest{After: req.After, Limit: req.Limit + 1}
	for len(out) <= req.Limit {
		rows, err := read(sreq)
		if err != nil {
			return nil, err
		}
		for _, row := range rows.Items {
			v, ok, err := keep(row)
			switch {
			case err != nil:
				return nil, err
			case !ok:
			case skip > 0:
				skip--
			default:
				out = append(out, v)
			}
		}
		if rows.Next == nil {
			break
		}
		sreq.After = rows.Next
	}
	page := cut(out, req.Limit, key)
	if req.WithTotal {
		var err error
		if page.Total, page.TotalEstimated, err = filteredTotal(req, read, keep); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// filteredTotal counts the rows of a filtered list, as filtered describes.
func filteredTotal[S, T any](req usher.PageRequest, read func(usher.PageRequest) (*usher.Page[S], error),
	keep func(S) (T, bool, error)) (int, bool, error) {
	sreq := usher.PageRequest{Limit: max(req.Limit, 1000), WithTotal: true, CountUpTo: req.CountUpTo}
	n := 0
	for {
		rows, err := read(sreq)
		if err != nil {
			return 0, false, err
		}
		if rows.TotalEstimated {
			return rows.Total, true, nil
		}
		for _, row := range rows.Items {
			_, ok, err := keep(row)
			if err != nil {
				return 0, false, err
			}
			if ok {
				n++
			}
		}
		if rows.Next == nil {
			return n, false, nil
		}
		sreq.After, sreq.WithTotal = rows.Next, false
	}
}
