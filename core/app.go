package core

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// Applications manages the applications registered with the service.
//
// The default policy, which permission rules on "application" and
// "application:<id>" override (deny over allow): administrators may do
// everything; any signed-in caller reads an application that is listed,
// enabled and not deleted; its owner reads, changes, deletes and undeletes
// it; creating one takes an administrator or a rule allowing
// application.create, and application.grant an administrator or a rule.
type Applications struct{ *env }

// Bounds of an application's presentation.
const (
	maxAppConfig  = 16 << 10 // bytes of the free-form configuration
	maxAppAddress = 2048     // characters of an icon, logo or url
	maxAppOrder   = 1_000_000
)

func errAppNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeApplicationNotFound, Message: "application not found"}
}

// appOwner reports whether p owns a.
func appOwner(p *usher.Principal, a *usher.Application) bool {
	return a.OwnerID != 0 && p.UserID() == a.OwnerID
}

// appDefault is the built-in verdict on act for a, when no rule decides.
func appDefault(p *usher.Principal, act action, a *usher.Application) bool {
	switch act {
	case actAppRead:
		return appOwner(p, a) || (a.DeletedAt == nil && a.Enabled && a.Unify.Listed)
	case actAppUpdate, actAppDelete:
		return appOwner(p, a)
	}
	return false
}

// authorizeApp decides whether ctx's principal may do act on a; it is
// the one place decisions on applications are made.
//
// Errors: Unauthenticated, Forbidden.
func (e *env) authorizeApp(ctx context.Context, act action, a *usher.Application) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return err
	}
	return e.decide(ctx, p, act, strconv.FormatInt(a.ID, 10), appDefault(p, act, a))
}

// authorizeGrant is the rule for application.grant: a change to a role's
// rules that sets, changes or removes a rule reaching an application —
// on "application", "application:<id>" or "*" — needs application.grant
// on what it reaches: the type for "application" and "*", the one
// application for "application:<id>". Administrators pass; no default
// allows it. changed lists the rules set or removed, not those left as
// they were.
//
// Errors: Unauthenticated, Forbidden.
func (e *env) authorizeGrant(ctx context.Context, changed []usher.Rule) error {
	p := usher.PrincipalFrom(ctx)
	var mine []usher.Rule
	for _, r := range changed {
		typ, instance, _ := strings.Cut(r.Resource, ":")
		if typ != actAppGrant.resource() && typ != "*" {
			continue
		}
		if err := precheck(p, actAppGrant, nil); err != nil {
			return err
		}
		// A rule on every application reaches each one, the ones a rule
		// of the caller's names too: a verdict on the type leaves those
		// rules out (evaluate), so each is asked as well, as
		// authorizeWidening asks of users.
		instances := []string{instance}
		if instance == "" && !p.IsAdmin() {
			if mine == nil {
				var err error
				if mine, err = e.rules.of(ctx, e, p.UserID()); err != nil {
					return err
				}
			}
			instances = namedInstances(actAppGrant.resource(), mine)
		}
		for _, inst := range instances {
			if err := e.decide(ctx, p, actAppGrant, inst, false); err != nil {
				if usher.ErrorKind(err) != usher.KindForbidden {
					return err
				}
				reach := ""
				if inst != instance {
					reach = ", application:" + inst + " among them"
				}
				return errForbidden("a rule on " + r.Resource + " needs application.grant on what it reaches" + reach)
			}
		}
	}
	return nil
}

// authorizeHandOver decides whether the caller makes to the owner of a.
// The owner holds read, update, delete and undelete by default, whatever
// the rules, and is beyond the reach of whoever may not hand the
// application on (ownsBeyond), so naming one gives rights as a rule
// would: it takes application.grant on the application (administrators
// pass; no default allows it), whoever the caller is — its owner too, who
// would otherwise take a colleague out of a helpdesk's reach by handing
// them an application made for it. Else whoever a rule allows
// application.update would name themselves and keep the application once
// the rule is gone.
//
// An application not yet registered (a.ID 0) is handed on at its making:
// its maker owns it freely; another owner takes application.grant on
// every application, since application.create alone must not decide it.
// A credential bounded by scopes or an expiry names no owner, as it gives
// no role's rules (checkGivingBound): the owner's rights outlast it.
//
// Errors: Unauthenticated, Forbidden.
func (e *env) authorizeHandOver(ctx context.Context, a *usher.Application, to int64) error {
	p := usher.PrincipalFrom(ctx)
	if a.ID == 0 && to == p.UserID() {
		return nil
	}
	if err := precheck(p, actAppGrant, nil); err != nil {
		return err
	}
	if to != 0 {
		if err := refuseBounded(p, "an application's owner, whose rights outlast it"); err != nil {
			return err
		}
	}
	instance := ""
	if a.ID != 0 {
		instance = strconv.FormatInt(a.ID, 10)
	}
	err := e.decide(ctx, p, actAppGrant, instance, false)
	switch {
	case usher.ErrorKind(err) != usher.KindForbidden:
		return err
	case a.ID == 0:
		return errForbidden("registering an application for another owner takes application.grant")
	}
	return errForbidden("changing an application's owner takes application.grant on it")
}

// changedRules returns the rules of set that differ from have, and, with
// replace, the rules of have that set leaves out.
func changedRules(have, set []usher.Rule, replace bool) []usher.Rule {
	type key struct{ resource, operation string }
	old := make(map[key]usher.Access, len(have))
	for _, r := range have {
		old[key{r.Resource, r.Operation}] = r.Access
	}
	var out []usher.Rule
	kept := make(map[key]bool, len(set))
	for _, r := range set {
		k := key{r.Resource, r.Operation}
		kept[k] = true
		if a, ok := old[k]; !ok || a != r.Access {
			out = append(out, r)
		}
	}
	if replace {
		for _, r := range have {
			if !kept[key{r.Resource, r.Operation}] {
				out = append(out, r)
			}
		}
	}
	return out
}

// may is authorizeApp as a verdict: false where it refuses, an error only
// when the decision could not be made.
func (e *env) may(ctx context.Context, act action, a *usher.Application) (bool, error) {
	err := e.authorizeApp(ctx, act, a)
	if err == nil {
		return true, nil
	}
	switch usher.ErrorKind(err) {
	case usher.KindForbidden, usher.KindUnauthenticated:
		return false, nil
	}
	return false, err
}

// Allowed tells what ctx's principal may do on a: the operations of the
// "application" resource that the rules and the default policy allow.
//
// Errors: only when the rules cannot be read.
func (s *Applications) Allowed(ctx context.Context, a *usher.Application) (usher.ApplicationOps, error) {
	var ops usher.ApplicationOps
	for _, o := range []struct {
		act action
		to  *bool
	}{{actAppRead, &ops.Read}, {actAppUpdate, &ops.Update}, {actAppDelete, &ops.Delete}, {actAppGrant, &ops.Grant}} {
		ok, err := s.may(ctx, o.act, a)
		if err != nil {
			return ops, err
		}
		*o.to = ok
	}
	return ops, nil
}

// allowed pairs a with what the caller may do on it.
func (s *Applications) allowed(ctx context.Context, a *usher.Application) (*usher.AllowedApplication, error) {
	ops, err := s.Allowed(ctx, a)
	if err != nil {
		return nil, err
	}
	return &usher.AllowedApplication{Application: a, Ops: ops}, nil
}

// checkApp validates an application; was is the application as stored
// before the change, nil for a new one (see checker.listedName).
func checkApp(a, was *usher.Application) error {
	var c checker
	if was != nil {
		c.kept = map[string]string{"name": was.Name, "unify.name": was.Unify.Name}
	}
	c.listedName("name", a.Name, maxName, true)
	c.listedName("unify.name", a.Unify.Name, maxName, false)
	for _, f := range []struct{ field, v string }{{"unify.icon", a.Unify.Icon}, {"unify.logo", a.Unify.Logo}, {"unify.url", a.Unify.URL}} {
		c.text(f.field, f.v, maxAppAddress, false)
		c.url(f.field, f.v)
	}
	switch cfg := a.Unify.Config; {
	case len(cfg) > maxAppConfig:
		c.add("unify.config", usher.CodeTooLarge, "is larger than %d bytes", maxAppConfig)
	case !storableJSON([]byte(cfg)) || !bytes.HasPrefix(bytes.TrimLeft([]byte(cfg), " \t\r\n"), []byte("{")):
		c.add("unify.config", usher.CodeInvalid, "must be a JSON object")
	}
	if a.Unify.Order < -maxAppOrder || a.Unify.Order > maxAppOrder {
		c.add("unify.order", usher.CodeInvalid, "must be between %d and %d", -maxAppOrder, maxAppOrder)
	}
	return c.err()
}

// checkOwner refuses an owner that is no live user the caller may read:
// one a rule hides from it is no user to it, else the answer would tell
// that the account exists, and hand it an application besides.
func (e *env) checkOwner(ctx context.Context, tx store.Tx, id int64) error {
	u, err := tx.UserGet(ctx, usher.UserKey{ID: id})
	if err == nil && u.DeletedAt == nil {
		err = e.seen(ctx, u)
	}
	if errors.Is(err, usher.ErrNotFound) || (err == nil && u.DeletedAt != nil) {
		return usher.FieldErrors(usher.FieldError{Field: "owner_id", Code: usher.CodeUnknown, Message: "names no user"})
	}
	return err
}

// Create registers an application, owned by in.OwnerID or else by the
// caller. Administrators may, or whom a rule allows application.create;
// an owner other than the caller takes application.grant besides
// (authorizeHandOver).
//
// Errors: Unauthenticated, Forbidden, Unprocessable (a bad field, an owner
// who is no user).
func (s *Applications) Create(ctx context.Context, in usher.ApplicationCreate) (*usher.AllowedApplication, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actAppCreate, nil); err != nil {
		return nil, err
	}
	if err := s.decide(ctx, p, actAppCreate, "", false); err != nil {
		return nil, err
	}
	now := s.now()
	a := &usher.Application{Name: in.Name, OwnerID: in.OwnerID, Enabled: in.Enabled, Unify: in.Unify, CreatedAt: now, UpdatedAt: now}
	if a.OwnerID == 0 {
		a.OwnerID = p.UserID()
	}
	if a.Unify.Config == "" {
		a.Unify.Config = "{}"
	}
	if err := checkApp(a, nil); err != nil {
		return nil, err
	}
	if err := s.authorizeHandOver(ctx, a, a.OwnerID); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkOwner(ctx, tx, a.OwnerID); err != nil {
			return err
		}
		if err := s.fire(ctx, tx, usher.TriggerAppBeforeCreate, appSubject(a)); err != nil {
			return err
		}
		if err := tx.AppCreate(ctx, a); err != nil {
			return err
		}
		if err := s.fire(ctx, tx, usher.TriggerAppAfterCreate, appSubject(a)); err != nil {
			return err
		}
		return s.record(ctx, tx, now, event{action: "application.create", resourceType: "application",
			resourceID: strconv.FormatInt(a.ID, 10), changes: map[string]usher.Change{
				"name": {New: a.Name}, "owner_id": {New: a.OwnerID}, "enabled": {New: a.Enabled}}})
	})
	if err != nil {
		return nil, err
	}
	return s.allowed(ctx, a)
}

// Get returns an application the caller may read.
//
// Errors: Unauthenticated, Forbidden (a token that may not read),
// NotFound (no such application, or one the caller may not see).
func (s *Applications) Get(ctx context.Context, id int64) (*usher.AllowedApplication, error) {
	if err := precheck(usher.PrincipalFrom(ctx), actAppRead, nil); err != nil {
		return nil, err
	}
	a, err := s.store.AppGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errAppNotFound()
	}
	if err != nil {
		return nil, err
	}
	out, err := s.allowed(ctx, a)
	if err != nil {
		return nil, err
	}
	if !out.Ops.Read {
		return nil, errAppNotFound()
	}
	return out, nil
}

// List returns a page of the applications f selects that the caller may
// read, in f.Sort's order (by id when empty); the cursor is an
// application's Cursor under it. An offset and a total are as filtered
// pages them.
//
// Errors: Unauthenticated, Forbidden (a token that may not read), Invalid
// (a bad sort, cursor or offset, a name or query filterText refuses).
func (s *Applications) List(ctx context.Context, f usher.ApplicationFilter) (*usher.Page[*usher.AllowedApplication], error) {
	if err := precheck(usher.PrincipalFrom(ctx), actAppRead, nil); err != nil {
		return nil, err
	}
	for _, t := range []struct{ name, v string }{{"name", f.Name}, {"query", f.Query}} {
		if err := filterText(t.name, t.v); err != nil {
			return nil, err
		}
	}
	req, err := s.sortedPage(f.Sort, usher.ApplicationSorts, f.Page)
	if err != nil {
		return nil, err
	}
	// The store returns the rows; the core keeps those the caller may read.
	read := func(page usher.PageRequest) (*usher.Page[*usher.Application], error) {
		f.Page = page
		return s.store.AppList(ctx, f)
	}
	keep := func(a *usher.Application) (*usher.AllowedApplication, bool, error) {
		v, err := s.allowed(ctx, a)
		if err != nil {
			return nil, false, err
		}
		return v, v.Ops.Read, nil
	}
	return filtered(req, read, keep, func(a *usher.AllowedApplication) usher.Cursor { return a.Cursor(f.Sort) })
}

// change reads an application the caller may see, checks act on it, lets
// fn change it and writes it back with an audit event, in one transaction;
// an unchanged application is written without an event.
func (s *Applications) change(ctx context.Context, id int64, act action, verb string,
	fn func(tx store.Tx, a *usher.Application, changes map[string]usher.Change) error) (*usher.AllowedApplication, error) {
	// Refused before the lookup, a caller who may not act at all learns
	// nothing of which applications exist.
	if err := precheck(usher.PrincipalFrom(ctx), act, nil); err != nil {
		return nil, err
	}
	var out *usher.Application
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		changes := map[string]usher.Change{}
		now := s.now()
		var err error
		out, err = tx.AppUpdate(ctx, id, func(a *usher.Application) error {
			if ok, err := s.may(ctx, actAppRead, a); err != nil || !ok {
				if err == nil {
					err = errAppNotFound()
				}
				return err
			}
			if err := s.authorizeApp(ctx, act, a); err != nil {
				return err
			}
			was := *a
			if err := fn(tx, a, changes); err != nil {
				return err
			}
			if err := checkApp(a, &was); err != nil {
				return err
			}
			if len(changes) > 0 {
				a.UpdatedAt = now
			}
			return nil
		})
		if errors.Is(err, usher.ErrNotFound) {
			return errAppNotFound()
		}
		if err != nil || len(changes) == 0 {
			return err
		}
		return s.record(ctx, tx, now, event{action: "application." + verb, resourceType: "application",
			resourceID: strconv.FormatInt(id, 10), changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return s.allowed(ctx, out)
}

// set assigns v to *to, noting the change under field.
func set[T comparable](changes map[string]usher.Change, field string, to *T, v *T) {
	if v != nil && *v != *to {
		changes[field] = usher.Change{Old: *to, New: *v}
		*to = *v
	}
}

// Update changes an application; nil fields are left alone. The owner, or
// whom a rule allows application.update, may; a change of owner besides
// needs application.grant on it, its owner's too (authorizeHandOver).
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a bad field,
// an owner who is no user).
func (s *Applications) Update(ctx context.Context, id int64, in usher.ApplicationUpdate) (*usher.AllowedApplication, error) {
	return s.change(ctx, id, actAppUpdate, "update", func(tx store.Tx, a *usher.Application, changes map[string]usher.Change) error {
		if in.OwnerID != nil && *in.OwnerID != a.OwnerID {
			if err := s.authorizeHandOver(ctx, a, *in.OwnerID); err != nil {
				return err
			}
			if err := s.checkOwner(ctx, tx, *in.OwnerID); err != nil {
				return err
			}
		}
		set(changes, "name", &a.Name, in.Name)
		set(changes, "owner_id", &a.OwnerID, in.OwnerID)
		set(changes, "enabled", &a.Enabled, in.Enabled)
		if u := in.Unify; u != nil {
			set(changes, "unify.name", &a.Unify.Name, u.Name)
			set(changes, "unify.listed", &a.Unify.Listed, u.Listed)
			set(changes, "unify.icon", &a.Unify.Icon, u.Icon)
			set(changes, "unify.logo", &a.Unify.Logo, u.Logo)
			set(changes, "unify.url", &a.Unify.URL, u.URL)
			set(changes, "unify.order", &a.Unify.Order, u.Order)
			if u.Config != nil && *u.Config != a.Unify.Config {
				// The configuration may be large: the log keeps its sizes.
				changes["unify.config"] = usher.Change{Old: len(a.Unify.Config), New: len(*u.Config)}
				a.Unify.Config = *u.Config
			}
		}
		if len(changes) == 0 {
			return nil
		}
		if err := s.fire(ctx, tx, usher.TriggerAppBeforeUpdate, appSubject(a)); err != nil {
			return err
		}
		return s.fire(ctx, tx, usher.TriggerAppAfterUpdate, appSubject(a))
	})
}

// Delete deletes an application softly; Undelete restores it. The owner,
// or whom a rule allows application.delete, may. Either is a no-op on an
// application already in that state.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Applications) Delete(ctx context.Context, id int64) (*usher.AllowedApplication, error) {
	return s.setDeleted(ctx, id, true)
}

// Undelete restores a deleted application; see Delete.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Applications) Undelete(ctx context.Context, id int64) (*usher.AllowedApplication, error) {
	return s.setDeleted(ctx, id, false)
}

func (s *Applications) setDeleted(ctx context.Context, id int64, deleted bool) (*usher.AllowedApplication, error) {
	verb := "delete"
	if !deleted {
		verb = "undelete"
	}
	return s.change(ctx, id, actAppDelete, verb, func(tx store.Tx, a *usher.Application, changes map[string]usher.Change) error {
		if deleted == (a.DeletedAt != nil) {
			return nil
		}
		a.DeletedAt = nil
		if deleted {
			now := s.now()
			a.DeletedAt = &now
		}
		changes["deleted"] = usher.Change{Old: !deleted, New: deleted}
		if !deleted {
			return nil
		}
		if err := s.fire(ctx, tx, usher.TriggerAppBeforeDelete, readOnly(appSubject(a))); err != nil {
			return err
		}
		return s.fire(ctx, tx, usher.TriggerAppAfterDelete, appSubject(a))
	})
}
