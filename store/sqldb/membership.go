package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"usher"
)

// MembershipSet adds a member or changes its level.
func (c *conn) MembershipSet(ctx context.Context, m usher.Membership) error {
	_, err := c.exec(ctx, "MembershipUpsert", m.GroupID, m.UserID, string(m.Level), c.d.TimeArg(m.CreatedAt))
	return err
}

// MembershipDelete removes a member.
func (c *conn) MembershipDelete(ctx context.Context, groupID, userID int64) error {
	res, err := c.exec(ctx, "MembershipDelete", groupID, userID)
	if err != nil {
		return err
	}
	return affected(res)
}

// MembershipGet returns one membership.
func (c *conn) MembershipGet(ctx context.Context, groupID, userID int64) (*usher.Membership, error) {
	m := new(usher.Membership)
	var level string
	err := c.queryRow(ctx, "MembershipGet", groupID, userID).Scan(&m.GroupID, &m.UserID, &level, timeCol{&m.CreatedAt})
	if err != nil {
		return nil, c.notFound("MembershipGet", err)
	}
	m.Level = usher.Level(level)
	return m, nil
}

// GroupMembers returns a page of a group's members with their users, by
// user id; with live, of users who are not deleted.
func (c *conn) GroupMembers(ctx context.Context, groupID int64, live bool, req usher.PageRequest) (*usher.Page[*usher.Membership], error) {
	total, estimated, err := c.total(ctx, "GroupMembers", req, func(b *Builder, cols string) {
		if live {
			b.Write("SELECT " + cols + " FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.group_id = " + b.Arg(groupID) +
				" AND u.deleted_at IS NULL")
			return
		}
		b.Write("SELECT " + cols + " FROM memberships WHERE group_id = " + b.Arg(groupID))
	})
	if err != nil {
		return nil, err
	}
	limit := int64(math.MaxInt64)
	if req.Limit > 0 {
		limit = int64(req.Limit) + 1
	}
	rows, err := collectNamed(ctx, c, "GroupMembers", func(s scanner) (*usher.Membership, error) {
		m := new(usher.Membership)
		var level string
		u, dests, finish := userDests()
		if err := s.Scan(append([]any{&m.GroupID, &m.UserID, &level, timeCol{&m.CreatedAt}}, dests...)...); err != nil {
			return nil, err
		}
		finish()
		m.Level, m.User = usher.Level(level), u
		return m, nil
	}, groupID, afterID(req), limit, req.Offset, live)
	if err != nil {
		return nil, err
	}
	page := pageOf(rows, req, idKey(func(m *usher.Membership) int64 { return m.UserID }))
	page.Total, page.TotalEstimated = total, estimated
	return page, nil
}

// afterID is the id a list ordered by id continues after, 0 for its first
// page.
func afterID(req usher.PageRequest) int64 {
	if req.After == nil {
		return 0
	}
	return req.After.ID
}

// UserGroups returns a principal's live groups.
func (c *conn) UserGroups(ctx context.Context, userID int64, kinds ...usher.GroupKind) ([]*usher.Membership, error) {
	return c.userGroups(ctx, "UserGroups", userID, kinds)
}

// UserGroupsKept returns a principal's memberships of groups deleted or
// not, each with its group, of the given kinds (all when none).
func (c *conn) UserGroupsKept(ctx context.Context, userID int64, kinds ...usher.GroupKind) ([]*usher.Membership, error) {
	return c.userGroups(ctx, "UserGroupsKept", userID, kinds)
}

func (c *conn) userGroups(ctx context.Context, query string, userID int64, kinds []usher.GroupKind) ([]*usher.Membership, error) {
	all, err := collectNamed(ctx, c, query, func(s scanner) (*usher.Membership, error) {
		m := new(usher.Membership)
		var level string
		g, dests, finish := groupDests()
		if err := s.Scan(append([]any{&m.GroupID, &m.UserID, &level, timeCol{&m.CreatedAt}}, dests...)...); err != nil {
			return nil, err
		}
		finish()
		m.Level, m.Group = usher.Level(level), g
		return m, nil
	}, userID)
	if err != nil || len(kinds) == 0 {
		return all, err
	}
	var out []*usher.Membership
	for _, m := range all {
		for _, k := range kinds {
			if m.Group.Kind == k {
				out = append(out, m)
				break
			}
		}
	}
	return out, nil
}

// MembershipDeleteGroup removes every membership of a group.
func (c *conn) MembershipDeleteGroup(ctx context.Context, groupID int64) error {
	_, err := c.exec(ctx, "MembershipDeleteGroup", groupID)
	return err
}

// MembershipsOf returns the users' memberships, each with its group and
// the group's counts, in one query.
func (c *conn) MembershipsOf(ctx context.Context, userIDs []int64, kinds ...usher.GroupKind) ([]*usher.Membership, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	ids, err := c.d.ListArg(userIDs)
	if err != nil {
		return nil, fmt.Errorf("MembershipsOf: %w", err)
	}
	kindArg, err := c.d.ListArg(names)
	if err != nil {
		return nil, fmt.Errorf("MembershipsOf: %w", err)
	}
	return collectNamed(ctx, c, "MembershipsOf", func(s scanner) (*usher.Membership, error) {
		m := new(usher.Membership)
		var level string
		g, dests, finish := groupDests()
		dests = append([]any{&m.GroupID, &m.UserID, &level, timeCol{&m.CreatedAt}}, dests...)
		var roles string
		if err := s.Scan(append(dests, &g.Members, &g.ServiceAccounts, &roles)...); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(roles), &g.RoleIDs); err != nil {
			return nil, fmt.Errorf("the roles held: %w", err)
		}
		g.Roles = len(g.RoleIDs)
		finish()
		m.Level, m.Group = usher.Level(level), g
		return m, nil
	}, ids, kindArg)
}

// SoleOwnerTeams returns the teams the user alone owns.
func (c *conn) SoleOwnerTeams(ctx context.Context, userID int64) ([]*usher.Group, error) {
	return collectNamed(ctx, c, "SoleOwnerTeams", scanGroup, userID)
}

// OwnedTeamCount counts the live teams the user owns.
func (c *conn) OwnedTeamCount(ctx context.Context, userID int64) (int, error) {
	return c.count(ctx, "OwnedTeamCount", userID)
}

// OwnedServiceAccountCount counts the live service accounts of the live
// teams the user owns.
func (c *conn) OwnedServiceAccountCount(ctx context.Context, userID int64) (int, error) {
	return c.count(ctx, "OwnedServiceAccountCount", userID)
}

// OwnedServiceAccountLock holds the count of the service accounts in the
// teams the user owns until the transaction ends, where the dialect has a
// statement for it; SQLite has none, its one writer's transaction holding
// the database already.
func (c *conn) OwnedServiceAccountLock(ctx context.Context, userID int64) error {
	if c.queries["OwnedServiceAccountLock"] == "" {
		return nil
	}
	return c.quietExec(ctx, "OwnedServiceAccountLock", userID)
}
