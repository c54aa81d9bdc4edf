package core

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// signupsPerWindow is how many sign-ups one client address may try within
// the policy's failure window.
const signupsPerWindow = 20

// codeLen is the length of one-time codes sent by mail: 32 base62
// characters, about 190 bits, far beyond guessing.
const codeLen = 32

// newCode makes a one-time code: its text and the hash that is stored.
func newCode() (text string, hash []byte) {
	text = randomBase62(codeLen)
	return text, hashCode(text)
}

// issueCode stores a new code of the kind for the user and returns its text.
// A code sent by mail names the address it goes to (addr), and proves only
// that address; other codes have none.
func (e *env) issueCode(ctx context.Context, tx store.Tx, kind usher.CodeKind, userID int64, addr string, ttl time.Duration, data string) (string, *usher.Code, error) {
	text, hash := newCode()
	now := e.now()
	c := &usher.Code{Kind: kind, Hash: hash, UserID: userID, Data: data, EmailKey: usher.EmailKey(addr),
		ExpiresAt: now.Add(ttl), CreatedAt: now}
	if err := tx.CodeCreate(ctx, c); err != nil {
		return "", nil, err
	}
	return text, c, nil
}

// useCode finds an unused, unexpired code of the kind and marks it used.
// A code of an account takes the account's row first: what ends an
// account's codes (a password set, a deletion, a change of address) holds
// that row and then deletes them, so taking the code's row first, as
// marking it used does, deadlocked against them on PostgreSQL.
func (e *env) useCode(ctx context.Context, tx store.Tx, kind usher.CodeKind, text string) (*usher.Code, error) {
	c, err := tx.CodeByHash(ctx, kind, hashCode(text))
	if err == nil && c.UserID != 0 {
		err = lockUser(ctx, tx, c.UserID)
	}
	if err == nil {
		err = tx.CodeUse(ctx, c.ID, e.now())
	}
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errCodeNotFound(kind)
	}
	return c, err
}

// liveCode finds the code of kind that text stands for, using nothing up;
// one that is unknown, used or expired is refused alike
// (errCodeNotFound).
func liveCode(ctx context.Context, r store.Tx, kind usher.CodeKind, text string, now time.Time) (*usher.Code, error) {
	c, err := r.CodeByHash(ctx, kind, hashCode(text))
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (c.UsedAt != nil || !c.ExpiresAt.After(now))) {
		return nil, errCodeNotFound(kind)
	}
	return c, err
}

// errCodeNotFound is the answer for a code that is unknown, used or expired:
// the three are not told apart.
func errCodeNotFound(kind usher.CodeKind) error {
	c := codesNotFound[kind]
	return &usher.Error{Kind: usher.KindNotFound, Code: c.code, Message: c.what + " not found, used already or expired"}
}

// codesNotFound names each kind of one-time code and its code when unknown.
var codesNotFound = map[usher.CodeKind]struct{ code, what string }{
	usher.CodeConfirm:     {usher.CodeConfirmNotFound, "confirmation code"},
	usher.CodeReset:       {usher.CodeResetNotFound, "reset token"},
	usher.CodeResetTicket: {usher.CodeResetTicketNotFound, "reset ticket"},
	usher.CodeRedeem:      {usher.CodeRedeemNotFound, "redeem token"},
	usher.CodeOAuthState:  {usher.CodeOAuthStateNotFound, "log-in state"},
	usher.CodeDevice:      {usher.CodeDeviceNotFound, "user code"},
	usher.CodeExchange:    {usher.CodeExchangeNotFound, "exchange code"},
}

// errSignupDisabled is the native API's answer when sign-up is off.
func errSignupDisabled() error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeSignupDisabled, Message: "Signup disabled."}
}

// signupAllowed checks the policy and the instance settings for a new
// account with the address; internal is a password sign-up, which internal
// log-in being off refuses too.
func (e *env) signupAllowed(ctx context.Context, email string, internal bool) error {
	open, err := e.signupOpen(ctx, internal)
	if err != nil {
		return err
	}
	if !open {
		return errSignupDisabled()
	}
	return e.signupDomain(email)
}

// signupDomain refuses an address outside --signup-domains, when they are
// set: the address an account signs up with, and the one a pending
// account changes to (Users.Update), which would make it active once
// proved without its ever proving one of the domains.
func (e *env) signupDomain(email string) error {
	if len(e.policy.SignupDomains) == 0 || email == "" {
		return nil
	}
	// Compared as domain names (sameDomain), not by lower-casing, which
	// makes "İ" a plain "i", nor by the address's key, which folds ß to
	// ss and ς to σ: each makes another domain, which someone else may
	// hold, one of the allowed.
	if _, domain, ok := cutAddress(email); ok {
		for _, d := range e.policy.SignupDomains {
			if sameDomain(domain, strings.TrimPrefix(d, "@")) {
				return nil
			}
		}
	}
	return usher.FieldErrors(usher.FieldError{Field: "email", Code: usher.CodeDomainNotAllowed,
		Message: "sign-up is open to addresses of " + strings.Join(e.policy.SignupDomains, ", ") + " only"})
}

// SignupMethods lists the ways to sign up that are open: a password
// (when sign-up and internal log-in are on) and each external provider
// that is on (when sign-up is). With none open it refuses as Escape's
// user service does.
//
// Errors: Forbidden (signup_disabled).
func (a *Auth) SignupMethods(ctx context.Context) ([]usher.LoginMethod, error) {
	var out []usher.LoginMethod
	for _, m := range a.Methods(ctx) {
		open, err := a.signupOpen(ctx, m.Type != "oauth")
		if err != nil {
			return nil, err
		}
		if open {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, errSignupDisabled()
	}
	return out, nil
}

// Signup creates an account for whoever calls, when the policy allows it.
// Unless the policy skips confirmation, the account is pending until its
// address is confirmed with the code sent to it.
//
// Errors: Forbidden (sign-up is off), Unprocessable (a bad field, a weak or
// common password, an address outside the allowed domains), Conflict (the
// username or address is taken), RateLimited.
func (a *Auth) Signup(ctx context.Context, in usher.Signup) (*usher.User, error) {
	if err := a.signupAllowed(ctx, in.Email, true); err != nil {
		return nil, err
	}
	// Sign-ups per client address are limited: they cost a hash each, and
	// their answers tell taken addresses from free ones.
	if addr := addressKey(usher.RequestFrom(ctx).Address); addr != "" {
		if _, err := a.reserve(ctx, []limit{{key: "signup:" + addr, max: signupsPerWindow}}); err != nil {
			return nil, err
		}
	}
	var c checker
	c.username(in.Username)
	c.freshUsername(in.Username)
	if in.Handle != "" {
		c.handle(in.Handle)
	}
	c.email("email", in.Email, true)
	if err := addressName(in.Username, in.Email); err != nil {
		return nil, err
	}
	c.listedName("name", in.Name, maxName, false)
	c.errs = append(c.errs, a.passwordProblems(in.Password, in.Username, in.Email)...)
	if err := c.err(); err != nil {
		return nil, err
	}
	state := usher.StatePending
	if a.policy.SkipEmailConfirmation {
		state = usher.StateActive
	}
	// The confirmation mailed at sign-up is counted per address, as at an
	// account's creation (Users.Create): signing up with someone's address
	// and deleting the account, which frees the address, mailed them once
	// a round.
	u, err := a.creatingMailed(ctx, in.Email, state == usher.StatePending, func() (*usher.User, error) {
		return a.signup(ctx, in, state)
	})
	if err != nil {
		return nil, err
	}
	a.mailQueued()
	return u, nil
}

// signup hashes in's password and creates its account in state, mailing a
// confirmation when the state is pending.
func (a *Auth) signup(ctx context.Context, in usher.Signup, state usher.UserState) (*usher.User, error) {
	hash, err := a.hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	// The account is created as the system: sign-up is the one creation
	// that needs no principal.
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	var u *usher.User
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		if err := a.fire(ctx, tx, usher.TriggerBeforeSignup, signupSubject(&in)); err != nil {
			return err
		}
		var err error
		// Skipping confirmation makes the account active; the address stays
		// unconfirmed, since nobody proved it theirs.
		// The account speaks the language its sign-up asked in
		// (Accept-Language), of those usher's mails are written in.
		u, err = a.newUser(sys, tx, usher.UserCreate{Username: in.Username, Email: in.Email, Name: in.Name, Handle: in.Handle,
			State: state, Language: a.letters.Match(usher.RequestFrom(ctx).Languages)}, hash)
		if err != nil {
			return err
		}
		ev := event{action: "auth.signup", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: userChanges(&usher.User{}, u)}
		if err := a.record(ctx, tx, u.CreatedAt, ev); err != nil {
			return err
		}
		if state == usher.StatePending {
			return a.sendConfirmation(ctx, tx, u)
		}
		return nil
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	return u, nil
}

// sendConfirmation issues a confirmation code for u's address and queues
// its mail.
func (e *env) sendConfirmation(ctx context.Context, tx store.Tx, u *usher.User) error {
	return e.sendConfirmationTo(ctx, tx, u, u.Email)
}

// sendConfirmationTo issues a code that confirms addr for u — u's address,
// or the one u waits to change to — and queues its mail to addr.
func (e *env) sendConfirmationTo(ctx context.Context, tx store.Tx, u *usher.User, addr string) error {
	code, err := e.confirmCode(ctx, tx, u, addr)
	if err != nil {
		return err
	}
	return e.queueLetter(ctx, tx, "confirm", addr, u, e.codeLink(code, "/confirm?code=", "/v1/auth/confirm", e.policy.ConfirmTTL))
}

// confirmCode issues a code that confirms addr for u. It replaces the one
// sent to this address before; codes for u's other addresses stay.
func (e *env) confirmCode(ctx context.Context, tx store.Tx, u *usher.User, addr string) (string, error) {
	if err := tx.CodeDeleteAddress(ctx, u.ID, usher.EmailKey(addr), usher.CodeConfirm); err != nil {
		return "", err
	}
	code, _, err := e.issueCode(ctx, tx, usher.CodeConfirm, u.ID, addr, e.policy.ConfirmTTL, "")
	return code, err
}

// Confirm confirms an account's e-mail address with the code sent to it; a
// pending account becomes active. Codes are single-use, and a code proves
// only the address it was sent to: once the account's address changed, the
// code is refused as unknown. A code sent to the address the user waits to
// change to (User.UnconfirmedEmail) makes it the account's address.
//
// Errors: NotFound (the code is unknown, used or expired), Conflict
// (another account took the address meanwhile), Invalid.
func (a *Auth) Confirm(ctx context.Context, code string) (*usher.User, error) {
	if code == "" {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeMissingCode, Message: "code is required",
			Fields: []usher.FieldError{{Field: "code", Code: usher.CodeRequired, Message: "is required"}}}
	}
	var u *usher.User
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		previous := ""
		c, err := a.useCode(ctx, tx, usher.CodeConfirm, code)
		if err != nil {
			return err
		}
		if c.Data != "" {
			// A code for a secondary address proves that address, not the
			// account's own.
			return errCodeNotFound(usher.CodeConfirm)
		}
		now := a.now()
		changes := map[string]usher.Change{}
		u, err = tx.UserUpdate(ctx, c.UserID, func(u *usher.User) error {
			switch {
			case u.Deleted():
				return errCodeNotFound(usher.CodeConfirm)
			// A waiting change to another mailbox of the account's own
			// key (straße@ for strasse@, which requestAddress refuses now)
			// is not made by a code, which proves the key alone: the
			// account's own address's code would make it.
			case u.UnconfirmedEmail != "" && codeProves(c, u.UnconfirmedEmail) && !foldedApart(u.UnconfirmedEmail, u.Email):
				// The address the user asked to change to proved itself:
				// it becomes the account's. It is held (UserNamesLock, as
				// nameOrAddressTaken holds the texts it checks) with the
				// row and before the row takes it: a creation holding it
				// would otherwise wait for this row's new address while
				// this waited for the address, until the server ended one.
				if err := tx.UserNamesLock(ctx, []string{usher.EmailKey(u.UnconfirmedEmail)}); err != nil {
					return err
				}
				// Renamed to its address while the change waited, the
				// account keeps the address until it is renamed again;
				// the code stays unused. A change of the address's case
				// alone keeps the username the account's.
				if usher.EmailKey(u.UnconfirmedEmail) != usher.EmailKey(u.Email) {
					if err := keepsAddressName(usher.PrincipalFrom(ctx), u, u.Email); err != nil {
						return err
					}
				}
				changes["email"] = usher.Change{Old: u.Email, New: u.UnconfirmedEmail}
				previous, u.Email, u.UnconfirmedEmail = u.Email, u.UnconfirmedEmail, ""
				u.EmailConfirmedAt = nil // the old address's confirmation is not the new one's
			case !codeProves(c, u.Email):
				return errCodeNotFound(usher.CodeConfirm)
			}
			if err := addressProved(u, now, changes); err != nil {
				return err
			}
			u.UpdatedAt = now
			return nil
		})
		if err != nil {
			return err
		}
		if previous != "" {
			// A waiting address claims nothing: another account may have
			// taken it as its username meanwhile. It is held already.
			if err := namesTaken(ctx, tx, u.ID, "", u.Email); err != nil {
				return errNamedByAnother(err)
			}
		}
		if err := addressChanged(ctx, tx, u.ID, previous, u.Email); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.confirm", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes})
	})
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errCodeNotFound(usher.CodeConfirm)
	}
	if err != nil {
		return nil, errAddressTaken(err)
	}
	// The account as its holder sees it, as Me shows it.
	return a.ownShown(ctx, u)
}

// ResendConfirmation sends a new confirmation code to the address if an
// unconfirmed account has it. The answer, and about the time it takes (at
// least the policy's ResetAnswerFloor), are the same either way. An address
// receives at most a few mails, and a client asks for at most a few more,
// within the policy's failure window.
//
// Errors: Invalid (a malformed address), RateLimited.
func (a *Auth) ResendConfirmation(ctx context.Context, email string) error {
	defer answerFloor(ctx, time.Now(), a.policy.ResetAnswerFloor)
	var c checker
	c.email("email", email, true)
	if err := c.err(); err != nil {
		return err
	}
	// A few resends per address, whoever asks, and per client, whatever
	// the address: both are counted whether an account has it or not.
	if err := a.addressMail(ctx, email); err != nil {
		return err
	}
	now := a.now()
	u, err := a.store.UserGet(ctx, usher.UserKey{Email: email})
	if errors.Is(err, usher.ErrNotFound) || (err == nil && u.EmailConfirmedAt != nil) {
		return nil
	}
	if err != nil {
		return err
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		// Read again holding the row: a deletion since ended the codes
		// it found, not the one this would send (readAgain).
		cur, ok, err := readAgain(ctx, tx, u)
		if err != nil {
			return err
		}
		if !ok || cur.EmailConfirmedAt != nil {
			return errAddressGone
		}
		if err := a.sendConfirmation(ctx, tx, cur); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.confirm_resend", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10)})
	})
	if errors.Is(err, errAddressGone) {
		return nil
	}
	if err == nil {
		a.mailQueued()
	}
	return err
}
