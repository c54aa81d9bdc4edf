package sqldb

import (
	"context"
	"fmt"
	"strings"

	"usher"
)

// change is how an audit change is kept as JSON.
type change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// AuditAppend inserts e.
func (c *conn) AuditAppend(ctx context.Context, e *usher.AuditEvent) error {
	changes := make(map[string]change, len(e.Changes))
	for k, v := range e.Changes {
		changes[k] = change{Old: v.Old, New: v.New}
	}
	changesJSON, err := jsonArg(changes)
	if err != nil {
		return err
	}
	meta := e.Meta
	if meta == nil {
		meta = map[string]string{}
	}
	metaJSON, err := jsonArg(meta)
	if err != nil {
		return err
	}
	// Uncounted: no cache holds audit events.
	err = c.quietRow(ctx, "AuditInsert", c.d.TimeArg(e.At), string(e.ActorKind),
		intOrNull(e.ActorID), e.ActorName, intOrNull(e.ImpersonatorID), e.Action, e.ResourceType,
		e.ResourceID, changesJSON, metaJSON, e.Address, e.UserAgent, e.RequestID).Scan(&e.ID)
	if err != nil {
		return c.fail("AuditInsert", err)
	}
	return nil
}

// AuditList returns a page of the matching events, newest first. It asks
// for one more than the limit to learn whether another page follows;
// without a limit it reads every match.
func (c *conn) AuditList(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error) {
	total, estimated, err := c.total(ctx, "AuditList", f.Page, func(b *Builder, cols string) {
		auditWhere(b, f)
		b.Write("SELECT " + cols + " FROM audit_events a")
		b.WriteWhere()
	})
	if err != nil {
		return nil, err
	}
	b := &Builder{d: c.d}
	auditWhere(b, f)
	if f.Page.After != nil {
		b.Where("a.id < " + b.Arg(f.Page.After.ID))
	}
	// The actor's address comes with the page: one join on the users'
	// primary key, not a lookup per event.
	b.Write("SELECT " + macros["{{audit_columns_a}}"] + ", COALESCE(u.email, '') FROM audit_events a" +
		" LEFT JOIN users u ON u.id = a.actor_id")
	b.WriteWhere()
	b.Write(" ORDER BY a.id DESC")
	writePage(b, f.Page)
	rows, err := c.q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, c.fail("AuditList", err)
	}
	defer rows.Close()
	page := &usher.Page[*usher.AuditEvent]{Total: total, TotalEstimated: estimated, Limit: f.Page.Limit}
	for rows.Next() {
		e := new(usher.AuditEvent)
		var kind string
		var changes map[string]change
		err := rows.Scan(&e.ID, timeCol{&e.At}, &kind, nullInt{&e.ActorID}, &e.ActorName,
			nullInt{&e.ImpersonatorID}, &e.Action, &e.ResourceType, &e.ResourceID,
			jsonCol{&changes}, jsonCol{&e.Meta}, &e.Address, &e.UserAgent, &e.RequestID, &e.ActorEmail)
		if err != nil {
			return nil, fmt.Errorf("AuditList: %w", err)
		}
		e.ActorKind = usher.PrincipalKind(kind)
		if len(changes) > 0 {
			e.Changes = make(map[string]usher.Change, len(changes))
			for k, v := range changes {
				e.Changes[k] = usher.Change{Old: v.Old, New: v.New}
			}
		}
		page.Items = append(page.Items, e)
	}
	if err := rows.Err(); err != nil {
		return nil, c.fail("AuditList", err)
	}
	if limit := f.Page.Limit; limit > 0 && len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.Next = &usher.Cursor{ID: page.Items[limit-1].ID}
	}
	return page, nil
}

// auditWhere adds to b the conditions of f but its cursor: the events of
// the list, in audit_events aliased a.
func auditWhere(b *Builder, f usher.AuditFilter) {
	if f.From != nil {
		b.Where("a.at >= " + b.Time(*f.From))
	}
	if f.To != nil {
		b.Where("a.at < " + b.Time(*f.To))
	}
	if len(f.ActorIDs) > 0 {
		ids := make([]string, len(f.ActorIDs))
		for i, id := range f.ActorIDs {
			ids[i] = b.Arg(id)
		}
		b.Where("a.actor_id IN (" + strings.Join(ids, ", ") + ")")
	}
	if prefix, ok := strings.CutSuffix(f.Action, "."); ok {
		// "user." is the range ["user.", "user/"): '/' follows '.' in
		// byte order, which both schemas compare actions in.
		b.Where("a.action >= " + b.Arg(prefix+".") + " AND a.action < " + b.Arg(prefix+"/"))
	} else if f.Action != "" {
		b.Where("a.action = " + b.Arg(f.Action))
	}
	if f.ResourceType != "" {
		b.Where("a.resource_type = " + b.Arg(f.ResourceType))
	}
	if f.ResourceID != "" {
		b.Where("a.resource_id = " + b.Arg(f.ResourceID))
	}
}

// AuditCount counts the events.
func (c *conn) AuditCount(ctx context.Context) (int, error) {
	return c.count(ctx, "AuditCount")
}
