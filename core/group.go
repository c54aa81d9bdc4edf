package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
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

// checkGroup checks a group's fields as it is about to be stored; was is
// the group as stored before the change, nil for a new one (see
// checker.listedName).
func (g *Groups) checkGroup(gr, was *usher.Group) error {
	var c checker
	if was != nil {
		c.kept = map[string]string{"name": was.Name}
	}
	c.handle(gr.Handle)
	c.listedName("name", gr.Name, maxName, false)
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

// load finds a group — by id, kind and handle, or Text (readGroupRef) — and
// the caller's membership of it. A group the caller
// may never see (sightOf), and a deleted one for all but administrators, is
// not found.
func (g *Groups) load(ctx context.Context, tx store.Tx, ref usher.GroupRef) (*access, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	ref, err := readGroupRef(ref)
	if err != nil {
		return nil, err
	}
	if ref.ID == 0 && ref.Kind == "" && ref.Handle != "" {
		if ref, err = soleGroup(ctx, tx, p, ref.Handle); err != nil {
			return nil, err
		}
	}
	if ref.ID == 0 && (!ref.Kind.Valid() || noSuchKey(ref.Handle, 200)) {
		return nil, errGroupNotFound()
	}
	gr, err := tx.GroupGet(ctx, ref.ID, ref.Kind, ref.Handle)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errGroupNotFound()
	}
	if err != nil {
		return nil, err
	}
	if sightOf(p, gr.Kind) == sightNone || (gr.Deleted() && !p.IsAdmin()) || (ref.Kind != "" && gr.Kind != ref.Kind) {
		// A reference that names a kind finds only a group of it: a
		// product that knows only roles (Corteza's) is not handed a team
		// by its id.
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

// hold loads the group ref names, as load does, then holds its row and
// loads it again, for a write: what the write decides on (the group still
// there, the caller's membership and rights, its members and service
// accounts) is then as it is once no other write can change it. Of two
// writes to one group the later sees what the earlier did: a merge or a
// deletion that ended the group (404), a member removed, whose rights no
// longer count, a service account made, which counts. Where a write takes
// several groups, it holds them in id order (lockGroups) and loads each
// again instead.
func (g *Groups) hold(ctx context.Context, tx store.Tx, ref usher.GroupRef) (*access, error) {
	a, err := g.load(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if err := lockGroup(ctx, tx, a.group.ID); err != nil {
		return nil, err
	}
	return g.load(ctx, tx, usher.GroupRef{ID: a.group.ID})
}

// keptAsDeleted refuses a change to a deleted group's members, rules or
// service accounts, from administrators too: a deleted group is kept as it
// was deleted, for its restoring, which comes first.
func keptAsDeleted(gr *usher.Group) error {
	if gr.Deleted() {
		return errGroupNotFound()
	}
	return nil
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
	if err := e.decideGroup(ctx, act, a); err != nil {
		return err
	}
	if act != actGroupRead && a.group.Kind == usher.GroupInternal {
		// An internal group's name and members are what services trust
		// (Escape's access list) and outlast the credential: its holder
		// would give a place, for good, to an account they log in as, as
		// a role's (checkGivingBound) — by its members, or by freeing its
		// name (a rename, a deletion) for a team of theirs.
		if err := refuseBounded(a.p, "an internal group — its name, its members — which services trust and which outlasts it"); err != nil {
			return err
		}
	}
	if act == actGroupMembers && a.group.Kind.CarriesRules() {
		// Putting someone in a role gives them its allows, and taking
		// them out its denies: whoever manages its members holds both, as
		// whoever changes its rules does (authorizeWidening; on
		// applications, authorizeGrant), with a credential that may give
		// them (checkGivingBound; administrators pass the rest).
		rules, err := e.store.RuleList(ctx, a.group.ID)
		if err != nil {
			return err
		}
		return e.authorizeGivingOf(ctx, a, rules, rules)
	}
	return nil
}

// decideGroup is authorizeGroup without what a role's rules ask of whoever
// changes its members: the decision on the action alone, by the rules and
// the caller's default.
func (e *env) decideGroup(ctx context.Context, act action, a *access) error {
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

// authorizeLeave decides whether the caller, a member of a's group, leaves
// it on their own, without group.members: anyone leaves a group, but
// leaving a role lifts its denies from the caller, which needs what
// taking them out would (authorizeWidening, authorizeGrant) of each deny
// — else a member of a role an administrator made to deny them an
// operation would lift it by leaving. Archiving or deleting the role
// lifts them from every member at once, and asks the same (authorizeSwitch).
// Leaving is a write: a token whose scopes allow no changes does not leave.
func (e *env) authorizeLeave(ctx context.Context, a *access) error {
	if err := precheck(a.p, actGroupMembers, nil); err != nil {
		return err
	}
	if !a.group.Kind.CarriesRules() {
		return nil
	}
	rules, err := e.store.RuleList(ctx, a.group.ID)
	if err != nil {
		return err
	}
	var denies []usher.Rule
	for _, r := range rules {
		if r.Access == usher.Deny {
			denies = append(denies, r)
		}
	}
	return e.authorizeGivingOf(ctx, a, denies, denies)
}

// authorizeSwitch decides, besides group.update or group.delete, whether
// the caller switches the rules of a's group off (archiving or deleting
// it: an archived or deleted role's rules stop applying) or on again
// (unarchiving or undeleting it). Switching them off lifts the role's
// denies from all its members, as their leaving would, so it asks what
// leaving asks (authorizeLeave), and takes its allows away, as removing
// them would (reachChanged); switching them on gives its allows, as
// setting its rules on a role without any would (authorizeGiving). Else a
// member who may change a role archives the one that denies them an
// operation, or unarchives one an administrator switched off that
// gives them instance_settings.manage.
func (e *env) authorizeSwitch(ctx context.Context, a *access, on bool) error {
	if !a.group.Kind.CarriesRules() {
		return nil
	}
	if !on {
		if err := e.authorizeLeave(ctx, a); err != nil {
			return err
		}
	}
	rules, err := e.store.RuleList(ctx, a.group.ID)
	if err != nil {
		return err
	}
	if !on {
		// Its allows go from every member too, as taking them away does.
		return e.authorizeGivingOf(ctx, a, rules, reachChanged(rules, nil, true))
	}
	return e.authorizeGivingOf(ctx, a, rules, reachChanged(nil, rules, false))
}

// teamsRefused says why u may make no team — its plan does not allow it,
// or, what GitLab's users API sets and GitLab keeps, can_create_group is
// off or the account is external — or nil when it may.
func (e *env) teamsRefused(ctx context.Context, tx store.Tx, u *usher.User) error {
	plan, err := e.plan(ctx, tx, u)
	if err != nil {
		return err
	}
	if plan != nil && !plan.CanCreateTeam {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodePlanForbidsTeams,
			Message: "The user is not allowed to create teams, because their plan does not allow it."}
	}
	if !u.GitLab.CanCreateGroup || u.External {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeCannotCreateTeams,
			Message: "The user is not allowed to create teams: an administrator turned can_create_group off, or made the account external."}
	}
	return nil
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

// createsKind refuses a caller who may create no group of kind k at all:
// internal groups are made by usher and administrators.
func createsKind(p *usher.Principal, k usher.GroupKind) error {
	if !p.IsAdmin() && sightOf(p, k) == sightNone {
		return errForbidden("internal groups are made by usher and administrators")
	}
	return nil
}

// errServiceAccountTeams refuses a team to a service account: its team's
// owners act for a team, and a team of its own would outlive that team
// and its maker, beyond their plan and their limits.
func errServiceAccountTeams() error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeServiceAccountTeams,
		Message: "a service account makes no teams: its team's owners do"}
}

// MayCreate says whether ctx's caller may create a group of the kind, as
// Create decides it before it reads the group's fields: an administrator
// any kind; another caller a team (a kind with owners) unless a rule
// denies group.create, their plan or account forbids teams, or they are a
// service account; a role or a plain group only where a rule allows
// group.create; an internal group never. How many teams the caller owns
// already is Create's to count.
//
// Errors: Unauthenticated, Forbidden (the caller may not), Unprocessable
// (an unknown kind).
func (g *Groups) MayCreate(ctx context.Context, kind usher.GroupKind) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupCreate, nil); err != nil {
		return err
	}
	if !kind.Valid() {
		return usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeInvalid, Message: "must be team, role, group or internal"})
	}
	if err := createsKind(p, kind); err != nil || p.IsAdmin() {
		return err
	}
	owned := kind.Owned() && p.User != nil
	if owned && p.User.Kind == usher.KindServiceAccount {
		return errServiceAccountTeams()
	}
	if err := g.decide(ctx, p, actGroupCreate, "", owned); err != nil || !owned {
		return err
	}
	u, err := g.store.UserGet(ctx, usher.UserKey{ID: p.UserID()})
	if err != nil {
		return err
	}
	return g.teamsRefused(ctx, g.store, u)
}

// Create creates a group. The creator of a team (a kind with owners)
// becomes its owner. Teams may be created by anyone whose plan allows it
// (everyone, while no plan is defined); other kinds by administrators or a
// rule allowing group.create; internal groups, which no one else sees, by
// administrators only. With in.Members, the users are put in the group in
// the same transaction, as AddMember would put them (see addMembers).
//
// Errors: Unauthenticated, Forbidden (code plan_forbids_teams when the
// plan refuses; the caller may not manage the new group's members; a
// service account of another team), Unprocessable (a field breaks a rule;
// a member id that is no live user the caller sees), Conflict (the handle
// is taken in its kind, or, for a team or an internal group, by a group of
// the other of the two kinds, or for all but administrators by a deleted
// team or internal group: see sharedHandle; limit_reached when a
// caller who is no administrator owns maxTeamsPerUser teams, counting
// deleted ones until they are purged),
// NotFound (no such organisation).
func (g *Groups) Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupCreate, nil); err != nil {
		return nil, err
	}
	if !in.Kind.Valid() {
		return nil, usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeInvalid, Message: "must be team, role, group or internal"})
	}
	if err := createsKind(p, in.Kind); err != nil {
		return nil, err
	}
	now := g.now()
	gr := &usher.Group{Kind: in.Kind, Handle: in.Handle, Name: in.Name, Description: in.Description, Logo: in.Logo,
		OrganisationID: in.OrganisationID, CreatedAt: now, UpdatedAt: now, Version: 1}
	if gr.Name == "" {
		gr.Name = gr.Handle
	}
	if err := g.checkGroup(gr, nil); err != nil {
		return nil, err
	}
	members, err := checkMemberIDs(in.Members)
	if err != nil {
		return nil, err
	}
	err = g.store.InTx(ctx, func(tx store.Tx) error {
		// The handle first, before the maker's row and its members':
		// of two creations of one handle, the later waits here holding
		// nothing, where holding its maker's row it deadlocked with the
		// earlier placing that maker as a member.
		if sharedKind(gr.Kind) != "" {
			if err := tx.GroupHandleLock(ctx, gr.Handle); err != nil {
				return err
			}
		}
		// Then the rows of its maker and of its members who are people,
		// in id order: a membership's row takes a share lock on its
		// member's, and the maker's count holds the maker's, so two
		// people making teams that name each other at once each held
		// their own and waited for the other's. A service account's row
		// is taken after its owners' wherever it is taken (a mint, an
		// end of its tokens), so not here: its membership's share lock
		// reaches it, as before. An id that is no account is refused
		// below, as a field of the request.
		if err := lockPeople(ctx, tx, append(slices.Clone(members), p.UserID())); err != nil {
			return err
		}
		switch {
		case p.IsAdmin():
		case in.Kind.Owned() && p.User != nil:
			if p.User.Kind == usher.KindServiceAccount {
				return errServiceAccountTeams()
			}
			if err := g.decide(ctx, p, actGroupCreate, "", true); err != nil {
				return err
			}
			u, err := tx.UserGet(ctx, usher.UserKey{ID: p.UserID()})
			if err != nil {
				return err
			}
			if err := g.teamsRefused(ctx, tx, u); err != nil {
				return err
			}
			if err := checkTeamRoom(ctx, tx, u.ID); err != nil {
				return err
			}
		default:
			if err := g.decide(ctx, p, actGroupCreate, "", false); err != nil {
				return err
			}
		}
		if in.OrganisationID != 0 {
			if named, err := g.orgNamed(ctx, tx, p, in.OrganisationID); err != nil || !named {
				return cmp.Or(err, errOrgNotFound())
			}
			// As a move into it (Move): nothing is asked of the
			// organisation by default, but a rule denying the caller
			// organisation.update on it refuses.
			if err := g.decide(ctx, p, actOrgUpdate, strconv.FormatInt(in.OrganisationID, 10), true); err != nil {
				return err
			}
		}
		if err := g.fire(ctx, tx, usher.TriggerGroupBeforeCreate, g.groupSubject(gr)); err != nil {
			return err
		}
		if err := sharedHandle(ctx, tx, gr); err != nil {
			return err
		}
		if err := tx.GroupCreate(ctx, gr); err != nil {
			return err
		}
		if p.User != nil {
			// Its maker answers for it once deleted (checkTeamRoom).
			if err := tx.GroupMakerSet(ctx, gr.ID, p.UserID()); err != nil {
				return err
			}
		}
		a := &access{p: p, group: gr}
		if in.Kind.Owned() && p.User != nil {
			a.mem = &usher.Membership{GroupID: gr.ID, UserID: p.UserID(), Level: usher.LevelOwner, CreatedAt: now}
			if err := tx.MembershipSet(ctx, *a.mem); err != nil {
				return err
			}
			gr.Members = 1
		}
		if err := g.record(ctx, tx, now, event{action: "group.create", resourceType: "group", resourceID: strconv.FormatInt(gr.ID, 10),
			changes: map[string]usher.Change{"kind": {New: string(gr.Kind)}, "handle": {New: gr.Handle}, "name": {New: gr.Name}}}); err != nil {
			return err
		}
		if err := g.fire(ctx, tx, usher.TriggerGroupAfterCreate, g.groupSubject(gr)); err != nil {
			return err
		}
		return g.addMembers(ctx, tx, a, members, now)
	})
	if err != nil {
		return nil, groupWriteError(err)
	}
	g.rules.changed()
	return g.groupShown(ctx, usher.PrincipalFrom(ctx), gr)
}

// groupWriteError names a taken handle.
func groupWriteError(err error) error {
	var e *usher.Error
	if errors.Is(err, usher.ErrExists) && !errors.As(err, &e) {
		return errHandleTaken(err)
	}
	return err
}

// errHandleTaken is the Conflict of a group handle that is taken. Its
// words are the same whichever group holds the handle — one of the
// kind, a team or an internal group sharing it, a deleted one — since
// the caller may see none of them: else renaming one's own team over and
// over told which internal groups exist and which teams were deleted.
func errHandleTaken(err error) error {
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeHandleTaken,
		Message: "the handle is taken: teams and internal groups share their handles, and keep them once deleted but for administrators",
		Fields:  []usher.FieldError{{Field: "handle", Code: usher.CodeTaken, Message: "has already been taken"}}, Err: err}
}

// sharedKind returns the kind whose handles share one namespace with those
// of kind k, or "" when k's handles are unique within k alone. Teams and
// internal groups share one: Escape names both by bare handle, in one list
// (its ACL look-up), so a team of an internal group's handle would pass
// for it.
func sharedKind(k usher.GroupKind) usher.GroupKind {
	switch k {
	case usher.GroupTeam:
		return usher.GroupInternal
	case usher.GroupInternal:
		return usher.GroupTeam
	}
	return ""
}

// sharedHandle refuses, within the transaction that sets gr's handle, a
// handle that a live group of gr's shared kind (sharedKind) holds. The
// store's unique index holds a handle once within a kind only, so the
// transaction holds the handle first (GroupHandleLock): of two setting
// it at once, a team's and an internal group's, the later waits for the
// earlier and then sees its group. A transaction that took the lock
// before (Create takes it first of all) holds it once.
//
// For all but administrators, a deleted team or internal group holds its
// handle too (the unique index frees it): services trust the name, so
// whoever took it after an administrator deleted an internal group
// would be reported in it, and the group could not come back. An
// administrator may reuse such a handle deliberately, with a credential
// neither scopes nor an expiry bound.
func sharedHandle(ctx context.Context, tx store.Tx, gr *usher.Group) error {
	other := sharedKind(gr.Kind)
	if other == "" {
		return nil
	}
	if err := tx.GroupHandleLock(ctx, gr.Handle); err != nil {
		return err
	}
	o, err := tx.GroupGet(ctx, 0, other, gr.Handle)
	switch {
	case err == nil && o.ID != gr.ID && !o.Deleted():
		return errHandleTaken(usher.ErrExists)
	case err != nil && !errors.Is(err, usher.ErrNotFound):
		return err
	}
	// An administrator may reuse a deleted group's handle, with a
	// credential whose reach outlasts it: a bounded one would give the
	// name services trusted to a group of its holder's.
	if p := usher.PrincipalFrom(ctx); p.IsAdmin() && refuseBounded(p, "") == nil {
		return nil
	}
	// Two rows at most: one of them may be gr itself, being undeleted.
	deleted, err := tx.GroupList(ctx, usher.GroupFilter{Kinds: []usher.GroupKind{gr.Kind, other}, Handle: gr.Handle,
		Deleted: usher.Only, Page: usher.PageRequest{Limit: 2}})
	if err != nil {
		return fmt.Errorf("deleted groups of handle %q: %w", gr.Handle, err)
	}
	for _, d := range deleted.Items {
		if d.ID != gr.ID {
			return errHandleTaken(usher.ErrExists)
		}
	}
	return nil
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
	gr, err := g.groupShown(ctx, a.p, a.group)
	return gr, level, err
}

// List returns groups matching f that the caller may see: administrators
// see all; others see roles and plain groups, and the teams they belong to.
// Groups are in f.Sort's order (by id when empty) and the cursor is a
// group's Cursor under it. An administrator's list is the store's; another
// caller's offset and total are as filtered pages them.
//
// Errors: Unauthenticated, Forbidden (also: the member filter names a
// user a rule hides from the caller), NotFound (it names no live user;
// the organisation filter names one the caller may not read:
// checkOrgFilter), Invalid (a bad kind, query, sort, cursor or offset).
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
	for _, t := range []struct{ name, v string }{{"q", f.Query}, {"handle", f.Handle}} {
		if err := filterText(t.name, t.v); err != nil {
			return nil, err
		}
	}
	if err := checkFilterIDs(f.IDs); err != nil {
		return nil, err
	}
	req, err := g.sortedPage(f.Sort, usher.GroupSorts, f.Page)
	if err != nil {
		return nil, err
	}
	if err := g.checkOrgFilter(ctx, p, f.OrganisationID); err != nil {
		return nil, err
	}
	if p.IsAdmin() {
		f.Page = req
		return g.store.GroupList(ctx, f)
	}
	if f.MemberID != 0 && f.MemberID != p.UserID() {
		// The groups of a member are the member's, shown as UserGroups
		// shows them: only of a user the caller may read (not one a
		// rule hides, nor one deleted).
		u, err := findUser(ctx, g.store, p, usher.UserKey{ID: f.MemberID}, liveOnly)
		if err != nil {
			return nil, err
		}
		if err := g.authorize(ctx, actUserRead, u); err != nil {
			return nil, err
		}
	}
	key := func(gr *usher.Group) usher.Cursor { return gr.Cursor(f.Sort) }
	f.Deleted = usher.Exclude
	if f.Kinds = kindsSeen(p, f.Kinds); len(f.Kinds) == 0 {
		page := cut([]*usher.Group{}, req.Limit, key)
		if req.WithTotal {
			page.Total = 0
		}
		return page, nil
	}
	rules, err := g.rules.of(ctx, g.env, p.UserID())
	if err != nil {
		return nil, err
	}
	mine, err := g.memberOf(ctx, p)
	if err != nil {
		return nil, err
	}
	// The store reads the groups the caller may see by default or by a
	// rule, not every group: a caller in few of many teams would
	// otherwise make a list read the whole table, a page at a time. What
	// a rule denies is left out after the store's page is read.
	f.Sight = groupSight(p, f.Kinds, rules)
	read := func(page usher.PageRequest) (*usher.Page[*usher.Group], error) {
		f.Page = page
		return g.store.GroupList(ctx, f)
	}
	keep := func(gr *usher.Group) (*usher.Group, bool, error) {
		// As Get decides: a rule first, then a team's members.
		if !seesGroup(p, gr.Kind, mine[gr.ID], evaluate(rules, actGroupRead, strconv.FormatInt(gr.ID, 10))) {
			return gr, false, nil
		}
		gr, err := g.groupShown(ctx, p, gr)
		return gr, true, err
	}
	return filtered(req, read, keep, key)
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
	return g.groupShown(ctx, usher.PrincipalFrom(ctx), out)
}

// changeIn is change within tx, for changes that go with another: the
// caller commits, and forgets the cached rules after.
func (g *Groups) changeIn(ctx context.Context, tx store.Tx, ref usher.GroupRef, act action, auditAction string,
	fn func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error)) (*usher.Group, error) {
	a, err := g.hold(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if err := g.authorizeGroup(ctx, act, a); err != nil {
		return nil, err
	}
	// One a rule keeps from reading the group changes nothing of it: the
	// answer is the group (an empty change answered it all the same).
	if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
		return nil, err
	}
	var changes map[string]usher.Change
	now := g.now()
	out, err := tx.GroupUpdate(ctx, a.group.ID, func(gr *usher.Group) error {
		if err := stale("group", gr.Version, ref.IfVersion); err != nil {
			return err
		}
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

// Update changes a group's handle, name, description or logo and, with
// in.Members, sets its members (setMembers), all in one transaction: a
// refused member leaves the group as it was. With ref.IfVersion set it
// happens only if the group is still at that version.
//
// Errors: Unauthenticated, Forbidden (also a member change the caller may
// not make; a team's handle changed by whoever may not delete the team,
// see authorizeHandleChange), NotFound, Unprocessable (also a member id that is no live
// user the caller sees), Conflict (the handle is taken, as for Create; the
// last owner of a team), Precondition.
func (g *Groups) Update(ctx context.Context, ref usher.GroupRef, in usher.GroupUpdate) (*usher.Group, error) {
	members, err := memberIDs(in.Members)
	if err != nil {
		return nil, err
	}
	var out *usher.Group
	err = g.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if out, err = g.changeIn(ctx, tx, ref, actGroupUpdate, "group.update", g.updateFields(ctx, in)); err != nil {
			return err
		}
		if in.Members == nil {
			return nil
		}
		if err := keptAsDeleted(out); err != nil {
			return err
		}
		return g.setMembers(ctx, tx, usher.GroupRef{ID: out.ID}, members)
	})
	if err != nil {
		return nil, groupWriteError(err)
	}
	g.rules.changed()
	return g.groupShown(ctx, usher.PrincipalFrom(ctx), out)
}

// updateFields is the change of Update to a group's own fields.
func (g *Groups) updateFields(ctx context.Context, in usher.GroupUpdate) func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
	return func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		old := *gr
		for _, f := range []struct {
			dst *string
			src *string
		}{{&gr.Handle, in.Handle}, {&gr.Name, in.Name}, {&gr.Description, in.Description}, {&gr.Logo, in.Logo}} {
			if f.src != nil {
				*f.dst = *f.src
			}
		}
		if err := g.fire(ctx, tx, usher.TriggerGroupBeforeUpdate, g.groupSubject(gr)); err != nil {
			return nil, err
		}
		if err := g.checkGroup(gr, &old); err != nil {
			return nil, err
		}
		if gr.Handle != old.Handle {
			if err := g.authorizeHandleChange(ctx, a); err != nil {
				return nil, err
			}
			// A deleted team's or internal group's handle is kept from a
			// bounded credential (sharedHandle); a rename frees it as
			// much.
			if sharedKind(gr.Kind) != "" && !strings.EqualFold(gr.Handle, old.Handle) {
				if err := refuseBounded(a.p, "the handle of a team or internal group, which services trust by it: a rename frees it for another group to take"); err != nil {
					return nil, err
				}
			}
			if err := sharedHandle(ctx, tx, gr); err != nil {
				return nil, err
			}
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
		if len(changes) == 0 {
			return nil, nil
		}
		return changes, g.fire(ctx, tx, usher.TriggerGroupAfterUpdate, g.groupSubject(gr))
	}
}

// authorizeHandleChange decides, besides group.update, whether the caller
// changes the handle of a's group where services trust that handle as its
// name (a team's or an internal group's, see sharedKind): that needs what
// deleting the group does (its owners, by default), since renaming frees
// the name as deleting did. Else a team's writer renamed it and made a
// team of the old name, owning the name its members were trusted by.
func (g *Groups) authorizeHandleChange(ctx context.Context, a *access) error {
	if sharedKind(a.group.Kind) == "" {
		return nil
	}
	err := g.decideGroup(ctx, actGroupDelete, a)
	if usher.ErrorKind(err) == usher.KindForbidden {
		return errForbidden("changing a team's handle needs what deleting the team does: services trust it as the team's name")
	}
	return err
}

// SetArchived archives or unarchives a group. An archived role's rules stop
// applying, so switching them off or on asks what they take or give
// (authorizeSwitch).
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
		if err := g.authorizeSwitch(ctx, a, !archived); err != nil {
			return nil, err
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

// Delete soft-deletes a group; Undelete restores it. A deleted role's rules
// stop applying, as an archived one's do (authorizeSwitch).
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (undelete: the
// handle was taken meanwhile, in the group's kind or, for a team or an
// internal group, by a group of the other of the two kinds; or the group is
// not deleted).
func (g *Groups) Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupDelete, "group.delete", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if gr.ArchivedAt == nil { // an archived role's rules are off already
			if err := g.authorizeSwitch(ctx, a, false); err != nil {
				return nil, err
			}
		}
		if err := g.fire(ctx, tx, usher.TriggerGroupBeforeDelete, readOnly(g.groupSubject(gr))); err != nil {
			return nil, err
		}
		changes, err := g.markDeleted(ctx, tx, a, gr)
		if err != nil {
			return nil, err
		}
		return changes, g.fire(ctx, tx, usher.TriggerGroupAfterDelete, g.groupSubject(gr))
	})
}

// markDeleted is the change that deletes a group, with a team's service
// accounts (deleteServiceAccounts).
func (g *Groups) markDeleted(ctx context.Context, tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
	if gr.Deleted() {
		return nil, errGroupNotFound()
	}
	now := g.now()
	if err := g.deleteServiceAccounts(ctx, tx, gr, now); err != nil {
		return nil, err
	}
	gr.DeletedAt = &now
	return map[string]usher.Change{"deleted_at": {New: now}}, nil
}

// deleteIn deletes the groups within tx, each as Delete does: the caller
// must be allowed to delete each, and each deletion is recorded. The
// caller commits, and forgets the cached rules after.
func (g *Groups) deleteIn(ctx context.Context, tx store.Tx, groups []*usher.Group) error {
	markDeleted := func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		return g.markDeleted(ctx, tx, a, gr)
	}
	if err := lockServiceAccounts(ctx, tx, groups); err != nil {
		return err
	}
	for _, gr := range groups {
		if _, err := g.changeIn(ctx, tx, usher.GroupRef{ID: gr.ID}, actGroupDelete, "group.delete", markDeleted); err != nil {
			return err
		}
	}
	return nil
}

// Undelete restores a deleted group (administrators only: others do not see
// deleted groups). A team's service accounts deleted with it stay deleted:
// an administrator restores each (Users.Undelete), without its tokens.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict.
func (g *Groups) Undelete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupDelete, "group.undelete", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if !gr.Deleted() {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeGroupNotDeleted, Message: "the group is not deleted"}
		}
		if err := orgLive(ctx, tx, gr.OrganisationID, "group"); err != nil {
			return nil, err
		}
		if gr.ArchivedAt == nil { // an archived role's rules stay off
			if err := g.authorizeSwitch(ctx, a, true); err != nil {
				return nil, err
			}
		}
		old := *gr.DeletedAt
		gr.DeletedAt = nil
		if err := sharedHandle(ctx, tx, gr); err != nil {
			return nil, err
		}
		// Its service accounts stayed deleted with it, but their
		// memberships stayed too: each restored while it was deleted
		// counted in no live team, and comes back with it.
		accounts, err := serviceAccountsOf(ctx, tx, gr)
		if err != nil {
			return nil, err
		}
		if n := len(accounts); n > maxServiceAccountsPerTeam {
			return nil, errLimit("the team would hold " + strconv.Itoa(n) + " service accounts, more than the " +
				strconv.Itoa(maxServiceAccountsPerTeam) + " it may: delete some first")
		}
		// Its service accounts' tokens ended with the deletion; any they
		// hold now were minted meanwhile by whoever could mint for them
		// without this team, whose rights they would come back with.
		if err := g.endServiceAccountTokens(ctx, tx, gr, "team_restored", g.now()); err != nil {
			return nil, err
		}
		return map[string]usher.Change{"deleted_at": {Old: old}}, nil
	})
}

// Move moves a group to another organisation (0: none). Taking a group
// out of its organisation needs organisation.update on it besides
// group.update: it lifts what the organisation guards (a merge of its
// groups needs that right, see authorizeMerge). Putting a group in one
// needs nothing of it by default (a team's writer files their team), but
// a rule denying the caller organisation.update on it refuses, as it
// refuses every other change to that organisation.
//
// Errors: Unauthenticated, Forbidden, NotFound (the group or the
// organisation).
func (g *Groups) Move(ctx context.Context, ref usher.GroupRef, orgID int64) (*usher.Group, error) {
	return g.change(ctx, ref, actGroupUpdate, "group.move", func(tx store.Tx, a *access, gr *usher.Group) (map[string]usher.Change, error) {
		if orgID != 0 {
			if named, err := g.orgNamed(ctx, tx, a.p, orgID); err != nil || !named {
				return nil, cmp.Or(err, errOrgNotFound())
			}
		}
		// Where the caller sees the group: in none when a rule hides its
		// organisation from them, so a move to none changes nothing.
		if cur, err := g.orgShown(ctx, a.p, gr.OrganisationID); err != nil || cur == orgID {
			return nil, err
		}
		if err := g.authorizeOrgMove(ctx, a.p, gr.OrganisationID, orgID); err != nil {
			return nil, err
		}
		old := gr.OrganisationID
		gr.OrganisationID = orgID
		return map[string]usher.Change{"organisation_id": {Old: old, New: orgID}}, nil
	})
}
