package sqldb

import (
	"context"

	"usher"
)

func scanInstanceSetting(s scanner) (*usher.InstanceSetting, error) {
	st := new(usher.InstanceSetting)
	var value string
	err := s.Scan(&st.Name, &value, timeCol{&st.UpdatedAt}, nullInt{&st.UpdatedBy})
	st.Value = []byte(value)
	return st, err
}

// InstanceSettingList returns the instance settings under prefix.
func (c *conn) InstanceSettingList(ctx context.Context, prefix string) ([]*usher.InstanceSetting, error) {
	return collectNamed(ctx, c, "InstanceSettingList", scanInstanceSetting, prefix)
}

// InstanceSettingGet returns one instance setting.
func (c *conn) InstanceSettingGet(ctx context.Context, name string) (*usher.InstanceSetting, error) {
	st, err := scanInstanceSetting(c.queryRow(ctx, "InstanceSettingGet", name))
	if err != nil {
		return nil, c.notFound("InstanceSettingGet", err)
	}
	return st, nil
}

// InstanceSettingPut sets one instance setting.
func (c *conn) InstanceSettingPut(ctx context.Context, s *usher.InstanceSetting) error {
	_, err := c.exec(ctx, "InstanceSettingUpsert", s.Name, string(s.Value), c.d.TimeArg(s.UpdatedAt), intOrNull(s.UpdatedBy))
	return err
}

// InstanceSettingDelete removes one instance setting.
func (c *conn) InstanceSettingDelete(ctx context.Context, name string) error {
	_, err := c.exec(ctx, "InstanceSettingDelete", name)
	return err
}
