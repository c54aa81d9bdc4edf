package sqldb

import (
	"context"

	"usher"
)

// StatsGet counts users, groups and applications, one aggregate query per
// table.
func (c *conn) StatsGet(ctx context.Context) (*usher.Stats, error) {
	st := new(usher.Stats)
	u := &st.Users
	if err := c.queryRow(ctx, "StatsUsers").Scan(&u.Total, &u.Valid, &u.Suspended, &u.Deleted); err != nil {
		return nil, c.fail("StatsUsers", err)
	}
	g, r := &st.Groups, &st.Roles
	err := c.queryRow(ctx, "StatsGroups").Scan(&g.Total, &g.Valid, &g.Archived, &g.Deleted,
		&r.Total, &r.Valid, &r.Archived, &r.Deleted)
	if err != nil {
		return nil, c.fail("StatsGroups", err)
	}
	a := &st.Applications
	if err := c.queryRow(ctx, "StatsApplications").Scan(&a.Total, &a.Valid, &a.Deleted); err != nil {
		return nil, c.fail("StatsApplications", err)
	}
	return st, nil
}
