package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// FinishExternalSignup lets the person an external provider's log-in made
// an account for choose its username and address afterwards (Escape's
// finish-sign-up): the caller's own account, which must carry an identity
// of the provider. The change is Update's, with its rules.
//
// Errors: Unauthenticated, Invalid (not_external: the account has no
// identity of the provider), and those of Update.
func (s *Users) FinishExternalSignup(ctx context.Context, provider string, username, email *string) (*usher.User, error) {
	u, err := s.Me(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(u.Identities, func(id usher.Identity) bool { return id.Provider == provider }) {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeNotExternal,
			Message: "the account is not managed by the " + provider + " provider"}
	}
	return s.Update(ctx, usher.UserKey{ID: u.ID}, usher.UserUpdate{Username: username, Email: email})
}

// Update changes the fields of in that are set. With key.IfVersion set the
// update happens only if the user is still at that version. An
// administrator's new e-mail address replaces the old one, unconfirmed
// unless in.EmailConfirmed vouches for it;
// anyone else's waits in UnconfirmedEmail, and a code is mailed to it that
// makes it the account's address (Auth.Confirm), as GitLab reconfirms.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, Conflict,
// Precondition (a stale IfVersion), RateLimited.
func (s *Users) Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actUserUpdate, nil); err != nil {
		return nil, err
	}
	if in.EmailConfirmed && !p.IsAdmin() {
		return nil, errVouch()
	}
	hash := ""
	if in.Password != nil {
		if err := s.guardCredentials(ctx, p, actPasswordChange, nil); err != nil {
			return nil, err
		}
		if err := s.checkPassword(*in.Password, "", ""); err != nil {
			return nil, err
		}
		// Hash before the transaction: it is slow and needs no lock. Only
		// callers who may update some user get this far; the transaction
		// decides about this one.
		if err := s.authorize(ctx, actUserUpdate, nil); err != nil {
			if usher.ErrorKind(err) == usher.KindForbidden {
				return nil, errForbidden("a password is set by an administrator; users change their own with the current one")
			}
			return nil, err
		}
		var err error
		if hash, err = s.hash(ctx, *in.Password); err != nil {
			return nil, err
		}
	}
	// A change of address mails the new address a code: it is bounded like
	// any mail one may make usher send to an address (see addressMail).
	if in.Email != nil && !p.IsAdmin() {
		// Counted before the transaction (a throttle is a write of its
		// own), and only when the address would change: a client that
		// sends the whole account back with its address unchanged mails
		// nothing. Only the user changes their own address so (the
		// transaction refuses anyone else), and only theirs is compared:
		// a throttle met by others' guesses, but not by the address held,
		// would confirm it.
		if u, err := findUser(ctx, s.store, p, key, liveOnly); err == nil && self(p, u) && *in.Email != u.Email {
			if err := s.addressMail(ctx, *in.Email); err != nil {
				return nil, err
			}
		}
	}
	mailed := false
	out, err := s.change(ctx, key, actUserUpdate, "user.update", live(func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		// An organisation a rule hides from the caller is shown as none,
		// and judged so: naming where the caller sees the user is no
		// change, and naming any other is one, whatever is stored.
		checked := u
		if in.OrganisationID != nil {
			shown, err := s.orgShown(ctx, p, u.OrganisationID)
			if err != nil {
				return nil, err
			}
			switch {
			case *in.OrganisationID == shown:
				in.OrganisationID = nil
			case shown != u.OrganisationID:
				c := *u
				c.OrganisationID = shown
				checked = &c
			}
		}
		if err := s.checkPrivileges(ctx, checked, in); err != nil {
			return nil, err
		}
		would := *u
		if in.Plan != nil {
			would.Plan = *in.Plan
			if *in.Plan != "" && *in.Plan != u.Plan {
				// As it would be stored: a plan is found by its name in
				// any case (an unknown one is refused below).
				if plan, err := userPlan(ctx, tx, *in.Plan); err == nil {
					would.Plan = plan.Name
				}
			}
		}
		if in.External != nil {
			would.External = *in.External
		}
		if in.Admin != nil {
			would.Admin = *in.Admin
		}
		would.GitLab.Apply(in.GitLab)
		if in.Plan != nil || in.External != nil || in.GitLab.CanCreateGroup != nil || in.GitLab.ProjectsLimit != nil {
			if err := s.checkRaiseBound(ctx, p, u, &would); err != nil {
				return nil, err
			}
		}
		if would.Admin && !u.Admin {
			if err := checkAdminBound(p); err != nil {
				return nil, err
			}
		}
		if rightsOf(&would) != rightsOf(u) {
			if err := s.checkHoldBackBound(ctx, p, u); err != nil {
				return nil, err
			}
		}
		if err := kindChange(u.Kind, in.Kind); err != nil {
			return nil, err
		}
		// A password, an identity, the external id an import matches by and
		// the address (even a change of case, which unconfirms it) are
		// credentials: they follow the one rule for them. A blind caller
		// changes one by naming it (checkPrivileges says why).
		b := blind(p, u)
		for _, c := range []struct {
			changed bool
			act     action
		}{
			{in.Password != nil, actPasswordChange},
			{setsIdentity(b, u, in.Identity), actPasswordChange},
			{sets(b, in.ExternalID, u.ExternalID), actPasswordChange},
			{sets(b, in.Email, u.Email), actEmailWrite},
		} {
			if c.changed {
				if err := s.guardCredentials(ctx, p, c.act, u); err != nil {
					return nil, err
				}
				if err := s.checkLogInBound(ctx, p, u); err != nil {
					return nil, err
				}
				// user.update grants the change; a rule that denies the
				// credential's own operation still refuses it.
				if err := s.decide(ctx, p, c.act, strconv.FormatInt(u.ID, 10), true); err != nil {
					return nil, err
				}
			}
		}
		// The username and the handle name the account at log-in and to
		// the services that trust usher's names: one renamed by a rule's
		// holder would leave its name to be taken, by the holder too. They
		// follow the reach of the rule for credentials (outranks), and a
		// bounded credential renames no account it may not delete
		// (checkRenameBound).
		if sets(b, in.Username, u.Username) || sets(b, in.Handle, u.Handle) {
			if err := s.checkRenameBound(ctx, p, u); err != nil {
				return nil, err
			}
			if sets(b, in.Username, u.Username) && !p.IsAdmin() {
				if err := ownAddressName(ctx, tx, u, *in.Username); err != nil {
					return nil, err
				}
			}
			if !p.IsAdmin() && !self(p, u) {
				more, err := s.outranks(ctx, u, p)
				if err != nil {
					return nil, err
				}
				if more {
					return nil, errForbidden("the account has rights the caller lacks; only an administrator renames it")
				}
			}
		}
		// Anyone but an administrator changes an address by proving the
		// new one: it waits, unconfirmed and claiming nothing, until the
		// code mailed to it comes back (see requestAddress).
		upd, pending := in, (*string)(nil)
		switch {
		case in.Email == nil:
		case p.IsAdmin() && *in.Email == u.Email:
			// The address the account has is no change, and ends none
			// waiting: Pterodactyl's clients send the address with every
			// change of the user.
		case p.IsAdmin():
			// An administrator's change takes effect at once and ends any
			// change the user was waiting for.
			if err := addressChanged(ctx, tx, u.ID, u.UnconfirmedEmail, ""); err != nil {
				return nil, err
			}
			u.UnconfirmedEmail = ""
		case !self(p, u):
			// The confirmation would come later, on a public route that
			// knows nothing of who asked: no one but the user asks. The
			// address held is refused too: it is one the caller cannot
			// see (blind).
			return nil, errForbidden("a user changes their own address; an administrator may change anyone's")
		default:
			// A pending account has proved no address; proving the new
			// one makes it active, so it must be one sign-up accepts:
			// else an outsider signs up with an address of an allowed
			// domain that is not theirs, logs in pending
			// (--allow-unconfirmed-login) and proves their own.
			if u.State == usher.StatePending {
				if err := s.signupDomain(*in.Email); err != nil {
					return nil, err
				}
			}
			if usher.EmailKey(*in.Email) != usher.EmailKey(u.Email) {
				named := *u
				if in.Username != nil {
					named.Username = *in.Username
				}
				if err := keepsAddressName(p, &named, u.Email); err != nil {
					return nil, err
				}
			}
			// The update holds the account's row, as whatever takes the
			// account back does while it ends the change waiting: a
			// request authenticated before the take-back must not wait
			// for an address after it (stillCredential).
			if _, err := stillCredential(ctx, tx, p, s.now()); err != nil {
				return nil, err
			}
			upd.Email, pending = nil, in.Email
		}
		old := *u
		applyUpdate(u, upd)
		s.endJWTs(&old, u, s.now())
		if in.EmailConfirmed && u.Email != "" {
			// As a proof by code does: an account pending its
			// confirmation becomes active (userChanges records both).
			if err := addressProved(u, s.now(), map[string]usher.Change{}); err != nil {
				return nil, err
			}
		}
		if in.Name != nil && in.FirstName == nil && in.LastName == nil {
			u.FirstName, u.LastName = "", ""
		}
		if (in.FirstName != nil || in.LastName != nil) && in.Name == nil {
			u.Name = ""
		}
		if err := s.fire(ctx, tx, usher.TriggerUserBeforeUpdate, userSubject(u)); err != nil {
			return nil, err
		}
		// The names are derived before they are checked: a name made of
		// a kept first name and a new last name is a new one.
		deriveNames(u)
		var c checker
		c.user(u, &old)
		switch {
		case in.Name != nil && in.FirstName == nil && in.LastName == nil:
			c.derived([]string{"name"}, "first_name", "last_name")
		case in.Name == nil && (in.FirstName != nil || in.LastName != nil):
			c.derived([]string{"first_name", "last_name"}, "name")
		}
		if u.Handle != old.Handle && u.Handle != "" {
			// Only a handle that changes is checked: one kept from before
			// handles had a rule stays until its user changes it. It is
			// named before the address, as on creation.
			c.handle(u.Handle)
		}
		if u.Email != old.Email {
			// As a handle: an address kept from before a rule it breaks
			// stays until it changes (the owner's own change waits in
			// requestAddress, which checks it).
			c.email("email", u.Email, false)
		}
		if u.Username == "" && old.Username != "" {
			c.add("username", usher.CodeRequired, "may be changed, not removed")
		}
		if u.Username != old.Username {
			c.freshUsername(u.Username)
		}
		if in.Identity != nil {
			c.identity(*in.Identity)
		}
		if in.Password != nil {
			c.errs = append(c.errs, s.passwordProblems(*in.Password, u.Username, u.Email)...)
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		if u.Username != old.Username || u.Email != old.Email {
			username, addr := u.Username, u.Email
			if username == old.Username {
				username = ""
			}
			if addr == old.Email {
				addr = ""
			}
			if err := nameOrAddressTaken(ctx, tx, u.ID, username, addr); err != nil {
				return nil, err
			}
		}
		if err := addressChanged(ctx, tx, u.ID, old.Email, u.Email); err != nil {
			return nil, err
		}
		if pending != nil {
			var err error
			if mailed, err = s.requestAddress(ctx, tx, u, *pending); err != nil {
				return nil, err
			}
		}

		if in.OrganisationID != nil {
			if err := s.checkOrganisation(ctx, tx, p, u.OrganisationID); err != nil {
				return nil, err
			}
			if err := s.authorizeOrgMove(ctx, p, old.OrganisationID, u.OrganisationID); err != nil {
				return nil, err
			}
		}
		if in.Plan != nil && *in.Plan != old.Plan {
			if *in.Plan != "" {
				p, err := userPlan(ctx, tx, *in.Plan)
				if err != nil {
					return nil, err
				}
				u.Plan = p.Name
			} else {
				u.Plan = ""
			}
		}
		changes := userChanges(&old, u)
		if mailed && old.UnconfirmedEmail == u.UnconfirmedEmail {
			// A code mailed again for the same waiting address is a change
			// too: without it the transaction would write nothing.
			changes["unconfirmed_email"] = usher.Change{New: "[code sent again]"}
		}
		if in.Identity != nil && !hasIdentity(&old, *in.Identity) {
			if err := tx.IdentitySet(ctx, u.ID, *in.Identity, s.now()); err != nil {
				return nil, err
			}
			// The answer shows the account as it now is: the provider's
			// identity replaced.
			ids := []usher.Identity{*in.Identity}
			for _, have := range u.Identities {
				if have.Provider != in.Identity.Provider {
					ids = append(ids, have)
				}
			}
			slices.SortFunc(ids, func(a, b usher.Identity) int { return strings.Compare(a.Provider, b.Provider) })
			u.Identities = ids
			changes["identity."+in.Identity.Provider] = usher.Change{New: in.Identity.ExternUID}
		}
		if old.Admin && !u.Admin {
			if err := s.endAdminMints(ctx, tx, u.ID, "admin_removed", s.now()); err != nil {
				return nil, err
			}
		}
		if u.Kind == usher.KindServiceAccount && s.raisedPastDefaults(&old, u) {
			if err := s.endOwnerMints(ctx, tx, u.ID, s.now()); err != nil {
				return nil, err
			}
		}
		if hash != "" {
			now := s.now()
			n, err := s.setPassword(ctx, tx, u, hash, 0, now)
			if err != nil {
				return nil, err
			}
			if err := endAddressChange(ctx, tx, u, changes); err != nil {
				return nil, err
			}
			mailed = true
			changes["password"] = usher.Change{New: "[set]"}
			if n > 0 {
				changes["sessions_revoked"] = usher.Change{New: n}
			}
		}
		return changes, s.fire(ctx, tx, usher.TriggerUserAfterUpdate, userSubject(u))
	}))
	if err == nil && mailed {
		s.mailQueued()
	}
	return out, err
}

// applyUpdate copies the set fields of in onto u.
func applyUpdate(u *usher.User, in usher.UserUpdate) {
	if in.Email != nil && *in.Email != u.Email {
		// A new address is not confirmed yet, even one that differs only
		// in case: a confirmation proves the address as it was sent.
		u.EmailConfirmedAt = nil
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Username, in.Username)
	set(&u.Email, in.Email)
	set(&u.Name, in.Name)
	set(&u.FirstName, in.FirstName)
	set(&u.LastName, in.LastName)
	set(&u.DisplayName, in.DisplayName)
	set(&u.Handle, in.Handle)
	set(&u.Bio, in.Bio)
	set(&u.Location, in.Location)
	set(&u.WebsiteURL, in.WebsiteURL)
	set(&u.Language, in.Language)
	set(&u.ExternalID, in.ExternalID)
	if in.Kind != nil {
		u.Kind = *in.Kind
	}
	if in.Admin != nil {
		u.Admin = *in.Admin
	}
	if in.External != nil {
		u.External = *in.External
	}
	u.GitLab.Apply(in.GitLab)
	if in.Metadata != nil {
		u.Metadata = *in.Metadata
	}
	if in.Meta != nil {
		u.Meta = compactJSON(*in.Meta)
	}
	if in.OrganisationID != nil {
		u.OrganisationID = *in.OrganisationID
	}
}

// change runs one read-modify-write of a user in a transaction: it finds the
// user, authorizes act on it, lets fn change it, and writes the user and its
// audit event together. fn returns the changes to record; none means there
// was nothing to do, and nothing is written.
func (s *Users) change(ctx context.Context, key usher.UserKey, act action, auditAction string,
	fn func(tx store.Tx, u *usher.User) (map[string]usher.Change, error)) (*usher.User, error) {
	return s.changeAfter(ctx, key, act, auditAction, nil, fn)
}

// changeAfter is change, with first, when given, run before the user's row
// is taken: to take rows that come before an account's in the one lock
// order (docs/architecture.md), as the teams a deletion holds.
func (s *Users) changeAfter(ctx context.Context, key usher.UserKey, act action, auditAction string,
	first func(ctx context.Context, tx store.Tx, found *usher.User) error,
	fn func(tx store.Tx, u *usher.User) (map[string]usher.Change, error)) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return nil, err
	}
	if err := checkKey(p, &key); err != nil {
		return nil, err
	}
	if err := s.mayAny(ctx, p, act); err != nil {
		return nil, err
	}
	var out *usher.User
	try := func(holdAlways bool) error {
		return s.store.InTx(ctx, func(tx store.Tx) error {
			found, err := findUser(ctx, tx, p, key, withDeleted)
			if err != nil {
				return err
			}
			// A change may take away an administrator who may sign in (a
			// demotion, a block, a deletion) only while another is left: it
			// holds the set of them before any row (AdministratorsLock), and
			// one that finds the account became one since starts over holding
			// it.
			holdsAdmins := holdAlways || mayAdminister(found)
			if holdsAdmins {
				if err := tx.AdministratorsLock(ctx); err != nil {
					return err
				}
			}
			if first != nil {
				// Only for a caller who may act on the user, as it stands:
				// the rows first takes are decided on again under the lock.
				if err := s.authorize(ctx, act, found); err != nil {
					return err
				}
				if err := first(ctx, tx, found); err != nil {
					return err
				}
			}
			now := s.now()
			var changes map[string]usher.Change
			u, err := tx.UserUpdate(ctx, found.ID, func(u *usher.User) error {
				if (u.Deleted() && !p.IsAdmin()) || !fits(u, key) {
					return errUserNotFound()
				}
				if err := s.authorize(ctx, act, u); err != nil {
					return err
				}
				// One a rule keeps from reading the account changes
				// nothing of it: the answer is the account (an empty
				// change answered it all the same).
				if err := s.authorize(ctx, actUserRead, u); err != nil {
					return err
				}
				if err := stale("user", u.Version, key.IfVersion); err != nil {
					return err
				}
				was := mayAdminister(u)
				var err error
				if changes, err = fn(tx, u); err != nil {
					return err
				}
				if len(changes) == 0 {
					out = u
					return errNoChange
				}
				if was && !mayAdminister(u) {
					if !holdsAdmins {
						return errHoldAdministrators
					}
					if err := lastAdministrator(ctx, tx, p, u); err != nil {
						return err
					}
				}
				u.UpdatedAt = now
				return nil
			})
			if err != nil {
				return err
			}
			out = u
			return s.record(ctx, tx, now, event{action: auditAction, resourceType: "user",
				resourceID: strconv.FormatInt(u.ID, 10), changes: changes})
		})
	}
	err := try(false)
	if errors.Is(err, errHoldAdministrators) {
		err = try(true)
	}
	switch {
	case errors.Is(err, errNoChange):
		return s.redact(ctx, p, out)
	case errors.Is(err, usher.ErrNotFound):
		return nil, errUserNotFound()
	case err != nil:
		return nil, userWriteError(err)
	}
	return s.redact(ctx, p, out)
}

// errHoldAdministrators is a change that found the account it takes away
// from the administrators become one after it decided not to hold them:
// changeAfter starts it over, holding them.
var errHoldAdministrators = errors.New("the account became an administrator: hold the administrators")

// mayAdminister reports whether u is a live, active person who is an
// administrator: one of those the instance must keep (lastAdministrator).
// A pending one signs in only where the policy lets unconfirmed accounts,
// which by default it does not.
func mayAdminister(u *usher.User) bool {
	return u.Admin && !u.Deleted() && u.Kind == usher.KindNormal && u.State == usher.StateActive
}

// lastAdministrator refuses p a change that takes u away from the
// administrators who may sign in when no other is left: no one could then
// make another but by the command line on the server — usher itself, which
// may (an operator shutting a stolen account out at once). The caller
// holds AdministratorsLock.
func lastAdministrator(ctx context.Context, tx store.Tx, p *usher.Principal, u *usher.User) error {
	if p.Kind == usher.PrincipalSystem {
		return nil
	}
	other, err := tx.OtherAdministrator(ctx, u.ID)
	if err != nil || other {
		return err
	}
	return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeLastAdministrator,
		Message: fmt.Sprintf("%s is the last administrator who may sign in: make another one first", u.Username)}
}

// live wraps a change function so that it refuses deleted users.
func live(fn func(tx store.Tx, u *usher.User) (map[string]usher.Change, error)) func(store.Tx, *usher.User) (map[string]usher.Change, error) {
	return func(tx store.Tx, u *usher.User) (map[string]usher.Change, error) {
		if u.Deleted() {
			return nil, errUserNotFound()
		}
		return fn(tx, u)
	}
}
