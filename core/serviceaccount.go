package core

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"usher"
	"usher/store"
)

// team loads a team — a group of the kind that holds service accounts —
// for a service-account action; a handle names a team.
func (g *Groups) team(ctx context.Context, tx store.Tx, ref usher.GroupRef, act action) (*access, error) {
	ref, err := readGroupRef(ref)
	if err != nil {
		return nil, err
	}
	if ref.ID == 0 {
		ref.Kind = usher.GroupTeam
	}
	a, err := g.load(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	if !a.group.Kind.HoldsServiceAccounts() {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeTeamNotFound, Message: "team not found"}
	}
	if err := g.authorizeGroup(ctx, act, a); err != nil {
		return nil, err
	}
	return a, nil
}

// heldTeam is team for a write: it holds the team's row and loads it
// again (as hold does), so that a deletion of the team, an owner's
// leaving or a service account made that came first counts.
func (g *Groups) heldTeam(ctx context.Context, tx store.Tx, ref usher.GroupRef, act action) (*access, error) {
	a, err := g.team(ctx, tx, ref, act)
	if err != nil {
		return nil, err
	}
	if err := lockGroup(ctx, tx, a.group.ID); err != nil {
		return nil, err
	}
	if a, err = g.team(ctx, tx, usher.GroupRef{ID: a.group.ID}, act); err != nil {
		return nil, err
	}
	if err := keptAsDeleted(a.group); err != nil {
		return nil, err
	}
	return a, nil
}

// mintsForTeam refuses to mint a token for a team's service account to
// whoever is neither an administrator nor an owner of the team, even with
// a rule that gives them service_account.manage there (which still lets
// them make and delete the team's service accounts), as GitLab has only a
// group's owners make its service accounts' tokens. A token does not
// record who minted it, and what ends a team's service accounts' tokens
// is an owner's leaving (endServiceAccountTokens): a writer who minted
// one by a rule kept the team's rights through it once out of the team
// and the role.
func mintsForTeam(a *access) error {
	if a.p.IsAdmin() || a.holds(usher.LevelOwner) {
		return nil
	}
	return errForbidden("only the team's owners and administrators mint its service accounts' tokens")
}

// serviceAccount finds a team's live service account by id or username.
func (g *Groups) serviceAccount(ctx context.Context, tx store.Tx, team *usher.Group, key usher.UserKey) (*usher.User, error) {
	notFound := errNoServiceAccount()
	if key = (usher.UserKey{ID: key.ID, Username: key.Username}); key.ID == 0 && (key.Username == "" || filterText("username", key.Username) != nil) {
		return nil, notFound
	}
	u, err := tx.UserGet(ctx, key)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (u.Kind != usher.KindServiceAccount || u.Deleted())) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.MembershipGet(ctx, team.ID, u.ID); err != nil {
		if errors.Is(err, usher.ErrNotFound) {
			return nil, notFound
		}
		return nil, err
	}
	return u, nil
}

// readableServiceAccount is serviceAccount for a change of the account:
// one the caller may not read is no account to it (seen), as a member
// the caller may not read is no user to a change of a group's members.
func (g *Groups) readableServiceAccount(ctx context.Context, tx store.Tx, team *usher.Group, key usher.UserKey) (*usher.User, error) {
	u, err := g.serviceAccount(ctx, tx, team, key)
	if err != nil {
		return nil, err
	}
	if err := g.seenOr(ctx, u, errNoServiceAccount()); err != nil {
		return nil, err
	}
	return u, nil
}

// errNoServiceAccount answers a key that names none of a team's service
// accounts.
func errNoServiceAccount() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeServiceAccountNotFound, Message: "the team has no such service account"}
}

// CreateServiceAccount creates a service account in a team: a principal of
// kind service_account, without a password, that logs in only with its
// tokens, a writer of the team. Team owners and administrators may.
//
// Errors: Unauthenticated, Forbidden, NotFound (the team), Unprocessable,
// Conflict (the username is taken).
func (g *Groups) CreateServiceAccount(ctx context.Context, team usher.GroupRef, username, name string) (*usher.User, error) {
	var u *usher.User
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.heldTeam(ctx, tx, team, actServiceAccount)
		if err != nil {
			return err
		}
		if err := checkServiceAccountRoom(ctx, tx, a.p, a.group); err != nil {
			return err
		}
		// A service account has no address: a name shaped like one is
		// none of its own (addressName).
		if !a.p.IsAdmin() {
			if err := addressName(username); err != nil {
				return err
			}
		}
		sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
		if u, err = g.newUser(sys, tx, usher.UserCreate{Username: username, Name: name, Kind: usher.KindServiceAccount}, ""); err != nil {
			return err
		}
		if a.p.User != nil {
			// Its maker answers for it (checkServiceAccountsMade).
			if err := tx.UserMakerSet(ctx, u.ID, a.p.UserID()); err != nil {
				return err
			}
		}
		now := g.now()
		if err := tx.MembershipSet(ctx, usher.Membership{GroupID: a.group.ID, UserID: u.ID, Level: usher.LevelWrite, CreatedAt: now}); err != nil {
			return err
		}
		return g.record(ctx, tx, now, event{action: "service_account.create", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: userChanges(&usher.User{}, u), meta: map[string]string{"team": a.group.Handle, "team_id": strconv.FormatInt(a.group.ID, 10)}})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	g.rules.changed()
	return u, nil
}

// ServiceAccounts returns a page of a team's service accounts, ordered by
// id; the cursor is an account's id, and an offset and a total are as
// filtered pages them. Whoever may see the team may see them.
//
// Errors: Unauthenticated, Forbidden, NotFound, Invalid (a cursor that
// names no account, a bad offset).
func (g *Groups) ServiceAccounts(ctx context.Context, team usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.User], error) {
	req, err := g.idPage(req)
	if err != nil {
		return nil, err
	}
	a, err := g.team(ctx, g.store, team, actGroupRead)
	if err != nil {
		return nil, err
	}
	// A list of users, as Members is.
	if err := g.authorize(ctx, actUserList, nil); err != nil {
		return nil, err
	}
	// The team's service accounts are kept of its members.
	read := func(page usher.PageRequest) (*usher.Page[*usher.Membership], error) {
		return g.store.GroupMembers(ctx, a.group.ID, true, page)
	}
	keep := func(m *usher.Membership) (*usher.User, bool, error) {
		u, err := g.redact(ctx, a.p, m.User)
		return u, m.User.Kind == usher.KindServiceAccount, err
	}
	return filtered(req, read, keep, func(u *usher.User) usher.Cursor { return usher.Cursor{ID: u.ID} })
}

// ServiceAccount returns one of a team's service accounts. Whoever may see
// the team and read users may see it.
//
// Errors: Unauthenticated, Forbidden, NotFound (the team, or an account
// that is not one of its service accounts).
func (g *Groups) ServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) (*usher.User, error) {
	a, err := g.team(ctx, g.store, team, actGroupRead)
	if err != nil {
		return nil, err
	}
	u, err := g.serviceAccount(ctx, g.store, a.group, account)
	if err != nil {
		return nil, err
	}
	if err := g.authorize(ctx, actUserRead, u); err != nil {
		return nil, err
	}
	return g.redact(ctx, a.p, u)
}

// DeleteServiceAccount deletes a team's service account: it is
// soft-deleted and its tokens are revoked at once.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (g *Groups) DeleteServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) error {
	try := func(tx store.Tx) error {
		a, err := g.team(ctx, tx, team, actServiceAccount)
		if err != nil {
			return err
		}
		u, err := g.readableServiceAccount(ctx, tx, a.group, account)
		if err != nil {
			return err
		}
		// The team and the teams the account owns (an administrator may
		// make it an owner) are held together, in id order, and then read
		// again, as heldTeam does; a team it came to own between the two
		// starts the deletion over, holding it too (ownsOnly).
		owned, err := ownedTeams(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := lockGroups(ctx, tx, append(owned, a.group.ID)); err != nil {
			return err
		}
		if err := ownsOnly(ctx, tx, u.ID, owned); err != nil {
			return err
		}
		if a, err = g.team(ctx, tx, usher.GroupRef{ID: a.group.ID}, actServiceAccount); err != nil {
			return err
		}
		if err := keptAsDeleted(a.group); err != nil {
			return err
		}
		if u, err = g.readableServiceAccount(ctx, tx, a.group, account); err != nil {
			return err
		}
		// Deleting ends its tokens: the rule for another's credentials
		// applies, as to a user's.
		if err := g.guardCredentials(ctx, a.p, actTokenEnd, u); err != nil {
			return err
		}
		// And what deleting a user asks of a bounded credential.
		if err := g.checkDeleteBound(ctx, a.p, u); err != nil {
			return err
		}
		if err := soleOwner(ctx, tx, u.ID); err != nil {
			return err
		}
		now := g.now()
		changes, err := markServiceAccountDeleted(ctx, tx, u.ID, now)
		if err != nil {
			return err
		}
		return g.record(ctx, tx, now, event{action: "service_account.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: changes, meta: map[string]string{"team": a.group.Handle, "team_id": strconv.FormatInt(a.group.ID, 10)}})
	}
	return inTxTakingAgain(ctx, g.store, "the teams the service account owns kept changing as it was deleted", try)
}

// ServiceAccountToken mints a token for a team's service account; with
// regenerate, its other tokens are revoked first. Team owners and
// administrators may. The token is no wider than the caller's credential:
// it has the credential's scopes (sudo aside) and expires with it, as
// checkMintBound has it; a session's is unscoped and does not expire.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict
// (token_limit_reached).
func (g *Groups) ServiceAccountToken(ctx context.Context, team usher.GroupRef, account usher.UserKey, regenerate bool) (*usher.Token, string, error) {
	p := usher.PrincipalFrom(ctx)
	if err := g.guardCredentials(ctx, p, actTokenMint, nil); err != nil {
		return nil, "", err
	}
	// A service account is no administrator: sudo is nothing to it.
	scopes := slices.DeleteFunc(slices.Clone(p.Scopes), func(s string) bool { return s == usher.ScopeSudo })
	expires := lifetimeBound(p)
	if err := checkMintBound(p, scopes, expires); err != nil {
		return nil, "", err
	}
	var tok *usher.Token
	var text string
	err := g.store.InTx(ctx, func(tx store.Tx) error {
		a, err := g.team(ctx, tx, team, actServiceAccount)
		if err != nil {
			return err
		}
		u, err := g.readableServiceAccount(ctx, tx, a.group, account)
		if err != nil {
			return err
		}
		// Every end of its tokens — an owner leaving, blocked or deleted,
		// the team deleted, a reset's hand-over — holds the account's row,
		// the owner's first where it is the owner's doing: decide again
		// once this transaction holds both, on what those that came first
		// left, or a token minted as they ran would outlive them.
		if caller := p.UserID(); caller != 0 && caller != u.ID {
			if err := lockUser(ctx, tx, caller); err != nil {
				return err
			}
		}
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		caller, err := g.stillCaller(ctx, tx, p)
		if err != nil {
			return err
		}
		by, err := stillCredential(ctx, tx, p, g.now())
		if err != nil {
			return err
		}
		// The account's row, not the team's, is what this holds: a
		// deletion of the account takes it before the teams the account
		// owns (an administrator may make it an owner).
		if a, err = g.team(ctx, tx, team, actServiceAccount); err != nil {
			return err
		}
		if err := keptAsDeleted(a.group); err != nil {
			return err
		}
		if err := mintsForTeam(a); err != nil {
			return err
		}
		// One who owns no part of the team mints on administrator rights
		// alone, which must still be theirs now that this holds their
		// row (a demotion that came first took it), and the token answers
		// to them: it ends when they stop being an administrator
		// (endAdminMints).
		//
		// One who owns it mints as an owner, and the token answers to them
		// as well: it works only while they could mint it again
		// (ownerMayMint), the account holding no right they lack, as a
		// role, a plan or a team an administrator gives it later would.
		mintedByAdmin, mintedByOwner := by.admin, int64(0)
		switch {
		case !a.holds(usher.LevelOwner) && caller != nil:
			if !caller.Admin {
				return errForbidden("only the team's owners and administrators mint its service accounts' tokens")
			}
			mintedByAdmin = caller.ID
		case caller != nil && mintedByAdmin == 0:
			// A token minted with an owner's token answers to that
			// owner too: a service account that owns a team (an
			// administrator may make it one) minting itself a token
			// would else leave its owner's check behind.
			mintedByOwner = cmp.Or(by.owner, caller.ID)
		}
		if u, err = g.readableServiceAccount(ctx, tx, a.group, account); err != nil {
			return err
		}
		// A token for it is its credential: no one mints one for an
		// account with rights the caller lacks (a role an administrator
		// gave it, a team the caller is not in).
		if err := g.guardCredentials(ctx, p, actTokenMint, u); err != nil {
			return err
		}
		now := g.now()
		revoked := 0
		if regenerate {
			if revoked, err = tx.TokenRevoke(ctx, store.TokenFilter{UserID: u.ID, Kinds: []usher.TokenKind{usher.TokenServiceAccount}}, now); err != nil {
				return err
			}
		}
		if err := g.checkTokenRoom(ctx, tx, u.ID, now); err != nil {
			return err
		}
		tok, text, err = g.mint(ctx, tx, &usher.Token{Kind: usher.TokenServiceAccount, UserID: u.ID, Name: a.group.Handle,
			Scopes: scopes, ExpiresAt: expires, CreatedAt: now, MintedByAdmin: mintedByAdmin, MintedByOwner: mintedByOwner})
		if err != nil {
			return err
		}
		meta := tokenMeta(tok)
		meta["revoked"] = strconv.Itoa(revoked)
		meta["team"], meta["team_id"] = a.group.Handle, strconv.FormatInt(a.group.ID, 10)
		return g.record(ctx, tx, now, event{action: "token.create", resourceType: "token", resourceID: strconv.FormatInt(tok.ID, 10), meta: meta})
	})
	if err != nil {
		return nil, "", err
	}
	return tok, text, nil
}

// ownerMayMint reports whether the owner of the id could mint a token for
// the service account u now, as ServiceAccountToken asks of them: an
// account that may sign in, and an administrator or one the account
// outranks in nothing (guardCredentials). A token an owner minted works
// only while this holds (Auth.principalOf), so a role, a plan's
// capabilities or a team an administrator gives the account after the
// mint, or the owner lowered, leave the owner's copy with no right the
// owner lacks. The events that end such tokens for good — the owner
// leaving the team, the account raised by an update (endOwnerMints) — do
// so as before.
func (e *env) ownerMayMint(ctx context.Context, ownerID int64, u *usher.User) (bool, error) {
	owner, err := e.store.UserGet(ctx, usher.UserKey{ID: ownerID})
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case !e.maySignIn(owner):
		return false, nil
	case owner.Admin:
		return true, nil
	}
	more, err := e.outranks(ctx, u, &usher.Principal{Kind: usher.PrincipalUser, User: owner})
	return !more, err
}

// endServiceAccountTokens revokes the tokens of the team's service
// accounts when a member who could mint them (an owner) leaves the team or
// stops owning it: a token such an owner minted, which need not expire,
// would otherwise keep the team's rights they lost. Tokens do not record
// who minted them, so every service-account token of the team ends; the
// owners who stay mint anew. Other kinds of group hold no service
// accounts. Each revoked token is recorded.
func (e *env) endServiceAccountTokens(ctx context.Context, tx store.Tx, team *usher.Group, reason string, now time.Time) error {
	accounts, err := serviceAccountsOf(ctx, tx, team)
	if err != nil {
		return err
	}
	for _, u := range accounts {
		if err := e.revokeServiceAccountTokens(ctx, tx, u, team, reason, now); err != nil {
			return err
		}
	}
	return nil
}

// revokeServiceAccountTokens revokes the service-account tokens of u, one
// of team's service accounts, and deletes its SSH keys, recording each
// with the reason. A key, like a token, does not record who added it: one
// added with a token of a departing owner's minting would let them go on
// reaching, through whatever trusts usher's keys, what the account reaches.
func (e *env) revokeServiceAccountTokens(ctx context.Context, tx store.Tx, u *usher.User, team *usher.Group, reason string, now time.Time) error {
	if err := lockUser(ctx, tx, u.ID); err != nil {
		return err
	}
	keys, err := deleteKeys(ctx, tx, u.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := e.record(ctx, tx, now, event{action: "ssh_key.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"key_id": strconv.FormatInt(k.ID, 10), "fingerprint": k.Fingerprint, "team": team.Handle, "team_id": strconv.FormatInt(team.ID, 10),
				"reason": reason}}); err != nil {
			return err
		}
	}
	n, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: u.ID, Kinds: []usher.TokenKind{usher.TokenServiceAccount}}, now)
	if err != nil || n == 0 {
		return err
	}
	return e.record(ctx, tx, now, event{action: "token.revoke", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
		meta: map[string]string{"kind": string(usher.TokenServiceAccount), "team": team.Handle, "team_id": strconv.FormatInt(team.ID, 10), "revoked": strconv.Itoa(n),
			"reason": reason}})
}

// endOwnedServiceAccountTokens ends, as endServiceAccountTokens does, the
// service-account tokens of every live team the user owns, and those it
// minted on administrator rights alone (endAdminMints): the user is being
// blocked, suspended, deleted or purged, and leaves them all.
func (e *env) endOwnedServiceAccountTokens(ctx context.Context, tx store.Tx, userID int64, now time.Time) error {
	if err := e.endAdminMints(ctx, tx, userID, "admin_left", now); err != nil {
		return err
	}
	ms, err := tx.UserGroups(ctx, userID, usher.GroupTeam)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Level != usher.LevelOwner {
			continue
		}
		if err := e.endServiceAccountTokens(ctx, tx, m.Group, "owner_left", now); err != nil {
			return err
		}
	}
	return nil
}

// endAdminMints revokes the service-account tokens minted on the
// administrator rights of the user, who is losing them (demoted, blocked,
// suspended, deleted, purged), and deletes the SSH keys added on them
// (addingAdmin): as a team's owner's, such a token or key would keep the
// team's rights for whoever was shut out. The SSH keys each account was
// given while one of those tokens lived go too, as an owner's leaving
// deletes them: a key does not record the credential that added it. The
// user's row is held; each account's is taken after it, the order a mint
// takes them in.
func (e *env) endAdminMints(ctx context.Context, tx store.Tx, userID int64, reason string, now time.Time) error {
	minted, err := tx.TokenList(ctx, store.TokenFilter{MintedByAdmin: userID, Active: true, Now: now})
	if err != nil {
		return err
	}
	added, err := tx.KeysAddedByAdmin(ctx, userID)
	if err != nil || len(minted)+len(added) == 0 {
		return err
	}
	since := map[int64]time.Time{} // each account's oldest such token
	keyed := map[int64][]*usher.SSHKey{}
	for _, t := range minted {
		if s, ok := since[t.UserID]; !ok || t.CreatedAt.Before(s) {
			since[t.UserID] = t.CreatedAt
		}
	}
	for _, k := range added {
		keyed[k.UserID] = append(keyed[k.UserID], k)
	}
	accounts := slices.Sorted(maps.Keys(since))
	for id := range keyed {
		if _, ok := since[id]; !ok {
			accounts = append(accounts, id)
		}
	}
	slices.Sort(accounts)
	if err := lockUsers(ctx, tx, accounts); err != nil {
		return err
	}
	for _, id := range accounts {
		n, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: id, MintedByAdmin: userID, Kinds: []usher.TokenKind{usher.TokenServiceAccount}}, now)
		if err != nil {
			return err
		}
		keys := 0
		if s, ok := since[id]; ok {
			if keys, err = deleteKeysAdded(ctx, tx, id, s, now.Add(time.Microsecond)); err != nil {
				return err
			}
		}
		for _, k := range keyed[id] {
			switch err := tx.KeyDelete(ctx, k.ID); {
			case err == nil:
				keys++
			case !errors.Is(err, usher.ErrNotFound): // gone with the window above
				return err
			}
		}
		err = e.record(ctx, tx, now, event{action: "token.revoke", resourceType: "user", resourceID: strconv.FormatInt(id, 10),
			meta: map[string]string{"kind": string(usher.TokenServiceAccount), "minted_by": strconv.FormatInt(userID, 10),
				"revoked": strconv.Itoa(n), "ssh_keys_deleted": strconv.Itoa(keys), "reason": reason}})
		if err != nil {
			return err
		}
	}
	return nil
}

// raisedPastDefaults reports whether a service account's change from old
// to u gives it more than it was made with, beyond what it had: a plan
// of its own, or a project limit above the default. Its team's owners are
// compared for those as for any account's (createsMore).
func (e *env) raisedPastDefaults(old, u *usher.User) bool {
	return u.Plan != "" && u.Plan != old.Plan ||
		u.GitLab.ProjectsLimit > max(old.GitLab.ProjectsLimit, e.policy.DefaultProjectsLimit)
}

// endOwnerMints revokes the tokens of service account id that were not
// minted on an administrator's rights alone (its team's owners'), and
// deletes the SSH keys no administrator added, once an administrator
// raised it past its defaults (raisedPastDefaults): made while it had
// them, they carried the raise to an owner whom createsMore now refuses
// a new one. Its owners mint and add again where they may.
func (e *env) endOwnerMints(ctx context.Context, tx store.Tx, id int64, now time.Time) error {
	tokens, err := tx.TokenList(ctx, store.TokenFilter{UserID: id, Kinds: []usher.TokenKind{usher.TokenServiceAccount}, Active: true, Now: now})
	if err != nil {
		return err
	}
	revoked := 0
	for _, t := range tokens {
		if t.MintedByAdmin != 0 {
			continue
		}
		n, err := tx.TokenRevoke(ctx, store.TokenFilter{ID: t.ID}, now)
		if err != nil {
			return err
		}
		revoked += n
	}
	keys, err := tx.KeyList(ctx, id)
	if err != nil {
		return err
	}
	deleted := 0
	for _, k := range keys {
		if k.AddedByAdmin != 0 {
			continue
		}
		if err := tx.KeyDelete(ctx, k.ID); err != nil {
			return err
		}
		deleted++
	}
	if revoked+deleted == 0 {
		return nil
	}
	return e.record(ctx, tx, now, event{action: "token.revoke", resourceType: "user", resourceID: strconv.FormatInt(id, 10),
		meta: map[string]string{"kind": string(usher.TokenServiceAccount), "revoked": strconv.Itoa(revoked),
			"ssh_keys_deleted": strconv.Itoa(deleted), "reason": "raised_past_defaults"}})
}

// deleteServiceAccounts deletes, within the transaction deleting the team,
// its service accounts that are in no other live team, as
// DeleteServiceAccount deletes one: their tokens are revoked and each
// deletion is recorded. Without the team no owner could list or revoke
// them, and their tokens would keep working. One an administrator also put
// in another team stays, for that team's owners to manage, but without
// its tokens: this team's owners minted them. They are not restored with
// the team.
func (g *Groups) deleteServiceAccounts(ctx context.Context, tx store.Tx, team *usher.Group, now time.Time) error {
	accounts, err := serviceAccountsOf(ctx, tx, team)
	if err != nil {
		return err
	}
	// Every account's row before any is written (lockServiceAccounts).
	if err := lockUsers(ctx, tx, userIDs(accounts)); err != nil {
		return err
	}
	p := usher.PrincipalFrom(ctx)
	for _, u := range accounts {
		teams, err := tx.UserGroups(ctx, u.ID, usher.GroupTeam)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(teams, func(m *usher.Membership) bool { return m.GroupID != team.ID }) {
			// Another team keeps it; its tokens, which carried this
			// team's rights, end with the team, as when an owner leaves.
			if err := g.revokeServiceAccountTokens(ctx, tx, u, team, "team_deleted", now); err != nil {
				return err
			}
			continue
		}
		// Deleting the team deletes the account only where its own
		// deletion (DeleteServiceAccount) would: one the caller may read,
		// whose credentials the caller may end, and no wider than a
		// bounded credential.
		if err := g.seenOr(ctx, u, errForbidden("the team holds a service account the caller may not read; an administrator deletes it")); err != nil {
			return err
		}
		if err := g.guardCredentials(ctx, p, actTokenEnd, u); err != nil {
			return err
		}
		if err := g.checkDeleteBound(ctx, p, u); err != nil {
			return err
		}
		changes, err := markServiceAccountDeleted(ctx, tx, u.ID, now)
		if err != nil {
			return err
		}
		if err := g.record(ctx, tx, now, event{action: "service_account.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: changes, meta: map[string]string{"team": team.Handle, "team_id": strconv.FormatInt(team.ID, 10), "reason": "team_deleted"}}); err != nil {
			return err
		}
	}
	return nil
}

// lockServiceAccounts holds the rows of the teams' live service accounts,
// in id order, before a deletion of the teams writes any: deleting one
// writes the count rows of its kind (user_counts), and a transaction that
// took the next account's row only after that deadlocked on PostgreSQL
// against one deleting that account, which takes its row, then the counts.
func lockServiceAccounts(ctx context.Context, tx store.Tx, teams []*usher.Group) error {
	var ids []int64
	for _, team := range teams {
		accounts, err := serviceAccountsOf(ctx, tx, team)
		if err != nil {
			return err
		}
		ids = append(ids, userIDs(accounts)...)
	}
	return lockUsers(ctx, tx, ids)
}

// userIDs returns the users' ids.
func userIDs(users []*usher.User) []int64 {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

// serviceAccountsOf returns the team's live service accounts; other kinds
// of group hold none.
func serviceAccountsOf(ctx context.Context, tx store.Tx, team *usher.Group) ([]*usher.User, error) {
	if !team.Kind.HoldsServiceAccounts() {
		return nil, nil
	}
	var out []*usher.User
	err := eachMember(ctx, tx, team.ID, true, func(m *usher.Membership) error {
		if m.User.Kind == usher.KindServiceAccount {
			out = append(out, m.User)
		}
		return nil
	})
	return out, err
}

// markServiceAccountDeleted soft-deletes the service account with markDeleted
// and writes it, returning the changes to record.
func markServiceAccountDeleted(ctx context.Context, tx store.Tx, id int64, now time.Time) (map[string]usher.Change, error) {
	var changes map[string]usher.Change
	_, err := tx.UserUpdate(ctx, id, func(u *usher.User) error {
		u.UpdatedAt = now
		var err error
		changes, err = markDeleted(ctx, tx, u, now)
		return err
	})
	return changes, err
}
