package core

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// Groups manages teams, roles, plain groups and internal groups, their
// members and, for roles, their permission rules.
type Groups struct{ *env }

func errGroupNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeGroupNotFound, Message: "group not found"}
}

func (g *Groups) checkGroup(gr *usher.Group) error {
	var c checker
	c.handle(gr.Handle)
	c.name("name", gr.Name, maxName, false)
	c.text("description", gr.Description, 1000, false)
	c.text("logo", gr.Logo, 2000, false)
	c.url("logo", gr.Logo)
	return c.err()
}

// access is what the calling principal may do with a group, with its
// membership (nil when not a member).
type access struct {
	p     *usher.Principal
	group *usher.Group
	mem   *usher.Membership
}

// load finds a group and the caller's membership of it. A group the caller
// may never see (sightOf), and a deleted one for all but administrators, is
// not found.
func (g *Groups) load(ctx context.Context, tx store.Tx, ref usher.GroupRef) (*access, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	if ref.ID == 0 && (!ref.Kind.Valid() || ref.Handle == "" || len(ref.Handle) > 200) {
		return nil, errGroupNotFound()
	}
	gr, err := tx.GroupGet(ctx, ref.ID, ref.Kind, ref.Handle)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errGroupNotFound()
	}
	if err != nil {
		return nil, err
	}
	if sightOf(p, gr.Kind) == sightNone || (gr.Deleted() && !p.IsAdmin()) {
		return nil, errGroupNotFound()
	}
	a := &access{p: p, group: gr}
	if p.UserID() != 0 {
		m, err := tx.MembershipGet(ctx, gr.ID, p.UserID())
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return nil, err
		}
		a.mem = m
	}
	return a, nil
}

// holds reports whether the caller holds level l or a higher one in the
// group, where its kind gives l at all (usher.GroupKind.Levels).
func (a *access) holds(l usher.Level) bool {
	return a.mem != nil && a.group.Kind.Gives(l) && a.mem.Level.Rank() >= l.Rank()
}

// authorizeGroup decides act on a group for the caller: administrators may
// do everything; the rules of the caller's roles decide next (deny over
// allow, on "group" or "group:<id>"); then the built-in defaults: who sees
// it is sightOf's rule (a team's members; anyone signed in for roles and
// plain groups); in a kind that gives the levels (teams), its writers
// change it and its owners manage its members, service accounts and
// deletion; everything else is for administrators.
func (e *env) authorizeGroup(ctx context.Context, act action, a *access) error {
	if err := precheck(a.p, act, nil); err != nil {
		return err
	}
	byDefault := false
	switch act {
	case actGroupRead:
		byDefault = sightOf(a.p, a.group.Kind).byDefault(a.mem != nil)
	case actGroupUpdate:
		byDefault = a.holds(usher.LevelWrite)
	case actGroupDelete, actGroupMembers, actServiceAccount:
		byDefault = a.holds(usher.LevelOwner)
	}
	return e.decide(ctx, a.p, act, strconv.FormatInt(a.group.ID, 10), byDefault)
}

// plan returns the plan that decides what u may create: theirs, or the
// default one; nil when no plan is defined at all.
func (e *env) plan(ctx context.Context, tx store.Tx, u *usher.User) (*usher.Plan, error) {
	p, err := tx.PlanGet(ctx, u.Plan)
	if errors.Is(err, usher.ErrNotFound) && u.Plan != "" {
		p, err = tx.PlanGet(ctx, "")
	}
	if errors.Is(err, usher.ErrNotFound) {
		plans, lerr := tx.PlanList(ctx)
		if lerr != nil {
			return nil, lerr
		}
		if len(plans) == 0 {
			return nil, nil
		}
		return &usher.Plan{Name: "(none)"}, nil
	}
	return p, err
}

// Create creates a group. The creator of a team (a kind with owners)
// becomes its owner. Teams may be created by anyone whose plan allows it
// (everyone, while no plan is defined); other kinds by administrators or a
// rule allowing group.create; internal groups, which no one else sees, by
// administrators only.
//
// Errors: Unauthenticated, Forbidden (code plan_forbids_teams when the
// plan refuses), Unprocessable, Conflict (the handle is taken in its kind),
// NotFound (no such organisation).
func (g *Groups) Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupCreate, nil); err != nil {
		return nil, err
	}
	if !in.Kind.Valid() {
		return nil, usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeInvalid, Message: "must be team, role, group or internal"})
	}
	now := g.now()
	gr := &usher.Group{Kind: in.Kind, Handle: in.Handle, Name: in.Name, Description: in.Description, Logo: in.Logo,
		OrganisationID: in.OrganisationID, CreatedAt: now, UpdatedAt: now, Version: 1}
	if gr.Name == "" {
		gr.Name = gr.Handle
	}
	if err := g.checkGroup(gr); err != nil {
		return nil, err
	}
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		switch {
		case p.IsAdmin():
		case sightOf(p, in.Kind) == sightNone:
			return errForbidden("internal groups are made by usher and administrators")
		case in.Kind.Owned() && p.User != nil:
			if err := g.decide(ctx, p, actGroupCreate, "", true); err != nil {
				return err
			}
			u, err := tx.UserGet(ctx, usher.UserKey{ID: p.UserID()})
			if err != nil {
				return err
			}
			plan, err := g.plan(ctx, tx, u)
			if err != nil {
				return err
			}
			if plan != nil && !plan.CanCreateTeam {
				return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodePlanForbidsTeams,
					Message: "The user is not allowed to create teams, because their plan does not allow it."}
			}
		default:
			if err := g.decide(ctx, p, actGroupCreate, "", false); err != nil {
				return err
			}
		}
		if in.OrganisationID != 0 {
			if o, err := tx.OrgGet(ctx, in.OrganisationID, ""); err != nil || o.DeletedAt != nil {
				return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeOrganisationNotFound, Message: "organisation not found"}
			}
		}
		if err := tx.GroupCreate(ctx, gr); err != nil {
			return err
		}
		if in.Kind.Owned() && p.User != nil {
			if err := tx.MembershipSet(ctx, usher.Membership{GroupID: gr.ID, UserID: p.UserID(), Level: usher.LevelOwner, CreatedAt: now}); err != nil {
				return err
			}
			gr.Members = 1
		}
		return g.record(ctx, tx, now, event{action: "group.create", resourceType: "group", resourceID: strconv.FormatInt(gr.ID, 10),
			changes: map[string]usher.Change{"kind": {New: string(gr.Kind)}, "handle": {New: gr.Handle}, "name": {New: gr.Name}}})
	})
	if err != nil {
		return nil, groupWriteError(err)
	}
	g.rules.changed()
	return gr, nil
}

// groupWriteError names a taken handle.
func groupWriteError(err error) error {
	if errors.Is(err, usher.ErrExists) {
		return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeHandleTaken, Message: "a group of this kind already has the handle",
			Fields: []usher.FieldError{{Field: "handle", Code: usher.CodeTaken, Message: "has already been taken"}}, Err: err}
	}
	return err
}

// Get returns a group and the caller's level in it ("" when not a member).
//
// Errors: Unauthenticated, Forbidden (a team the caller may not see),
// NotFound (also an internal group, for all but administrators).
func (g *Groups) Get(ctx context.Context, ref usher.GroupRef) (*usher.Group, usher.Level, error) {
	a, err := g.load(ctx, g.store, ref)
	if err != nil {
		return nil, "", err
	}
	if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
		return nil, "", err
	}
	level := usher.Level("")
	if a.mem != nil {
		level = a.mem.Level
	}
	return a.group, level, nil
}

// List returns groups matching f that the caller may see: administrators
// see all; others see roles and plain groups, and the teams they belong to.
// Groups are ordered by id, the cursor is a group's id, and the list does
// not count (Total is -1).
//
// Errors: Unauthenticated, Forbidden, Invalid.
func (g *Groups) List(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupRead, nil); err != nil {
		return nil, err
	}
	for _, k := range f.Kinds {
		if !k.Valid() {
			return nil, invalid("kind", "must be team, role, group or internal")
		}
	}
	if err := filterText("q", f.Query); err != nil {
		return nil, err
	}
	req, err := g.idPage(f.Page)
	if err != nil {
		return nil, err
	}
	// One group more than the page is read, to learn whether another
	// page follows.
	f.Page = usher.PageRequest{After: req.After, Limit: req.Limit + 1}
	key := func(gr *usher.Group) usher.Cursor { return usher.Cursor{ID: gr.ID} }
	if p.IsAdmin() {
		gs, err := g.store.GroupList(ctx, f)
		if err != nil {
			return nil, err
		}
		return cut(gs, req.Limit, key), nil
	}
	f.Deleted = usher.Exclude
	if f.Kinds = kindsSeen(p, f.Kinds); len(f.Kinds) == 0 {
		return cut([]*usher.Group{}, req.Limit, key), nil
	}
	rules, err := g.rules.of(ctx, g.env, p.UserID())
	if err != nil {
		return nil, err
	}
	mine, err := g.memberOf(ctx, p)
	if err != nil {
		return nil, err
	}
	// Teams the caller may not see are left out after the store's page is
	// read, so a page is read on until it is full or the groups run out: a
	// short page means the end.
	out := make([]*usher.Group, 0, f.Page.Limit)
	for {
		page, err := g.store.GroupList(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, gr := range page {
			if len(out) == f.Page.Limit {
				return cut(out, req.Limit, key), nil
			}
			// As Get decides: a rule first, then a team's members.
			if !seesGroup(p, gr.Kind, mine[gr.ID], evaluate(rules, actGroupRead, strconv.FormatInt(gr.ID, 10))) {
				continue
			}
			out = append(out, gr)
		}
		if len(page) < f.Page.Limit || len(out) == f.Page.Limit {
			return cut(out, req.Limit, key), nil
		}
		f.Page.After = &usher.Cursor{ID: page[len(page)-1].ID}
	}
}

// change runs one read-modify-write of a group.
func (g *Groups) change(ctx context.Context, ref usher.GroupRef, act action, auditAction string,
	fn func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error)) (*usher.Group, error) {
	var out *usher.Group
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = g.changeIn(ctx, tx, ref, act, auditAction, fn)
		return err
	})
	if err != nil {
		return nil, groupWriteError(err)
	}
	g.rules.changed()
	return out, nil
}

// changeIn is change within tx, for changes that go with another: the
// caller commits, and forgets the cached rules after.
func (g *Groups) changeIn(ctx context.Context, tx store.Tx, ref usher.GroupRef, act action, auditAction string,
	fn func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error)) (*usher.Group, error) {
	a, err := g.load(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if err := g.authorizeGroup(ctx, act, a); err != nil {
		return nil, err
	}
	var changes map[string]usher.Change
	now := g.now()
	out, err := tx.GroupUpdate(ctx, a.group.ID, func(gr *usher.Group) error {
		var err error
		if changes, err = fn(tx, a, gr); err != nil {
			return err
		}
		if len(changes) == 0 {
			return errNoChange
		}
		gr.UpdatedAt = now
		return nil
	})
	if errors.Is(err, errNoChange) {
		return a.group, nil
	}
	if err != nil {
		return nil, err
	}
	return out, g.record(ctx, tx, now, event{action: auditAction, resourceType: "group",
		resourceID: strconv.FormatInt(out.ID, 10), changes: changes})
}

// Update changes a group's handle, name, description or logo.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, Conflict,
// Precondition.
func (g *Groups) Update(ctx context.Context, ref usher.GroupRef, in usher.GroupUpdate) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupUpdate, "group.update", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if in.IfVersion != nil && *in.IfVersion != gr.Version {
			return nil, &usher.Error{Kind: usher.KindPrecondition, Code: usher.CodeVersionMismatch,
				Message: fmt.Sprintf("the group is at version %d, not %d", gr.Version, *in.IfVersion)}
		}
		old := *gr
		for _, f := range []struct {
			dst *string
			src *string
		}{{&gr.Handle, in.Handle}, {&gr.Name, in.Name}, {&gr.Description, in.Description}, {&gr.Logo, in.Logo}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if err := g.checkGroup(gr); err != nil {
			return nil, err
		}
		changes := map[string]usher.Change{}
		for _, f := range []struct{ name, o, n string }{
			{"handle", old.Handle, gr.Handle}, {"name", old.Name, gr.Name},
			{"description", old.Description, gr.Description}, {"logo", old.Logo, gr.Logo},
		} {
			if f.o != f.n {
				changes[f.name] = usher.Change{Old: f.o, New: f.n}
			}
		}
		return changes, nil
	})
}

// SetArchived archives or unarchives a group. An archived role's rules stop
// applying.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (g *Groups) SetArchived(ctx context.Context, ref usher.GroupRef, archived bool) (*usher.Group, error) {
	act := "group.unarchive"
	if archived {
		act = "group.archive"
	}
	return g.change(ctx, ref, actGroupUpdate, act, func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if (gr.ArchivedAt != nil) == archived {
			return nil, nil
		}
		if archived {
			now := g.now()
			gr.ArchivedAt = &now
		} else {
			gr.ArchivedAt = nil
		}
		return map[string]usher.Change{"archived": {Old: !archived, New: archived}}, nil
	})
}

// Delete soft-deletes a group; Undelete restores it.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (undelete: the
// handle was taken meanwhile, or the group is not deleted).
func (g *Groups) Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupDelete, "group.delete", g.markDeleted)
}

// markDeleted is the change that deletes a group.
func (g *Groups) markDeleted(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
	if gr.Deleted() {
		return nil, errGroupNotFound()
	}
	now := g.now()
	gr.DeletedAt = &now
	return map[string]usher.Change{"deleted_at": {New: now}}, nil
}

// deleteIn deletes the groups within tx, each as Delete does: the caller
// must be allowed to delete each, and each deletion is recorded. The
// caller commits, and forgets the cached rules after.
func (g *Groups) deleteIn(ctx context.Context, tx store.Tx, groups []*usher.Group) error {
	for _, gr := range groups {
		if _, err := g.changeIn(ctx, tx, usher.GroupRef{ID: gr.ID}, actGroupDelete, "group.delete", g.markDeleted); err != nil {
			return err
		}
	}
	return nil
}

// Undelete restores a deleted group (administrators only: others do not see
// deleted groups).
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict.
func (g *Groups) Undelete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupDelete, "group.undelete", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if !gr.Deleted() {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeGroupNotDeleted, Message: "the group is not deleted"}
		}
		old := *gr.DeletedAt
		gr.DeletedAt = nil
		return map[string]usher.Change{"deleted_at": {Old: old}}, nil
	})
}

// Move moves a group to another organisation (0: none).
//
// Errors: Unauthenticated, Forbidden, NotFound (the group or the
// organisation).
func (g *Groups) Move(ctx context.Context, ref usher.GroupRef, orgID int64) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupUpdate, "group.move", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if orgID != 0 {
			if o, err := tx.OrgGet(ctx, orgID, ""); err != nil || o.DeletedAt != nil {
				return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeOrganisationNotFound, Message: "organisation not found"}
			}
		}
		if gr.OrganisationID == orgID {
			return nil, nil
		}
		old := gr.OrganisationID
		gr.OrganisationID = orgID
		return map[string]usher.Change{"organisation_id": {Old: old, New: orgID}}, nil
	})
}

// Merge moves the members and rules of the group source into target, in one
// transaction, and deletes source. A principal in both keeps the higher
// level; where both roles rule on the same operation, deny wins. Both groups
// must be of one kind, and the caller needs owner-level rights on both (see
// authorizeMerge).
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a group into
// itself, groups of different kinds).
func (g *Groups) Merge(ctx context.Context, source, target usher.GroupRef) (*usher.Group, error) {
	var out *usher.Group
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		src, err := g.load(ctx, tx, source)
		if err != nil {
			return err
		}
		dst, err := g.load(ctx, tx, target)
		if err != nil {
			return err
		}
		if err := g.authorizeMerge(ctx, src, dst); err != nil {
			return err
		}
		switch {
		case src.group.ID == dst.group.ID:
			return usher.FieldErrors(usher.FieldError{Field: "target", Code: usher.CodeSameGroup, Message: "a group cannot be merged into itself"})
		case src.group.Kind != dst.group.Kind:
			return usher.FieldErrors(usher.FieldError{Field: "target", Code: usher.CodeKindMismatch, Message: "groups of different kinds cannot be merged"})
		case src.group.Deleted() || dst.group.Deleted():
			return errGroupNotFound()
		}
		if err := mergeMembers(ctx, tx, src.group.ID, dst.group.ID); err != nil {
			return err
		}
		if err := mergeRules(ctx, tx, src.group.ID, dst.group.ID); err != nil {
			return err
		}
		now := g.now()
		if _, err := tx.GroupUpdate(ctx, src.group.ID, func(gr *usher.Group) error { gr.DeletedAt, gr.UpdatedAt = &now, now; return nil }); err != nil {
			return err
		}
		if out, err = tx.GroupUpdate(ctx, dst.group.ID, func(gr *usher.Group) error { gr.UpdatedAt = now; return nil }); err != nil {
			return err
		}
		return g.record(ctx, tx, now, event{action: "group.merge", resourceType: "group", resourceID: strconv.FormatInt(dst.group.ID, 10),
			meta: map[string]string{"source_id": strconv.FormatInt(src.group.ID, 10), "source_handle": src.group.Handle}})
	})
	if err != nil {
		return nil, err
	}
	g.rules.changed()
	return out, nil
}

// mergePage is how many memberships a merge reads at a time.
const mergePage = 500

// mergeMembers moves the members of group src into group dst; a principal
// in both keeps the higher level (usher.Level.Higher).
func mergeMembers(ctx context.Context, tx store.Tx, src, dst int64) error {
	have := map[int64]usher.Level{}
	if err := eachMember(ctx, tx, dst, func(m *usher.Membership) error { have[m.UserID] = m.Level; return nil }); err != nil {
		return err
	}
	err := eachMember(ctx, tx, src, func(m *usher.Membership) error {
		moved := usher.Membership{GroupID: dst, UserID: m.UserID, Level: m.Level, CreatedAt: m.CreatedAt}
		l, ok := have[m.UserID]
		if ok {
			moved.Level = l.Higher(m.Level)
		} else if err := placeServiceAccount(usher.PrincipalFrom(ctx), m.User); err != nil {
			// A merge would put the source's service account in the
			// target, which only an administrator does.
			return err
		}
		return tx.MembershipSet(ctx, moved)
	})
	if err != nil {
		return err
	}
	return tx.MembershipDeleteGroup(ctx, src)
}

// eachMember calls fn with every membership of the group, a page at a time.
func eachMember(ctx context.Context, tx store.Tx, groupID int64, fn func(*usher.Membership) error) error {
	for after := int64(0); ; {
		page, err := tx.GroupMembers(ctx, groupID, after, mergePage)
		if err != nil {
			return err
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(page) < mergePage {
			return nil
		}
		after = page[len(page)-1].UserID
	}
}

// mergeRules moves the rules of role src into role dst; where both rule on
// the same resource and operation, the verdicts combine (deny wins).
func mergeRules(ctx context.Context, tx store.Tx, src, dst int64) error {
	type key struct{ resource, operation string }
	dstRules, err := tx.RuleList(ctx, dst)
	if err != nil {
		return err
	}
	have := map[key]usher.Access{}
	for _, r := range dstRules {
		have[key{r.Resource, r.Operation}] = r.Access
	}
	srcRules, err := tx.RuleList(ctx, src)
	if err != nil {
		return err
	}
	for _, r := range srcRules {
		r.RoleID, r.Access = dst, r.Access.Combine(have[key{r.Resource, r.Operation}])
		if err := tx.RuleSet(ctx, r); err != nil {
			return err
		}
	}
	_, err = tx.RuleDelete(ctx, src, "", "")
	return err
}

// authorizeMerge decides whether the caller may merge src into dst. A merge
// gives src's members their level in dst (a principal in both keeps the
// higher), gives roles' members each other's rules, and deletes src, so it
// needs owner-level rights on both groups:
//
//   - on each group, whatever its owners may do: change it, delete it and
//     set its members' levels — so no one ends up in dst at a level the
//     caller could not grant there directly — and, for a role, change its
//     rules;
//   - for a group in an organisation, the right to change the organisation
//     (organisation.update);
//   - for a service account, a permission rule that allows it group.update
//     on each group: owning a team it made is not enough.
func (g *Groups) authorizeMerge(ctx context.Context, src, dst *access) error {
	for _, a := range []*access{src, dst} {
		acts := []action{actGroupUpdate, actGroupDelete, actGroupMembers}
		if a.group.Kind.CarriesRules() {
			acts = append(acts, actGroupRules)
		}
		for _, act := range acts {
			if err := g.authorizeGroup(ctx, act, a); err != nil {
				return err
			}
		}
		if a.p.Kind == usher.PrincipalServiceAccount {
			if err := g.decide(ctx, a.p, actGroupUpdate, strconv.FormatInt(a.group.ID, 10), false); err != nil {
				return errForbidden("a service account merges groups only where a permission rule allows it group.update")
			}
		}
		if a.group.OrganisationID != 0 {
			if err := g.authorize(ctx, actOrgUpdate, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Members returns a page of a group's members, ordered by user id; the
// cursor is a member's user id, and the list does not count (Total is -1).
//
// Errors: Unauthenticated, Forbidden, NotFound, Invalid (a cursor that
// names no member).
func (g *Groups) Members(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.Membership], error) {
	req, err := g.idPage(req)
	if err != nil {
		return nil, err
	}
	a, err := g.load(ctx, g.store, ref)
	if err != nil {
		return nil, err
	}
	if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
		return nil, err
	}
	ms, err := g.store.GroupMembers(ctx, a.group.ID, afterID(req), req.Limit+1)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		m.User = redact(a.p, m.User)
	}
	return cut(ms, req.Limit, func(m *usher.Membership) usher.Cursor { return usher.Cursor{ID: m.UserID} }), nil
}

// member finds a live principal to add to or remove from a group.
func (g *Groups) member(ctx context.Context, tx store.Tx, key usher.UserKey) (*usher.User, error) {
	return findUser(ctx, tx, usher.PrincipalFrom(ctx), key, liveOnly)
}

// placeServiceAccount refuses to put a service account in a group it is
// not in, unless the caller is an administrator: a service account belongs
// to the team that made it, whose owners manage it, and the owners of
// another team must not gain it by adding it to theirs.
func placeServiceAccount(p *usher.Principal, u *usher.User) error {
	if u.Kind != usher.KindServiceAccount || p.IsAdmin() {
		return nil
	}
	return errForbidden("a service account belongs to the team that made it; only an administrator adds it to another group")
}

// AddMember puts a principal in a group at a level (read for teams and
// member elsewhere when empty), or changes its level. A team keeps at least
// one owner.
//
// Errors: Unauthenticated, Forbidden, NotFound (the group or the user),
// Unprocessable (a level the kind does not give), Conflict (demoting the
// last owner).
func (g *Groups) AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error) {
	var out *usher.Membership
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.load(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
			return err
		}
		if level, err = checkLevel(a.group.Kind, level); err != nil {
			return err
		}
		u, err := g.member(ctx, tx, key)
		if err != nil {
			return err
		}
		old, err := tx.MembershipGet(ctx, a.group.ID, u.ID)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return err
		}
		if old != nil && old.Level == level {
			out = old
			return nil
		}
		if old == nil {
			if err := placeServiceAccount(usher.PrincipalFrom(ctx), u); err != nil {
				return err
			}
		}
		if old != nil && old.Level == usher.LevelOwner {
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
		}
		now := g.now()
		out = &usher.Membership{GroupID: a.group.ID, UserID: u.ID, Level: level, CreatedAt: now}
		if old != nil {
			out.CreatedAt = old.CreatedAt
		}
		if err := tx.MembershipSet(ctx, *out); err != nil {
			return err
		}
		change := usher.Change{New: string(level)}
		if old != nil {
			change.Old = string(old.Level)
		}
		return g.record(ctx, tx, now, event{action: "group.member_set", resourceType: "group", resourceID: strconv.FormatInt(a.group.ID, 10),
			changes: map[string]usher.Change{"level": change}, meta: map[string]string{"user_id": strconv.FormatInt(u.ID, 10)}})
	})
	if err != nil {
		return nil, err
	}
	g.rules.changed()
	return out, nil
}

// keepOwner refuses to take away a team's last owner.
func (g *Groups) keepOwner(ctx context.Context, tx store.Tx, gr *usher.Group, userID int64) error {
	if !gr.Kind.Owned() {
		return nil
	}
	sole, err := tx.SoleOwnerTeams(ctx, userID)
	if err != nil {
		return err
	}
	for _, t := range sole {
		if t.ID == gr.ID {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeLastOwner,
				Message: "the team would have no owner; make another member owner first"}
		}
	}
	return nil
}

// RemoveMember takes a principal out of a group. Members may leave on their
// own; a team keeps at least one owner.
//
// Errors: Unauthenticated, Forbidden, NotFound (the group, the user, or the
// membership), Conflict (the last owner).
func (g *Groups) RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error {
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.load(ctx, tx, ref)
		if err != nil {
			return err
		}
		u, err := g.member(ctx, tx, key)
		if err != nil {
			return err
		}
		if !self(a.p, u) || a.mem == nil {
			if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
				return err
			}
		}
		old, err := tx.MembershipGet(ctx, a.group.ID, u.ID)
		if errors.Is(err, usher.ErrNotFound) {
			return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeMemberNotFound, Message: "the user is not a member of the group"}
		}
		if err != nil {
			return err
		}
		if old.Level == usher.LevelOwner {
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
		}
		if err := tx.MembershipDelete(ctx, a.group.ID, u.ID); err != nil {
			return err
		}
		return g.record(ctx, tx, g.now(), event{action: "group.member_remove", resourceType: "group", resourceID: strconv.FormatInt(a.group.ID, 10),
			changes: map[string]usher.Change{"level": {Old: string(old.Level)}}, meta: map[string]string{"user_id": strconv.FormatInt(u.ID, 10)}})
	})
	if err == nil {
		g.rules.changed()
	}
	return err
}

// UserGroups returns the groups a principal belongs to, of the given kinds
// (those the caller may see when none). Users see their own; others see what they
// may see of the groups.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (g *Groups) UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	u, err := findUser(ctx, g.store, p, key, withDeleted)
	if err != nil {
		return nil, err
	}
	if err := g.authorize(ctx, actUserRead, u); err != nil {
		return nil, err
	}
	byUser, err := g.memberships(ctx, p, []*usher.User{u}, kinds)
	return byUser[u.ID], err
}

// memberships returns, by user id, the memberships of users (whom p may
// read) of groups of the kinds (those p may see when none), each with its
// group and the group's counts, in one read: p sees every group of its
// own, and of others' the groups it would see by Get (seesGroup): an
// administrator every group, others a user's roles and plain groups and the
// teams they share with it (or a rule lets them see), never internal ones.
func (e *env) memberships(ctx context.Context, p *usher.Principal, users []*usher.User, kinds []usher.GroupKind) (map[int64][]*usher.Membership, error) {
	if len(kinds) == 0 {
		kinds = kindsSeen(p, nil)
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	ms, err := e.store.MembershipsOf(ctx, ids, kinds...)
	if err != nil {
		return nil, err
	}
	mine, err := e.memberOf(ctx, p)
	if err != nil {
		return nil, err
	}
	rules, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return nil, err
	}
	out := make(map[int64][]*usher.Membership, len(users))
	for _, m := range ms {
		if m.UserID == p.UserID() || seesGroup(p, m.Group.Kind, mine[m.GroupID], evaluate(rules, actGroupRead, strconv.FormatInt(m.GroupID, 10))) {
			out[m.UserID] = append(out[m.UserID], m)
		}
	}
	return out, nil
}

// memberOf returns the groups p belongs to of the kinds p sees only as a
// member (teams; none for an administrator): what seesGroup needs to know
// of p's memberships.
func (e *env) memberOf(ctx context.Context, p *usher.Principal) (map[int64]bool, error) {
	kinds := kindsSeenAsMember(p)
	if len(kinds) == 0 {
		return nil, nil
	}
	ms, err := e.store.UserGroups(ctx, p.UserID(), kinds...)
	if err != nil {
		return nil, err
	}
	mine := make(map[int64]bool, len(ms))
	for _, m := range ms {
		mine[m.GroupID] = true
	}
	return mine, nil
}

// maxGroupChanges bounds the groups one request adds a principal to,
// removes it from or sets: each is a look-up.
const maxGroupChanges = 1000

// SetUserGroups applies a bulk change of a principal's memberships in one
// transaction and returns the principal's groups of the kind afterwards.
// Added memberships get the kind's default level.
//
// Errors: Unauthenticated, Forbidden, NotFound (the user, or a group),
// Invalid (Set with Add or Remove, a list of more than 1000 groups).
func (g *Groups) SetUserGroups(ctx context.Context, key usher.UserKey, in usher.GroupChanges) ([]*usher.Membership, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupMembers, nil); err != nil {
		return nil, err
	}
	if in.Set != nil && (len(in.Add) > 0 || len(in.Remove) > 0) {
		return nil, invalid("set_groups", "cannot be combined with add_to_groups or remove_from_groups")
	}
	for _, l := range []struct {
		field   string
		handles []string
	}{{"set_groups", in.Set}, {"add_to_groups", in.Add}, {"remove_from_groups", in.Remove}} {
		if len(l.handles) > maxGroupChanges {
			return nil, invalid(l.field, "names more than %d groups", maxGroupChanges)
		}
	}
	if !in.Kind.Valid() {
		in.Kind = usher.GroupPlain
	}
	var out []*usher.Membership
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		u, err := g.member(ctx, tx, key)
		if err != nil {
			return err
		}
		resolve := func(handles []string) (map[int64]*access, error) {
			out := map[int64]*access{}
			for _, h := range handles {
				a, err := g.load(ctx, tx, usher.GroupRef{Kind: in.Kind, Handle: h})
				if err != nil {
					if usher.ErrorKind(err) == usher.KindNotFound {
						return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeGroupNotFound, Message: "no group named " + h}
					}
					return nil, err
				}
				if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
					return nil, err
				}
				out[a.group.ID] = a
			}
			return out, nil
		}
		current, err := tx.UserGroups(ctx, u.ID, in.Kind)
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		for _, m := range current {
			have[m.GroupID] = true
		}
		add, err := resolve(append(in.Add, in.Set...))
		if err != nil {
			return err
		}
		remove, err := resolve(in.Remove)
		if err != nil {
			return err
		}
		if in.Set != nil {
			for _, m := range current {
				if _, keep := add[m.GroupID]; !keep {
					a, err := g.load(ctx, tx, usher.GroupRef{ID: m.GroupID})
					if err != nil {
						return err
					}
					if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
						return err
					}
					remove[m.GroupID] = a
				}
			}
		}
		now := g.now()
		var added, removed []string
		for id, a := range remove {
			delete(add, id) // removal wins
			if !have[id] {
				continue
			}
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
			if err := tx.MembershipDelete(ctx, id, u.ID); err != nil {
				return err
			}
			removed = append(removed, a.group.Handle)
		}
		for id, a := range add {
			if have[id] {
				continue
			}
			if err := placeServiceAccount(usher.PrincipalFrom(ctx), u); err != nil {
				return err
			}
			level, _ := checkLevel(a.group.Kind, "")
			if err := tx.MembershipSet(ctx, usher.Membership{GroupID: id, UserID: u.ID, Level: level, CreatedAt: now}); err != nil {
				return err
			}
			added = append(added, a.group.Handle)
		}
		if len(added)+len(removed) > 0 {
			err := g.record(ctx, tx, now, event{action: "user.groups_set", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
				changes: map[string]usher.Change{"groups": {Old: strings.Join(removed, ","), New: strings.Join(added, ",")}}})
			if err != nil {
				return err
			}
		}
		out, err = tx.UserGroups(ctx, u.ID, in.Kind)
		return err
	})
	if err != nil {
		return nil, err
	}
	g.rules.changed()
	return out, nil
}
