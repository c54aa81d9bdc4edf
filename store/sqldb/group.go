package sqldb

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
)

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

// GroupHandleLock holds a handle teams and internal groups share until
// the transaction ends, where the dialect has a statement for it; SQLite
// has none, its one writer's transaction holding the database already.
func (c *conn) GroupHandleLock(ctx context.Context, handle string) error {
	if c.queries["GroupHandleLock"] == "" {
		return nil
	}
	return c.quietExec(ctx, "GroupHandleLock", strings.ToLower(handle))
}

// GroupGet returns a group by id or by kind and handle.
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

// GroupList returns a page of the groups matching f in f.Sort's order
// with their member counts.
func (c *conn) GroupList(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error) {
	total, estimated, err := c.total(ctx, "GroupList", f.Page, func(b *Builder, cols string) {
		groupWhere(b, f)
		b.Write("SELECT " + cols + " FROM groups")
		b.WriteWhere()
	})
	if err != nil {
		return nil, err
	}
	b := &Builder{d: c.d}
	if err := writeGroupPage(b, f); err != nil {
		return nil, err
	}
	rows, err := collect(ctx, c, "GroupList", b, func(s scanner) (*usher.Group, error) {
		g, dests, finish := groupDests()
		if err := s.Scan(append(dests, &g.Members)...); err != nil {
			return nil, err
		}
		finish()
		return g, nil
	})
	if err != nil {
		return nil, err
	}
	page := pageOf(rows, f.Page, func(g *usher.Group) usher.Cursor { return g.Cursor(f.Sort) })
	page.Total, page.TotalEstimated = total, estimated
	return page, nil
}

// writeGroupPage writes the statement of a page of f's groups with their
// member counts. A page of one kind, or of none named, is one SELECT: the
// live groups of a kind are indexed in every order a list sorts by
// (groups_kind_*), so it walks the index and stops after the page. A page
// of several kinds — every list of a caller who names none — reads each
// kind's page through its own index, and the pages are merged: an index
// of (kind, col) holds no order across kinds, and "kind IN (…)" read
// every group of the kinds and sorted them all for a page (21 ms for
// 36,000 groups on SQLite).
func writeGroupPage(b *Builder, f usher.GroupFilter) error {
	counted := columns["group"] + ", (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id" +
		" WHERE m.group_id = groups.id AND u.deleted_at IS NULL)"
	if len(f.Kinds) < 2 {
		groupWhere(b, f)
		if err := writeAfter(b, f.Sort, f.Page.After); err != nil {
			return err
		}
		b.Write("SELECT " + counted + " FROM groups")
		b.WriteWhere()
		writeOrder(b, f.Sort)
		writePage(b, f.Page)
		return nil
	}
	// A kind named twice is read once, as "kind IN (…)" reads it.
	kinds := slices.Clone(f.Kinds)
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	b.Write("SELECT " + counted + " FROM (")
	for i, k := range kinds {
		if i > 0 {
			b.Write(" UNION ALL ")
		}
		arm := f
		arm.Kinds = []usher.GroupKind{k}
		b.conds = nil
		groupWhere(b, arm)
		if err := writeAfter(b, f.Sort, f.Page.After); err != nil {
			return err
		}
		b.Write("SELECT * FROM (SELECT * FROM groups")
		b.WriteWhere()
		writeOrder(b, f.Sort)
		// Each kind's page is as long as the merged page may need of it.
		page := usher.PageRequest{}
		if f.Page.Limit > 0 {
			page.Limit = f.Page.Limit + f.Page.Offset
		}
		writeLimit(b, page.Limit)
		b.Write(") AS kind" + strconv.Itoa(i))
	}
	b.conds = nil
	b.Write(") AS groups")
	writeOrder(b, f.Sort)
	writePage(b, f.Page)
	return nil
}

// groupWhere adds to b the conditions of f but its cursor.
func groupWhere(b *Builder, f usher.GroupFilter) {
	if len(f.Kinds) > 0 {
		b.Where("kind IN (" + texts(b, f.Kinds) + ")")
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
		b.Where("id IN (" + b.IDs(f.IDs) + ")")
	}
	if s := f.Sight; s != nil && !seesAll(s, f.Kinds) {
		seen := []string{"id IN (SELECT group_id FROM memberships WHERE user_id = " + b.Arg(s.UserID) + ")"}
		if kinds := seenKinds(s, f.Kinds); len(kinds) > 0 {
			seen = append(seen, "kind IN ("+texts(b, kinds)+")")
		}
		if len(s.IDs) > 0 {
			seen = append(seen, "id IN ("+b.IDs(s.IDs)+")")
		}
		b.Where("(" + strings.Join(seen, " OR ") + ")")
	}
	inclusion(b, "archived_at", f.Archived)
	inclusion(b, "deleted_at", f.Deleted)
}

// seenKinds returns the kinds of s a list of kinds (every kind when
// none) may hold: a kind the list leaves out needs no condition.
func seenKinds(s *usher.GroupSight, kinds []usher.GroupKind) []usher.GroupKind {
	if len(kinds) == 0 {
		return s.Kinds
	}
	var out []usher.GroupKind
	for _, k := range s.Kinds {
		if slices.Contains(kinds, k) {
			out = append(out, k)
		}
	}
	return out
}

// seesAll reports whether s sees every group of the kinds listed: then
// the sight is no condition, and the list's index serves it alone.
func seesAll(s *usher.GroupSight, kinds []usher.GroupKind) bool {
	if len(kinds) == 0 {
		return false
	}
	for _, k := range kinds {
		if !slices.Contains(s.Kinds, k) {
			return false
		}
	}
	return true
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

// GroupsDeletedBefore returns the ids of up to limit groups of kind that
// were deleted before the time, those deleted first first.
func (c *conn) GroupsDeletedBefore(ctx context.Context, kind usher.GroupKind, before time.Time, limit int) ([]int64, error) {
	return collectNamed(ctx, c, "GroupsDeletedBefore", scanID, string(kind), c.d.TimeArg(before), limit)
}

// GroupMakerSet records who made the group.
func (c *conn) GroupMakerSet(ctx context.Context, groupID, makerID int64) error {
	_, err := c.exec(ctx, "GroupMakerSet", groupID, makerID)
	return err
}

// DeletedTeamsMadeBy counts the deleted teams the user made that are not
// purged yet.
func (c *conn) DeletedTeamsMadeBy(ctx context.Context, userID int64) (int, error) {
	return c.count(ctx, "DeletedTeamsMadeBy", userID)
}

// GroupPurge deletes a group for good, with its memberships and rules.
func (c *conn) GroupPurge(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "GroupPurge", id)
	if err != nil {
		return err
	}
	return affected(res)
}
