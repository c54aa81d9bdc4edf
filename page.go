package usher

// Every list the core pages speaks one idiom: a PageRequest in, a Page out.
// The core decides the page size (its policy's DefaultPageSize when none is
// asked, never more than its MaxPageSize) and cuts pages by keyset: a page
// ends with the Cursor of its last row, and the next page is the rows after
// it in the list's order, so a row added or removed between two requests
// neither repeats nor hides another. Each face translates the pair into
// its product's dialect (a cursor parameter, page numbers and headers, a
// meta block) and invents no paging of its own.

// Cursor is the position a list continues from: the sort key of the last
// row of the previous page. Faces hand it to clients opaquely and give it
// back unchanged; only the core and the store read it.
type Cursor struct {
	// ID is the row's id (a membership's user id, an audit event's id).
	ID int64
	// Key is the sort column's value as text; empty when the list is
	// ordered by id alone.
	Key string
}

// PageRequest asks a list for one page.
type PageRequest struct {
	// After is the cursor a previous page ended with; nil asks for the
	// first page.
	After *Cursor
	// Offset is the number of rows to skip before the page, instead of a
	// cursor: a request has an offset or After, not both. 0 starts at the
	// first row.
	Offset int
	// Number, from 1, asks for the page of that number instead, in pages
	// of the size the core serves (Limit as the core cuts it): its offset
	// is (Number-1)×Limit. Not with Offset or After; 0 asks for none.
	Number int
	// Limit is the number of rows asked for: 0 takes the core's default
	// page size, and more than the core's maximum is cut to it.
	Limit int
	// WithTotal asks for the number of rows the list holds (not only the
	// page's or those after the cursor).
	WithTotal bool
	// CountUpTo is how many rows a total counts exactly; past it the total
	// is an estimate. The core sets it from its policy; a store treats 0
	// as no bound.
	CountUpTo int
}

// Page is one page of a list.
type Page[T any] struct {
	Items []T
	// Next is the cursor of the following page, nil on the last page.
	Next *Cursor
	// Total counts every row of the list when the request asked for it;
	// otherwise -1.
	Total int
	// TotalEstimated says Total is an estimate: the list held more rows
	// than the request's CountUpTo, and Total is a count made about a
	// minute before (or earlier, while a new one is made), or the
	// store's estimate.
	TotalEstimated bool
	// Limit is the page size the core used: the one asked for, or the
	// default or the maximum in its place. A page-numbered face numbers
	// pages in it.
	Limit int
}
