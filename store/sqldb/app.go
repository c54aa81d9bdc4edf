package sqldb

import (
	"context"
	"strings"

	"usher"
)

func scanApp(s scanner) (*usher.Application, error) {
	a := new(usher.Application)
	var order int64
	err := s.Scan(&a.ID, &a.Name, nullInt{&a.OwnerID}, &a.Enabled, &a.Unify.Name, &a.Unify.Listed, &a.Unify.Icon,
		&a.Unify.Logo, &a.Unify.URL, &a.Unify.Config, &order, timeCol{&a.CreatedAt}, timeCol{&a.UpdatedAt},
		nullTime{&a.DeletedAt})
	a.Unify.Order = int(order)
	return a, err
}

// appArgs are the arguments AppInsert and AppWrite share, in their order.
func (c *conn) appArgs(a *usher.Application) []any {
	u := a.Unify
	return []any{a.Name, strings.ToLower(a.Name), intOrNull(a.OwnerID), a.Enabled, u.Name, u.Listed, u.Icon, u.Logo,
		u.URL, u.Config, int64(u.Order)}
}

// AppCreate inserts an application.
func (c *conn) AppCreate(ctx context.Context, a *usher.Application) error {
	args := append(c.appArgs(a), c.d.TimeArg(a.CreatedAt), c.d.TimeArg(a.UpdatedAt), c.timeArg(a.DeletedAt))
	if err := c.writeRow(ctx, "AppInsert", args...).Scan(&a.ID); err != nil {
		return c.fail("AppInsert", err)
	}
	return nil
}

// AppGet returns an application by id.
func (c *conn) AppGet(ctx context.Context, id int64) (*usher.Application, error) {
	a, err := scanApp(c.queryRow(ctx, "AppByID", id))
	if err != nil {
		return nil, c.notFound("AppByID", err)
	}
	return a, nil
}

// AppList returns a page of the applications f selects, in f.Sort's
// order.
func (c *conn) AppList(ctx context.Context, f usher.ApplicationFilter) (*usher.Page[*usher.Application], error) {
	total, estimated, err := c.total(ctx, "AppList", f.Page, func(b *Builder, cols string) {
		appWhere(b, f)
		b.Write("SELECT " + cols + " FROM applications")
		b.WriteWhere()
	})
	if err != nil {
		return nil, err
	}
	b := &Builder{d: c.d}
	appWhere(b, f)
	if err := writeAfter(b, f.Sort, f.Page.After); err != nil {
		return nil, err
	}
	b.Write("SELECT " + columns["app"] + " FROM applications")
	b.WriteWhere()
	writeOrder(b, f.Sort)
	writePage(b, f.Page)
	rows, err := collect(ctx, c, "AppList", b, scanApp)
	if err != nil {
		return nil, err
	}
	page := pageOf(rows, f.Page, func(a *usher.Application) usher.Cursor { return a.Cursor(f.Sort) })
	page.Total, page.TotalEstimated = total, estimated
	return page, nil
}

// appWhere adds to b the conditions of f but its cursor.
func appWhere(b *Builder, f usher.ApplicationFilter) {
	inclusion(b, "deleted_at", f.Deleted)
	if f.Name != "" {
		b.Where("name_key = " + b.Arg(strings.ToLower(f.Name)))
	}
	if f.OwnerID != 0 {
		b.Where("owner_id = " + b.Arg(f.OwnerID))
	}
	if f.Query != "" {
		pattern := b.Arg("%" + EscapeLike(strings.ToLower(f.Query)) + "%")
		b.Where("(name_key LIKE " + pattern + ` ESCAPE '\' OR lower(unify_name) LIKE ` + pattern + ` ESCAPE '\')`)
	}
}

// AppUpdate reads, changes and writes an application.
func (c *conn) AppUpdate(ctx context.Context, id int64, fn func(a *usher.Application) error) (*usher.Application, error) {
	var out *usher.Application
	err := c.atomic(ctx, func(c *conn) error {
		a, err := scanApp(c.queryRow(ctx, "AppByID", id))
		if err != nil {
			return c.notFound("AppByID", err)
		}
		if err := fn(a); err != nil {
			return err
		}
		a.ID = id
		args := append(c.appArgs(a), c.d.TimeArg(a.UpdatedAt), c.timeArg(a.DeletedAt), id)
		if _, err := c.exec(ctx, "AppWrite", args...); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}
