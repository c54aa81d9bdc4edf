package sqldb

import (
	"context"
	"strings"

	"usher"
)

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

// OrgHold returns the organisation by id (deleted or not), holding its
// row against a change until the transaction ends, where the backend can.
func (c *conn) OrgHold(ctx context.Context, id int64) (*usher.Organisation, error) {
	o, err := scanOrg(c.queryRow(ctx, "OrgByIDForShare", id))
	if err != nil {
		return nil, c.notFound("OrgByIDForShare", err)
	}
	return o, nil
}

// OrgList returns a page of the organisations f selects, in f.Sort's
// order.
func (c *conn) OrgList(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error) {
	total, estimated, err := c.total(ctx, "OrgList", f.Page, func(b *Builder, cols string) {
		orgWhere(b, f)
		b.Write("SELECT " + cols + " FROM organisations")
		b.WriteWhere()
	})
	if err != nil {
		return nil, err
	}
	b := &Builder{d: c.d}
	orgWhere(b, f)
	if err := writeAfter(b, f.Sort, f.Page.After); err != nil {
		return nil, err
	}
	b.Write("SELECT " + columns["org"] + " FROM organisations")
	b.WriteWhere()
	writeOrder(b, f.Sort)
	writePage(b, f.Page)
	rows, err := collect(ctx, c, "OrgList", b, scanOrg)
	if err != nil {
		return nil, err
	}
	page := pageOf(rows, f.Page, func(o *usher.Organisation) usher.Cursor { return o.Cursor(f.Sort) })
	page.Total, page.TotalEstimated = total, estimated
	return page, nil
}

// orgWhere adds to b the conditions of f but its cursor.
func orgWhere(b *Builder, f usher.OrganisationFilter) {
	inclusion(b, "archived_at", f.Archived)
	inclusion(b, "deleted_at", f.Deleted)
	if f.Query != "" {
		b.Where("lower(name) LIKE " + b.Arg(EscapeLike(strings.ToLower(f.Query))+"%") + ` ESCAPE '\'`)
	}
}

// OrgUpdate reads, changes and writes an organisation.
func (c *conn) OrgUpdate(ctx context.Context, id int64, fn func(o *usher.Organisation) error) (*usher.Organisation, error) {
	var out *usher.Organisation
	err := c.atomic(ctx, func(c *conn) error {
		o, err := scanOrg(c.queryRow(ctx, "OrgByIDForUpdate", id))
		if err != nil {
			return c.notFound("OrgByIDForUpdate", err)
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
