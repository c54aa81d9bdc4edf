package sqldb

import (
	"context"
	"errors"
	"strings"
	"time"

	"usher"
)

// triggersArg is a script's triggers as the triggers column keeps them:
// separated by spaces, with a space at both ends.
func triggersArg(ts []usher.Trigger) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, t := range ts {
		b.WriteString(string(t))
		b.WriteByte(' ')
	}
	return b.String()
}

// scanScript reads the columns of {{script_columns}}.
func scanScript(s scanner) (*usher.Script, error) {
	sc := new(usher.Script)
	var kind, triggers string
	err := s.Scan(&sc.ID, &sc.Name, &kind, &sc.Source, &triggers, &sc.Bundle, &sc.Enabled, &sc.CompileError,
		&sc.Directory, &sc.Version, nullInt{&sc.CreatedBy}, timeCol{&sc.CreatedAt}, timeCol{&sc.UpdatedAt})
	sc.Kind = usher.ScriptKind(kind)
	for _, t := range strings.Fields(triggers) {
		sc.Triggers = append(sc.Triggers, usher.Trigger(t))
	}
	return sc, err
}

// scanScriptRun reads the columns of a run joined to its script.
func scanScriptRun(s scanner) (*usher.ScriptRun, error) {
	r := new(usher.ScriptRun)
	var event, subject, log string
	err := s.Scan(&r.ID, &r.ScriptID, &r.Script, &event, &r.Resource, &subject, nullInt{&r.ActorID}, &r.Outcome,
		&log, timeCol{&r.CreatedAt}, nullTime{&r.DoneAt})
	r.Trigger, r.Subject = usher.Trigger(event), []byte(subject)
	if log != "" {
		r.Log = strings.Split(log, "\n")
	}
	return r, err
}

// ScriptAdd inserts a script.
func (c *conn) ScriptAdd(ctx context.Context, s *usher.Script) error {
	err := c.writeRow(ctx, "ScriptInsert", s.Name, string(s.Kind), s.Source, triggersArg(s.Triggers), s.Bundle,
		s.Enabled, s.CompileError, s.Directory, s.Version, intOrNull(s.CreatedBy), c.d.TimeArg(s.CreatedAt),
		c.d.TimeArg(s.UpdatedAt)).Scan(&s.ID)
	if err != nil {
		return c.fail("ScriptInsert", err)
	}
	return nil
}

// ScriptGet returns a script by name.
func (c *conn) ScriptGet(ctx context.Context, name string) (*usher.Script, error) {
	s, err := scanScript(c.queryRow(ctx, "ScriptByName", name))
	if err != nil {
		return nil, c.notFound("ScriptByName", err)
	}
	return s, nil
}

// ScriptUpdate reads a script, locking it, lets fn change it and writes it
// back.
func (c *conn) ScriptUpdate(ctx context.Context, name string, fn func(s *usher.Script) error) (*usher.Script, error) {
	var out *usher.Script
	err := c.atomic(ctx, func(c *conn) error {
		s, err := scanScript(c.queryRow(ctx, "ScriptByNameForUpdate", name))
		if err != nil {
			return c.notFound("ScriptByNameForUpdate", err)
		}
		id := s.ID
		if err := fn(s); err != nil {
			return err
		}
		if _, err := c.exec(ctx, "ScriptWrite", s.Source, triggersArg(s.Triggers), s.Bundle, s.Enabled,
			s.CompileError, s.Version, c.d.TimeArg(s.UpdatedAt), id); err != nil {
			return err
		}
		s.ID = id
		out = s
		return nil
	})
	return out, err
}

// ScriptDelete deletes a script; its runs go with it.
func (c *conn) ScriptDelete(ctx context.Context, name string) error {
	res, err := c.exec(ctx, "ScriptDelete", name)
	if err != nil {
		return err
	}
	return affected(res)
}

// ScriptList returns a page of the matching scripts by id.
func (c *conn) ScriptList(ctx context.Context, f usher.ScriptFilter) (*usher.Page[*usher.Script], error) {
	b := &Builder{d: c.d}
	if f.Kind != "" {
		b.Where("kind = " + b.Arg(string(f.Kind)))
	}
	if f.Invalid != nil && *f.Invalid {
		b.Where("compile_error <> ''")
	}
	if f.Invalid != nil && !*f.Invalid {
		b.Where("compile_error = ''")
	}
	if f.Trigger != "" {
		b.Where("triggers LIKE " + b.Arg("% "+EscapeLike(string(f.Trigger))+" %") + ` ESCAPE '\'`)
	}
	anyLike(b, f.Resources, func(r string) string { return "% " + EscapeLike(r) + ".%" })
	anyLike(b, f.Events, func(e string) string { return "%." + EscapeLike(e) + " %" })
	if f.Bundle != "" {
		b.Where("bundle = " + b.Arg(f.Bundle))
	}
	if f.EnabledOnly {
		b.Where("enabled = " + b.Arg(true))
	}
	if f.Page.After != nil {
		b.Where("id > " + b.Arg(f.Page.After.ID))
	}
	b.Write("SELECT " + macros["{{script_columns}}"] + " FROM scripts")
	b.WriteWhere()
	b.Write(" ORDER BY id")
	writeLimit(b, f.Page.Limit)
	rows, err := collect(ctx, c, "ScriptList", b, scanScript)
	if err != nil {
		return nil, err
	}
	page := &usher.Page[*usher.Script]{Items: rows, Total: -1, Limit: f.Page.Limit}
	if limit := f.Page.Limit; limit > 0 && len(rows) > limit {
		page.Items = rows[:limit]
		page.Next = &usher.Cursor{ID: rows[limit-1].ID}
	}
	return page, nil
}

// anyLike keeps the scripts whose triggers match the pattern of one of
// values; none keeps every script.
func anyLike(b *Builder, values []string, pattern func(string) string) {
	if len(values) == 0 {
		return
	}
	ors := make([]string, len(values))
	for i, v := range values {
		ors[i] = "triggers LIKE " + b.Arg(pattern(v)) + ` ESCAPE '\'`
	}
	b.Where("(" + strings.Join(ors, " OR ") + ")")
}

// ScriptRunAdd queues a run.
func (c *conn) ScriptRunAdd(ctx context.Context, r *usher.ScriptRun) error {
	err := c.writeRow(ctx, "ScriptRunInsert", r.ScriptID, string(r.Trigger), r.Resource, string(r.Subject),
		intOrNull(r.ActorID), c.d.TimeArg(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		return c.fail("ScriptRunInsert", err)
	}
	return nil
}

// ScriptRunGet returns a run.
func (c *conn) ScriptRunGet(ctx context.Context, id int64) (*usher.ScriptRun, error) {
	r, err := scanScriptRun(c.queryRow(ctx, "ScriptRunByID", id))
	if err != nil {
		return nil, c.notFound("ScriptRunByID", err)
	}
	return r, nil
}

// ScriptRunClaim claims runs under the claim until leaseUntil and returns
// them.
func (c *conn) ScriptRunClaim(ctx context.Context, now, leaseUntil time.Time, claim string, limit int) ([]*usher.ScriptRun, error) {
	if claim == "" {
		return nil, errors.New("ScriptRunClaim: an empty claim")
	}
	// Uncounted: a script run's lease is no row a cache holds, and every
	// replica claims every few seconds.
	rows, err := c.quiet.QueryContext(ctx, c.queries["ScriptRunClaim"], c.d.TimeArg(now), c.d.TimeArg(leaseUntil), claim, limit)
	if err != nil {
		return nil, c.fail("ScriptRunClaim", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, c.fail("ScriptRunClaim", err)
	}
	if n == 0 {
		return nil, nil
	}
	return collectNamed(ctx, c, "ScriptRunsClaimed", scanScriptRun, claim)
}

// ScriptRunDone marks a claimed run done.
func (c *conn) ScriptRunDone(ctx context.Context, id int64, claim string, at time.Time, outcome string, log []string) error {
	res, err := c.exec(ctx, "ScriptRunDone", c.d.TimeArg(at), outcome, strings.Join(log, "\n"), id, claim)
	if err != nil {
		return err
	}
	return affected(res)
}
