package sqldb

import (
	"context"
	"time"

	"usher"
)

func scanEmail(s scanner) (*usher.Email, error) {
	e := new(usher.Email)
	err := s.Scan(&e.ID, &e.UserID, &e.Email, nullTime{&e.ConfirmedAt}, timeCol{&e.CreatedAt})
	return e, err
}

// EmailAdd inserts a secondary address.
func (c *conn) EmailAdd(ctx context.Context, e *usher.Email) error {
	err := c.writeRow(ctx, "EmailInsert", e.UserID, e.Email, usher.EmailKey(e.Email), c.timeArg(e.ConfirmedAt),
		c.d.TimeArg(e.CreatedAt)).Scan(&e.ID)
	if err != nil {
		return unique(c.fail("EmailInsert", err), "email")
	}
	return nil
}

// EmailGet returns a secondary address.
func (c *conn) EmailGet(ctx context.Context, id int64) (*usher.Email, error) {
	e, err := scanEmail(c.queryRow(ctx, "EmailByID", id))
	if err != nil {
		return nil, c.notFound("EmailByID", err)
	}
	return e, nil
}

// EmailList returns a user's secondary addresses.
func (c *conn) EmailList(ctx context.Context, userID int64) ([]*usher.Email, error) {
	return collectNamed(ctx, c, "EmailList", scanEmail, userID)
}

// EmailDelete deletes a secondary address.
func (c *conn) EmailDelete(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "EmailDelete", id)
	if err != nil {
		return err
	}
	return affected(res)
}

// EmailConfirm marks a secondary address confirmed; it fails with a unique
// error when another account claims the address.
func (c *conn) EmailConfirm(ctx context.Context, id int64, at time.Time) error {
	res, err := c.exec(ctx, "EmailConfirm", c.d.TimeArg(at), id)
	if err != nil {
		return unique(err, "email")
	}
	return affected(res)
}

// EmailHolder returns the user who claims the address key.
func (c *conn) EmailHolder(ctx context.Context, emailKey string) (int64, error) {
	var id int64
	if err := c.queryRow(ctx, "EmailHolder", emailKey).Scan(&id); err != nil {
		return 0, c.notFound("EmailHolder", err)
	}
	return id, nil
}

// UsernamesHeld returns which of the keys live users hold as usernames.
func (c *conn) UsernamesHeld(ctx context.Context, keys []string) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	arg, err := c.d.ListArg(keys)
	if err != nil {
		return nil, err
	}
	rows, err := c.q.QueryContext(ctx, c.queries["UsernamesHeld"], arg)
	if err != nil {
		return nil, c.fail("UsernamesHeld", err)
	}
	defer rows.Close()
	var held []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, c.fail("UsernamesHeld", err)
		}
		held = append(held, k)
	}
	if err := rows.Err(); err != nil {
		return nil, c.fail("UsernamesHeld", err)
	}
	return held, nil
}

// EmailDeleteStale deletes the unconfirmed secondary addresses added before
// the time.
func (c *conn) EmailDeleteStale(ctx context.Context, before time.Time) (int, error) {
	res, err := c.exec(ctx, "EmailDeleteStale", c.d.TimeArg(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
