package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"usher"
)

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
