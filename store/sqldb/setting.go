package sqldb

import (
	"context"

	"usher"
)

// SettingList returns a user's settings.
func (c *conn) SettingList(ctx context.Context, userID int64) ([]usher.Setting, error) {
	return collectNamed(ctx, c, "SettingList", func(s scanner) (usher.Setting, error) {
		var st usher.Setting
		var value string
		err := s.Scan(&st.Key, &value, timeCol{&st.UpdatedAt})
		st.Value = []byte(value)
		return st, err
	}, userID)
}

// SettingPut sets one setting.
func (c *conn) SettingPut(ctx context.Context, userID int64, s usher.Setting) error {
	_, err := c.exec(ctx, "SettingUpsert", userID, s.Key, string(s.Value), c.d.TimeArg(s.UpdatedAt))
	return err
}

// SettingDelete removes one setting.
func (c *conn) SettingDelete(ctx context.Context, userID int64, key string) error {
	_, err := c.exec(ctx, "SettingDelete", userID, key)
	return err
}
