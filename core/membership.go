package core

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// Members returns a page of a group's members, ordered by user id; the
// cursor is a member's user id.
//
// Errors: Unauthenticated, Forbidden, NotFound, Invalid (a cursor that
// names no member, a bad offset).
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
	// A group's members are a list of users, decided as the user list is
	// (docs/access.md): a caller denied user.list lists no users here.
	if err := g.authorize(ctx, actUserList, nil); err != nil {
		return nil, err
	}
	page, err := g.store.GroupMembers(ctx, a.group.ID, true, req)
	if err != nil {
		return nil, err
	}
	for _, m := range page.Items {
		if m.User, err = g.redact(ctx, a.p, m.User); err != nil {
			return nil, err
		}
	}
	return page, nil
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

// placeMember is placeServiceAccount for u joining group, with the bound
// on a team's service accounts (checkTeamAccounts), which holds for an
// administrator too, however an account comes.
func placeMember(ctx context.Context, tx store.Tx, p *usher.Principal, u *usher.User, group *usher.Group) error {
	if err := placeServiceAccount(p, u); err != nil || u.Kind != usher.KindServiceAccount {
		return err
	}
	accounts, err := serviceAccountsOf(ctx, tx, group)
	if err != nil {
		return err
	}
	return checkTeamAccounts(len(accounts))
}

// raiseServiceAccount refuses to give a service account a level above
// write, unless the caller is an administrator: an owning service account
// manages the team's members, and its tokens, minted by an owner who may
// later leave, would give that owner the team back.
func raiseServiceAccount(p *usher.Principal, u *usher.User, level usher.Level) error {
	if u.Kind != usher.KindServiceAccount || p.IsAdmin() || level.Rank() <= usher.LevelWrite.Rank() {
		return nil
	}
	return errForbidden("a service account is at most a writer of its team; only an administrator makes it an owner")
}

// authorizeOwnership decides, besides group.members, whether the caller
// makes someone an owner of a's group, changes an owner's level or takes
// one out: that takes an owner of the group (administrators pass). Owning
// gives what no rule on group.members does — the group's deletion, its
// handle, its service accounts' tokens — so whoever a rule allowed
// group.members would else name themselves owner, and keep the team and
// its tokens once the rule is gone.
func (e *env) authorizeOwnership(a *access) error {
	if !a.group.Kind.Gives(usher.LevelOwner) || a.p.IsAdmin() || a.holds(usher.LevelOwner) {
		return nil
	}
	return errForbidden("only an owner of the " + string(a.group.Kind) + " makes, changes or removes its owners")
}

// checkOwnerBound refuses a credential bounded by scopes or an expiry
// that makes a team's owner of an account that may make no team
// (teamsRefused): owning one gives what its plan held it from — the
// team's members and service accounts, their tokens that may never
// expire — past the credential, as checkRaiseBound refuses a richer plan.
// An account that may make teams, as every account may where no plan is
// defined, gains nothing it could not make itself: GitLab's clients add
// a group's owners with tokens that all expire.
func (e *env) checkOwnerBound(ctx context.Context, tx store.Tx, p *usher.Principal, u *usher.User) error {
	const what = "a team's owners among accounts that may make no team, which outlast it"
	if refuseBounded(p, what) == nil || e.teamsRefused(ctx, tx, u) == nil {
		return nil
	}
	return refuseBounded(p, what)
}

// AddMember puts a principal in a group at a level (read for teams and
// member elsewhere when empty), or changes its level. A team keeps at least
// one owner; only an administrator places a service account or makes one
// an owner; an owner who stops owning a team ends its service accounts'
// tokens (endServiceAccountTokens).
//
// Errors: Unauthenticated, Forbidden, NotFound (the group or the user),
// Unprocessable (a level the kind does not give), Conflict (demoting the
// last owner).
func (g *Groups) AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error) {
	return g.addMember(ctx, ref, key, level, false)
}

// SetMemberLevel changes the level of a principal that is a member of the
// group, as AddMember does, and puts no one in: a form drawn for a member
// another has since removed changes nothing.
//
// Errors: as AddMember's, and NotFound (member_not_found) for a principal
// that is not a member.
func (g *Groups) SetMemberLevel(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error) {
	return g.addMember(ctx, ref, key, level, true)
}

// addMember is AddMember, and with membersOnly SetMemberLevel.
func (g *Groups) addMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level, membersOnly bool) (*usher.Membership, error) {
	var out *usher.Membership
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.hold(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := keptAsDeleted(a.group); err != nil {
			return err
		}
		if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
			return err
		}
		// A change of the members answers who is one (the membership as
		// it stood, a 404 for one who is none): one a rule keeps from
		// reading the group changes nothing of them, as of the group
		// (changeIn).
		if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
			return err
		}
		if level, err = checkLevel(a.group.Kind, level); err != nil {
			return err
		}
		u, err := g.member(ctx, tx, key)
		if err == nil {
			// One the caller may not read is no user to it (seen).
			if err = g.seen(ctx, u); errors.Is(err, usher.ErrNotFound) {
				err = errUserNotFound()
			}
		}
		if err != nil {
			return err
		}
		// The member's row after the group, as a change of its groups
		// takes it, and read again under it: a deletion that came first
		// leaves no account to add (the membership's insert would else
		// wait for the deletion and go in after it).
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		if u, err = g.member(ctx, tx, usher.UserKey{ID: u.ID}); err != nil {
			return err
		}
		old, err := tx.MembershipGet(ctx, a.group.ID, u.ID)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return err
		}
		if old == nil && membersOnly {
			return errNotMember()
		}
		if old != nil && old.Level == level {
			out = old
			return nil
		}
		if level == usher.LevelOwner || old != nil && old.Level == usher.LevelOwner {
			if err := g.authorizeOwnership(a); err != nil {
				return err
			}
		}
		if old == nil {
			if err := placeMember(ctx, tx, usher.PrincipalFrom(ctx), u, a.group); err != nil {
				return err
			}
		}
		if err := raiseServiceAccount(usher.PrincipalFrom(ctx), u, level); err != nil {
			return err
		}
		if level == usher.LevelOwner && a.group.Kind == usher.GroupTeam {
			if err := g.checkOwnerBound(ctx, tx, usher.PrincipalFrom(ctx), u); err != nil {
				return err
			}
		}
		if level == usher.LevelOwner && a.group.Kind == usher.GroupTeam && !usher.PrincipalFrom(ctx).IsAdmin() {
			// Handing a team over counts as making one, for the one
			// who takes it, and its service accounts as making them:
			// else the limits are passed by filling teams and giving
			// them away.
			if err := checkTeamRoom(ctx, tx, u.ID); err != nil {
				return err
			}
			accounts, err := serviceAccountsOf(ctx, tx, a.group)
			if err != nil {
				return err
			}
			if err := checkOwnedServiceAccounts(ctx, tx, u.ID, len(accounts)); err != nil {
				return err
			}
		}
		now := g.now()
		if old != nil && old.Level == usher.LevelOwner {
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
			if err := g.endServiceAccountTokens(ctx, tx, a.group, "owner_left", now); err != nil {
				return err
			}
		}
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

// JoinGroup puts a user in the group of ref's kind and handle at a level,
// as AddMember does, creating the group first, with the user in it, when
// no group of the kind has the handle: Escape's services add a user to a
// machine-managed group that is made on first use. Creating the group
// takes what Create takes (an administrator, for an internal group); a
// group another caller creates meanwhile is joined.
//
// Errors: those of AddMember and of Create (Conflict when a group of the
// kind that shares the handle's namespace holds it: see sharedHandle);
// Invalid when ref does not name a kind and a handle.
func (g *Groups) JoinGroup(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error) {
	if ref.Kind == "" || ref.Handle == "" || ref.ID != 0 {
		return nil, invalid("group", "is required")
	}
	m, err := g.AddMember(ctx, ref, key, level)
	if e := usher.AsError(err); err == nil || e.Code != usher.CodeGroupNotFound {
		return m, err
	}
	// A caller who may not make the group is refused before the user is
	// looked up, so that the answer does not tell whether it exists.
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actGroupCreate, nil); err != nil {
		return nil, err
	}
	if err := createsKind(p, ref.Kind); err != nil {
		return nil, err
	}
	u, err := g.member(ctx, g.store, key)
	if err != nil {
		return nil, err
	}
	_, cerr := g.Create(ctx, usher.GroupCreate{Kind: ref.Kind, Handle: ref.Handle, Name: ref.Handle, Members: []int64{u.ID}})
	if cerr != nil && usher.AsError(cerr).Code != usher.CodeHandleTaken {
		return nil, cerr
	}
	m, err = g.AddMember(ctx, ref, key, level)
	if cerr != nil && usher.AsError(err).Code == usher.CodeGroupNotFound {
		// The handle is taken by a group of the other kind, not by one
		// created meanwhile.
		return nil, cerr
	}
	return m, err
}

// keepOwner refuses to take away a team's last owner.
func (g *Groups) keepOwner(ctx context.Context, tx store.Tx, gr *usher.Group, userID int64) error {
	if !gr.Kind.Owned() {
		return nil
	}
	// Two owners taking each other out at once each counted two owners:
	// the team's row lock makes the second count after the first commits.
	if err := lockGroup(ctx, tx, gr.ID); err != nil {
		return err
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

// keepServiceAccount refuses to take service account u out of team gr
// when no other live team holds it: a service account belongs to its
// team, whose owners' leaving or blocking, or whose deletion, ends its
// tokens; outside every team it would outlive them all, and no owner
// could list or revoke it. It leaves by being deleted
// (DeleteServiceAccount). Only the teams the caller may read count: one
// hidden from them made the removal go through, and told them the account
// is in a team they cannot see (round 52); an administrator reads all.
func (g *Groups) keepServiceAccount(ctx context.Context, tx store.Tx, gr *usher.Group, u *usher.User) error {
	if u.Kind != usher.KindServiceAccount || !gr.Kind.HoldsServiceAccounts() {
		return nil
	}
	// The account's row, taken after the team's: of two removals from
	// its two teams at once, the later reads the earlier's.
	if err := lockUser(ctx, tx, u.ID); err != nil {
		return err
	}
	teams, err := tx.UserGroups(ctx, u.ID, usher.GroupTeam)
	if err != nil {
		return err
	}
	for _, m := range teams {
		if m.GroupID == gr.ID {
			continue
		}
		switch a, err := g.readable(ctx, tx, m.GroupID); {
		case err != nil:
			return err
		case a != nil:
			return nil
		}
	}
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeConflict,
		Message: "a service account stays in its team until it is deleted: delete it as the team's service account"}
}

// readable returns the group with the id as the caller acts on it, or
// nil when they may not read it: one they may not see at all (not found
// to them) or are denied reading.
func (g *Groups) readable(ctx context.Context, tx store.Tx, id int64) (*access, error) {
	a, err := g.load(ctx, tx, usher.GroupRef{ID: id})
	if err == nil {
		err = g.authorizeGroup(ctx, actGroupRead, a)
	}
	switch usher.ErrorKind(err) {
	case usher.KindNotFound, usher.KindForbidden:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// RemoveMember takes a principal out of a group. Members may leave on their
// own, but not a role whose denies they could not lift (authorizeLeave); a
// team keeps at least one owner, and an owner leaving it ends its service
// accounts' tokens (endServiceAccountTokens).
//
// Errors: Unauthenticated, Forbidden, NotFound (the group, the user, or the
// membership), Conflict (the last owner).
func (g *Groups) RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error {
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.hold(ctx, tx, ref)
		if err != nil {
			return err
		}
		if err := keptAsDeleted(a.group); err != nil {
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
			if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
				return err
			}
			// One the caller may not read is no user to it, as to an
			// addition (seen).
			if err := g.seenOr(ctx, u, errUserNotFound()); err != nil {
				return err
			}
		} else if err := g.authorizeLeave(ctx, a); err != nil {
			return err
		}
		old, err := tx.MembershipGet(ctx, a.group.ID, u.ID)
		if errors.Is(err, usher.ErrNotFound) {
			return errNotMember()
		}
		if err != nil {
			return err
		}
		if err := g.keepServiceAccount(ctx, tx, a.group, u); err != nil {
			return err
		}
		now := g.now()
		if old.Level == usher.LevelOwner {
			if err := g.authorizeOwnership(a); err != nil {
				return err
			}
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
			if err := g.endServiceAccountTokens(ctx, tx, a.group, "owner_left", now); err != nil {
				return err
			}
		}
		if err := tx.MembershipDelete(ctx, a.group.ID, u.ID); err != nil {
			return err
		}
		return g.record(ctx, tx, now, event{action: "group.member_remove", resourceType: "group", resourceID: strconv.FormatInt(a.group.ID, 10),
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

// RolesInForce returns the roles whose rules apply to a principal, read
// and authorized as UserGroups reads them: the live, unarchived ones,
// which are the roles a shared JWT's memberOf names (rolesInForce). It is
// what a list of a user's roles handed to other services, such as
// Corteza's, should name: they grant by it.
//
// Errors: as UserGroups.
func (g *Groups) RolesInForce(ctx context.Context, key usher.UserKey) ([]*usher.Membership, error) {
	ms, err := g.UserGroups(ctx, key, usher.GroupRole)
	if err != nil {
		return nil, err
	}
	return rolesInForce(ms), nil
}

// rolesInForce keeps the memberships of roles that are not archived:
// archiving a role switches its rules off, as RulesFor reads them, and a
// service that grants by the roles it is told of must not be told of it.
func rolesInForce(ms []*usher.Membership) []*usher.Membership {
	return slices.DeleteFunc(ms, func(m *usher.Membership) bool { return m.Group == nil || m.Group.ArchivedAt != nil })
}

// NamedGroups returns the teams and internal groups a principal belongs to,
// read and authorized as UserGroups reads them, where each handle names one
// group: the two kinds share one namespace of handles (sharedHandle), and
// where a team and a live internal group hold one handle all the same (in
// data stored before that rule, or by two transactions at once before
// sharedHandle held the handle), the handle means the internal group and
// the team is left out. It is what a list of bare handles, such as
// Escape's ACL look-up, should name.
//
// Errors: as UserGroups.
func (g *Groups) NamedGroups(ctx context.Context, key usher.UserKey) ([]*usher.Membership, error) {
	ms, err := g.UserGroups(ctx, key, usher.GroupTeam, usher.GroupInternal)
	if err != nil {
		return nil, err
	}
	out := make([]*usher.Membership, 0, len(ms))
	for _, m := range ms {
		if m.Group != nil && m.Group.Kind == usher.GroupTeam {
			_, err := g.store.GroupGet(ctx, 0, usher.GroupInternal, m.Group.Handle)
			if err == nil {
				continue
			}
			if !errors.Is(err, usher.ErrNotFound) {
				return nil, err
			}
		}
		out = append(out, m)
	}
	return out, nil
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
	if ms, err = e.shownMemberships(ctx, p, ms); err != nil {
		return nil, err
	}
	out := make(map[int64][]*usher.Membership, len(users))
	for _, m := range ms {
		out[m.UserID] = append(out[m.UserID], m)
	}
	return out, nil
}

// shownMemberships returns of ms, memberships read with their groups, those
// p sees, each group as p sees it (groupShown): every one of its own, and
// of others' the groups it would see by Get (seesGroup).
func (e *env) shownMemberships(ctx context.Context, p *usher.Principal, ms []*usher.Membership) ([]*usher.Membership, error) {
	mine, err := e.memberOf(ctx, p)
	if err != nil {
		return nil, err
	}
	rules, err := e.rules.of(ctx, e, p.UserID())
	if err != nil {
		return nil, err
	}
	sees := func(id int64, k usher.GroupKind) bool {
		return seesGroup(p, k, mine[id], evaluate(rules, actGroupRead, strconv.FormatInt(id, 10)))
	}
	var out []*usher.Membership
	for _, m := range ms {
		if m.UserID == p.UserID() || sees(m.GroupID, m.Group.Kind) {
			if m.Group, err = e.groupShown(ctx, p, m.Group); err != nil {
				return nil, err
			}
			// The roles its members hold, of those p sees: a role a rule
			// hides counted would tell p that a member holds it.
			if m.Group.RoleIDs != nil && !p.IsAdmin() {
				g := *m.Group
				g.Roles = 0
				for _, id := range g.RoleIDs {
					if sees(id, usher.GroupRole) {
						g.Roles++
					}
				}
				m.Group = &g
			}
			out = append(out, m)
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

// errTakeAgain ends a try of SetUserGroups that would take a group out
// of id order; the next try takes it in order.
var errTakeAgain = errors.New("the groups to hold changed: take them again")

// maxTakesAgain bounds the tries taken again after errTakeAgain: each one
// holds every group the earlier found, so only changes that keep putting
// the principal in new groups as it runs make another.
const maxTakesAgain = 4

// inTxTakingAgain runs try in a transaction, as takingAgain does.
func inTxTakingAgain(ctx context.Context, s store.Store, what string, try func(tx store.Tx) error) error {
	return takingAgain(what, func() error { return s.InTx(ctx, try) })
}

// takingAgain runs try, and again, at most maxTakesAgain times, while it
// ends with errTakeAgain; then the answer is 409, saying what kept
// changing.
func takingAgain(what string, try func() error) error {
	err := try()
	for n := 0; errors.Is(err, errTakeAgain) && n < maxTakesAgain; n++ {
		err = try()
	}
	if errors.Is(err, errTakeAgain) {
		return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeConflict, Message: what + ": try again"}
	}
	return err
}

// maxGroupChanges bounds the groups one request adds a principal to,
// removes it from or sets: each is a look-up.
const maxGroupChanges = 1000

// SetUserGroups applies a bulk change of a principal's memberships in one
// transaction and returns the principal's groups of the kind afterwards.
// Added memberships get the kind's default level.
//
// Errors: Unauthenticated, Forbidden (a group's members, or the principal
// itself, which the caller may not read), NotFound (the user, or a
// group), Invalid (Set with Add or Remove, a list of more than 1000
// groups).
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
	// known is what an earlier try found the change touches: a try that
	// finds more than it holds, below the ids it holds, starts again
	// holding them all first, so that groups are always taken in id order.
	var known []int64
	try := func(tx store.Tx) error {
		// plan reads the principal, its groups of the kind and the groups
		// the change names, and decides what the caller may change.
		var u *usher.User
		var have map[int64]bool
		var levels map[int64]usher.Level
		var add, remove map[int64]*access
		plan := func() error {
			var err error
			if u, err = g.member(ctx, tx, key); err != nil {
				return err
			}
			// The answer is the principal's groups, which only a caller
			// who may read the principal reads (UserGroups): a change
			// naming no group answered them to one a rule denied it.
			if err := g.authorize(ctx, actUserRead, u); err != nil {
				return err
			}
			current, err := tx.UserGroups(ctx, u.ID, in.Kind)
			if err != nil {
				return err
			}
			have = map[int64]bool{}
			levels = map[int64]usher.Level{}
			for _, m := range current {
				have[m.GroupID] = true
				levels[m.GroupID] = m.Level
			}
			// resolve finds the groups handles name, each of whose members the
			// caller must manage. What a role's rules ask of that is asked
			// where the principal's membership would change (joining one it
			// is not in, leaving one it is in), not of a role named that stays
			// as it is: a set must name the roles it keeps.
			resolve := func(handles []string, joining bool) (map[int64]*access, error) {
				out := map[int64]*access{}
				for _, h := range handles {
					a, err := g.load(ctx, tx, usher.GroupRef{Kind: in.Kind, Handle: h})
					if err == nil {
						err = keptAsDeleted(a.group)
					}
					if err != nil {
						if usher.ErrorKind(err) == usher.KindNotFound {
							return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeGroupNotFound, Message: "no group named " + h}
						}
						return nil, err
					}
					// A group named is one the caller reads, as a change
					// of its members on its own route needs (addMember),
					// and first: whether the change wrote or was refused,
					// or which refusal, told who is a member of one a rule
					// hides from them.
					if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
						return nil, err
					}
					decide := g.decideGroup
					if have[a.group.ID] != joining {
						decide = g.authorizeGroup
					}
					if err := decide(ctx, actGroupMembers, a); err != nil {
						return nil, err
					}
					out[a.group.ID] = a
				}
				return out, nil
			}
			if add, err = resolve(append(in.Add, in.Set...), true); err != nil {
				return err
			}
			if remove, err = resolve(in.Remove, false); err != nil {
				return err
			}
			if in.Set != nil {
				for _, m := range current {
					if _, keep := add[m.GroupID]; !keep {
						// A group the caller may not read is none of the
						// set's: the user stays in it, as the answer, which
						// shows the caller none such, says. Refused, the set
						// told whether the user is in one (round 51); one of
						// a kind the caller never sees was not found, and
						// told it too (round 52).
						a, err := g.readable(ctx, tx, m.GroupID)
						if err != nil {
							return err
						}
						if a == nil {
							continue
						}
						if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
							return err
						}
						remove[m.GroupID] = a
					}
				}
			}
			return nil
		}
		// Every group the change touches is held first, in id order: two
		// changes that cross (one user moved from a to b, another from b
		// to a) each held one group and waited for the other's on
		// PostgreSQL, and the removals went in a map's random order. Then
		// the change is decided again on what holding them settled: a
		// group merged away or deleted meanwhile is not found, and the
		// caller's rights are as they are now. A group the second look
		// adds (the principal put in one meanwhile, which a set removes)
		// is held then, if its id is above those held; else the try ends
		// and the next holds every group known first.
		if err := lockGroups(ctx, tx, known); err != nil {
			return err
		}
		if err := plan(); err != nil {
			return err
		}
		held := slices.Clone(known)
		for {
			var more []int64
			for _, m := range []map[int64]*access{add, remove} {
				for id := range m {
					if !slices.Contains(held, id) && !slices.Contains(more, id) {
						more = append(more, id)
					}
				}
			}
			if len(more) == 0 {
				break
			}
			if len(held) > 0 && slices.Min(more) < slices.Max(held) {
				known = append(held, more...)
				return errTakeAgain
			}
			if err := lockGroups(ctx, tx, more); err != nil {
				return err
			}
			held = append(held, more...)
			if err := plan(); err != nil {
				return err
			}
		}
		// The principal's row after its groups, as its deletion takes
		// them (the teams it owns, then the row), and before the rows of
		// the service accounts that leaving a team it owns ends, as a
		// block takes them (the row, then those); read again under it, a
		// deletion that came first is not found, and the version a
		// conditional change holds to is compared.
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		locked, err := g.member(ctx, tx, usher.UserKey{ID: u.ID})
		if err != nil {
			return err
		}
		if err := stale("user", locked.Version, key.IfVersion); err != nil {
			return err
		}
		now := g.now()
		// The handles, and the ids beside them (meta), by which the audit
		// log hides a team from a reader denied it, whatever becomes of it.
		var added, removed, addedIDs, removedIDs []string
		// A service account the change puts in another team is in one
		// still: an administrator's set moving it from a team to another
		// was refused as leaving it in none (round 53).
		joinsTeam := false
		for id, a := range add {
			_, removing := remove[id]
			joinsTeam = joinsTeam || (!removing && !have[id] && a.group.Kind.HoldsServiceAccounts())
		}
		for id, a := range remove {
			delete(add, id) // removal wins
			if !have[id] {
				continue
			}
			if !joinsTeam {
				if err := g.keepServiceAccount(ctx, tx, a.group, u); err != nil {
					return err
				}
			}
			if levels[id] == usher.LevelOwner {
				if err := g.authorizeOwnership(a); err != nil {
					return err
				}
			}
			if err := g.keepOwner(ctx, tx, a.group, u.ID); err != nil {
				return err
			}
			if levels[id] == usher.LevelOwner {
				if err := g.endServiceAccountTokens(ctx, tx, a.group, "owner_left", now); err != nil {
					return err
				}
			}
			if err := tx.MembershipDelete(ctx, id, u.ID); err != nil {
				return err
			}
			removed, removedIDs = append(removed, a.group.Handle), append(removedIDs, strconv.FormatInt(id, 10))
		}
		for id, a := range add {
			if have[id] {
				continue
			}
			if err := placeMember(ctx, tx, usher.PrincipalFrom(ctx), u, a.group); err != nil {
				return err
			}
			level, _ := checkLevel(a.group.Kind, "")
			if err := tx.MembershipSet(ctx, usher.Membership{GroupID: id, UserID: u.ID, Level: level, CreatedAt: now}); err != nil {
				return err
			}
			added, addedIDs = append(added, a.group.Handle), append(addedIDs, strconv.FormatInt(id, 10))
		}
		if len(added)+len(removed) > 0 {
			err := g.record(ctx, tx, now, event{action: "user.groups_set", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
				changes: map[string]usher.Change{"groups": {Old: strings.Join(removed, ","), New: strings.Join(added, ",")}},
				meta:    map[string]string{"removed_ids": strings.Join(removedIDs, ","), "added_ids": strings.Join(addedIDs, ",")}})
			if err != nil {
				return err
			}
		}
		out, err = tx.UserGroups(ctx, u.ID, in.Kind)
		return err
	}
	if err := inTxTakingAgain(ctx, g.store, "the principal's groups kept changing as they were set", try); err != nil {
		return nil, err
	}
	g.rules.changed()
	// The groups afterwards, as the caller sees them, as UserGroups
	// shows them: not the teams it may not see, nor an organisation a
	// rule hides from it.
	return g.shownMemberships(ctx, p, out)
}

// maxInitialMembers bounds the members a group is created with.
const maxInitialMembers = 1000

// checkMemberIDs checks the ids of a new group's members and drops
// repeated ones.
func checkMemberIDs(ids []int64) ([]int64, error) {
	if len(ids) > maxInitialMembers {
		return nil, usher.FieldErrors(usher.FieldError{Field: "members", Code: usher.CodeTooMany,
			Message: "lists more than " + strconv.Itoa(maxInitialMembers) + " users"})
	}
	return memberIDs(ids)
}

// memberIDs checks the ids of a group's members, of any number, and drops
// repeated ones.
func memberIDs(ids []int64) ([]int64, error) {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id <= 0 {
			return nil, usher.FieldErrors(usher.FieldError{Field: "members", Code: usher.CodeInvalid,
				Message: "holds " + strconv.FormatInt(id, 10) + ", which is no user id"})
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out, nil
}

// addMembers puts the users of ids in a group just created, within its
// transaction, each at the kind's default level, under AddMember's rules:
// the caller manages the group's members, and only an administrator places
// a service account. The creator of a team, its owner already, stays one.
// An id that is no live user the caller may see is refused as a field of
// the request (Unprocessable, code unknown), not as a missing resource.
func (g *Groups) addMembers(ctx context.Context, tx store.Tx, a *access, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
		return err
	}
	level, err := checkLevel(a.group.Kind, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if a.mem != nil && id == a.mem.UserID {
			continue
		}
		if err := g.joinMember(ctx, tx, a, id, level, now); err != nil {
			return err
		}
		a.group.Members++
	}
	return nil
}

// joinMember puts the user id names in a's group at level, within tx, and
// records it; only an administrator places a service account. An id that
// is no live user the caller may see is refused as a field of the request
// (Unprocessable, code unknown), not as a missing resource.
func (g *Groups) joinMember(ctx context.Context, tx store.Tx, a *access, id int64, level usher.Level, now time.Time) error {
	u, err := g.member(ctx, tx, usher.UserKey{ID: id})
	if err == nil {
		err = g.seen(ctx, u)
	}
	if usher.ErrorKind(err) == usher.KindNotFound {
		return usher.FieldErrors(usher.FieldError{Field: "members", Code: usher.CodeUnknown,
			Message: "holds " + strconv.FormatInt(id, 10) + ", which is no user"})
	}
	if err != nil {
		return err
	}
	if err := placeMember(ctx, tx, a.p, u, a.group); err != nil {
		return err
	}
	if err := tx.MembershipSet(ctx, usher.Membership{GroupID: a.group.ID, UserID: u.ID, Level: level, CreatedAt: now}); err != nil {
		return err
	}
	return g.record(ctx, tx, now, event{action: "group.member_set", resourceType: "group", resourceID: strconv.FormatInt(a.group.ID, 10),
		changes: map[string]usher.Change{"level": {New: string(level)}}, meta: map[string]string{"user_id": strconv.FormatInt(u.ID, 10)}})
}

// setMembers makes the members of the group ref names exactly the users
// of ids, within tx, each change authorized and recorded as AddMember and
// RemoveMember do it: a user not in the group joins it at the kind's
// default level (group.members, and only an administrator places a service
// account), a member not in ids leaves it (group.members, unless it is the
// caller leaving on its own, as authorizeLeave allows; a team keeps an
// owner), and a member in ids keeps its level; a deleted account's
// membership is left as it is, for its restoring, and so is a team's
// service account, which leaves its team by being deleted
// (keepServiceAccount). Every member is read, however many. An id that is no
// live user the caller may see is refused as a field of the request, as
// addMembers refuses it. The caller commits, and forgets the cached rules
// after.
func (g *Groups) setMembers(ctx context.Context, tx store.Tx, ref usher.GroupRef, ids []int64) error {
	a, err := g.load(ctx, tx, ref)
	if err != nil {
		return err
	}
	// Deciding group.members once is enough: for a role it reads its
	// rules, which every member joining or leaving would read again.
	managed := false
	manage := func() error {
		if managed {
			return nil
		}
		if err := g.authorizeGroup(ctx, actGroupMembers, a); err != nil {
			return err
		}
		managed = true
		return nil
	}
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var leaving []*usher.Membership
	have := map[int64]bool{}
	err = eachMember(ctx, tx, a.group.ID, true, func(m *usher.Membership) error {
		have[m.UserID] = true
		if want[m.UserID] || m.User.Kind == usher.KindServiceAccount && a.group.Kind.HoldsServiceAccounts() {
			return nil
		}
		// A member the caller may not read is no user to it (seen): the
		// set leaves them in, as a set of a user's groups leaves the user
		// in the groups the caller may not read.
		if err := g.seen(ctx, m.User); errors.Is(err, usher.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		leaving = append(leaving, m)
		return nil
	})
	if err != nil {
		return err
	}
	gid := strconv.FormatInt(a.group.ID, 10)
	now := g.now()
	for _, m := range leaving {
		if !self(a.p, m.User) || a.mem == nil {
			if err := manage(); err != nil {
				return err
			}
		} else if err := g.authorizeLeave(ctx, a); err != nil {
			return err
		}
		if m.Level == usher.LevelOwner {
			if err := g.authorizeOwnership(a); err != nil {
				return err
			}
			if err := g.keepOwner(ctx, tx, a.group, m.UserID); err != nil {
				return err
			}
			if err := g.endServiceAccountTokens(ctx, tx, a.group, "owner_left", now); err != nil {
				return err
			}
		}
		if err := tx.MembershipDelete(ctx, a.group.ID, m.UserID); err != nil {
			return err
		}
		if err := g.record(ctx, tx, now, event{action: "group.member_remove", resourceType: "group", resourceID: gid,
			changes: map[string]usher.Change{"level": {Old: string(m.Level)}}, meta: map[string]string{"user_id": strconv.FormatInt(m.UserID, 10)}}); err != nil {
			return err
		}
	}
	level, err := checkLevel(a.group.Kind, "")
	if err != nil {
		return err
	}
	for _, id := range ids {
		if have[id] {
			continue
		}
		if err := manage(); err != nil {
			return err
		}
		if err := g.joinMember(ctx, tx, a, id, level, now); err != nil {
			return err
		}
	}
	return nil
}

// MemberIDs returns a page of the ids of a group's members, ordered, read
// and authorized as Members.
//
// Errors: as Members.
func (g *Groups) MemberIDs(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[int64], error) {
	page, err := g.Members(ctx, ref, req)
	if err != nil {
		return nil, err
	}
	out := &usher.Page[int64]{Items: make([]int64, len(page.Items)), Next: page.Next, Total: page.Total,
		TotalEstimated: page.TotalEstimated, Limit: page.Limit}
	for i, m := range page.Items {
		out.Items[i] = m.UserID
	}
	return out, nil
}

// errNotMember is a change of a membership the principal does not have.
func errNotMember() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeMemberNotFound, Message: "the user is not a member of the group"}
}
