package core

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// Auth authenticates principals and manages their credentials: log-in,
// sessions, tokens, passwords, JWTs and external log-ins.
type Auth struct{ *env }

// touchEvery is how often a token's last-used time is written: often enough
// to show, rarely enough that reads do not become writes.
const touchEvery = time.Minute

func errBadToken() error {
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeInvalidToken, Message: "the token is not valid"}
}

func errInactive(u *usher.User) error {
	state := string(u.State)
	if u.Deleted() {
		state = "deleted"
	}
	return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeAccountInactive,
		Message: "the account is " + state + "; its credentials do not work"}
}

// errServiceAccountLogIn refuses a session to a service account: it
// authenticates only with its tokens, which end when an owner leaves its
// team; a session would outlive them and mint new ones.
func errServiceAccountLogIn(status usher.Kind) error {
	return &usher.Error{Kind: status, Code: usher.CodeServiceAccountLogIn,
		Message: "the account is a service account; it authenticates only with its tokens"}
}

// Authenticate returns the principal a credential stands for: a usher
// token (session, personal, service-account or application) or a JWT usher
// signed. The credential must be well formed, known, not revoked, not
// expired, and belong to an account that may sign in; an application key's
// owner must be an administrator. A JWT works while the session or token it
// was made with does.
//
// accept, when given, names the kinds of credential the caller takes
// (usher.TokenJWT for JWTs); any other kind is refused like an unknown
// token, before it is looked up.
//
// Errors: Unauthenticated; Forbidden for an application key whose owner is
// no longer an administrator.
func (a *Auth) Authenticate(ctx context.Context, text string, accept ...usher.TokenKind) (*usher.Principal, error) {
	if IsSharedJWT(text) {
		if !slices.Contains(accept, usher.TokenSharedJWT) {
			return nil, errBadToken()
		}
		return a.checkSharedJWT(ctx, text)
	}
	if strings.Count(text, ".") == 2 {
		if !accepts(accept, usher.TokenJWT) {
			return nil, errBadToken()
		}
		p, _, err := a.CheckJWT(ctx, text)
		return p, err
	}
	kind, hash, ok := parseSecret(text)
	if !ok || !accepts(accept, kind) {
		return nil, errBadToken()
	}
	now := a.now()
	ent, err := a.tokenPrincipal(ctx, string(hash), func() (*usher.Token, error) { return a.store.TokenByHash(ctx, hash) }, now)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(ent.tok.Hash, hash) != 1 || ent.tok.Kind != kind {
		return nil, errBadToken()
	}
	return a.principalOf(ctx, string(hash), ent, now)
}

// accepts reports whether a credential of the kind is among those accepted;
// none named accepts every kind.
func accepts(accept []usher.TokenKind, kind usher.TokenKind) bool {
	return len(accept) == 0 || slices.Contains(accept, kind)
}

// principalOf returns who a token stands for now: the token must be active,
// its account able to sign in, an application key's owner an
// administrator, and an impersonation session's administrator still one.
func (a *Auth) principalOf(ctx context.Context, key string, ent principalEntry, now time.Time) (*usher.Principal, error) {
	tok, u := ent.tok, ent.user
	if !tok.Active(now) {
		return nil, errBadToken()
	}
	if !a.maySignIn(u) {
		return nil, errInactive(u)
	}
	if tok.Kind == usher.TokenSession && tok.ImpersonatorID == 0 && u.Kind == usher.KindServiceAccount {
		// One opened before log-ins refused service accounts.
		return nil, errServiceAccountLogIn(usher.KindUnauthenticated)
	}
	a.touch(ctx, key, ent, now)
	p := &usher.Principal{Kind: usher.PrincipalUser, User: u, Token: tok, Scopes: tok.Scopes}
	switch {
	case tok.Kind == usher.TokenApplication:
		// Application keys act with administrator rights, so they work only
		// while their owner is an administrator.
		if !u.Admin {
			return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeKeyOwnerNotAdmin,
				Message: "This account does not have permission to access the API."}
		}
		p.Kind = usher.PrincipalApplication
	case tok.Kind == usher.TokenServiceAccount || u.Kind == usher.KindServiceAccount:
		p.Kind = usher.PrincipalServiceAccount
	}
	if tok.MintedByOwner != 0 && !ent.ownerMay {
		// The owner who minted it could not mint it now: the account has
		// a right they lack, or they may no longer sign in.
		return nil, errBadToken()
	}
	if tok.ImpersonatorID != 0 {
		// The impersonator must still be an administrator who may sign
		// in, and the account no administrator: administrators are not
		// impersonated, nor go on being once made one.
		if ent.impersonator == nil || !ent.impersonator.Admin || !a.maySignIn(ent.impersonator) || u.Admin {
			return nil, errBadToken()
		}
		p.Impersonator = ent.impersonator
	}
	return p, nil
}

// touch records the use of a token and that its account was seen: each
// at most once a minute (touchEvery), not once a request. The writes are
// uncounted, so that they keep the checks cached under key; the entry
// kept there learns the times written, so that the requests that follow
// within the minute write nothing. An impersonation is the
// administrator's doing: the account is not seen by it.
func (a *Auth) touch(ctx context.Context, key string, ent principalEntry, now time.Time) {
	tok, u := ent.tok, ent.user
	// Past the minute, not at it: the store writes a time older than
	// notBefore, not one equal to it.
	stale := func(t *time.Time) bool { return t == nil || now.Sub(*t) > touchEvery }
	touched := false
	if stale(tok.LastUsedAt) {
		if err := a.store.TokenTouch(ctx, tok.ID, now, now.Add(-touchEvery)); err != nil {
			a.log.WarnContext(ctx, "token touch failed", "token_id", tok.ID, "err", err)
		} else {
			tok.LastUsedAt, touched = &now, true
		}
	}
	if tok.ImpersonatorID == 0 && stale(u.LastSeenAt) {
		if err := a.store.UserSeen(ctx, u.ID, now, now.Add(-touchEvery)); err != nil {
			a.log.WarnContext(ctx, "user seen failed", "user_id", u.ID, "err", err)
		} else {
			u.LastSeenAt, touched = &now, true
		}
	}
	if touched {
		a.principals.touched(key, ent)
	}
}

// tokenPrincipal returns a token and its account (and the impersonator
// behind it), from the cache under key or else read by load, as copies the
// caller may keep. A token or account that does not exist is
// Unauthenticated; neither is kept. Tokens are kept under their hash, and
// under "id:" and their id for the JWTs made with them.
func (a *Auth) tokenPrincipal(ctx context.Context, key string, load func() (*usher.Token, error), now time.Time) (principalEntry, error) {
	changes := a.store.Changes()
	ent, ok := a.principals.get(key, changes, now)
	a.observe.TokenCache(ok)
	if !ok {
		tok, err := load()
		if errors.Is(err, usher.ErrNotFound) {
			return principalEntry{}, errBadToken()
		}
		if err != nil {
			return principalEntry{}, err
		}
		u, err := a.store.UserGet(ctx, usher.UserKey{ID: tok.UserID})
		if errors.Is(err, usher.ErrNotFound) {
			return principalEntry{}, errBadToken()
		}
		if err != nil {
			return principalEntry{}, err
		}
		ent = principalEntry{tok: tok, user: u, changes: changes, expires: now.Add(principalTTL)}
		if tok.ImpersonatorID != 0 {
			ent.impersonator, err = a.store.UserGet(ctx, usher.UserKey{ID: tok.ImpersonatorID})
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				return principalEntry{}, err
			}
		}
		if tok.MintedByOwner != 0 {
			if ent.ownerMay, err = a.ownerMayMint(ctx, tok.MintedByOwner, u); err != nil {
				return principalEntry{}, err
			}
		}
		a.principals.put(key, ent)
	}
	// Copies: a request may change what it holds without reaching the
	// next one's.
	tok, u := *ent.tok, *ent.user
	ent.tok, ent.user = &tok, &u
	if ent.impersonator != nil {
		imp := *ent.impersonator
		ent.impersonator = &imp
	}
	return ent, nil
}

// activeUser returns the account with the id if its credentials may work.
func (a *Auth) activeUser(ctx context.Context, id int64) (*usher.User, error) {
	u, err := a.store.UserGet(ctx, usher.UserKey{ID: id})
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errBadToken()
	}
	if err != nil {
		return nil, err
	}
	if !a.maySignIn(u) {
		return nil, errInactive(u)
	}
	return u, nil
}

// maySignIn reports whether u's credentials may work now.
func (e *env) maySignIn(u *usher.User) bool {
	switch {
	case u.Deleted():
		return false
	case u.State == usher.StatePending:
		return e.policy.AllowUnconfirmedSignIn || e.policy.SkipEmailConfirmation
	}
	return u.State.CanSignIn()
}

// CreateToken mints a token for a user and returns it with its text, which
// is shown this once and never stored. Without a kind, a service account
// gets a service-account token and anyone else a personal one. A principal
// acting through an impersonation may not mint tokens: they would outlive
// it. A token (or a JWT) mints only tokens no wider than itself: a subset
// of its scopes, expiring no later (see checkMintBound). An account holds
// at most the policy's MaxTokensPerUser live tokens besides sessions.
//
// Errors: Unauthenticated, Forbidden (also: wider than the credential,
// codes scope_exceeds_credential and lifetime_exceeds_credential), NotFound
// (no such user), Unprocessable (a bad kind, scope, name or expiry),
// Conflict (token_limit_reached).
func (a *Auth) CreateToken(ctx context.Context, in usher.TokenCreate) (*usher.Token, string, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actTokenMint, nil); err != nil {
		return nil, "", err
	}
	if err := a.guardCredentials(ctx, p, actTokenMint, nil); err != nil {
		return nil, "", err
	}
	now := a.now()
	var tok *usher.Token
	var text string
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		u, err := tx.UserGet(ctx, usher.UserKey{ID: in.UserID})
		if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
			return errUserNotFound()
		}
		if err != nil {
			return err
		}
		if err := a.authorize(ctx, actTokenMint, u); err != nil {
			return err
		}
		if in.Kind == "" {
			in.Kind = usher.TokenPersonal
			if u.Kind == usher.KindServiceAccount {
				in.Kind = usher.TokenServiceAccount
			}
		}
		if err := checkTokenCreate(p, u, in, now); err != nil {
			return err
		}
		if err := checkMintBound(p, in.Scopes, in.ExpiresAt); err != nil {
			return err
		}
		if err := a.checkTokenRoom(ctx, tx, u.ID, now); err != nil {
			return err
		}
		// Read again under the account's lock, which a deletion takes to
		// revoke every token, and a reset to revoke those made before it
		// and end the sessions: one minted after either would outlive it.
		switch u, err := tx.UserGet(ctx, usher.UserKey{ID: u.ID}); {
		case errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()):
			return errUserNotFound()
		case err != nil:
			return err
		}
		by, err := stillCredential(ctx, tx, p, now)
		if err != nil {
			return err
		}
		tok, text, err = a.mint(ctx, tx, &usher.Token{Kind: in.Kind, UserID: u.ID, Name: in.Name,
			Scopes: in.Scopes, ExpiresAt: in.ExpiresAt, CreatedAt: now, MintedByAdmin: by.admin, MintedByOwner: by.owner})
		if err != nil {
			return err
		}
		return a.record(ctx, tx, now, event{action: "token.create", resourceType: "token",
			resourceID: strconv.FormatInt(tok.ID, 10), meta: tokenMeta(tok)})
	})
	if err != nil {
		return nil, "", err
	}
	return tok, text, nil
}

// checkMintBound checks that the credential p acts with may make a token
// with the scopes and expiry: a token, or a JWT, makes only tokens with a
// subset of its own scopes (none is every scope, so a scoped credential
// must name them) that expire no later than it does. A session is the
// account's own log-in: unscoped, and the tokens it makes may outlive it.
// So may usher's own.
func checkMintBound(p *usher.Principal, scopes []string, expires *time.Time) error {
	if len(p.Scopes) > 0 {
		wider := len(scopes) == 0
		for _, s := range scopes {
			wider = wider || !p.HasScope(s)
		}
		if wider {
			return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeScopeExceeded,
				Message: "a token makes only tokens with scopes it has: name them, among " + strings.Join(p.Scopes, ", ")}
		}
	}
	if bound := lifetimeBound(p); bound != nil && (expires == nil || expires.After(*bound)) {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeLifetimeExceeded,
			Message: "a token makes only tokens that expire no later than it does: set expires_at, at the latest " +
				bound.Format(time.RFC3339Nano)}
	}
	return nil
}

// checkLogInBound refuses a credential bounded by scopes or an expiry (a
// scoped or expiring token, a JWT) that sets the password, an identity or
// the external id, or changes the primary address, of its own account, of
// an administrator's or of one that roles' rules allow anything: each
// opens sessions — a log-in, through a provider, or a reset by mail — that
// have neither bound and mint tokens that outlive it, so it would make a
// credential wider than itself, which checkMintBound refuses for the
// tokens it mints. Another account's, as an administrator's scoped token
// sets them (GitLab's api scope), opens no more than that account may do
// by default, and the credential gives it no more (checkGivingBound). The
// rules count whatever the account's state: a deleted or blocked account
// keeps its roles, and the same credential may restore it. A session, an
// unscoped token that does not expire and usher itself may.
func (e *env) checkLogInBound(ctx context.Context, p *usher.Principal, target *usher.User) error {
	const what = "the password, identities and primary address of its own account, an administrator's, or one with more than a new account's rights " +
		"(roles' rules, an internal group, an application, a richer plan or limits, a team its plan would not let it make), which open sessions"
	return e.refuseBoundedOnWide(ctx, p, target, what)
}

// checkDeleteBound refuses a credential bounded by scopes or an expiry
// that deletes an account whose log-in it may not set (checkLogInBound):
// its own, an administrator's, or one with more than a new account's
// rights. Deleting an account frees its username, address and external
// id, by which an import finds the account a record updates: an account
// the credential made with them, and with a password of its choosing,
// took the deleted one's place at the directory's next import — an
// administrator's flag with it — a log-in with neither bound.
func (e *env) checkDeleteBound(ctx context.Context, p *usher.Principal, target *usher.User) error {
	const what = "the accounts whose log-in it may not set (its own, an administrator's, or one with more than a new account's rights) " +
		"by deleting them, which frees their username, address and external id for another account to take"
	return e.refuseBoundedOnWide(ctx, p, target, what)
}

// checkRenameBound refuses a credential bounded by scopes or an expiry
// that changes the username or handle of an account whose log-in it may
// not set: a rename frees the old name as a deletion does
// (checkDeleteBound), for an account the credential makes, or one that
// signs up, to be known by.
func (e *env) checkRenameBound(ctx context.Context, p *usher.Principal, target *usher.User) error {
	const what = "the username or handle of an account whose log-in it may not set (its own, an administrator's, or one with more than a new account's rights), " +
		"which frees the old name for another account to take"
	return e.refuseBoundedOnWide(ctx, p, target, what)
}

// checkAddressBound refuses a credential bounded by scopes or an expiry
// that deletes a confirmed secondary address of a wide account: as a
// deletion of the account (checkDeleteBound), it frees the address for
// another account to take.
// One's own address is no concern of it, unless the account is wide for
// other reasons: a freed address is taken by whoever proves the mailbox,
// or an administrator vouching for it, and GitLab's clients, whose tokens
// all have scopes, remove their own addresses.
func (e *env) checkAddressBound(ctx context.Context, p *usher.Principal, target *usher.User) error {
	const what = "the confirmed addresses of an administrator or of an account with more than a new account's rights, " +
		"which frees them for another account to take"
	if refuseBounded(p, what) == nil {
		return nil
	}
	wide, err := e.wideAccount(ctx, target)
	if err != nil || !wide {
		return err
	}
	return refuseBounded(p, what)
}

// checkHoldBackBound refuses a credential bounded by scopes or an expiry
// that changes the rights of an account whose log-in it may not set
// (checkLogInBound), taking them away too: an administrator it demoted,
// or an account whose plan or allowances it lowered, is one whose
// password it may then set, and the directory's next import gives the
// rights back to that log-in.
func (e *env) checkHoldBackBound(ctx context.Context, p *usher.Principal, target *usher.User) error {
	const what = "the rights of an account whose log-in it may not set (its own, an administrator's, or one with more than a new account's rights), " +
		"taking them away too, which leaves one whose log-in it may set"
	return e.refuseBoundedOnWide(ctx, p, target, what)
}

// rights are what an account may do past its memberships: what an import
// sets and a bounded credential holds back.
type rights struct {
	admin, external, canCreateGroup bool
	plan                            string
	projectsLimit                   int
}

func rightsOf(u *usher.User) rights {
	return rights{admin: u.Admin, external: u.External, canCreateGroup: u.GitLab.CanCreateGroup, plan: u.Plan, projectsLimit: u.GitLab.ProjectsLimit}
}

// refuseBoundedOnWide is refuseBounded where a log-in as target is wider
// than a plain account's to p (wideLogIn).
func (e *env) refuseBoundedOnWide(ctx context.Context, p *usher.Principal, target *usher.User, what string) error {
	if refuseBounded(p, what) == nil {
		return nil
	}
	wide, err := e.wideLogIn(ctx, p, target)
	if err != nil || !wide {
		return err
	}
	return refuseBounded(p, what)
}

// wideLogIn reports whether a log-in as target is wider than a plain
// account's to p, for checkLogInBound: p's own account, an
// administrator's, one that owns an application, one that may create
// more than a new account (a richer plan, GitLab allowances:
// checkRaiseBound), a team's owner that may make no team
// (checkOwnerBound), one in an internal group (a place services trust by
// its name), or one that roles' rules allow anything — deleted
// applications, teams and groups, archived and deleted roles too, which
// restoring gives back — as the take-over guard counts them
// (guardCredentials).
func (e *env) wideLogIn(ctx context.Context, p *usher.Principal, target *usher.User) (bool, error) {
	if self(p, target) {
		return true, nil
	}
	return e.wideAccount(ctx, target)
}

// wideAccount is wideLogIn but for p's own account: target's rights are
// more than a plain account's.
func (e *env) wideAccount(ctx context.Context, target *usher.User) (bool, error) {
	if target.Admin {
		return true, nil
	}
	owned, err := e.store.AppList(ctx, usher.ApplicationFilter{OwnerID: target.ID, Deleted: usher.Include, Page: usher.PageRequest{Limit: 1}})
	if err != nil {
		return false, err
	}
	if len(owned.Items) > 0 {
		return true, nil
	}
	if more, err := e.createsMore(ctx, target, e.plainAccount()); more || err != nil {
		return more, err
	}
	// A team's owner that may make no team (checkOwnerBound), deleted
	// teams too, which restoring gives back.
	if e.teamsRefused(ctx, e.store, target) != nil {
		teams, err := e.store.UserGroupsKept(ctx, target.ID, usher.GroupTeam)
		if err != nil {
			return false, err
		}
		for _, m := range teams {
			if m.Level == usher.LevelOwner {
				return true, nil
			}
		}
	}
	internal, err := e.store.UserGroupsKept(ctx, target.ID, usher.GroupInternal)
	if err != nil || len(internal) > 0 {
		return len(internal) > 0, err
	}
	rules, err := e.store.RulesKept(ctx, target.ID)
	if err != nil {
		return false, err
	}
	for _, r := range rules {
		if r.Access == usher.Allow {
			return true, nil
		}
	}
	return false, nil
}

// plainAccount is what a new account may create, by the defaults: the
// measure of checkRaiseBound and wideLogIn.
func (e *env) plainAccount() *usher.User {
	return &usher.User{Kind: usher.KindNormal, GitLab: usher.GitLabProfile{CanCreateGroup: true, ProjectsLimit: e.policy.DefaultProjectsLimit}}
}

// checkRaiseBound refuses a credential bounded by scopes or an expiry that
// lets an account create more than a new account may — a plan of more
// capabilities than the default, more projects, GitLab's group creation,
// not external (createsMore) — as it gives no role's rules
// (checkGivingBound): whoever holds it would give that, for good, to an
// account they log in as. before is the account as it was, nil for a new
// one: what it may create already it keeps, and a bounded credential may
// still hold an account back (GitLab's clients set limits with tokens
// that all expire).
func (e *env) checkRaiseBound(ctx context.Context, p *usher.Principal, before, would *usher.User) error {
	const what = "what an account may create past a new one's (its plan, limits and GitLab allowances), which outlasts it"
	if refuseBounded(p, what) == nil {
		return nil
	}
	more, err := e.createsMore(ctx, would, e.plainAccount())
	if err != nil || !more {
		return err
	}
	if before != nil {
		if more, err = e.createsMore(ctx, would, before); err != nil || !more {
			return err
		}
	}
	return refuseBounded(p, what)
}

// keyExpiry is when a key p adds to target's account expires, asked for
// as expires (nil: never). A key is a way in as the account to whatever
// trusts usher's keys (GitLab's key look-ups), as a password is: added
// with a credential that expires, to an account whose log-in that
// credential may not set (checkLogInBound), it expires with the
// credential at the latest — when it is asked to, else it is refused, as
// checkMintBound refuses a token that would outlive its maker. A scoped
// credential that does not expire adds keys as GitLab's api scope does.
func (e *env) keyExpiry(ctx context.Context, p *usher.Principal, target *usher.User, expires *time.Time) (*time.Time, error) {
	bound := lifetimeBound(p)
	if bound == nil || expires != nil && !expires.After(*bound) {
		return expires, nil
	}
	wide, err := e.wideLogIn(ctx, p, target)
	if err != nil || !wide {
		return expires, err
	}
	if expires != nil {
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeLifetimeExceeded,
			Message: "a key added with a credential that expires expires no later than it does: set expires_at, at the latest " +
				bound.Format(time.RFC3339Nano) + ", or leave it out"}
	}
	return bound, nil
}

// checkAdminBound refuses a credential bounded by scopes or an expiry that
// makes an administrator, new or not, as checkLogInBound says why: whoever
// holds it would log in as one.
func checkAdminBound(p *usher.Principal) error {
	return refuseBounded(p, "administrators, whose log-ins have neither bound")
}

// checkGivingBound refuses a credential bounded by scopes or an expiry
// that changes who holds which rules — a role's rules, who is in a role
// that has any, a role's rules switched on or off, a merge that moves
// them — as checkLogInBound says why: what a role gives outlasts the
// credential, and whoever holds it would give it, for good, to an account
// they log in as (one whose password it set, or their own), as they may
// not make it an administrator.
func checkGivingBound(p *usher.Principal) error {
	return refuseBounded(p, "roles' rules or who holds them, which outlast it")
}

// refuseBounded refuses p's credential when scopes or an expiry bound it,
// saying it does not change what.
func refuseBounded(p *usher.Principal, what string) error {
	const use = ": log in and use the session"
	if len(p.Scopes) > 0 {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeScopeExceeded,
			Message: "a token with scopes does not change " + what + use}
	}
	if lifetimeBound(p) != nil {
		return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeLifetimeExceeded,
			Message: "a token that expires does not change " + what + use}
	}
	return nil
}

// lifetimeBound is the latest expiry of the tokens p may make: that of its
// token or JWT; nil for a session, a JWT that is one in another form
// (AsSession: Corteza's log-in) and usher itself.
func lifetimeBound(p *usher.Principal) *time.Time {
	if p.JWT == nil && p.Token == nil && p.Via != nil {
		return lifetimeBound(p.Via)
	}
	if p.JWT == nil && p.Token != nil && p.Token.Kind == usher.TokenSession || p.JWT != nil && p.JWT.AsSession {
		return nil
	}
	return credentialExpiry(p)
}

// checkTokenRoom refuses a new token for an account that holds as many
// live ones (sessions aside) as the policy allows.
func (e *env) checkTokenRoom(ctx context.Context, tx store.Tx, userID int64, now time.Time) error {
	// Counting under the account's row lock keeps concurrent mints from
	// each seeing room for one more (PostgreSQL; SQLite has one writer).
	if err := lockUser(ctx, tx, userID); err != nil {
		return err
	}
	n, err := tx.TokenCount(ctx, store.TokenFilter{UserID: userID, Active: true, Now: now,
		Kinds: []usher.TokenKind{usher.TokenPersonal, usher.TokenServiceAccount, usher.TokenApplication}})
	if err != nil {
		return err
	}
	if n >= e.policy.MaxTokensPerUser {
		return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeTokenLimit,
			Message: "the account holds " + strconv.Itoa(n) + " live tokens, the most it may: revoke one first"}
	}
	return nil
}

// lockUser holds the account's row until the transaction ends, writing
// nothing. A transaction that changes an account's tokens and may write
// another (a rotation, a regeneration) locks the account first, as a
// deletion or a state change does: two transactions that took the locks in
// the other order would each wait for the other (on PostgreSQL, one fails
// as a deadlock).
func lockUser(ctx context.Context, tx store.Tx, userID int64) error {
	_, err := tx.UserUpdate(ctx, userID, func(*usher.User) error { return errNoChange })
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// lockLive holds the account's row and reads it again: an account deleted
// since the caller read it, which ended its codes and sessions then, is
// not found (as an administrator's credential, which the deletion did not
// end, would else add to it after).
func lockLive(ctx context.Context, tx store.Tx, userID int64) error {
	if err := lockUser(ctx, tx, userID); err != nil {
		return err
	}
	u, err := tx.UserGet(ctx, usher.UserKey{ID: userID})
	if err != nil {
		return err
	}
	if u.Deleted() {
		return errUserNotFound()
	}
	return nil
}

// lockPeople holds the rows of the accounts of ids that are people, in id
// order: not service accounts', which are taken after their owners'
// (docs/architecture.md, "One lock order"), nor ids that are no account's
// (0 among them), which the caller refuses as it would have.
func lockPeople(ctx context.Context, tx store.Tx, ids []int64) error {
	people := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id == 0 {
			continue
		}
		u, err := tx.UserGet(ctx, usher.UserKey{ID: id})
		if errors.Is(err, usher.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		// A kind does not change: read without the lock, it holds.
		if u.Kind != usher.KindServiceAccount {
			people = append(people, id)
		}
	}
	return lockUsers(ctx, tx, people)
}

// stillCaller reads the caller's account again through r (a transaction,
// or the store) and refuses it when it was deleted or may no longer sign
// in since the request was authenticated: a transaction that decides
// after taking a lock that a block or a deletion takes too asks it, and
// so does each batch of an import that runs on in the background, else
// what they write outlives the block or the deletion. It returns the
// account as read; nil for a caller with none (the system).
//
// Errors: Unauthenticated.
func (e *env) stillCaller(ctx context.Context, r store.Tx, p *usher.Principal) (*usher.User, error) {
	if p.User == nil {
		return nil, nil
	}
	u, err := r.UserGet(ctx, usher.UserKey{ID: p.User.ID})
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return nil, errBadToken()
	case err != nil:
		return nil, err
	case u.Deleted() || !e.maySignIn(u):
		return nil, errBadToken()
	}
	return u, nil
}

// stillCredential reads again, through tx, the credential p acts with —
// its session or token, or the one its JWT was made with — and refuses it
// when it was revoked or has expired since the request was authenticated.
// A write that makes what would outlive the credential (a token, an SSH
// key, a reminder, a code mailed to an address waiting to be proved) asks
// it once it holds the account's row, which a password reset takes too:
// else a write that waited for a reset's commit made, with a session the
// reset had ended, what the reset's hand-over (handOver) never saw.
// Usher's own principal has no credential.
//
// It returns whom the credential answers to besides its account (its
// MintedByAdmin and MintedByOwner): a token made with a service-account
// token answers to them too, else the administrator would mint or rotate,
// as the account, a token that outlived their rights (endAdminMints), and
// an owner's copy would mint one that no owner's check bound
// (ownerMayMint).
//
// Errors: Unauthenticated.
func stillCredential(ctx context.Context, tx store.Tx, p *usher.Principal, now time.Time) (minted, error) {
	id := credentialID(p)
	if id == 0 {
		return minted{}, nil
	}
	t, err := tx.TokenGet(ctx, id)
	switch {
	case errors.Is(err, usher.ErrNotFound):
		return minted{}, errBadToken()
	case err != nil:
		return minted{}, err
	case !t.Active(now):
		return minted{}, errBadToken()
	}
	return minted{admin: t.MintedByAdmin, owner: t.MintedByOwner}, nil
}

// minted is whom a service account's token answers to besides the
// account: the administrator (usher.Token.MintedByAdmin) or the team's
// owner (MintedByOwner) whose mint it was; zero for none.
type minted struct{ admin, owner int64 }

// lockGroup holds the group's row until the transaction ends, writing
// nothing, as lockUser holds an account's: what is counted of a group
// under it (its owners, its service accounts) no concurrent transaction
// that takes it too can change before the commit.
func lockGroup(ctx context.Context, tx store.Tx, groupID int64) error {
	_, err := tx.GroupUpdate(ctx, groupID, func(*usher.Group) error { return errNoChange })
	if errors.Is(err, errNoChange) {
		return nil
	}
	return err
}

// lockGroups holds the rows of the groups, each once, in id order: the one
// order every transaction that holds several takes them in.
func lockGroups(ctx context.Context, tx store.Tx, ids []int64) error {
	return lockEach(ctx, tx, ids, lockGroup)
}

// lockUsers holds the rows of the users, each once, in id order, as
// lockGroups does groups'.
func lockUsers(ctx context.Context, tx store.Tx, ids []int64) error {
	return lockEach(ctx, tx, ids, lockUser)
}

func lockEach(ctx context.Context, tx store.Tx, ids []int64, lock func(context.Context, store.Tx, int64) error) error {
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		if err := lock(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// mint stores a new token with the fields of t and a fresh secret.
func (e *env) mint(ctx context.Context, tx store.Tx, t *usher.Token) (*usher.Token, string, error) {
	text, hint, hash := newSecret(t.Kind)
	t.Hint, t.Hash = hint, hash
	if t.ExpiresAt != nil {
		exp := t.ExpiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt = &exp
	}
	if err := tx.TokenCreate(ctx, t); err != nil {
		return nil, "", err
	}
	return t, text, nil
}

func tokenMeta(t *usher.Token) map[string]string {
	return map[string]string{"kind": string(t.Kind), "user_id": strconv.FormatInt(t.UserID, 10), "name": t.Name}
}

// checkTokenCreate checks a token request for user u by principal p.
func checkTokenCreate(p *usher.Principal, u *usher.User, in usher.TokenCreate, now time.Time) error {
	var c checker
	c.name("name", in.Name, maxName, false)
	switch in.Kind {
	case usher.TokenPersonal:
		if u.Kind == usher.KindServiceAccount {
			c.add("kind", usher.CodeInvalid, "service accounts get service_account tokens")
		}
	case usher.TokenServiceAccount:
		if u.Kind != usher.KindServiceAccount {
			c.add("kind", usher.CodeInvalid, "only service accounts get service_account tokens")
		}
	case usher.TokenApplication:
		if !p.IsAdmin() {
			return errForbidden("only administrators mint application keys")
		}
		if !u.Admin {
			c.add("user", usher.CodeNotAdmin, "application keys belong to administrators")
		}
	default:
		c.add("kind", usher.CodeInvalid, "must be personal, service_account or application")
	}
	seen := map[string]bool{}
	for _, s := range in.Scopes {
		switch {
		case seen[s]:
			// Each scope once, so a token holds at most every scope.
			c.add("scopes", usher.CodeDuplicate, "names %q twice", s)
			return c.err()
		case !validScope(s):
			c.add("scopes", usher.CodeInvalid, "unknown scope %q", s)
			return c.err()
		case s == usher.ScopeSudo && !u.Admin:
			c.add("scopes", usher.CodeInvalid, "only administrators' tokens may have the sudo scope")
		}
		seen[s] = true
	}
	c.future("expires_at", in.ExpiresAt, now)
	return c.err()
}

func validScope(s string) bool {
	for _, v := range usher.Scopes {
		if s == v {
			return true
		}
	}
	return false
}

// Tokens lists the active tokens of the calling account of the given
// kinds (every kind but sessions when none is given), newest first.
//
// Errors: Unauthenticated, Forbidden.
func (a *Auth) Tokens(ctx context.Context, kinds ...usher.TokenKind) ([]*usher.Token, error) {
	p := usher.PrincipalFrom(ctx)
	if err := a.authorize(ctx, actTokenRead, p.User); err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		kinds = []usher.TokenKind{usher.TokenPersonal, usher.TokenServiceAccount, usher.TokenApplication}
	}
	return a.store.TokenList(ctx, store.TokenFilter{UserID: p.UserID(), Kinds: kinds, Active: true, Now: a.now()})
}

// UserTokens lists the active tokens of the account key names, of the given
// kinds (every kind but sessions when none is given), newest first: the
// command line's view of another account's tokens.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Auth) UserTokens(ctx context.Context, key usher.UserKey, kinds ...usher.TokenKind) ([]*usher.Token, error) {
	p := usher.PrincipalFrom(ctx)
	u, err := findUser(ctx, a.store, p, key, liveOnly)
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, actTokenRead, u); err != nil {
		return nil, err
	}
	if len(kinds) == 0 {
		kinds = []usher.TokenKind{usher.TokenPersonal, usher.TokenServiceAccount, usher.TokenApplication}
	}
	return a.store.TokenList(ctx, store.TokenFilter{UserID: u.ID, Kinds: kinds, Active: true, Now: a.now()})
}

// ownToken loads a token of the calling account (any token, for an
// administrator) for act; others' tokens are not found.
func (a *Auth) ownToken(ctx context.Context, tx store.Tx, id int64, act action) (*usher.Token, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return nil, err
	}
	tok, err := tx.TokenGet(ctx, id)
	// A revoked token is unknown here, and an expired one to all but its
	// owner: their ending it ends the change of address it may have asked
	// for, whose code outlives it (endCredential), as ending it while it
	// lived did.
	own := err == nil && tok.UserID == p.UserID()
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (tok.RevokedAt != nil || !own && (!p.IsAdmin() || !tok.Active(a.now())))) {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeTokenNotFound, Message: "token not found"}
	}
	if err != nil {
		return nil, err
	}
	return tok, a.authorize(ctx, act, &usher.User{ID: tok.UserID})
}

// RevokeToken revokes a token of the calling account (any, for an
// administrator), and ends the change of address its account waits for
// (endCredential).
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Auth) RevokeToken(ctx context.Context, id int64) error {
	return a.store.InTx(ctx, func(tx store.Tx) error {
		tok, err := a.ownToken(ctx, tx, id, actTokenEnd)
		if err != nil {
			return err
		}
		changes, err := a.endCredential(ctx, tx, tok)
		if err != nil {
			return err
		}
		if len(changes) > 0 {
			if err := a.record(ctx, tx, a.now(), event{action: "user.update", resourceType: "user",
				resourceID: strconv.FormatInt(tok.UserID, 10), changes: changes, meta: map[string]string{"reason": "credential_revoked"}}); err != nil {
				return err
			}
		}
		return a.record(ctx, tx, a.now(), event{action: "token.revoke", resourceType: "token",
			resourceID: strconv.FormatInt(tok.ID, 10), meta: tokenMeta(tok)})
	})
}

// RotateToken replaces a token with a new one of the same name, scopes and
// remaining lifetime, and revokes the old one. Rotating mints: the
// caller's credential must be no narrower than the token (checkMintBound).
// Only the token's own account rotates it: an administrator revokes
// another's token but does not rotate it, since the rotation hands its
// caller the new secret — another administrator's credential, or a
// service account's that would not end with the caller's rights as the
// tokens they mint for it do (endAdminMints).
//
// Errors: Unauthenticated, Forbidden, NotFound, Invalid (sessions are not
// rotated: log in again).
func (a *Auth) RotateToken(ctx context.Context, id int64) (*usher.Token, string, error) {
	p := usher.PrincipalFrom(ctx)
	if err := a.guardCredentials(ctx, p, actTokenMint, nil); err != nil {
		return nil, "", err
	}
	var tok *usher.Token
	var text string
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		old, err := a.ownToken(ctx, tx, id, actTokenMint)
		if err != nil {
			return err
		}
		now := a.now()
		notFound := &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeTokenNotFound, Message: "token not found"}
		if old.UserID != p.UserID() {
			return notFound
		}
		if old.Kind == usher.TokenSession {
			return invalid("id", "is a session; sessions are not rotated")
		}
		if !old.Active(now) {
			return notFound
		}
		owner, err := tx.UserGet(ctx, usher.UserKey{ID: old.UserID})
		if err != nil {
			return err
		}
		// The name is the token's as stored, kept without a check a
		// later release added (one named before names refused format
		// characters rotates all the same).
		if err := checkTokenCreate(p, owner, usher.TokenCreate{Kind: old.Kind, Scopes: old.Scopes, ExpiresAt: old.ExpiresAt}, now); err != nil {
			return err
		}
		if err := checkMintBound(p, old.Scopes, old.ExpiresAt); err != nil {
			return err
		}
		// The account's row before its token's: the order every change
		// of an account's tokens takes (see lockUser).
		if err := lockUser(ctx, tx, old.UserID); err != nil {
			return err
		}
		by, err := stillCredential(ctx, tx, p, now)
		if err != nil {
			return err
		}
		by.admin, by.owner = cmp.Or(by.admin, old.MintedByAdmin), cmp.Or(by.owner, old.MintedByOwner)
		// Of two rotations at once, one revokes the token; the other finds
		// nothing left to rotate.
		if n, err := tx.TokenRevoke(ctx, store.TokenFilter{ID: old.ID}, now); err != nil {
			return err
		} else if n != 1 {
			return notFound
		}
		tok, text, err = a.mint(ctx, tx, &usher.Token{Kind: old.Kind, UserID: old.UserID, Name: old.Name,
			Scopes: old.Scopes, ExpiresAt: old.ExpiresAt, CreatedAt: now, MintedByAdmin: by.admin, MintedByOwner: by.owner})
		if err != nil {
			return err
		}
		meta := tokenMeta(tok)
		meta["replaces"] = strconv.FormatInt(old.ID, 10)
		return a.record(ctx, tx, now, event{action: "token.rotate", resourceType: "token",
			resourceID: strconv.FormatInt(tok.ID, 10), meta: meta})
	})
	if err != nil {
		return nil, "", err
	}
	return tok, text, nil
}
