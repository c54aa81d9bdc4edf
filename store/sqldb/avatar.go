package sqldb

import (
	"context"

	"usher"
)

// AvatarGet returns a user's avatar.
func (c *conn) AvatarGet(ctx context.Context, userID int64) (*usher.Avatar, error) {
	a := new(usher.Avatar)
	err := c.queryRow(ctx, "AvatarGet", userID).Scan(&a.UserID, &a.ContentType, &a.Data, &a.ETag, timeCol{&a.UpdatedAt})
	if err != nil {
		return nil, c.notFound("AvatarGet", err)
	}
	return a, nil
}

// AvatarPut stores a user's avatar.
func (c *conn) AvatarPut(ctx context.Context, a *usher.Avatar) error {
	_, err := c.exec(ctx, "AvatarUpsert", a.UserID, a.ContentType, a.Data, a.ETag, c.d.TimeArg(a.UpdatedAt))
	return err
}

// AvatarDelete removes a user's avatar.
func (c *conn) AvatarDelete(ctx context.Context, userID int64) error {
	res, err := c.exec(ctx, "AvatarDelete", userID)
	if err != nil {
		return err
	}
	return affected(res)
}
