package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// Delete soft-deletes a user: the account stops working at once, its tokens
// are revoked, and so are those of the service accounts of the teams it
// owns (endOwnedServiceAccountTokens), and its username and e-mail are
// free for others. It can be
// undone with Undelete (by id: a deleted user holds no name). The last owner
// of a team cannot be deleted: see DeleteWith.
//
// Errors: Unauthenticated, Forbidden, NotFound (also for a deleted user),
// Conflict (code usher.CodeLastTeamOwner).
func (s *Users) Delete(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.DeleteWith(ctx, key, usher.UserDelete{})
}

// DeleteWith deletes a user as Delete does. With in.SoleOwnedTeams the teams
// the user alone owns are deleted with it (as Groups.Delete deletes them,
// each allowed to the caller and recorded, in the same transaction);
// without, a team's last owner is refused.
//
// Errors: Unauthenticated, Forbidden (also to delete one of the teams),
// NotFound (also for a deleted user), Conflict (code
// usher.CodeLastTeamOwner).
func (s *Users) DeleteWith(ctx context.Context, key usher.UserKey, in usher.UserDelete) (*usher.User, error) {
	dropped := false
	// The teams the user owns are held before the account's row, as every
	// write to a team holds the team before the rows of its members (a
	// change of the user's groups, a service account made in the team):
	// taken after it, they deadlocked against those on PostgreSQL. A team
	// the user came to own between the two is not taken after the row: the
	// deletion starts over, holding it first.
	var held []int64
	holdOwned := func(ctx context.Context, tx store.Tx, found *usher.User) (err error) {
		if held, err = ownedTeams(ctx, tx, found.ID); err != nil {
			return err
		}
		return lockGroups(ctx, tx, held)
	}
	var u *usher.User
	err := takingAgain("the teams the user owns kept changing as it was deleted", func() (err error) {
		u, err = s.changeAfter(ctx, key, actUserDelete, "user.delete", holdOwned, s.deleteChange(ctx, in, &held, &dropped))
		return err
	})
	if dropped {
		s.rules.changed()
	}
	return u, err
}

// deleteChange is DeleteWith's change of the account, its row held and
// the teams it owns (held) before it.
func (s *Users) deleteChange(ctx context.Context, in usher.UserDelete, held *[]int64, dropped *bool) func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
	return live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		// Deleting ends every credential of the account.
		if err := s.guardCredentials(ctx, usher.PrincipalFrom(ctx), actTokenEnd, u); err != nil {
			return nil, err
		}
		if err := s.checkDeleteBound(ctx, usher.PrincipalFrom(ctx), u); err != nil {
			return nil, err
		}
		if err := s.fire(ctx, tx, usher.TriggerUserBeforeDelete, readOnly(userSubject(u))); err != nil {
			return nil, err
		}
		if err := ownsOnly(ctx, tx, u.ID, *held); err != nil {
			return nil, err
		}
		teams, err := tx.SoleOwnerTeams(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case len(teams) > 0 && !in.SoleOwnedTeams:
			return nil, errLastOwner(teams[0])
		case len(teams) > 0:
			if err := (&Groups{s.env}).deleteIn(ctx, tx, teams); err != nil {
				return nil, err
			}
			*dropped = true
		}
		now := s.now()
		if err := s.endOwnedServiceAccountTokens(ctx, tx, u.ID, now); err != nil {
			return nil, err
		}
		changes, err := markDeleted(ctx, tx, u, now)
		if err != nil {
			return nil, err
		}
		return changes, s.fire(ctx, tx, usher.TriggerUserAfterDelete, userSubject(u))
	})
}

// ownsOnly returns errTakeAgain when the user owns a live team that is
// not among held, the teams taken for it: one the user came to own since
// would be taken out of the one order now, after rows taken since (the
// account's, or a team above it), and the caller starts over holding it.
func ownsOnly(ctx context.Context, tx store.Tx, userID int64, held []int64) error {
	ids, err := ownedTeams(ctx, tx, userID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !slices.Contains(held, id) {
			return errTakeAgain
		}
	}
	return nil
}

// lockOwnedTeams holds the rows of the live teams the user owns, in id
// order, as an owner leaving one holds it (keepOwner): else a co-owner
// leaving as the user is deleted each counted the other, and the team was
// left with a deleted owner alone.
func lockOwnedTeams(ctx context.Context, tx store.Tx, userID int64) error {
	ids, err := ownedTeams(ctx, tx, userID)
	if err != nil {
		return err
	}
	return lockGroups(ctx, tx, ids)
}

// ownedTeams returns the ids of the live teams the user owns.
func ownedTeams(ctx context.Context, tx store.Tx, userID int64) ([]int64, error) {
	ms, err := tx.UserGroups(ctx, userID, usher.GroupTeam)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, m := range ms {
		if m.Level == usher.LevelOwner {
			ids = append(ids, m.GroupID)
		}
	}
	return ids, nil
}

// lastOwner refuses to delete an account that is the last owner of a team:
// the team would be orphaned.
func lastOwner(ctx context.Context, tx store.Tx, userID int64) error {
	if err := lockOwnedTeams(ctx, tx, userID); err != nil {
		return err
	}
	return soleOwner(ctx, tx, userID)
}

// soleOwner is lastOwner for a caller that holds the teams the user owns
// already.
func soleOwner(ctx context.Context, tx store.Tx, userID int64) error {
	teams, err := tx.SoleOwnerTeams(ctx, userID)
	if err != nil {
		return err
	}
	if len(teams) > 0 {
		return errLastOwner(teams[0])
	}
	return nil
}

func errLastOwner(team *usher.Group) error {
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeLastTeamOwner,
		Message: "the account is the last owner of team " + team.Handle + "; give it another owner or delete it first"}
}

// endJWTs ends the JWTs made as or by u before now when the change from
// old decides anew who may act as it or through it: u made an
// administrator or no longer one, or shut out (a state that may not sign
// in, by the policy: a pending one too, where unconfirmed accounts may
// not). A JWT is signed, not stored, and carries no trace of such a
// change: a copy of an administrator's impersonation of u was refused
// while u was one, or blocked, and acted again once the change was
// undone, as did one its administrator made before losing the rights
// and getting them back (round 48). Sessions and tokens live on where
// they did (a block ends the sessions itself); the account's clients make
// new JWTs from them.
func (e *env) endJWTs(old, u *usher.User, now time.Time) {
	if old.Admin != u.Admin || (e.maySignIn(old) && !e.maySignIn(u)) {
		u.CredentialsSince = &now
	}
}

// markDeleted soft-deletes u, which the caller writes, and ends every
// credential it holds: its tokens are revoked, its SSH keys, mailed codes
// and log-in handles deleted, and the JWTs issued before now stay refused
// should it be restored. It unlinks u's external identities, as deletion
// frees u's username and address: the person's next log-in through the
// provider finds no account, and makes one where sign-up is open, as it
// would had the account been purged (a blocked account keeps its
// identities, and refuses them). It returns the changes to record.
func markDeleted(ctx context.Context, tx store.Tx, u *usher.User, now time.Time) (map[string]usher.Change, error) {
	u.DeletedAt, u.CredentialsSince = &now, &now
	if _, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: u.ID}, now); err != nil {
		return nil, err
	}
	// A code mailed before, or a log-in's handle on a session, would
	// otherwise work again once the account is undeleted.
	for _, kind := range slices.Concat(mailCodeKinds, []usher.CodeKind{usher.CodeRedeem, usher.CodeExchange}) {
		if err := tx.CodeDeleteUser(ctx, u.ID, kind); err != nil {
			return nil, err
		}
	}
	// So would an SSH key, a way in through whatever trusts usher's keys,
	// added perhaps by whoever the deletion meant to stop; deleting it
	// also frees its fingerprint for a newcomer's key.
	if _, err := deleteKeys(ctx, tx, u.ID); err != nil {
		return nil, err
	}
	changes := map[string]usher.Change{"deleted_at": {New: now}}
	// A change of address it waited for ends, as a block ends it: its
	// code is gone, and an undeleted account would else still show the
	// address, and prove it with a code sent again.
	if err := endAddressChange(ctx, tx, u, changes); err != nil {
		return nil, err
	}
	for _, id := range u.Identities {
		if err := tx.IdentityDelete(ctx, u.ID, id.Provider); err != nil {
			return nil, err
		}
		changes["identity."+id.Provider] = usher.Change{Old: id.ExternUID}
	}
	u.Identities = nil
	return changes, nil
}

// deleteKeys deletes the SSH keys of the user and returns them, for the
// caller to record.
func deleteKeys(ctx context.Context, tx store.Tx, userID int64) ([]*usher.SSHKey, error) {
	keys, err := tx.KeyList(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := tx.KeyDelete(ctx, k.ID); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Undelete restores a soft-deleted user. Its revoked tokens stay revoked,
// and the JWTs issued before its deletion stay refused.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (the user is not
// deleted, or its username or e-mail was taken meanwhile).
func (s *Users) Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	// A service account's teams are held before its row, as every write
	// that puts one in a team holds the team first (placeMember): counted
	// without them, its restore and an administrator's adding another to
	// the team each counted 99, and the team held 101. A team it came to
	// be in between the two is not taken after the row: the restore starts
	// over, holding it first.
	var held []int64
	holdTeams := func(ctx context.Context, tx store.Tx, found *usher.User) error {
		held = nil
		if found.Kind != usher.KindServiceAccount {
			return nil
		}
		ms, err := tx.UserGroups(ctx, found.ID, usher.GroupTeam)
		if err != nil {
			return err
		}
		for _, m := range ms {
			held = append(held, m.GroupID)
		}
		return lockGroups(ctx, tx, held)
	}
	var out *usher.User
	err := takingAgain("the teams of the account kept changing as it was restored", func() (err error) {
		out, err = s.changeAfter(ctx, key, actUserDelete, "user.undelete", holdTeams, s.undeleteChange(ctx, &held))
		return err
	})
	return out, err
}

// undeleteChange is Undelete's change of the account, its row held and,
// for a service account, its teams (held) before it.
func (s *Users) undeleteChange(ctx context.Context, held *[]int64) func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
	return func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if !u.Deleted() {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeUserNotDeleted, Message: "the user is not deleted"}
		}
		if err := orgLive(ctx, tx, u.OrganisationID, "user"); err != nil {
			return nil, err
		}
		// Its username and addresses were nobody's while it was deleted:
		// another account may since be named by one of them. All are held
		// at once, in the one order, before each is checked.
		emails, err := tx.EmailList(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		texts := []string{usher.EmailKey(u.Email)}
		if strings.Contains(u.Username, "@") {
			texts = append(texts, usher.EmailKey(u.Username))
		}
		for _, e := range emails {
			if e.ConfirmedAt != nil {
				texts = append(texts, usher.EmailKey(e.Email))
			}
		}
		if err := tx.UserNamesLock(ctx, texts); err != nil {
			return nil, err
		}
		if err := namesTaken(ctx, tx, u.ID, u.Username, u.Email); err != nil {
			return nil, errNamedByAnother(err)
		}
		for _, e := range emails {
			if e.ConfirmedAt == nil {
				continue
			}
			if err := namesTaken(ctx, tx, u.ID, "", e.Email); err != nil {
				return nil, errNamedByAnother(err)
			}
		}
		if u.Kind == usher.KindServiceAccount {
			// Its memberships stayed: back, it counts in each team again,
			// which may have filled up meanwhile (checkTeamAccounts).
			ms, err := tx.UserGroups(ctx, u.ID, usher.GroupTeam)
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				if !slices.Contains(*held, m.GroupID) {
					return nil, errTakeAgain
				}
				accounts, err := serviceAccountsOf(ctx, tx, m.Group)
				if err != nil {
					return nil, err
				}
				if err := checkTeamAccounts(len(accounts)); err != nil {
					return nil, err
				}
			}
		}
		old := *u.DeletedAt
		u.DeletedAt = nil
		return map[string]usher.Change{"deleted_at": {Old: old}}, nil
	}
}

// Purge deletes a user for good, with everything that belongs to it, its
// avatar's bytes too. The audit log keeps its record; the files it
// uploaded stay, without an owner, for administrators to keep or delete.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (the last owner
// of a team).
func (s *Users) Purge(ctx context.Context, key usher.UserKey) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserPurge, nil); err != nil {
		return err
	}
	if err := checkKey(p, &key); err != nil {
		return err
	}
	if err := s.mayAny(ctx, p, actUserPurge); err != nil {
		return err
	}
	var drop []string // the avatar's blobs, removed once the purge commits
	err := inTxTakingAgain(ctx, s.store, "the teams the user owns kept changing as it was purged", func(tx store.Tx) error {
		drop = drop[:0]
		u, err := findUser(ctx, tx, p, key, withDeleted)
		if err != nil {
			return err
		}
		// A purge takes the account away for good, a live one as a
		// deletion does, in the one lock order (docs/architecture.md):
		// the administrators first, so that none is taken away until the
		// purge ends; the teams it owns; the account's row, before its
		// reminders' rows and its teams' service accounts'. The account
		// is read again under it — one undeleted, promoted or made a
		// team's owner since is asked as it is now, the last starting the
		// purge over (ownsOnly).
		if err := tx.AdministratorsLock(ctx); err != nil {
			return err
		}
		held, err := ownedTeams(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if err := lockGroups(ctx, tx, held); err != nil {
			return err
		}
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, p, usher.UserKey{ID: u.ID}, withDeleted); err != nil {
			return err
		}
		if err := ownsOnly(ctx, tx, u.ID, held); err != nil {
			return err
		}
		if err := s.authorize(ctx, actUserPurge, u); err != nil {
			return err
		}
		if err := s.guardCredentials(ctx, p, actTokenEnd, u); err != nil {
			return err
		}
		if err := s.checkDeleteBound(ctx, p, u); err != nil {
			return err
		}
		if mayAdminister(u) {
			if err := lastAdministrator(ctx, tx, p, u); err != nil {
				return err
			}
		}
		// As a deletion does: a team keeps an owner.
		if err := lastOwner(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := endRemindersFor(ctx, tx, u.ID, s.now()); err != nil {
			return err
		}
		if _, err := removeAvatars(ctx, tx, u.ID, 0, &drop); err != nil {
			return err
		}
		if err := s.endOwnedServiceAccountTokens(ctx, tx, u.ID, s.now()); err != nil {
			return err
		}
		if err := tx.UserPurge(ctx, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, s.now(), event{action: "user.purge", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), meta: map[string]string{"username": u.Username}})
	})
	if errors.Is(err, usher.ErrNotFound) {
		return errUserNotFound()
	}
	if err == nil {
		s.dropBlobs(ctx, drop)
	}
	return err
}

// errExternalBlock refuses a state change of an account that an external
// directory disabled.
func errExternalBlock() error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeBlockedExternally,
		Message: "the user was blocked by an external directory and can only be unblocked there"}
}

// setState moves a live user to state to from one of the states from. Being
// in to already is no change. Leaving a state that may sign in ends the
// user's sessions; its other tokens stop working while the state lasts.
func (s *Users) setState(ctx context.Context, key usher.UserKey, auditAction string, to usher.UserState, from ...usher.UserState) (*usher.User, error) {
	return s.change(ctx, key, actUserState, auditAction, live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if u.State == to {
			return nil, nil
		}
		// A state that may not sign in ends the account's sessions, and
		// any state change decides who may use the account: the rule for
		// another's credentials applies (a helpdesk blocks no
		// administrator).
		if err := s.guardCredentials(ctx, usher.PrincipalFrom(ctx), actTokenEnd, u); err != nil {
			return nil, err
		}
		if u.State == usher.StateBlockedExternal {
			return nil, errExternalBlock()
		}
		allowed := false
		for _, f := range from {
			allowed = allowed || u.State == f
		}
		if !allowed {
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeInvalidState,
				Message: fmt.Sprintf("a %s user cannot become %s this way", u.State, to)}
		}
		if to == usher.StateActive {
			// Lifting a suspension gives back the state it took.
			var err error
			if to, err = stateBefore(ctx, tx, u); err != nil {
				return nil, err
			}
		}
		old := u.State
		was := *u
		u.State = to
		changes := map[string]usher.Change{"state": {Old: string(old), New: string(to)}}
		now := s.now()
		s.endJWTs(&was, u, now)
		switch {
		case to == usher.StateSuspended:
			u.SuspendedAt = &now
			changes["suspended_at"] = usher.Change{New: now}
		case old == usher.StateSuspended:
			var was any
			if u.SuspendedAt != nil {
				was = *u.SuspendedAt
			}
			changes["suspended_at"] = usher.Change{Old: was}
			u.SuspendedAt = nil
		}
		if old.CanSignIn() && !to.CanSignIn() {
			n, err := endSessions(ctx, tx, u.ID, 0, now)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				changes["sessions_revoked"] = usher.Change{New: n}
			}
			if err := endAddressChange(ctx, tx, u, changes); err != nil {
				return nil, err
			}
			// The account's own tokens stop working while the state
			// lasts, but a token it minted for a team's service account
			// is the service account's, and would keep the team's rights
			// for whoever was shut out: as when an owner leaves, the
			// tokens of the service accounts of the teams it owns end.
			if err := s.endOwnedServiceAccountTokens(ctx, tx, u.ID, now); err != nil {
				return nil, err
			}
		}
		return changes, nil
	}))
}

// signInStates are the states whose users may sign in.
var signInStates = []usher.UserState{usher.StateActive, usher.StatePending}

// Block blocks a user: it can no longer sign in, its sessions end and its
// other tokens stop working until it is unblocked; the tokens of the
// service accounts of the teams it owns end. Blocking a blocked user
// changes nothing.
//
// Errors: Unauthenticated, Forbidden (also for a user blocked by an external
// directory), NotFound.
func (s *Users) Block(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.block", usher.StateBlocked, append(signInStates, usher.StateSuspended)...)
}

// Unblock lifts a block: the user is active again, or pending when it was
// pending before and has proved no address since (stateBefore).
// Unblocking an active or pending user changes nothing; a suspended one is
// unsuspended, not unblocked (as GitLab's deactivated users are
// activated, not unblocked).
//
// Errors: Unauthenticated, Forbidden (also for a user blocked by an external
// directory), NotFound, Conflict (a suspended user).
func (s *Users) Unblock(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.change(ctx, key, actUserState, "user.unblock", live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if u.State == usher.StateBlocked || u.State == usher.StateSuspended {
			// Lifting a block gives the account back its log-in, as
			// blocking takes it: a rule reaches only accounts with no
			// more rights than its holder (see setState), and learns
			// the state of no other.
			if err := s.guardCredentials(ctx, usher.PrincipalFrom(ctx), actTokenEnd, u); err != nil {
				return nil, err
			}
		}
		switch u.State {
		case usher.StateBlockedExternal:
			return nil, errExternalBlock()
		case usher.StateSuspended:
			return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeInvalidState,
				Message: "a suspended user is unsuspended, not unblocked"}
		case usher.StateBlocked:
			to, err := stateBefore(ctx, tx, u)
			if err != nil {
				return nil, err
			}
			u.State = to
			return map[string]usher.Change{"state": {Old: string(usher.StateBlocked), New: string(to)}}, nil
		}
		return nil, nil
	}))
}

// stateBefore returns the state a blocked or suspended user goes back to
// when the block or suspension is lifted: pending when it was pending
// before, as the audit event that blocked or suspended it recorded (the
// log is written in the transaction of every change of state, and only a
// change writes one), and its address is still unproved; active
// otherwise. Lifting a block so never signs in an account whose owner
// proved no address, which only confirming does. It reads those events
// by their exact action, so that no other event written about the user,
// however many, hides them.
func stateBefore(ctx context.Context, tx store.Tx, u *usher.User) (usher.UserState, error) {
	if u.EmailConfirmedAt != nil {
		return usher.StateActive, nil
	}
	want, before := u.State, (*usher.Cursor)(nil)
	// A block of a suspended user is walked back through the suspension;
	// no user is suspended while blocked, so two steps reach the start.
	for range 2 {
		page, err := tx.AuditList(ctx, usher.AuditFilter{ResourceType: "user", ResourceID: strconv.FormatInt(u.ID, 10),
			Action: stateActions[want], Page: usher.PageRequest{Limit: 1, After: before}})
		if err != nil {
			return "", err
		}
		if len(page.Items) == 0 {
			break
		}
		ev := page.Items[0]
		switch was := usher.UserState(fmt.Sprint(ev.Changes["state"].Old)); was {
		case usher.StatePending:
			return usher.StatePending, nil
		case usher.StateBlocked, usher.StateSuspended:
			want, before = was, &usher.Cursor{ID: ev.ID}
		case usher.StateBlockedExternal:
			// A directory's block records nothing of what came before
			// it: as none recorded (below), not as active, which made an
			// account pending on its unproved address active.
			want = ""
		default:
			return usher.StateActive, nil
		}
		if want == "" {
			break
		}
	}
	// No block or suspension recorded what came before the first: an
	// import made the account so (one that changes an account's state
	// records it as a block or a suspension). One with an address nobody
	// proved was never active; it is pending, as one made with that address
	// unblocked is.
	if u.Email != "" {
		return usher.StatePending, nil
	}
	return usher.StateActive, nil
}

// stateActions are the audit actions that take an account to a state it
// cannot sign in in, and record the state before (stateBefore).
var stateActions = map[usher.UserState]string{usher.StateBlocked: "user.block", usher.StateSuspended: "user.suspend"}

// Suspend suspends a user: its sessions end and its other tokens stop
// working until it is unsuspended; the tokens of the service accounts of
// the teams it owns end. Suspending a suspended user changes nothing.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a blocked user).
func (s *Users) Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.suspend", usher.StateSuspended, signInStates...)
}

// Unsuspend lifts a suspension, as Unblock lifts a block: the user is
// active again, or pending (stateBefore). Unsuspending an active user
// changes nothing.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a blocked user).
func (s *Users) Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	return s.setState(ctx, key, "user.unsuspend", usher.StateActive, usher.StateSuspended)
}
