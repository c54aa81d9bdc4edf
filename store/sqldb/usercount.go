package sqldb

import (
	"context"

	"usher"
)

// The user_counts table (migration 16) holds how many users there are of
// each kind and state, deleted or not, kept by triggers in the transaction
// of each write to users. A user list that filters on nothing but those
// three has its total in a few of its rows: exact, whatever the number of
// users, and never stale, so no cache of it needs invalidating.

// countable reports whether the users f keeps are told apart by kind,
// state and deletion alone, so that user_counts holds their number. The
// order, the page, what is read with each user and SearchEmail, which only
// widens Query, choose no rows.
func countable(f usher.UserFilter) bool {
	return f.Query == "" && f.Username == "" && f.Email == "" && f.Handle == "" && f.UUID == "" &&
		f.OrganisationID == 0 && f.ExternalID == "" && f.UsernameContains == "" && f.EmailContains == "" &&
		f.UUIDContains == "" && f.ExternalIDContains == "" && len(f.IDs) == 0 && f.Admin == nil &&
		f.CreatedAfter == nil && f.CreatedBefore == nil
}

// userCount sums the rows of user_counts that hold the users f keeps; f
// must be countable.
func (c *conn) userCount(ctx context.Context, f usher.UserFilter) (int, error) {
	b := &Builder{d: c.d}
	q := userCountQuery(b, f)
	var n int
	if err := c.q.QueryRowContext(ctx, q, b.Args()...).Scan(&n); err != nil {
		return 0, c.fail("UserCount", err)
	}
	return n, nil
}

// userCountQuery returns the statement that sums the rows of user_counts
// holding the users f keeps, its arguments recorded on b, so that it may
// stand alone or as a scalar subquery of b's statement (see foldsTotal).
func userCountQuery(b *Builder, f usher.UserFilter) string {
	cb := &Builder{d: b.d, args: b.args, inOrder: b.inOrder}
	classWhere(cb, f, func(deleted bool) string { return "deleted = " + cb.Arg(deleted) })
	cb.Write("SELECT coalesce(sum(n), 0) FROM user_counts")
	cb.WriteWhere()
	b.args = cb.args
	return cb.String()
}

// classWhere adds to b the conditions of f on what user_counts tells users
// apart by: deletion (the condition deleted writes), state and kind.
func classWhere(b *Builder, f usher.UserFilter, deleted func(bool) string) {
	switch f.Deleted {
	case usher.Default, usher.Exclude:
		b.Where(deleted(false))
	case usher.Only:
		b.Where(deleted(true))
	}
	switch f.Suspended {
	case usher.Default, usher.Exclude:
		b.Where("state <> " + b.Arg(string(usher.StateSuspended)))
	case usher.Only:
		b.Where("state = " + b.Arg(string(usher.StateSuspended)))
	}
	if f.State != "" {
		b.Where("state = " + b.Arg(string(f.State)))
	}
	if f.Kind != "" {
		b.Where("kind = " + b.Arg(string(f.Kind)))
	}
	if len(f.Kinds) > 0 {
		b.Where("kind IN (" + texts(b, f.Kinds) + ")")
	}
}
