package core

import "usher"

// Every list the core pages takes a usher.PageRequest and answers a
// usher.Page: the functions here are the one place the page size is decided
// and the one way a page is cut.

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

// idPage checks and normalises the request of a list ordered by id: its
// cursor, when there is one, holds a row's id and no key; its limit is
// the one the core uses.
func (e *env) idPage(req usher.PageRequest) (usher.PageRequest, error) {
	if req.After != nil && (req.After.ID <= 0 || req.After.Key != "") {
		return req, errInvalidCursor()
	}
	req.Limit = e.pageSize(req.Limit)
	return req, nil
}

// afterID is the id a list ordered by id continues after, 0 for the
// first page.
func afterID(req usher.PageRequest) int64 {
	if req.After == nil {
		return 0
	}
	return req.After.ID
}

// cut makes the page of limit rows out of rows read with one more than
// limit: the extra row, when there is one, only says that another page
// follows, which continues after the last row kept. Lists that cut their
// pages here do not count: Total is -1.
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
