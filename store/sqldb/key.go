package sqldb

import (
	"context"
	"time"

	"usher"
)

func scanKey(s scanner) (*usher.SSHKey, error) {
	k := new(usher.SSHKey)
	err := s.Scan(&k.ID, &k.UserID, &k.Title, &k.Key, &k.Fingerprint, timeCol{&k.CreatedAt}, nullTime{&k.ExpiresAt}, nullInt{&k.AddedByAdmin})
	return k, err
}

// KeyAdd inserts an SSH key.
func (c *conn) KeyAdd(ctx context.Context, k *usher.SSHKey) error {
	err := c.writeRow(ctx, "KeyInsert", k.UserID, k.Title, k.Key, k.Fingerprint, c.d.TimeArg(k.CreatedAt),
		c.timeArg(k.ExpiresAt), intOrNull(k.AddedByAdmin)).Scan(&k.ID)
	if err != nil {
		return unique(c.fail("KeyInsert", err), "fingerprint")
	}
	return nil
}

// KeysAddedByAdmin returns the SSH keys added on that administrator's
// rights alone (usher.SSHKey.AddedByAdmin).
func (c *conn) KeysAddedByAdmin(ctx context.Context, adminID int64) ([]*usher.SSHKey, error) {
	return collectNamed(ctx, c, "KeysAddedByAdmin", scanKey, adminID)
}

// KeyGet returns an SSH key.
func (c *conn) KeyGet(ctx context.Context, id int64) (*usher.SSHKey, error) {
	k, err := scanKey(c.queryRow(ctx, "KeyByID", id))
	if err != nil {
		return nil, c.notFound("KeyByID", err)
	}
	return k, nil
}

// KeyList returns a user's SSH keys.
func (c *conn) KeyList(ctx context.Context, userID int64) ([]*usher.SSHKey, error) {
	return collectNamed(ctx, c, "KeyList", scanKey, userID)
}

// KeySetExpiry sets when an SSH key expires.
func (c *conn) KeySetExpiry(ctx context.Context, id int64, expires *time.Time) error {
	res, err := c.exec(ctx, "KeySetExpiry", id, c.timeArg(expires))
	if err != nil {
		return err
	}
	return affected(res)
}

// KeyDelete deletes an SSH key.
func (c *conn) KeyDelete(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "KeyDelete", id)
	if err != nil {
		return err
	}
	return affected(res)
}
