package sqldb

import (
	"context"
	"fmt"
	"strconv"
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
	from := "audit_events a"
	if actions, ok, err := c.auditActions(ctx, f); err != nil {
		return nil, err
	} else if ok {
		if len(actions) == 0 {
			return &usher.Page[*usher.AuditEvent]{Total: total, TotalEstimated: estimated, Limit: f.Page.Limit}, nil
		}
		from = writeAuditArms(b, f, actions)
	} else {
		auditWhere(b, f)
		if f.Page.After != nil {
			b.Where("a.id < " + b.Arg(f.Page.After.ID))
		}
	}
	// The actor's address comes with the page: one join on the users'
	// primary key, not a lookup per event.
	b.Write("SELECT " + macros["{{audit_columns_a}}"] + ", COALESCE(u.email, '') FROM " + from +
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

// maxActionArms bounds the actions of a prefix that AuditList reads one
// by one; a prefix of more is read as a range.
const maxActionArms = 100

// auditActions returns the actions under f's prefix ("user." holds
// "user.block", "user.login", …) when a page of f is best read one action
// at a time, and whether it is: a page of a prefix alone read every event
// in the range of actions through audit_events_action and sorted them all
// for the page (90 ms for 170,000 of 200,000 events on SQLite), where a
// page of one action walks the index in id order and stops after it. The
// actions come from the same index, one seek each (a loose index scan).
// Filters on actors or a resource have indexes of their own and are read
// as before.
func (c *conn) auditActions(ctx context.Context, f usher.AuditFilter) ([]string, bool, error) {
	prefix, ok := strings.CutSuffix(f.Action, ".")
	if !ok || len(f.ActorIDs) > 0 || f.ResourceType != "" || f.ResourceID != "" {
		return nil, false, nil
	}
	b := &Builder{d: c.d}
	lo, hi := b.Arg(prefix+"."), b.Arg(prefix+"/")
	hi2 := b.Arg(prefix + "/")
	b.Write("WITH RECURSIVE acts (action) AS (" +
		"SELECT min(action) FROM audit_events WHERE action >= " + lo + " AND action < " + hi +
		" UNION ALL SELECT (SELECT min(e.action) FROM audit_events e WHERE e.action > acts.action AND e.action < " + hi2 + ")" +
		" FROM acts WHERE acts.action IS NOT NULL)" +
		" SELECT action FROM acts WHERE action IS NOT NULL LIMIT " + b.Arg(maxActionArms+1))
	actions, err := collect(ctx, c, "AuditActions", b, func(s scanner) (string, error) {
		var a string
		return a, s.Scan(&a)
	})
	if err != nil || len(actions) > maxActionArms {
		return nil, false, err
	}
	return actions, true, nil
}

// writeAuditArms writes into b the events of f, one of the actions each,
// as the FROM of a page: each action's page, newest first, through its
// index, the pages to be merged by the statement's order. It returns the
// FROM clause, aliased a.
func writeAuditArms(b *Builder, f usher.AuditFilter, actions []string) string {
	limit := 0
	if f.Page.Limit > 0 {
		limit = f.Page.Limit + f.Page.Offset
	}
	arms := make([]string, len(actions))
	for i, action := range actions {
		arm := f
		arm.Action = action
		b.conds = nil
		auditWhere(b, arm)
		if f.Page.After != nil {
			b.Where("a.id < " + b.Arg(f.Page.After.ID))
		}
		var sb strings.Builder
		sb.WriteString("SELECT * FROM (SELECT * FROM audit_events a WHERE " + strings.Join(b.conds, " AND ") +
			" ORDER BY a.id DESC")
		if limit > 0 {
			sb.WriteString(" LIMIT " + b.Arg(limit+1))
		}
		sb.WriteString(") AS action" + strconv.Itoa(i))
		arms[i] = sb.String()
	}
	b.conds = nil
	return "(" + strings.Join(arms, " UNION ALL ") + ") AS a"
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
