package core

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// errBadLogin is the one answer to a wrong login or password, whether the
// account exists or not.
func errBadLogin() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeInvalidCredentials, Message: "wrong login or password"}
}

// ServiceAccountLogin checks a service account's name and one of its
// tokens, the log-in of an account that has no password (Escape's
// service-account method), and returns the token's principal. A token of
// another account, of another kind, or none, is refused as a wrong
// password is.
//
// Errors: Unauthenticated (invalid_credentials), Internal.
func (a *Auth) ServiceAccountLogin(ctx context.Context, username, token string) (*usher.Principal, error) {
	p, err := a.Authenticate(ctx, token, usher.TokenServiceAccount)
	switch {
	case err != nil && usher.ErrorKind(err) == usher.KindInternal:
		p = nil
	case err != nil || p.Anonymous() || p.User.Kind != usher.KindServiceAccount || !strings.EqualFold(p.User.Username, username):
		p, err = nil, errBadLogin()
	}
	a.observe.Login(usher.LoginServiceAccount, loginOutcome(err))
	return p, err
}

// Login checks a login (an e-mail address or a username) and password and
// opens a session. An unknown login costs the same hashing time as a wrong
// password, and both get the same answer. Failures are counted per login
// and per client address; past the policy's limits the key is locked for a
// growing while.
//
// Errors: Unauthenticated (wrong login or password; or a change overtook
// the log-in while it hashed, see openSession), Forbidden (the account
// is blocked, suspended or not confirmed — said only to who knows the
// password, or log-in by password is off: usher.SettingInternalEnabled),
// RateLimited (locked, or the hashing queue is full), Invalid.
func (a *Auth) Login(ctx context.Context, login, pw string) (*usher.Session, error) {
	s, err := a.login(ctx, login, pw)
	a.observe.Login(usher.LoginPassword, loginOutcome(err))
	return s, err
}

// login is Login, untold.
func (a *Auth) login(ctx context.Context, login, pw string) (*usher.Session, error) {
	if open, err := a.passwordLoginOpen(ctx); err != nil || !open {
		if err == nil {
			err = &usher.Error{Kind: usher.KindForbidden, Code: usher.CodePasswordLoginOff,
				Message: "log-in by password is disabled; log in through an external provider"}
		}
		return nil, err
	}
	if login == "" || pw == "" {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeMissingCredentials, Message: "login and password are required"}
	}
	if len(login) > maxEmail || len(pw) > a.policy.PasswordMaxBytes {
		return nil, errBadLogin()
	}
	u, err := a.findLogin(ctx, login)
	if err != nil {
		return nil, err
	}
	limits := a.loginLimits(ctx, login, u)
	counted, err := a.reserve(ctx, limits)
	if err != nil {
		return nil, err
	}
	var hash string
	if u != nil {
		hash, err = a.store.PasswordGet(ctx, u.ID)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return nil, err
		}
	}
	var ok, rehash bool
	if hash == "" {
		// No such account, or one without a password: spend the time a
		// verification would, so that timing tells nothing.
		err = a.hasher.Burn(ctx, pw)
	} else {
		ok, rehash, err = a.hasher.Verify(ctx, pw, hash)
	}
	switch {
	case err != nil:
		a.forgive(ctx, limits)
		return nil, hashError(err)
	case !ok:
		ev := event{action: "auth.login_failed", resourceType: "user"}
		if u != nil {
			// The login as typed is not recorded: people type passwords there.
			ev.resourceID, ev.meta = strconv.FormatInt(u.ID, 10), map[string]string{"username": u.Username}
		}
		_ = a.recordAlone(ctx, ev)
		if err := a.failed(ctx, limits, counted); err != nil {
			return nil, err
		}
		return nil, errBadLogin()
	}
	if u.Deleted() || !a.maySignIn(u) {
		a.refusedRight(ctx, limits)
		_ = a.recordAlone(ctx, event{action: "auth.login_refused", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), meta: map[string]string{"state": string(u.State)}})
		if u.State == usher.StatePending {
			return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeEmailNotConfirmed,
				Message: "confirm your e-mail address before logging in"}
		}
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeAccountInactive,
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	if err := a.fireAlone(ctx, usher.TriggerBeforeLogin, readOnly(userSubject(u))); err != nil {
		a.refusedRight(ctx, limits)
		return nil, err
	}
	a.succeeded(ctx, limits)
	newHash := ""
	if rehash {
		if newHash, err = a.hash(ctx, pw); err != nil {
			newHash = "" // try again at the next log-in
		}
	}
	return a.openSession(ctx, u, 0, hash, "auth.login", func(tx store.Tx, changes map[string]usher.Change) error {
		if newHash == "" {
			return nil
		}
		changes["password"] = usher.Change{New: "[rehashed]"}
		return tx.PasswordSet(ctx, u.ID, newHash, a.now())
	})
}

// findLogin finds the account a login names: by e-mail address when it
// holds an @, then by username. A username is ASCII (usernameRE), so a
// login of other characters names none: lower-cased, it could reach one
// (the dotted İ becomes i, the Kelvin sign k) under another throttle key
// than the account's, where an address's is folded (loginKey), and so
// multiply the guesses a lock allows.
func (a *Auth) findLogin(ctx context.Context, login string) (*usher.User, error) {
	if filterText("login", login) != nil {
		return nil, nil
	}
	if strings.Contains(login, "@") {
		u, err := a.store.UserGet(ctx, usher.UserKey{Email: login})
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, usher.ErrNotFound) {
			return nil, err
		}
	}
	if !usernameRE.MatchString(login) {
		return nil, nil
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{Username: login})
	if errors.Is(err, usher.ErrNotFound) {
		return nil, nil
	}
	return u, err
}

// openSession opens a session for u in one transaction with its sign-in
// times and audit event; extra, when set, adds writes of its own and
// changes to record. hash is the password hash a log-in by password
// verified, "" for a log-in without one.
//
// The caller checked the account before: a log-in by password hashes for
// a while after reading the hash, an external log-in waits for the
// provider. A password change, a deletion or a block committed since
// would end every session the account had, but not this one, opened
// after: so the account is read again in the transaction, once its row is
// written (UserSignIn, which holds it until the commit, as setPassword,
// deletions and state changes do), and a log-in that was overtaken is
// refused — a changed password as a wrong one, an account that may not
// sign in as its credentials are — and recorded as auth.login_refused.
func (a *Auth) openSession(ctx context.Context, u *usher.User, impersonator int64, hash, action string,
	extra func(tx store.Tx, changes map[string]usher.Change) error) (*usher.Session, error) {
	req := requestOf(ctx)
	now := a.now()
	exp := now.Add(a.policy.SessionTTL)
	sess := &usher.Session{}
	mailed := false
	var refused map[string]string // why a log-in overtaken is refused
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		// Uncounted by the store's changes, so that a flood of log-ins
		// leaves everyone else's cached token checks be; this account's
		// are dropped below, once the new times are committed.
		sess.User, err = tx.UserSignIn(ctx, u.ID, now)
		if err != nil {
			return err
		}
		if hash != "" {
			current, err := tx.PasswordGet(ctx, u.ID)
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				return err
			}
			if current != hash {
				refused = map[string]string{"reason": "the password changed during the log-in"}
				return errBadLogin()
			}
		}
		if !a.maySignIn(sess.User) {
			refused = map[string]string{"state": string(sess.User.State)}
			if sess.User.Deleted() {
				refused["state"] = "deleted"
			}
			return errInactive(sess.User)
		}
		if impersonator == 0 && sess.User.Kind == usher.KindServiceAccount {
			refused = map[string]string{"reason": "service account"}
			return errServiceAccountLogIn(usher.KindForbidden)
		}
		if impersonator == 0 {
			if mailed, err = a.noteSignIn(ctx, tx, sess.User, now); err != nil {
				return err
			}
		}
		sess.Token, sess.Secret, err = a.mint(ctx, tx, &usher.Token{Kind: usher.TokenSession, UserID: u.ID,
			Name: "session", ExpiresAt: &exp, CreatedAt: now, Address: req.Address, UserAgent: req.UserAgent,
			ImpersonatorID: impersonator})
		if err != nil {
			return err
		}
		ended, err := a.capSessions(ctx, tx, u.ID, now)
		if err != nil {
			return err
		}
		changes := map[string]usher.Change{}
		if extra != nil {
			if err := extra(tx, changes); err != nil {
				return err
			}
		}
		meta := map[string]string{"session_id": strconv.FormatInt(sess.Token.ID, 10)}
		if ended > 0 {
			meta["sessions_ended"] = strconv.Itoa(ended)
		}
		ctx := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalUser, User: sess.User})
		return a.record(ctx, tx, now, event{action: action, resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes, meta: meta})
	})
	if refused != nil {
		_ = a.recordAlone(ctx, event{action: "auth.login_refused", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), meta: refused})
	}
	if err != nil {
		return nil, err
	}
	a.principals.forgetUser(u.ID)
	if mailed {
		a.mailQueued()
	}
	// The session's answer shows the account as its holder sees it.
	if sess.User, err = a.ownShown(ctx, sess.User); err != nil {
		return nil, err
	}
	return sess, nil
}

// capSessions ends the oldest live sessions of an account past the
// policy's MaxSessionsPerUser and returns how many it ended. A log-in calls
// it in its transaction, which holds the account's row, so log-ins at once
// take turns.
func (a *Auth) capSessions(ctx context.Context, tx store.Tx, userID int64, now time.Time) (int, error) {
	live, err := tx.TokenList(ctx, store.TokenFilter{UserID: userID, Kinds: []usher.TokenKind{usher.TokenSession}, Active: true, Now: now})
	if err != nil || len(live) <= a.policy.MaxSessionsPerUser {
		return 0, err
	}
	// Newest first: those past the cap are the oldest.
	for _, old := range live[a.policy.MaxSessionsPerUser:] {
		if _, err := tx.TokenRevoke(ctx, store.TokenFilter{ID: old.ID}, now); err != nil {
			return 0, err
		}
	}
	return len(live) - a.policy.MaxSessionsPerUser, nil
}

// recordAlone writes an audit event in a transaction of its own.
func (e *env) recordAlone(ctx context.Context, ev event) error {
	return e.store.InTx(ctx, func(tx store.Tx) error { return e.record(ctx, tx, e.now(), ev) })
}

// limit is a throttle key and the failures it allows within the policy's
// window. shown, when set, is what the audit log names the key by.
type limit struct {
	key   string
	max   int
	shown string
	// proved marks the key of the one secret the attempt guesses at (a
	// login's, an account's password): a success starts it afresh, and
	// once locked it is remembered long (remembered). Every other key (a
	// client's address) bounds a rate: a success only forgets the attempt
	// and takes back the lock it took (relocked), for a success with
	// one's own account must not give an address its allowance for others
	// back, nor keep everyone behind it out.
	proved bool
	// relocked is when the lock this attempt took, finding the key's last
	// one ended, ends (reserve); zero if it took none.
	relocked time.Time
}

// failureCounter is what counts under a throttle's key: the store, or a
// transaction of it.
type failureCounter interface {
	ThrottleFail(ctx context.Context, key string, now, windowStart, remember time.Time) (*usher.Throttle, error)
}

// pastBound counts one more under l.key, through c, within the policy's
// failure window, and reports whether the count is past l.max. Unlike
// reserve it locks and refuses nothing: it bounds a side effect (a mail)
// the caller then leaves out, not the call.
func (e *env) pastBound(ctx context.Context, c failureCounter, l limit) (bool, error) {
	now := e.now()
	t, err := c.ThrottleFail(ctx, l.key, now, now.Add(-e.policy.FailureWindow), time.Time{})
	if err != nil {
		return false, err
	}
	return t.Failures > l.max, nil
}

// loginLimits are the keys a log-in attempt counts under: the login as
// given, case-folded (an address by its usher.EmailKey), whether an account
// has it or not; and the client's address, IPv6 addresses by their /64.
// An account's username and its address count apart: a count they shared
// would lock one after failures with the other, and so tell anyone who
// tried which username an address belongs to. Each is locked like a login
// nobody has. The audit log names the login's key by the account u it
// names, if any, never as typed: people type passwords there.
func (a *Auth) loginLimits(ctx context.Context, login string, u *usher.User) []limit {
	key := loginKey(login)
	// The client's count comes first: a client past its limit writes no
	// row for the login it names (reserve).
	var limits []limit
	if addr := addressKey(usher.RequestFrom(ctx).Address); addr != "" {
		limits = append(limits, limit{key: "addr:" + addr, max: a.policy.MaxFailuresPerIP})
	}
	// A login filterText refuses names no account (findLogin), and could
	// not be stored as a key: its failures count for the address alone.
	if filterText("login", login) == nil {
		shown := "login:unknown"
		if u != nil {
			shown = "login:user:" + strconv.FormatInt(u.ID, 10)
			// From a device the account has signed in from, the login
			// counts in a key of that device's: whoever guesses from
			// elsewhere locks the login for everyone else, and the owner
			// still gets in (a lock refuses the right password too, and
			// one guess at each lock's end kept it for good).
			if device := a.knownDevice(ctx, u); device != "" {
				key = deviceLoginKey(login, device)
			}
		}
		limits = append(limits, limit{key: key, max: a.policy.MaxFailuresPerKey, shown: shown, proved: true})
	}
	return limits
}

// loginKey is the throttle key of a typed login: its failures count there
// whether an account has it or not. An address is keyed as the store finds
// it (usher.EmailKey) and nothing else first: a lower-casing of its own
// folded some letters otherwise (İ to i, where the key has i and a
// combining dot), and two spellings that find one account counted apart.
func loginKey(login string) string {
	login = strings.TrimSpace(login)
	if strings.Contains(login, "@") {
		return "login:" + usher.EmailKey(login)
	}
	return "login:" + strings.ToLower(login)
}

// deviceLoginKey is the throttle key of a typed login tried from a device
// its account has signed in from (loginLimits).
func deviceLoginKey(login, device string) string {
	return loginKey(login) + "|device:" + device
}

// addressKey is the throttle key of a client address: IPv4 addresses as
// they are, IPv6 ones by their /64, which one client usually holds whole.
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// reserve counts an attempt under every key before it is made, so that
// attempts made at once cannot all slip under a limit, and returns the
// counts. An attempt is refused — and then not counted — while a key is
// locked, or when a key is past its limit without having been locked (a
// burst), which locks it. After a lock ends one attempt is let through, and
// the key is locked again at once in case it fails. Keys are counted in
// order and a refusal stops there, so a client's key goes first: a client
// refused writes no row for a new key it names after, which its limit
// would else not bound.
func (e *env) reserve(ctx context.Context, limits []limit) ([]*usher.Throttle, error) {
	now := e.now()
	counted := make([]*usher.Throttle, 0, len(limits))
	refuse := func(err error) ([]*usher.Throttle, error) {
		e.forgive(ctx, limits[:len(counted)])
		return nil, err
	}
	for i, l := range limits {
		t, err := e.store.ThrottleFail(ctx, l.key, now, now.Add(-e.policy.FailureWindow), e.rememberFailure(l, now))
		if err != nil {
			return nil, err
		}
		counted = append(counted, t)
		switch {
		case t.LockedUntil != nil && t.LockedUntil.After(now):
			return refuse(errLocked(t.LockedUntil.Sub(now)))
		case t.Failures <= l.max:
		case t.LockedUntil != nil:
			// The lock ended: this attempt goes, the next ones wait. Of
			// attempts that come together and all find it ended, only the
			// first to lock the key again goes.
			// At the stores' precision, so that the attempt can take back
			// this lock and no other (forgive).
			wait := lockFor(e.policy, t.Failures-l.max)
			until := now.Add(wait).Truncate(time.Microsecond)
			err := e.store.ThrottleRelock(ctx, l.key, now, until)
			if errors.Is(err, usher.ErrNotFound) {
				if cur, gerr := e.store.ThrottleGet(ctx, l.key); gerr == nil && cur.LockedUntil != nil && cur.LockedUntil.After(now) {
					wait = cur.LockedUntil.Sub(now)
				}
				return refuse(errLocked(wait))
			}
			if err != nil {
				return nil, err
			}
			limits[i].relocked = until
		default:
			return refuse(e.lock(ctx, l, t))
		}
	}
	return counted, nil
}

// failed handles an attempt that was reserved and failed: a key whose count
// reached its limit is locked, and the attempt is answered 429 rather than
// with its failure. It returns nil when no key is locked.
func (e *env) failed(ctx context.Context, limits []limit, counted []*usher.Throttle) error {
	var refusal error
	for i, l := range limits {
		// Every key that reached its limit, not the first alone: a login
		// whose fifth failure came with a client's fiftieth went unlocked,
		// and so unremembered, and its count started over every window.
		if counted[i].Failures >= l.max {
			if err := e.lock(ctx, l, counted[i]); refusal == nil {
				refusal = err
			}
		}
	}
	return refusal
}

// lock locks a key for a while that grows with its failures past the
// limit, records the lock, and returns the answer to give.
func (e *env) lock(ctx context.Context, l limit, t *usher.Throttle) error {
	wait := lockFor(e.policy, t.Failures-l.max)
	until := e.now().Add(wait)
	if err := e.store.ThrottleLock(ctx, l.key, until, until.Add(e.remembered(l))); err != nil {
		return err
	}
	e.observe.Lockout(lockoutScope(l.key))
	shown := l.shown
	if shown == "" {
		shown = l.key
	}
	_ = e.recordAlone(ctx, event{action: "auth.lockout", resourceType: "throttle", resourceID: shown,
		meta: map[string]string{"failures": strconv.Itoa(t.Failures), "locked_for": wait.String()}})
	return errLocked(wait)
}

// succeeded handles an attempt that was reserved and succeeded: the key it
// proved (the login, or the account) starts afresh; the others (the
// client's address) forget this attempt, so that only failures count
// against them, and the lock it took when it found theirs ended.
func (e *env) succeeded(ctx context.Context, limits []limit) {
	for _, l := range limits {
		if l.proved {
			_ = e.store.ThrottleClear(ctx, l.key)
		} else {
			e.forgive(ctx, []limit{l})
		}
	}
}

// refusedRight ends the login's failures for an attempt whose password was
// right but that opens no session (an account that may not sign in, a
// script's refusal), as a success does, and leaves the attempt counted
// for the client, as a failure's is: it cost a hash and an audit event,
// and taken back as a success's it let one client, with a pending account
// of its own, spend both at every request without bound.
func (e *env) refusedRight(ctx context.Context, limits []limit) {
	for _, l := range limits {
		if l.proved {
			_ = e.store.ThrottleClear(ctx, l.key)
		}
	}
}

// forgive takes back an attempt that could not be made at all, or that a
// success showed was no guess: its count, and the lock it took when it
// found a key's last one ended.
func (e *env) forgive(ctx context.Context, limits []limit) {
	for _, l := range limits {
		_ = e.store.ThrottleForgive(ctx, l.key)
		if !l.relocked.IsZero() {
			_ = e.store.ThrottleUnlock(ctx, l.key, l.relocked, e.now())
		}
	}
}

func errLocked(wait time.Duration) error {
	return &usher.Error{Kind: usher.KindRateLimited, Code: usher.CodeTooManyAttempts,
		Message: "too many failed attempts; try again later", RetryAfter: wait}
}

// remembered is how long a key keeps its count after a lock ends. The key
// of a secret (proved) keeps it as long as its allowance would take at
// the longest lock, with the locks that double up to it: a guesser who
// waits that out finds a fresh count, and gains nothing by it over one who
// comes back as each lock ends (a login's 5 and 5 doublings are
// remembered 150 minutes at the defaults). A window after the lock's end,
// as before, gave a login five guesses every 15.5 minutes. Any other key,
// a rate, keeps it a window.
func (e *env) remembered(l limit) time.Duration {
	if !l.proved {
		return e.policy.FailureWindow
	}
	doublings := 0
	for d := e.policy.LockBase; d < e.policy.LockMax && doublings < 30; d *= 2 {
		doublings++
	}
	return time.Duration(l.max+doublings) * e.policy.LockMax
}

// rememberFailure is until when a failure counted under l at now keeps
// the key's count: the key of one secret as long as it is remembered after
// a lock, so that a guesser who stays under the limit each window, four
// guesses a window, goes on counting to it; any other key its window
// (zero).
func (e *env) rememberFailure(l limit, now time.Time) time.Time {
	if !l.proved {
		return time.Time{}
	}
	return now.Add(e.remembered(l))
}

// lockFor is how long to lock a key n failures past its limit: LockBase,
// doubling with each failure, at most LockMax.
func lockFor(p Policy, n int) time.Duration {
	d := float64(p.LockBase) * math.Pow(2, float64(min(n, 30)))
	return time.Duration(min(d, float64(p.LockMax)))
}

// Logout ends the session the caller is using. A JWT made with a session
// logs that session out; an impersonation's JWT logs out the
// administrator's session it was made with, which ends the impersonation
// too (whoever logs out of a browser where an administrator acts as a user
// leaves neither signed in).
//
// Errors: Unauthenticated, Invalid (the credential is not a session).
func (a *Auth) Logout(ctx context.Context) error {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return errUnauthenticated()
	}
	// A forger's would end any session it names.
	if err := refuseRetired(p, "logs nothing out"); err != nil {
		return err
	}
	notSession := &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeNotASession, Message: "the credential is not a session; revoke tokens instead"}
	tok, owner := p.Token, p.UserID()
	if tok == nil && p.JWT != nil {
		if p.JWT.ImpersonatorID != 0 {
			if p.Impersonator == nil || p.Impersonator.ID != p.JWT.ImpersonatorID {
				return notSession
			}
			owner = p.Impersonator.ID
		}
		t, err := a.store.TokenGet(ctx, p.JWT.Parent)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return err
		}
		tok = t
	}
	if tok == nil || tok.Kind != usher.TokenSession || tok.UserID != owner {
		return notSession
	}
	return a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.now()
		if _, err := tx.TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, now); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.logout", resourceType: "user",
			resourceID: strconv.FormatInt(owner, 10), meta: map[string]string{"session_id": strconv.FormatInt(tok.ID, 10)}})
	})
}

// Sessions lists the caller's open sessions, newest first.
//
// Errors: Unauthenticated, Forbidden.
func (a *Auth) Sessions(ctx context.Context) ([]*usher.Token, error) {
	return a.Tokens(ctx, usher.TokenSession)
}

// EndSession ends one of the caller's sessions, and the change of address
// the account waits for (endAddressChange): the session ended is perhaps
// one the owner does not know, which a new sign-in's mail tells them to
// end, and which asked for the change.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Auth) EndSession(ctx context.Context, id int64) error {
	return a.store.InTx(ctx, func(tx store.Tx) error {
		tok, err := a.ownToken(ctx, tx, id, actTokenEnd)
		if err != nil {
			return err
		}
		if tok.Kind != usher.TokenSession || tok.UserID != usher.PrincipalFrom(ctx).UserID() {
			return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeSessionNotFound, Message: "session not found"}
		}
		changes, err := a.endCredential(ctx, tx, tok)
		if err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "auth.session_end", resourceType: "user", resourceID: strconv.FormatInt(tok.UserID, 10),
			changes: changes, meta: map[string]string{"session_id": strconv.FormatInt(id, 10)}})
	})
}

// endCredential revokes one credential of an account, holding the
// account's row first (the one lock order), and ends the change of
// address the account waits for, as every other take-back does: the
// credential perhaps asked for it, its code in a thief's mailbox. It
// returns what it changed of the account.
func (a *Auth) endCredential(ctx context.Context, tx store.Tx, tok *usher.Token) (map[string]usher.Change, error) {
	if err := lockUser(ctx, tx, tok.UserID); err != nil {
		return nil, err
	}
	if _, err := tx.TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, a.now()); err != nil {
		return nil, err
	}
	changes := map[string]usher.Change{}
	return changes, endAddressChangeOf(ctx, tx, tok.UserID, changes)
}

// EndSessions ends every session of the caller, the current one included,
// and returns how many it ended.
//
// Errors: Unauthenticated, Forbidden.
func (a *Auth) EndSessions(ctx context.Context) (int, error) {
	return a.endSessionsBut(ctx, false)
}

// EndOtherSessions ends every session of the caller but the one it calls
// with ("sign out everywhere else"), and returns how many it ended. Called
// with another credential than a session, it ends them all.
//
// Errors: Unauthenticated, Forbidden.
func (a *Auth) EndOtherSessions(ctx context.Context) (int, error) {
	return a.endSessionsBut(ctx, true)
}

func (a *Auth) endSessionsBut(ctx context.Context, keepCurrent bool) (int, error) {
	p := usher.PrincipalFrom(ctx)
	if err := a.authorize(ctx, actTokenEnd, p.User); err != nil {
		return 0, err
	}
	var keep int64
	if keepCurrent && p.Token != nil && p.Token.Kind == usher.TokenSession {
		keep = p.Token.ID
	}
	var n int
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		now := a.now()
		// The account's row first, as endSessions asks.
		if err := lockUser(ctx, tx, p.UserID()); err != nil {
			return err
		}
		var err error
		n, err = endSessions(ctx, tx, p.UserID(), keep, now)
		if err != nil {
			return err
		}
		changes := map[string]usher.Change{}
		if err := endAddressChangeOf(ctx, tx, p.UserID(), changes); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.sessions_end", resourceType: "user",
			resourceID: strconv.FormatInt(p.UserID(), 10), changes: changes, meta: map[string]string{"ended": strconv.Itoa(n)}})
	})
	return n, err
}

// EndUserSessions ends every session of the account key names and returns
// how many it ended: an administrator's "sign this user out everywhere".
// Whoever may revoke the account's tokens may; an impersonation may not.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Auth) EndUserSessions(ctx context.Context, key usher.UserKey) (int, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actTokenEnd, nil); err != nil {
		return 0, err
	}
	var n int
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		u, err := findUser(ctx, tx, p, key, liveOnly)
		if err != nil {
			return err
		}
		if err := a.authorize(ctx, actTokenEnd, u); err != nil {
			return err
		}
		now := a.now()
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		if n, err = endSessions(ctx, tx, u.ID, 0, now); err != nil {
			return err
		}
		changes := map[string]usher.Change{}
		if err := endAddressChangeOf(ctx, tx, u.ID, changes); err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "auth.sessions_end", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: changes, meta: map[string]string{"ended": strconv.Itoa(n)}})
	})
	return n, err
}
