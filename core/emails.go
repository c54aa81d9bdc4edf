package core

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// Emails manages users' secondary e-mail addresses.
type Emails struct{ *env }

func errEmailNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeEmailNotFound, Message: "e-mail address not found"}
}

// Add adds a secondary address to a user. One added with
// skipConfirmation, which only an administrator may ask for, is confirmed
// at once; otherwise a confirmation code is mailed to it, as GitLab does,
// whoever adds it: an administrator who adds an address for someone
// vouches for it only by saying so. A confirmed address is unique across
// the primary and confirmed secondary addresses of all users; an
// unconfirmed one reserves nothing, and expires unconfirmed after the
// policy's ConfirmTTL.
//
// A user holds at most maxEmailsPerUser secondary addresses.
//
// Errors: Unauthenticated, Forbidden (also skipConfirmation from anyone
// but an administrator), NotFound, Unprocessable, Conflict (the address is
// confirmed by another account, or is the user's already; or the user
// holds as many as they may: limit_reached).
func (m *Emails) Add(ctx context.Context, key usher.UserKey, addr string, skipConfirmation bool) (*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailWrite)
	if err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if skipConfirmation && !p.IsAdmin() {
		return nil, errVouch()
	}
	var c checker
	c.email("email", addr, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	// A caller who cannot see u's addresses (blind) is told of one of
	// them only what it is told of anyone's: taken, after the same
	// throttle, so that the answer confirms no guess at them.
	b := blind(p, u)
	if !b && usher.EmailKey(addr) == usher.EmailKey(u.Email) {
		return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeEmailTaken, Message: "email is the user's primary address",
			Fields: []usher.FieldError{{Field: "email", Code: usher.CodeTaken, Message: "is the user's primary address"}}}
	}
	now := m.now()
	e := &usher.Email{UserID: u.ID, Email: addr, CreatedAt: now}
	confirm := !skipConfirmation
	if confirm {
		if err := m.addressMail(ctx, addr); err != nil {
			return nil, err
		}
	}
	if !confirm {
		e.ConfirmedAt = &now
	}
	err = m.store.InTx(ctx, func(tx store.Tx) error {
		// The account's row first, which whatever takes the account back
		// (a new password, every session ended, a reset) holds as it ends
		// the codes of addresses waiting to be proved: the credential is
		// read again under it, so that a request authenticated before
		// the take-back and committed after it mails no code for the
		// address of whoever held the credential.
		if err := lockLive(ctx, tx, u.ID); err != nil {
			return err
		}
		if _, err := stillCredential(ctx, tx, p, now); err != nil {
			return err
		}
		// An address another account holds (as its primary, or confirmed)
		// is refused at once, as GitLab does; one merely added elsewhere
		// is not held by anyone.
		holder, err := tx.EmailHolder(ctx, usher.EmailKey(addr))
		if err == nil && (holder != u.ID || b) {
			return &usher.UniqueError{Field: "email"}
		}
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return err
		}
		if err := nameOrAddressTaken(ctx, tx, u.ID, "", addr); err != nil {
			return err
		}
		replaced := int64(0)
		if b {
			// The user's own unconfirmed row of the address would make
			// the insert fail where any other would not: for a caller
			// who may not know it is there, the address is added as a
			// free one is, in a new row with a new code; the old row's
			// code goes with it.
			if replaced, err = unconfirmedRow(ctx, tx, u.ID, addr); err != nil {
				return err
			}
		}
		if err := checkEmailRoom(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := tx.EmailAdd(ctx, e); err != nil {
			return err
		}
		if confirm {
			code, _, err := m.issueCode(ctx, tx, usher.CodeConfirm, u.ID, addr, m.policy.ConfirmTTL, "email:"+strconv.FormatInt(e.ID, 10))
			if err != nil {
				return err
			}
			if err := m.queueLetter(ctx, tx, "confirm_email", addr, u, map[string]string{"Code": code,
				"Link": m.policy.PublicURL + "/confirm?kind=email&code=" + url.QueryEscape(code),
				"API":  m.policy.PublicURL + "/v1/auth/confirm-email"}); err != nil {
				return err
			}
		}
		meta := map[string]string{"email": addr, "email_id": strconv.FormatInt(e.ID, 10)}
		if replaced != 0 {
			meta["replaced_email_id"] = strconv.FormatInt(replaced, 10)
		}
		return m.record(ctx, tx, now, event{action: "email.add", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10), meta: meta})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	if confirm {
		m.mailQueued()
	}
	return e, nil
}

// unconfirmedRow deletes user's unconfirmed secondary row of addr, if it
// has one, and returns its id (0 when there was none).
func unconfirmedRow(ctx context.Context, tx store.Tx, user int64, addr string) (int64, error) {
	list, err := tx.EmailList(ctx, user)
	if err != nil {
		return 0, err
	}
	key := usher.EmailKey(addr)
	for _, e := range list {
		if e.ConfirmedAt == nil && usher.EmailKey(e.Email) == key {
			return e.ID, tx.EmailDelete(ctx, e.ID)
		}
	}
	return 0, nil
}

// List returns a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (m *Emails) List(ctx context.Context, key usher.UserKey) ([]*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailRead)
	if err != nil {
		return nil, err
	}
	return m.store.EmailList(ctx, u.ID)
}

// Get returns one of a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (m *Emails) Get(ctx context.Context, key usher.UserKey, id int64) (*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailRead)
	if err != nil {
		return nil, err
	}
	e, err := m.store.EmailGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && e.UserID != u.ID) {
		return nil, errEmailNotFound()
	}
	return e, err
}

// Delete removes one of a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound (the user, or the address).
func (m *Emails) Delete(ctx context.Context, key usher.UserKey, id int64) error {
	u, err := m.owner(ctx, key, actEmailWrite)
	if err != nil {
		return err
	}
	return m.store.InTx(ctx, func(tx store.Tx) error {
		// The account's row first, and its username read under it: a
		// rename to this address at once must find it gone, or wait
		// (keepsAddressName).
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		held, err := tx.UserGet(ctx, usher.UserKey{ID: u.ID})
		if err != nil {
			return err
		}
		if held.Deleted() {
			// Deleted meanwhile: its addresses wait for an undelete.
			return errUserNotFound()
		}
		e, err := tx.EmailGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && e.UserID != u.ID) {
			return errEmailNotFound()
		}
		if err != nil {
			return err
		}
		if e.ConfirmedAt != nil {
			// A confirmed address is the account's alone; deleted, it is
			// free for another account to take.
			if err := m.checkAddressBound(ctx, usher.PrincipalFrom(ctx), held); err != nil {
				return err
			}
		}
		if err := keepsAddressName(usher.PrincipalFrom(ctx), held, e.Email); err != nil {
			return err
		}
		if err := tx.EmailDelete(ctx, id); err != nil {
			return err
		}
		return m.record(ctx, tx, m.now(), event{action: "email.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"email": e.Email, "email_id": strconv.FormatInt(id, 10)}})
	})
}

// Confirm confirms a secondary address with the code mailed to it. Only
// then does the address become the account's alone: of several accounts
// that added it, the first to confirm it keeps it, and the others' codes
// are refused.
//
// Errors: NotFound (an unknown, used or expired code), Conflict (another
// account confirmed the address first), Invalid.
func (m *Emails) Confirm(ctx context.Context, code string) (*usher.Email, error) {
	if code == "" {
		return nil, invalid("code", "is required")
	}
	var e *usher.Email
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		c, err := m.useCode(ctx, tx, usher.CodeConfirm, code)
		if err != nil {
			return err
		}
		idText, ok := strings.CutPrefix(c.Data, "email:")
		id, perr := strconv.ParseInt(idText, 10, 64)
		if !ok || perr != nil {
			return errCodeNotFound(usher.CodeConfirm)
		}
		if e, err = tx.EmailGet(ctx, id); err != nil || e.UserID != c.UserID || !codeProves(c, e.Email) {
			return errCodeNotFound(usher.CodeConfirm)
		}
		// An address added before its rules were what they are is
		// checked as it is proved, as making it primary checks it.
		if err := checkedEmail(e.Email); err != nil {
			return err
		}
		// A deleted account proves nothing: its address would be marked
		// confirmed without a claim, and taken back at undelete.
		if owner, err := tx.UserGet(ctx, usher.UserKey{ID: e.UserID}); err != nil || owner.Deleted() {
			return errCodeNotFound(usher.CodeConfirm)
		}
		if err := nameOrAddressTaken(ctx, tx, e.UserID, "", e.Email); err != nil {
			return errNamedByAnother(err)
		}
		now := m.now()
		if err := tx.EmailConfirm(ctx, id, now); err != nil {
			return errAddressTaken(err)
		}
		e.ConfirmedAt = &now
		return m.record(ctx, tx, now, event{action: "email.confirm", resourceType: "user",
			resourceID: strconv.FormatInt(e.UserID, 10), meta: map[string]string{"email": e.Email}})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// MakePrimary makes one of a user's confirmed secondary addresses the
// account's primary address. The primary address it replaces stays as a
// secondary address, confirmed or not as it was (an unconfirmed one
// expires like any other); the codes mailed to it end. An address that is not confirmed cannot become primary: nobody
// proved it is the user's. The address replaced is told of the change,
// as it is of a change asked for by updating the user, unless an
// administrator made it on another's account. Only the user or an
// administrator may: a delegate with email.write may not.
//
// Errors: Unauthenticated, Forbidden, NotFound (the user, or the address),
// Unprocessable (the address is not confirmed), Conflict.
func (m *Emails) MakePrimary(ctx context.Context, key usher.UserKey, id int64) (*usher.User, error) {
	u, err := m.owner(ctx, key, actEmailWrite)
	if err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if !p.IsAdmin() && !self(p, u) {
		// email.write lets a delegate add another's addresses, whose
		// codes go to whoever holds them: made primary, an address the
		// delegate holds would receive the account's password resets.
		// The primary address is changed by its user or an
		// administrator only, as Users.Update has it.
		return nil, errForbidden("a user makes their own address primary; an administrator may for anyone")
	}
	if err := m.checkLogInBound(ctx, p, u); err != nil {
		return nil, err
	}
	var out *usher.User
	notified := false
	err = m.store.InTx(ctx, func(tx store.Tx) error {
		notified = false
		// The account's row first, then the credential read again under
		// it, as Add does: password resets go to the address made
		// primary, so a request authenticated before the owner took the
		// account back must not make it after.
		if err := lockLive(ctx, tx, u.ID); err != nil {
			return err
		}
		if _, err := stillCredential(ctx, tx, p, m.now()); err != nil {
			return err
		}
		e, err := tx.EmailGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && e.UserID != u.ID) {
			return errEmailNotFound()
		}
		if err != nil {
			return err
		}
		if e.ConfirmedAt == nil {
			return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeValidationFailed,
				Message: "only a confirmed address can become the primary one",
				Fields:  []usher.FieldError{{Field: "email", Code: usher.CodeInvalid, Message: "is not confirmed"}}}
		}
		// The primary address is set here: it passes what any address set
		// passes, which one added before a rule (an invisible character)
		// may not.
		if err := checkedEmail(e.Email); err != nil {
			return err
		}
		if err := tx.EmailDelete(ctx, id); err != nil {
			return err
		}
		now := m.now()
		var old usher.User
		out, err = tx.UserUpdate(ctx, u.ID, func(u *usher.User) error {
			// A pending account's primary address is one sign-up accepts,
			// as Users.Update has it: proved, it makes the account active.
			if u.State == usher.StatePending && !p.IsAdmin() {
				if err := m.signupDomain(e.Email); err != nil {
					return err
				}
			}
			// The address replaced stays as a secondary one, as it was:
			// unproved, it is no longer the account's own for its
			// username.
			if u.EmailConfirmedAt == nil {
				if err := keepsAddressName(p, u, u.Email); err != nil {
					return err
				}
			}
			old = *u
			u.Email, u.EmailConfirmedAt = e.Email, e.ConfirmedAt
			if usher.EmailKey(u.UnconfirmedEmail) == usher.EmailKey(e.Email) {
				u.UnconfirmedEmail = ""
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if old.Email != "" {
			prev := &usher.Email{UserID: u.ID, Email: old.Email, ConfirmedAt: old.EmailConfirmedAt, CreatedAt: now}
			if err := tx.EmailAdd(ctx, prev); err != nil {
				return err
			}
		}
		if err := addressChanged(ctx, tx, u.ID, old.Email, out.Email); err != nil {
			return err
		}
		// Whoever made the change may not be the owner of the account (a
		// session left open, a stolen token), and password resets now go
		// to the new address: the old one is told, so that the owner
		// learns of it. An administrator's change of another's address
		// tells no one, here as when updating the user; nor is an
		// address no one proved told (notifiable): it may be anyone's.
		if notifiable(&old) && (!p.IsAdmin() || self(p, u)) {
			if err := m.queueLetter(ctx, tx, "email_changed", old.Email, &old, map[string]string{"NewAddress": out.Email,
				"SessionsLink": m.policy.PublicURL + "/account/sessions", "TokensLink": m.policy.PublicURL + "/account/tokens"}); err != nil {
				return err
			}
			notified = true
		}
		return m.record(ctx, tx, now, event{action: "email.make_primary", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: map[string]usher.Change{"email": {Old: old.Email, New: out.Email}}})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	if notified {
		m.mailQueued()
	}
	// The account as the caller sees it: its own holder, an organisation
	// a rule hides from them as none.
	return m.redact(ctx, p, out)
}
