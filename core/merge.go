package core

import (
	"context"
	"slices"
	"strconv"

	"usher"
	"usher/store"
)

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
		// Both held first, in id order: the members' rows mergeMembers
		// writes take the target's row in share mode, and two merges into
		// one target, each then asking for it in full, deadlocked. Then
		// both are read again, as they are now that no one else writes
		// them: a merge or a deletion that held one meanwhile may have
		// ended it (the other way round, a merge of b into a waiting on
		// one of a into b moved everything into a deleted group), and
		// what the caller may do and the rules that move are decided on
		// what the merge writes over.
		if err := lockGroups(ctx, tx, []int64{src.group.ID, dst.group.ID}); err != nil {
			return err
		}
		if src, err = g.load(ctx, tx, usher.GroupRef{ID: src.group.ID}); err != nil {
			return err
		}
		if dst, err = g.load(ctx, tx, usher.GroupRef{ID: dst.group.ID}); err != nil {
			return err
		}
		if err := g.authorizeMerge(ctx, src, dst); err != nil {
			return err
		}
		// A change of a group needs its read (changeIn): the merge
		// answers the target, and empties the source into it.
		for _, a := range []*access{src, dst} {
			if err := g.authorizeGroup(ctx, actGroupRead, a); err != nil {
				return err
			}
		}
		// The source's rules move to the target, as setting them would:
		// those that reach an application need application.grant, and
		// what they give the target's members more, the caller must hold.
		moved, err := tx.RuleList(ctx, src.group.ID)
		if err != nil {
			return err
		}
		have, err := tx.RuleList(ctx, dst.group.ID)
		if err != nil {
			return err
		}
		if err := g.authorizeGiving(ctx, moved, reachChanged(have, moved, false)); err != nil {
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
		if src.group.Kind == usher.GroupTeam {
			if err := g.checkMergedOwners(ctx, tx, src.group.ID, dst.group); err != nil {
				return err
			}
		}
		if err := checkMergedServiceAccounts(ctx, tx, src.group, dst.group); err != nil {
			return err
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
	return g.groupShown(ctx, usher.PrincipalFrom(ctx), out)
}

// checkMergedOwners refuses a merge of team src into dst that would make
// an owner of src, not one of dst yet, an owner of dst where being handed
// dst would be refused (Groups.AddMember): by a credential bounded by
// scopes or an expiry, an account that may make no team
// (checkOwnerBound), else an empty team such an account was made an
// owner of with a session, merged into another, handed that one over
// past the bound; and, but for an administrator, one who owns and made as
// many teams as one may (checkTeamRoom), else a team made at the limit,
// merged into another's, handed that one over past it; and one whose
// teams would then hold more service accounts than it may, else an empty
// team one owned with them, merged into a full one, handed it over past
// the count.
func (g *Groups) checkMergedOwners(ctx context.Context, tx store.Tx, src int64, dst *usher.Group) error {
	owners, err := ownersOf(ctx, tx, dst.ID)
	if err != nil {
		return err
	}
	joining, err := ownersOf(ctx, tx, src)
	if err != nil {
		return err
	}
	joining = slices.DeleteFunc(joining, func(id int64) bool { return slices.Contains(owners, id) })
	p := usher.PrincipalFrom(ctx)
	for _, id := range joining {
		u, err := tx.UserGet(ctx, usher.UserKey{ID: id})
		if err != nil {
			return err
		}
		if err := g.checkOwnerBound(ctx, tx, p, u); err != nil {
			return err
		}
	}
	if len(joining) == 0 || p.IsAdmin() {
		return nil
	}
	if dst.Kind == usher.GroupTeam {
		// Made an owner of the target, as a handover would (addMember).
		for _, id := range joining {
			if err := checkTeamRoom(ctx, tx, id); err != nil {
				return err
			}
		}
	}
	accounts, err := serviceAccountsOf(ctx, tx, dst)
	if err != nil {
		return err
	}
	return checkOwnersRoom(ctx, tx, joining, len(accounts))
}

// checkMergedServiceAccounts refuses a merge that would leave dst holding
// more service accounts than a team may (maxServiceAccountsPerTeam), an
// administrator's too, as creating them is refused.
func checkMergedServiceAccounts(ctx context.Context, tx store.Tx, src, dst *usher.Group) error {
	moving, err := serviceAccountsOf(ctx, tx, src)
	if err != nil || len(moving) == 0 {
		return err
	}
	held, err := serviceAccountsOf(ctx, tx, dst)
	if err != nil {
		return err
	}
	n := len(held)
	for _, u := range moving {
		if !slices.ContainsFunc(held, func(h *usher.User) bool { return h.ID == u.ID }) {
			n++
		}
	}
	// As many as one more than the target could take.
	return checkTeamAccounts(n - 1)
}

// mergePage is how many memberships a merge reads at a time.
const mergePage = 500

// mergeMembers moves the members of group src into group dst; a principal
// in both keeps the higher level (usher.Level.Higher).
func mergeMembers(ctx context.Context, tx store.Tx, src, dst int64) error {
	have := map[int64]usher.Level{}
	if err := eachMember(ctx, tx, dst, false, func(m *usher.Membership) error { have[m.UserID] = m.Level; return nil }); err != nil {
		return err
	}
	err := eachMember(ctx, tx, src, false, func(m *usher.Membership) error {
		moved := usher.Membership{GroupID: dst, UserID: m.UserID, Level: m.Level, CreatedAt: m.CreatedAt}
		l, ok := have[m.UserID]
		if ok {
			moved.Level = l.Higher(m.Level)
			// A service account an administrator made an owner of the
			// source stays a writer of the target, as a direct change
			// of its level would leave it.
			if moved.Level != l {
				if err := raiseServiceAccount(usher.PrincipalFrom(ctx), m.User, moved.Level); err != nil {
					return err
				}
			}
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

// eachMember calls fn with every membership of the group, a page at a
// time; with live, only those of users who are not deleted.
func eachMember(ctx context.Context, tx store.Tx, groupID int64, live bool, fn func(*usher.Membership) error) error {
	req := usher.PageRequest{Limit: mergePage}
	for {
		page, err := tx.GroupMembers(ctx, groupID, live, req)
		if err != nil {
			return err
		}
		for _, m := range page.Items {
			if err := fn(m); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		req.After = page.Next
	}
}

// mergeRules moves the rules of role src into role dst; where both rule on
// the same resource and operation, the verdicts combine (deny wins). A
// merged role of more than maxRules rules is refused, as a write of them.
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
	n := len(have)
	for _, r := range srcRules {
		if _, ok := have[key{r.Resource, r.Operation}]; !ok {
			n++
		}
	}
	// The merged role is bound as any role is: two full roles make one
	// past the bound, which no write of its rules would allow.
	if n > maxRules {
		return errTooManyRules()
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
//     caller could not grant there directly, which for an owner takes an
//     owner (authorizeOwnership) — and, for a role, change its rules;
//   - for a group in an organisation, the right to change that
//     organisation (organisation.update on it: both groups' organisations);
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
		if err := g.authorizeOwnership(a); err != nil {
			return err
		}
		if a.p.Kind == usher.PrincipalServiceAccount {
			if err := g.decide(ctx, a.p, actGroupUpdate, strconv.FormatInt(a.group.ID, 10), false); err != nil {
				return errForbidden("a service account merges groups only where a permission rule allows it group.update")
			}
		}
		if a.group.OrganisationID != 0 {
			if err := g.authorizeOrg(ctx, actOrgUpdate, a.group.OrganisationID); err != nil {
				return err
			}
		}
	}
	return nil
}
