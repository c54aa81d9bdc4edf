package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"usher"
)

// notFound turns sql.ErrNoRows into usher.ErrNotFound and names other
// errors' statement.
func (c *conn) notFound(name string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return usher.ErrNotFound
	}
	return c.fail(name, err)
}

// unique names the field of a unique violation.
func unique(err error, field string) error {
	var ue *usher.UniqueError
	if errors.As(err, &ue) {
		ue.Field = field
	}
	return err
}

func scanOrg(s scanner) (*usher.Organisation, error) {
	o := new(usher.Organisation)
	err := s.Scan(&o.ID, &o.Handle, &o.Name, timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt},
		nullTime{&o.ArchivedAt}, nullTime{&o.DeletedAt})
	return o, err
}

// OrgCreate inserts an organisation.
func (c *conn) OrgCreate(ctx context.Context, o *usher.Organisation) error {
	err := c.writeRow(ctx, "OrgInsert", o.Handle, strings.ToLower(o.Handle), o.Name, c.d.TimeArg(o.CreatedAt),
		c.d.TimeArg(o.UpdatedAt), c.timeArg(o.ArchivedAt), c.timeArg(o.DeletedAt)).Scan(&o.ID)
	if err != nil {
		return unique(c.fail("OrgInsert", err), "handle")
	}
	return nil
}

// OrgGet returns an organisation by id or handle.
func (c *conn) OrgGet(ctx context.Context, id int64, handle string) (*usher.Organisation, error) {
	name, arg := "OrgByID", any(id)
	if id == 0 {
		name, arg = "OrgByHandle", strings.ToLower(handle)
	}
	o, err := scanOrg(c.queryRow(ctx, name, arg))
	if err != nil {
		return nil, c.notFound(name, err)
	}
	return o, nil
}

// OrgList returns organisations by id.
func (c *conn) OrgList(ctx context.Context, archived, deleted usher.Inclusion, after int64, limit int) ([]*usher.Organisation, error) {
	b := &Builder{d: c.d}
	inclusion(b, "archived_at", archived)
	inclusion(b, "deleted_at", deleted)
	b.Where("id > " + b.Arg(after))
	b.Write("SELECT " + columns["org"] + " FROM organisations")
	b.WriteWhere()
	b.Write(" ORDER BY id LIMIT " + b.Arg(limit))
	return collect(ctx, c, "OrgList", b, scanOrg)
}

// OrgUpdate reads, changes and writes an organisation.
func (c *conn) OrgUpdate(ctx context.Context, id int64, fn func(o *usher.Organisation) error) (*usher.Organisation, error) {
	var out *usher.Organisation
	err := c.atomic(ctx, func(c *conn) error {
		o, err := scanOrg(c.queryRow(ctx, "OrgByID", id))
		if err != nil {
			return c.notFound("OrgByID", err)
		}
		if err := fn(o); err != nil {
			return err
		}
		o.ID = id
		_, err = c.exec(ctx, "OrgWrite", o.Handle, strings.ToLower(o.Handle), o.Name, c.d.TimeArg(o.UpdatedAt),
			c.timeArg(o.ArchivedAt), c.timeArg(o.DeletedAt), id)
		if err != nil {
			return unique(err, "handle")
		}
		out = o
		return nil
	})
	return out, err
}

// inclusion adds the condition an Inclusion puts on a nullable time column.
func inclusion(b *Builder, col string, in usher.Inclusion) {
	switch in {
	case usher.Default, usher.Exclude:
		b.Where(col + " IS NULL")
	case usher.Only:
		b.Where(col + " IS NOT NULL")
	}
}

// collect runs a built query and scans every row.
func collect[T any](ctx context.Context, c *conn, name string, b *Builder, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, c.fail(name, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// collectNamed runs a named query and scans every row.
func collectNamed[T any](ctx context.Context, c *conn, name string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	b := &Builder{d: c.d}
	b.Write(c.queries[name])
	b.args = args
	return collect(ctx, c, name, b, scan)
}

func scanGroup(s scanner) (*usher.Group, error) {
	g, dests, finish := groupDests()
	if err := s.Scan(dests...); err != nil {
		return nil, err
	}
	finish()
	return g, nil
}

// groupDests is to groups what userDests is to users.
func groupDests() (*usher.Group, []any, func()) {
	g := new(usher.Group)
	var kind string
	dests := []any{&g.ID, &kind, &g.Handle, &g.Name, &g.Description, &g.Logo, nullInt{&g.OrganisationID},
		timeCol{&g.CreatedAt}, timeCol{&g.UpdatedAt}, nullTime{&g.ArchivedAt}, nullTime{&g.DeletedAt}, &g.Version}
	return g, dests, func() { g.Kind = usher.GroupKind(kind) }
}

// GroupCreate inserts a group.
func (c *conn) GroupCreate(ctx context.Context, g *usher.Group) error {
	if g.Version == 0 {
		g.Version = 1
	}
	err := c.writeRow(ctx, "GroupInsert", string(g.Kind), g.Handle, strings.ToLower(g.Handle), g.Name, g.Description,
		g.Logo, intOrNull(g.OrganisationID), c.d.TimeArg(g.CreatedAt), c.d.TimeArg(g.UpdatedAt),
		c.timeArg(g.ArchivedAt), c.timeArg(g.DeletedAt), g.Version).Scan(&g.ID)
	if err != nil {
		return unique(c.fail("GroupInsert", err), "handle")
	}
	return nil
}

// GroupGet returns a group by id, or by kind and handle.
func (c *conn) GroupGet(ctx context.Context, id int64, kind usher.GroupKind, handle string) (*usher.Group, error) {
	var row *sql.Row
	name := "GroupByID"
	if id != 0 {
		row = c.queryRow(ctx, name, id)
	} else {
		name = "GroupByHandle"
		row = c.queryRow(ctx, name, string(kind), strings.ToLower(handle))
	}
	g, err := scanGroup(row)
	if err != nil {
		return nil, c.notFound(name, err)
	}
	return g, nil
}

// GroupList returns groups by id with their member counts.
func (c *conn) GroupList(ctx context.Context, f usher.GroupFilter) ([]*usher.Group, error) {
	b := &Builder{d: c.d}
	if len(f.Kinds) > 0 {
		marks := make([]string, len(f.Kinds))
		for i, k := range f.Kinds {
			marks[i] = b.Arg(string(k))
		}
		b.Where("kind IN (" + strings.Join(marks, ", ") + ")")
	}
	if f.Query != "" {
		p := b.Arg("%" + EscapeLike(strings.ToLower(f.Query)) + "%")
		b.Where("(handle_key LIKE " + p + ` ESCAPE '\' OR lower(name) LIKE ` + p + ` ESCAPE '\')`)
	}
	if f.Handle != "" {
		b.Where("handle_key = " + b.Arg(strings.ToLower(f.Handle)))
	}
	if f.OrganisationID != 0 {
		b.Where("organisation_id = " + b.Arg(f.OrganisationID))
	}
	if f.MemberID != 0 {
		b.Where("id IN (SELECT group_id FROM memberships WHERE user_id = " + b.Arg(f.MemberID) + ")")
	}
	if len(f.IDs) > 0 {
		marks := make([]string, len(f.IDs))
		for i, id := range f.IDs {
			marks[i] = b.Arg(id)
		}
		b.Where("id IN (" + strings.Join(marks, ", ") + ")")
	}
	inclusion(b, "archived_at", f.Archived)
	inclusion(b, "deleted_at", f.Deleted)
	if f.Page.After != nil {
		b.Where("id > " + b.Arg(f.Page.After.ID))
	}
	b.Write("SELECT " + columns["group"] + ", (SELECT count(*) FROM memberships m WHERE m.group_id = groups.id) FROM groups")
	b.WriteWhere()
	b.Write(" ORDER BY id")
	if f.Page.Limit > 0 {
		b.Write(" LIMIT " + b.Arg(f.Page.Limit))
	}
	return collect(ctx, c, "GroupList", b, func(s scanner) (*usher.Group, error) {
		g, dests, finish := groupDests()
		if err := s.Scan(append(dests, &g.Members)...); err != nil {
			return nil, err
		}
		finish()
		return g, nil
	})
}

// GroupUpdate reads, changes and writes a group.
func (c *conn) GroupUpdate(ctx context.Context, id int64, fn func(g *usher.Group) error) (*usher.Group, error) {
	var out *usher.Group
	err := c.atomic(ctx, func(c *conn) error {
		g, err := scanGroup(c.queryRow(ctx, "GroupByIDForUpdate", id))
		if err != nil {
			return c.notFound("GroupByIDForUpdate", err)
		}
		if err := fn(g); err != nil {
			return err
		}
		g.ID = id
		g.Version++
		_, err = c.exec(ctx, "GroupWrite", string(g.Kind), g.Handle, strings.ToLower(g.Handle), g.Name, g.Description,
			g.Logo, intOrNull(g.OrganisationID), c.d.TimeArg(g.UpdatedAt), c.timeArg(g.ArchivedAt),
			c.timeArg(g.DeletedAt), g.Version, id)
		if err != nil {
			return unique(err, "handle")
		}
		out = g
		return nil
	})
	return out, err
}

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

// GroupMembers returns a group's members with their users.
func (c *conn) GroupMembers(ctx context.Context, groupID, after int64, limit int) ([]*usher.Membership, error) {
	return collectNamed(ctx, c, "GroupMembers", func(s scanner) (*usher.Membership, error) {
		m := new(usher.Membership)
		var level string
		u, dests, finish := userDests()
		if err := s.Scan(append([]any{&m.GroupID, &m.UserID, &level, timeCol{&m.CreatedAt}}, dests...)...); err != nil {
			return nil, err
		}
		finish()
		m.Level, m.User = usher.Level(level), u
		return m, nil
	}, groupID, after, limit)
}

// UserGroups returns a principal's live groups.
func (c *conn) UserGroups(ctx context.Context, userID int64, kinds ...usher.GroupKind) ([]*usher.Membership, error) {
	all, err := collectNamed(ctx, c, "UserGroups", func(s scanner) (*usher.Membership, error) {
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
		if err := s.Scan(append(dests, &g.Members, &g.ServiceAccounts, &g.Roles)...); err != nil {
			return nil, err
		}
		finish()
		m.Level, m.Group = usher.Level(level), g
		return m, nil
	}, ids, kindArg)
}

// SoleOwnerTeams returns the teams the user alone owns.
func (c *conn) SoleOwnerTeams(ctx context.Context, userID int64) ([]*usher.Group, error) {
	return collectNamed(ctx, c, "SoleOwnerTeams", scanGroup, userID)
}

func scanRule(s scanner) (usher.Rule, error) {
	var r usher.Rule
	var access string
	err := s.Scan(&r.RoleID, &r.Resource, &r.Operation, &access)
	r.Access = usher.Access(access)
	return r, err
}

// RuleList returns a role's rules.
func (c *conn) RuleList(ctx context.Context, roleID int64) ([]usher.Rule, error) {
	return collectNamed(ctx, c, "RuleList", scanRule, roleID)
}

// RuleSet adds or replaces a rule.
func (c *conn) RuleSet(ctx context.Context, r usher.Rule) error {
	_, err := c.exec(ctx, "RuleUpsert", r.RoleID, r.Resource, r.Operation, string(r.Access))
	return err
}

// RuleDelete deletes one rule, or all of a role's.
func (c *conn) RuleDelete(ctx context.Context, roleID int64, resource, operation string) (int, error) {
	var res sql.Result
	var err error
	if resource == "" && operation == "" {
		res, err = c.exec(ctx, "RuleDeleteAll", roleID)
	} else {
		res, err = c.exec(ctx, "RuleDeleteOne", roleID, resource, operation)
	}
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RulesFor returns every rule that applies to a user, in one query.
func (c *conn) RulesFor(ctx context.Context, userID int64) ([]usher.Rule, error) {
	return collectNamed(ctx, c, "RulesFor", scanRule, userID)
}

func scanPlan(s scanner) (*usher.Plan, error) {
	p := new(usher.Plan)
	err := s.Scan(&p.Name, &p.CanCreateTeam, &p.CanCreateStateProject, &p.CanManageProjectACL,
		&p.CanManageProjectHooks, &p.ProjectLimit, &p.Default, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return p, err
}

// PlanCreate inserts a plan.
func (c *conn) PlanCreate(ctx context.Context, p *usher.Plan) error {
	_, err := c.exec(ctx, "PlanInsert", p.Name, strings.ToLower(p.Name), p.CanCreateTeam, p.CanCreateStateProject,
		p.CanManageProjectACL, p.CanManageProjectHooks, p.ProjectLimit, p.Default, c.d.TimeArg(p.CreatedAt),
		c.d.TimeArg(p.UpdatedAt))
	var ue *usher.UniqueError
	if errors.As(err, &ue) && ue.Field == "" {
		// SQLite does not say which index: the name, unless no plan has it.
		ue.Field = "default"
		if _, gerr := c.PlanGet(ctx, p.Name); gerr == nil {
			ue.Field = "name"
		}
	}
	return err
}

// PlanGet returns a plan by name, or the default plan.
func (c *conn) PlanGet(ctx context.Context, name string) (*usher.Plan, error) {
	var row *sql.Row
	q := "PlanByName"
	if name == "" {
		q = "PlanDefault"
		row = c.queryRow(ctx, q)
	} else {
		row = c.queryRow(ctx, q, strings.ToLower(name))
	}
	p, err := scanPlan(row)
	if err != nil {
		return nil, c.notFound(q, err)
	}
	return p, nil
}

// PlanList returns every plan.
func (c *conn) PlanList(ctx context.Context) ([]*usher.Plan, error) {
	return collectNamed(ctx, c, "PlanList", scanPlan)
}

// PlanUpdate reads, changes and writes a plan.
func (c *conn) PlanUpdate(ctx context.Context, name string, fn func(p *usher.Plan) error) (*usher.Plan, error) {
	var out *usher.Plan
	err := c.atomic(ctx, func(c *conn) error {
		p, err := c.PlanGet(ctx, name)
		if err != nil {
			return err
		}
		stored := p.Name
		if err := fn(p); err != nil {
			return err
		}
		p.Name = stored
		_, err = c.exec(ctx, "PlanWrite", p.CanCreateTeam, p.CanCreateStateProject, p.CanManageProjectACL,
			p.CanManageProjectHooks, p.ProjectLimit, p.Default, c.d.TimeArg(p.UpdatedAt), stored)
		if err != nil {
			return unique(err, "default")
		}
		out = p
		return nil
	})
	return out, err
}

// PlanDelete deletes a plan.
func (c *conn) PlanDelete(ctx context.Context, name string) error {
	res, err := c.exec(ctx, "PlanDelete", strings.ToLower(name))
	if err != nil {
		return err
	}
	return affected(res)
}

func scanKey(s scanner) (*usher.SSHKey, error) {
	k := new(usher.SSHKey)
	err := s.Scan(&k.ID, &k.UserID, &k.Title, &k.Key, &k.Fingerprint, timeCol{&k.CreatedAt}, nullTime{&k.ExpiresAt})
	return k, err
}

// KeyAdd inserts an SSH key.
func (c *conn) KeyAdd(ctx context.Context, k *usher.SSHKey) error {
	err := c.writeRow(ctx, "KeyInsert", k.UserID, k.Title, k.Key, k.Fingerprint, c.d.TimeArg(k.CreatedAt),
		c.timeArg(k.ExpiresAt)).Scan(&k.ID)
	if err != nil {
		return unique(c.fail("KeyInsert", err), "fingerprint")
	}
	return nil
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

// KeyDelete deletes an SSH key.
func (c *conn) KeyDelete(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "KeyDelete", id)
	if err != nil {
		return err
	}
	return affected(res)
}

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
