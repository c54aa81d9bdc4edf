package core

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"usher"
	"usher/store"
)

// scriptsTTL is how long the enabled server scripts are kept in memory
// before they are read again, at the most: any write this process commits,
// or hears another replica commit (the store's change count), ends the
// keeping, so a script added, changed or turned off on one replica runs,
// or stops running, on the others as soon as they hear of it. The TTL is
// the safety net for a notice that never came.
const scriptsTTL = 2 * time.Second

// compiledScript is an enabled, valid server script with its program.
type compiledScript struct {
	script *usher.Script
	prog   *goja.Program
}

// scriptCache keeps the enabled server scripts that compile, by trigger,
// each compiled once per version.
type scriptCache struct {
	mu        sync.Mutex
	gen       uint64 // grows with this process's changes to scripts
	loaded    uint64 // gen when byTrigger was read
	changes   uint64 // the store's change count before byTrigger was read
	expires   time.Time
	byTrigger map[usher.Trigger][]*compiledScript
	byID      map[int64]*compiledScript
}

// changed makes the next look-up read the scripts again.
func (c *scriptCache) changed() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// of returns the scripts that run on t, by id.
func (c *scriptCache) of(ctx context.Context, e *env, t usher.Trigger) ([]*compiledScript, error) {
	changes, now := e.store.Changes(), time.Now()
	c.mu.Lock()
	if c.byTrigger != nil && c.loaded == c.gen && c.changes == changes && now.Before(c.expires) {
		list := c.byTrigger[t]
		c.mu.Unlock()
		return list, nil
	}
	gen := c.gen
	c.mu.Unlock()
	no := false
	page, err := e.store.ScriptList(ctx, usher.ScriptFilter{Kind: usher.ScriptServer, EnabledOnly: true, Invalid: &no})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	byTrigger, byID := map[usher.Trigger][]*compiledScript{}, map[int64]*compiledScript{}
	for _, sc := range page.Items {
		cs := c.byID[sc.ID]
		if cs == nil || cs.script.Version != sc.Version {
			prog, err := compileScript(sc.Name, sc.Source)
			if err != nil {
				continue // changed since it was stored as valid
			}
			cs = &compiledScript{script: sc, prog: prog}
		}
		byID[sc.ID] = cs
		for _, tr := range sc.Triggers {
			byTrigger[tr] = append(byTrigger[tr], cs)
		}
	}
	c.byTrigger, c.byID, c.loaded, c.changes, c.expires = byTrigger, byID, gen, changes, now.Add(scriptsTTL)
	return byTrigger[t], nil
}

// program returns sc's program, compiled once per version.
func (c *scriptCache) program(sc *usher.Script) (*goja.Program, error) {
	c.mu.Lock()
	cs := c.byID[sc.ID]
	c.mu.Unlock()
	if cs != nil && cs.script.Version == sc.Version {
		return cs.prog, nil
	}
	return compileScript(sc.Name, sc.Source)
}

// subject is a resource as scripts see it: a plain object of its fields,
// the fields a "before" script may change, each with how the change gets
// back to the resource, and the check the changed resource must pass.
type subject struct {
	kind   string // user, group, application or auth
	id     int64  // 0 before it is created
	role   bool   // a group of kind role: role triggers fire too
	fields map[string]any
	set    map[string]func(v any) bool // false when v is of the wrong type
	check  func() error
}

// ref is the subject's reference, "user:42"; "" before it has an id.
func (s *subject) ref() string {
	if s.id == 0 {
		return ""
	}
	return s.kind + ":" + strconv.FormatInt(s.id, 10)
}

// readOnly is s with no field a script may change.
func readOnly(s *subject) *subject {
	s.set = map[string]func(any) bool{}
	return s
}

// setString returns a setter of a text field.
func setString(p *string) func(any) bool {
	return func(v any) bool {
		s, ok := v.(string)
		if ok {
			*p = s
		}
		return ok
	}
}

// userSubject is a user as scripts see it. A script may change the names,
// handle, bio, location and metadata.
func userSubject(u *usher.User) *subject {
	handle, was := u.Handle, *u
	meta := map[string]any{}
	for k, v := range u.Metadata {
		meta[k] = v
	}
	return &subject{kind: "user", id: u.ID,
		fields: map[string]any{"id": u.ID, "uuid": u.UUID, "username": u.Username, "email": u.Email, "name": u.Name,
			"first_name": u.FirstName, "last_name": u.LastName, "display_name": u.DisplayName, "handle": u.Handle,
			"bio": u.Bio, "location": u.Location, "language": u.Language, "state": string(u.State), "kind": string(u.Kind),
			"admin": u.Admin, "metadata": meta},
		set: map[string]func(any) bool{"name": setString(&u.Name), "first_name": setString(&u.FirstName),
			"last_name": setString(&u.LastName), "display_name": setString(&u.DisplayName), "handle": setString(&u.Handle),
			"bio": setString(&u.Bio), "location": setString(&u.Location),
			"metadata": func(v any) bool {
				m, ok := v.(map[string]any)
				out := make(map[string]string, len(m))
				for k, x := range m {
					s, isText := x.(string)
					if !isText {
						return false
					}
					out[k] = s
				}
				if ok {
					u.Metadata = out
				}
				return ok
			}},
		check: func() error {
			var c checker
			c.user(u, &was)
			if u.Handle != handle && u.Handle != "" {
				// A handle a script sets passes what a client's does.
				c.handle(u.Handle)
			}
			return c.err()
		}}
}

// signupSubject is a sign-up as scripts see it, before the account
// exists. A script may change the name.
func signupSubject(in *usher.Signup) *subject {
	return &subject{kind: "auth",
		fields: map[string]any{"username": in.Username, "email": in.Email, "name": in.Name},
		set:    map[string]func(any) bool{"name": setString(&in.Name)}}
}

// groupSubject is a group as scripts see it. A script may change the name
// and description.
func (e *env) groupSubject(gr *usher.Group) *subject {
	was := *gr
	return &subject{kind: "group", id: gr.ID, role: gr.Kind == usher.GroupRole,
		fields: map[string]any{"id": gr.ID, "kind": string(gr.Kind), "handle": gr.Handle, "name": gr.Name,
			"description": gr.Description, "organisation_id": gr.OrganisationID},
		set:   map[string]func(any) bool{"name": setString(&gr.Name), "description": setString(&gr.Description)},
		check: func() error { return (&Groups{e}).checkGroup(gr, &was) }}
}

// appSubject is an application as scripts see it. A script may change the
// name and the launcher's name.
func appSubject(a *usher.Application) *subject {
	was := *a
	return &subject{kind: "application", id: a.ID,
		fields: map[string]any{"id": a.ID, "name": a.Name, "owner_id": a.OwnerID, "enabled": a.Enabled,
			"unify_name": a.Unify.Name, "unify_url": a.Unify.URL, "unify_listed": a.Unify.Listed},
		set:   map[string]func(any) bool{"name": setString(&a.Name), "unify_name": setString(&a.Unify.Name)},
		check: func() error { return checkApp(a, &was) }}
}

// fire runs the scripts of t on s within tx: a "before" trigger's scripts
// run now, in id order, each seeing the changes of the ones before; an
// "after" trigger's are queued, to run once after tx commits (RunDue). For
// a role, the role trigger's scripts follow the group trigger's. A
// refusal, a failure or a change to a field scripts may not change is
// returned, and the caller's transaction is then to be rolled back.
func (e *env) fire(ctx context.Context, tx store.Tx, t usher.Trigger, s *subject) error {
	triggers := []usher.Trigger{t}
	if s.role {
		_, event, _ := strings.Cut(string(t), ".")
		triggers = append(triggers, usher.Trigger("role."+event))
	}
	changed := false
	for _, tr := range triggers {
		list, err := e.scripts.of(ctx, e, tr)
		if err != nil {
			return err
		}
		for _, cs := range list {
			if tr.After() {
				if err := e.queueRun(ctx, tx, cs.script, tr, s); err != nil {
					return err
				}
				continue
			}
			writable := map[string]bool{}
			for k := range s.set {
				writable[k] = true
			}
			res, err := e.runScript(ctx, cs.prog, scriptCall{name: cs.script.Name, trigger: tr, resource: s.ref(),
				subject: s.fields, writable: writable})
			if err != nil {
				return err
			}
			for _, k := range res.changed {
				if !s.set[k](res.subject[k]) {
					return errScriptField(cs.script.Name, k)
				}
				s.fields[k] = res.subject[k]
				changed = true
			}
			if err := e.applyRun(ctx, tx, cs.script.Name, res); err != nil {
				return err
			}
		}
	}
	if changed && s.check != nil {
		return s.check()
	}
	return nil
}

// fireAlone is fire in a transaction of its own, opened only when a script
// runs on t: for operations that write nothing of their own before they
// succeed (a log-in).
func (e *env) fireAlone(ctx context.Context, t usher.Trigger, s *subject) error {
	list, err := e.scripts.of(ctx, e, t)
	if err != nil || len(list) == 0 {
		return err
	}
	err = e.store.InTx(ctx, func(tx store.Tx) error { return e.fire(ctx, tx, t, s) })
	if err == nil {
		e.mailQueued()
	}
	return err
}

// applyRun queues the mails a run asked for within tx and logs its lines.
func (e *env) applyRun(ctx context.Context, tx store.Tx, name string, res *scriptResult) error {
	for _, line := range res.log {
		e.log.InfoContext(ctx, "script", "script", name, "log", line)
	}
	for _, m := range res.mails {
		if err := e.queueMail(ctx, tx, &usher.Mail{Kind: "script", To: m.to, Subject: m.subject}, m.body); err != nil {
			return err
		}
	}
	return nil
}

// queueRun queues an "after" run of sc on s within tx.
func (e *env) queueRun(ctx context.Context, tx store.Tx, sc *usher.Script, t usher.Trigger, s *subject) error {
	data, err := json.Marshal(s.fields)
	if err != nil {
		return err
	}
	return tx.ScriptRunAdd(ctx, &usher.ScriptRun{ScriptID: sc.ID, Script: sc.Name, Trigger: t, Resource: s.ref(),
		Subject: data, ActorID: usher.PrincipalFrom(ctx).UserID(), CreatedAt: e.now()})
}
