package core

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"usher"
	"usher/store"
)

// Methods lists the enabled log-in methods: the password, unless
// usher.SettingInternalEnabled turns it off (or the settings cannot be
// read: the list is advice, Login decides), then each external provider
// the instance settings leave on.
func (a *Auth) Methods(ctx context.Context) []usher.LoginMethod {
	var methods []usher.LoginMethod
	if open, err := a.passwordLoginOpen(ctx); err != nil || open {
		methods = append(methods, usher.LoginMethod{Name: "password", Type: "secret-token", URL: a.policy.PublicURL + "/v1/auth/login"})
	}
	for _, name := range a.Providers() {
		if _, err := a.connector(ctx, name); err != nil {
			continue
		}
		methods = append(methods, usher.LoginMethod{Name: name, Type: "oauth",
			URL: a.policy.PublicURL + "/v1/auth/oauth/" + name + "/start"})
	}
	return methods
}

func errProviderDisabled(name string) error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeProviderDisabled, Message: "log-in through " + name + " is turned off"}
}

// connector returns the configured external provider named name when the
// instance settings leave log-in through it on: auth.external.enabled and
// its own auth.external.providers.<name>.enabled, both on unless set to
// false. Every step of an external log-in asks it, so turning a provider
// off also stops the log-ins already under way.
//
// Errors: NotFound (no such provider), Forbidden (turned off).
func (e *env) connector(ctx context.Context, name string) (usher.Connector, error) {
	conn, ok := e.connectors[name]
	if !ok {
		return nil, errUnknownProvider(name)
	}
	values, err := e.instance.get(ctx, e)
	if err != nil {
		return nil, err
	}
	if !boolSetting(values, usher.SettingExternalEnabled, true) || !boolSetting(values, usher.SettingProviderEnabled(name), true) {
		return nil, errProviderDisabled(name)
	}
	return conn, nil
}

// oauthState is what the state of a log-in in flight carries, sealed.
type oauthState struct {
	Provider string `json:"p"`
	Redeem   int64  `json:"r,omitempty"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Binding  string `json:"b"` // hash of the browser's binding
	Redirect string `json:"u,omitempty"`
	// Challenge, when set, is the S256 PKCE challenge of a client that
	// asked for an exchange code instead of a session in the browser.
	Challenge string `json:"c,omitempty"`
}

func errUnknownProvider(name string) error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeProviderNotFound, Message: "no log-in provider named " + name}
}

// checkRedirect allows only usher's own pages as places to return to after
// a log-in: a plain path, or an address under the public URL. Anything else
// — another host, a scheme, a path that a browser would read as another
// host ("//x", "/\x", control characters) — would make usher an open
// redirector. usher's API (/v1/) is no page either: a log-in that returned
// there would make usher's own redirect the navigation that starts an
// exchange log-in with a challenge of another's choosing, which only a
// page of usher's may start.
func (e *env) checkRedirect(to string) error {
	if to == "" {
		return nil
	}
	bad := usher.FieldErrors(usher.FieldError{Field: "redirect_url", Code: usher.CodeNotAllowed,
		Message: "must be a path of a page, or an address of one under " + e.policy.PublicURL})
	if strings.IndexFunc(to, func(r rune) bool { return r < 0x21 || r == 0x7f || r == '\\' }) >= 0 {
		return bad
	}
	u, err := url.Parse(to)
	if err != nil {
		return bad
	}
	pub, _ := url.Parse(e.policy.PublicURL)
	switch {
	case u.Scheme == "" && u.Host == "" && u.User == nil && strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "//"):
	case pub != nil && u.Scheme == pub.Scheme && u.Host == pub.Host && u.User == nil && strings.HasPrefix(u.Path, "/"):
	default:
		return bad
	}
	// The path as the server routes it: decoded, its dot segments and
	// doubled slashes gone, under the public URL's path if it has one.
	clean := path.Clean(u.Path)
	if pub != nil {
		if base := strings.TrimSuffix(pub.Path, "/"); base != "" {
			if rest, ok := strings.CutPrefix(clean, base); ok && (rest == "" || rest[0] == '/') {
				clean = path.Clean("/" + rest)
			}
		}
	}
	if clean == "/v1" || strings.HasPrefix(clean, "/v1/") {
		return bad
	}
	return nil
}

// CheckReturnTo reports whether to is a place a page may send the browser
// back to after a log-in: the same rule as an OAuth log-in's redirect, so
// that no face decides it again.
//
// Errors: Unprocessable (an address that is not usher's).
func (a *Auth) CheckReturnTo(to string) error {
	return a.checkRedirect(to)
}

// StartOAuth begins a browser's log-in with an external provider. The
// state, nonce, PKCE verifier and the binding's hash are kept, sealed, under
// a single-use state code.
//
// Errors: NotFound (no such provider), Unprocessable (a redirect that is not
// usher's).
func (a *Auth) StartOAuth(ctx context.Context, provider, redirect string) (*usher.OAuthStart, error) {
	if _, err := a.connector(ctx, provider); err != nil {
		return nil, err
	}
	if err := a.checkRedirect(redirect); err != nil {
		return nil, err
	}
	if err := a.reserveOAuthStart(ctx); err != nil {
		return nil, err
	}
	var out *usher.OAuthStart
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = a.beginOAuth(ctx, tx, provider, redirect, 0, "")
		return err
	})
	return out, err
}

// oauthStartsPerClient bounds the browser log-ins one client address may
// start and not finish within the policy's failure window: each stores a
// state code, and anyone may start one. A log-in the provider confirms
// gives its start back (startConfirmed), so people behind one address
// who do finish theirs are not held back.
const oauthStartsPerClient = 30

// oauthStartKey is the throttle key of a client's browser log-ins started.
func oauthStartKey(ctx context.Context) string {
	if addr := addressKey(requestOf(ctx).Address); addr != "" {
		return "oauth_start:" + addr
	}
	return ""
}

// reserveOAuthStart counts a browser log-in's start against its client's
// address.
//
// Errors: RateLimited.
func (a *Auth) reserveOAuthStart(ctx context.Context) error {
	key := oauthStartKey(ctx)
	if key == "" {
		return nil
	}
	_, err := a.reserve(ctx, []limit{{key: key, max: oauthStartsPerClient}})
	if e := usher.AsError(err); err != nil && e.Kind == usher.KindRateLimited {
		return &usher.Error{Kind: usher.KindRateLimited, Code: usher.CodeTooManyAttempts,
			Message: "too many log-ins started from this address and not finished; try again later", RetryAfter: e.RetryAfter}
	}
	return err
}

// startConfirmed gives back the start of a browser log-in the provider
// confirmed, to the address that finishes it (a command line's start is
// counted apart, and not given back).
func (a *Auth) startConfirmed(ctx context.Context, st oauthState) {
	if key := oauthStartKey(ctx); key != "" && st.Redeem == 0 {
		_ = a.store.ThrottleForgive(ctx, key)
	}
}

// StartOAuthExchange begins a browser's log-in with an external provider
// for a client, such as a single-page application, that wants the session
// in its own hands rather than in a cookie (Corteza's /auth/exchange). It
// is StartOAuth with a PKCE challenge (RFC 7636, S256: the base64url
// SHA-256 of a verifier the client keeps): when the log-in completes the
// browser is sent to redirect with an exchange code, which only the holder
// of the verifier can trade for a session, once, within the policy's
// ExchangeTTL (see ExchangeLogin).
//
// Errors: NotFound (no such provider), Invalid (no redirect, a method
// other than S256, or a malformed challenge), Unprocessable (a redirect
// that is not usher's).
func (a *Auth) StartOAuthExchange(ctx context.Context, provider, redirect, challenge, method string) (*usher.OAuthStart, error) {
	if method != "S256" {
		// The plain method would put the verifier itself in the browser's
		// history: RFC 7636 allows only S256 where it can be done.
		return nil, invalid("code_challenge_method", "must be S256")
	}
	if _, err := a.connector(ctx, provider); err != nil {
		return nil, err
	}
	if redirect == "" {
		return nil, invalid("redirect_url", "is required: the exchange code is sent there")
	}
	if b, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(b) != sha256.Size {
		return nil, invalid("code_challenge", "must be the base64url SHA-256 of a verifier (S256), 43 characters")
	}
	if err := a.checkRedirect(redirect); err != nil {
		return nil, err
	}
	if err := a.reserveOAuthStart(ctx); err != nil {
		return nil, err
	}
	var out *usher.OAuthStart
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = a.beginOAuth(ctx, tx, provider, redirect, 0, challenge)
		return err
	})
	return out, err
}

// beginOAuth stores the state of a browser's log-in, for a redeem code when
// one waits for it, or for an exchange code when challenge is set.
func (a *Auth) beginOAuth(ctx context.Context, tx store.Tx, provider, redirect string, redeem int64, challenge string) (*usher.OAuthStart, error) {
	binding := randomBase62(32)
	st := oauthState{Provider: provider, Redeem: redeem, Verifier: randomBase62(64), Nonce: randomBase62(32),
		Binding: base64.RawURLEncoding.EncodeToString(hashCode(binding)), Redirect: redirect, Challenge: challenge}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	state, sc, err := a.issueCode(ctx, tx, usher.CodeOAuthState, 0, "", a.policy.RedeemTTL, a.seal.Seal(data))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(st.Verifier))
	return &usher.OAuthStart{AuthURL: a.connectors[provider].AuthCodeURL(state, st.Nonce, base64.RawURLEncoding.EncodeToString(sum[:])),
		Binding: binding, ExpiresAt: sc.ExpiresAt}, nil
}

// FailOAuth ends a log-in the provider refused or broke off: the state is
// used up and the failure recorded, with the provider's error code. A
// state that names no log-in in flight (none, unknown, used or expired)
// is recorded as nothing: anyone may call the callback, and each call
// would otherwise write an event.
//
// Errors: NotFound (a provider name no provider has: not text filterText
// takes), Invalid (an error code filterText refuses), the store's; an
// unknown state is no error.
func (a *Auth) FailOAuth(ctx context.Context, provider, state, reason string) error {
	if noSuchKey(provider, maxFilterText) {
		return errUnknownProvider(provider)
	}
	if err := filterText("error", reason); err != nil {
		return err
	}
	if state == "" {
		return nil
	}
	return a.store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.CodeByHash(ctx, usher.CodeOAuthState, hashCode(state))
		if err == nil {
			err = tx.CodeUse(ctx, c.ID, a.now())
		}
		if errors.Is(err, usher.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "auth.oauth_failed", resourceType: "provider", resourceID: provider,
			meta: map[string]string{"reason": truncate(reason, 100)}})
	})
}

// FinishOAuth completes a log-in when the provider sends the browser back
// with code and state, in the browser that started it (binding is the
// cookie StartOAuth or VerifyDevice gave it): it asks the provider who the
// person is, finds their account by the identity (or links it to the
// account without a password that has the same verified address, or
// creates one when sign-up is open), opens a session, and hands the
// account to the redeem token. It returns the session and where
// to send the browser next. A log-in started by StartOAuthExchange opens no
// session here: the session is nil and the redirect carries an exchange
// code (the query parameter exchange_code) for the client that started it.
//
// Errors: NotFound (no such provider; an unknown, used or expired state),
// Unauthenticated (the provider refused), Forbidden (sign-up is off; the
// account cannot log in), Conflict.
func (a *Auth) FinishOAuth(ctx context.Context, provider, state, code, binding string) (*usher.Session, string, error) {
	s, to, err := a.finishOAuth(ctx, provider, state, code, binding)
	a.observe.Login(usher.LoginOAuth, loginOutcome(err))
	return s, to, err
}

// finishOAuth is FinishOAuth, untold.
func (a *Auth) finishOAuth(ctx context.Context, provider, state, code, binding string) (*usher.Session, string, error) {
	conn, err := a.connector(ctx, provider)
	if err != nil {
		return nil, "", err
	}
	if state == "" || code == "" {
		return nil, "", invalid("code", "the provider's callback needs code and state")
	}
	var st oauthState
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		c, err := a.useCode(ctx, tx, usher.CodeOAuthState, state)
		if err != nil {
			return err
		}
		data, err := a.seal.Open(c.Data)
		if err != nil {
			return fmt.Errorf("oauth state: %w", err)
		}
		return json.Unmarshal(data, &st)
	})
	if err != nil {
		return nil, "", err
	}
	if st.Provider != provider {
		return nil, "", errCodeNotFound(usher.CodeOAuthState)
	}
	want, _ := base64.RawURLEncoding.DecodeString(st.Binding)
	if binding == "" || subtle.ConstantTimeCompare(hashCode(binding), want) != 1 {
		_ = a.recordAlone(ctx, event{action: "auth.oauth_failed", resourceType: "provider", resourceID: provider,
			meta: map[string]string{"reason": "the callback came to another browser than the one that started the log-in"}})
		return nil, "", &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeOAuthBinding,
			Message: "the log-in was started in another browser; start it again here"}
	}
	id, err := conn.Exchange(ctx, code, st.Verifier, st.Nonce)
	if err != nil {
		a.log.WarnContext(ctx, "oauth exchange failed", "provider", provider, "err", err)
		_ = a.recordAlone(ctx, event{action: "auth.oauth_failed", resourceType: "provider", resourceID: provider})
		return nil, "", &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeOAuthFailed,
			Message: "the provider did not confirm the log-in", Err: err}
	}
	a.startConfirmed(ctx, st)
	id.Provider = provider
	u, err := a.externalUser(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !a.maySignIn(u) {
		return nil, "", &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeAccountInactive,
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	if st.Challenge != "" {
		to, err := a.issueExchange(ctx, u, provider, st)
		return nil, to, err
	}
	sess, err := a.openSession(ctx, u, 0, "", "auth.oauth_login", func(tx store.Tx, changes map[string]usher.Change) error {
		changes["provider"] = usher.Change{New: provider}
		if st.Redeem == 0 {
			return nil
		}
		err := tx.CodeSetUser(ctx, st.Redeem, u.ID)
		if errors.Is(err, usher.ErrNotFound) {
			return nil // redeemed or expired meanwhile: the browser's session still stands
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return sess, st.Redirect, nil
}

// externalUser finds the account of an external identity, links it to the
// account without a password that has the same verified address (see
// linkByAddress), or creates an account.
func (a *Auth) externalUser(ctx context.Context, id *usher.ExternalIdentity) (*usher.User, error) {
	u, err := a.store.UserGet(ctx, usher.UserKey{Provider: id.Provider, ExternUID: id.Subject})
	if err == nil || !errors.Is(err, usher.ErrNotFound) {
		return u, err
	}
	identity := usher.Identity{Provider: id.Provider, ExternUID: id.Subject}
	// The provider's address counts only if usher would store it as
	// given: one with a compatibility character (a Kelvin sign) has the
	// key of another account's address without being it.
	email := ""
	if id.EmailVerified && storableEmail(id.Email) {
		email = id.Email
	}
	if email != "" && !a.policy.NoEmailLinking {
		u, err := a.store.UserGet(ctx, usher.UserKey{Email: email})
		switch {
		case err == nil:
			linked, err := a.linkByAddress(ctx, u, id, identity)
			if !errors.Is(err, errLinkGone) {
				return linked, err
			}
			// Deleted since it was found: the address is free, as if
			// it had never been found.
		case !errors.Is(err, usher.ErrNotFound):
			return nil, err
		}
	}
	if err := a.signupAllowed(ctx, email, false); err != nil {
		return nil, err
	}
	if len(a.policy.SignupDomains) > 0 && email == "" {
		return nil, usher.FieldErrors(usher.FieldError{Field: "email", Code: usher.CodeDomainNotAllowed,
			Message: "sign-up is limited to some domains, and the provider gave no verified address"})
	}
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		username, err := a.freeUsername(ctx, tx, id)
		if err != nil {
			return err
		}
		// A provider's name is taken with a space for a line separator,
		// which a new name may not hold (listedName).
		u, err = a.newUser(sys, tx, usher.UserCreate{Username: username, Email: email, Name: unbroken(id.Name),
			EmailConfirmed: email != "", Identities: []usher.Identity{identity},
			Language: a.letters.Match(usher.RequestFrom(ctx).Languages)}, "")
		if err != nil {
			return err
		}
		return a.record(ctx, tx, u.CreatedAt, event{action: "auth.signup", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: userChanges(&usher.User{}, u),
			meta: map[string]string{"provider": id.Provider}})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	return u, nil
}

// linkByAddress links an external identity to u, the account that has the
// address the provider vouches for, and returns u. It links only an account
// without a password whose address usher saw confirmed, and, if another
// identity already opens it, only one whose address was confirmed when it
// was made (by the provider or the administrator that made it). A
// password, or an identity that came before the address, is a way into the
// account that the provider's word says nothing about: whoever registered
// the address in advance, or set it on an account made by their own
// external log-in, knows it or holds it, and would share the account with
// the person whose log-ins it then receives. Such an account is not linked
// by address; its owner logs in as before (or resets the password by
// mail), and an administrator links the provider to it.
//
// Errors: Conflict (the account has a password, an identity of the same
// provider, or another identity and an address proved only later, or an
// unconfirmed address); errLinkGone (the account was deleted since it was
// found).
func (a *Auth) linkByAddress(ctx context.Context, u *usher.User, id *usher.ExternalIdentity, identity usher.Identity) (*usher.User, error) {
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		// A deletion takes the account's row too, and unlinks the
		// identities it finds: holding the row first, a deletion either
		// came before (the account is gone) or comes after and unlinks
		// this identity with the others.
		switch err := lockUser(ctx, tx, u.ID); {
		case errors.Is(err, usher.ErrNotFound):
			return errLinkGone
		case err != nil:
			return err
		}
		switch _, err := tx.PasswordGet(ctx, u.ID); {
		case err == nil:
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeAccountHasPassword,
				Message: "an account with this address exists and has a password, so this log-in is not linked to it; " +
					"if the account is yours, log in with its password or reset the password by mail, " +
					"and ask an administrator to link " + id.Provider + " to it"}
		case !errors.Is(err, usher.ErrNotFound):
			return err
		}
		cur, err := tx.UserGet(ctx, usher.UserKey{ID: u.ID})
		if errors.Is(err, usher.ErrNotFound) || (err == nil && cur.Deleted()) {
			return errLinkGone
		}
		if err != nil {
			return err
		}
		if cur.Kind == usher.KindServiceAccount {
			// Whoever holds its token may set its address; the provider's
			// word for that address opens no session for it.
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeServiceAccountLogIn,
				Message: "an account with this address is a service account, which authenticates only with its tokens, so this log-in is not linked to it"}
		}
		for _, have := range cur.Identities {
			if have.Provider == id.Provider {
				// The provider itself says this is someone else than the
				// subject the account logs in as: linking would replace
				// that subject, or let two people share the account.
				return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeAccountHasIdentity,
					Message: "an account with this address exists and logs in through " + id.Provider + " as another of its users, so this log-in is not linked to it; " +
						"if the account is yours, log in as you do, and ask an administrator to link this " + id.Provider + " user to it"}
			}
		}
		if len(cur.Identities) > 0 && !confirmedAtCreation(cur) {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeAccountHasIdentity,
				Message: "an account with this address exists, logs in through another provider and proved the address only later, so this log-in is not linked to it; " +
					"if the account is yours, log in as you do, and ask an administrator to link " + id.Provider + " to it"}
		}
		// Link only to an account whose address usher saw confirmed: an
		// account someone registered with another's address in advance must
		// not receive that person's external log-in.
		if cur.EmailConfirmedAt == nil {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeEmailUnconfirmed,
				Message: "an account with this address exists but its address was never confirmed, so this log-in is not linked to it; " +
					"if the account is yours, reset its password by mail"}
		}
		if !linkable(cur, id.Email) {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeEmailTaken,
				Message: "an account holds an address usher takes for this one, written otherwise (another domain to IDNA, or other letters), so this log-in is not linked to it; " +
					"if the account is yours, log in as you do, and ask an administrator to link " + id.Provider + " to it"}
		}
		if err := tx.IdentitySet(ctx, u.ID, identity, a.now()); err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "auth.oauth_link", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: map[string]usher.Change{"identity." + id.Provider: {New: id.Subject}}})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	return u, nil
}

// errLinkGone is linkByAddress finding the account it was to link deleted
// or purged since it was looked up.
var errLinkGone = errors.New("the account with the address is gone")

// confirmedAtCreation reports whether u's address was confirmed when u
// was made — vouched for by the provider or the administrator that made
// it — rather than proved by a code later.
func confirmedAtCreation(u *usher.User) bool {
	return u.EmailConfirmedAt != nil && !u.EmailConfirmedAt.After(u.CreatedAt)
}

// freeUsername picks a username for a new external account: the provider's,
// or the address's local part, made valid, with a number added until it is
// free.
func (a *Auth) freeUsername(ctx context.Context, tx store.Tx, id *usher.ExternalIdentity) (string, error) {
	base := sanitizeUsername(id.Username)
	if base == "" {
		local, _, _ := strings.Cut(id.Email, "@")
		base = sanitizeUsername(local)
	}
	if base == "" {
		base = sanitizeUsername(id.Provider + "-" + id.Subject)
	}
	for i := 0; i < 20; i++ {
		name := base
		switch {
		case i > 0 && i < 10:
			name = fmt.Sprintf("%s-%d", base, i+1)
		case i >= 10:
			name = base + "-" + strings.ToLower(randomBase62(6))
		}
		if reservedUsername(name) {
			// Free, but no account takes it: "me-2" next.
			continue
		}
		_, err := tx.UserGet(ctx, usher.UserKey{Username: name})
		if errors.Is(err, usher.ErrNotFound) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", &usher.Error{Kind: usher.KindConflict, Code: usher.CodeUsernameTaken, Message: "no free username for the new account"}
}

// sanitizeUsername keeps what a username may hold, or returns "".
func sanitizeUsername(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.-", r)) {
			b.WriteRune(r)
		}
	}
	name := strings.TrimLeft(b.String(), ".-")
	if len(name) > maxUsername-8 {
		name = name[:maxUsername-8]
	}
	if strings.Trim(name, "0123456789") == "" {
		return ""
	}
	return name
}

// Redeem gives a command-line client the session of a log-in it started,
// once the person completed it in a browser. The token works once.
//
// Errors: NotFound (unknown, used, expired, or not completed yet — a client
// keeps polling on NotFound), Forbidden (the account cannot log in),
// Invalid.
func (a *Auth) Redeem(ctx context.Context, token string) (*usher.Session, error) {
	if token == "" {
		return nil, invalid("redeem_token", "is required")
	}
	now := a.now()
	c, err := liveCode(ctx, a.store, usher.CodeRedeem, token, now)
	if err != nil {
		return nil, err
	}
	if c.UserID == 0 {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeRedeemPending, Message: "the log-in is not completed yet"}
	}
	// Every step of an external log-in asks whether its provider is on,
	// this last one too: turning a provider off stops the log-ins under
	// way. (A code issued before codes named their provider names none.)
	if c.Data != "" {
		if _, err := a.connector(ctx, c.Data); err != nil {
			return nil, err
		}
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{ID: c.UserID})
	if err != nil {
		return nil, err
	}
	if !a.maySignIn(u) {
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeAccountInactive,
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	return a.openSession(ctx, u, 0, "", "auth.redeem", a.usedWith(ctx, c))
}

// usedWith is the extra of a session opened with the code c, which it
// uses up in the session's transaction: that transaction holds the
// account's row first, so whatever ends the account's sessions (a new
// password, every session ended, a block) ends the code too, before or
// after it, never between the code's use and the session.
func (a *Auth) usedWith(ctx context.Context, c *usher.Code) func(tx store.Tx, _ map[string]usher.Change) error {
	return func(tx store.Tx, _ map[string]usher.Change) error {
		if err := tx.CodeUse(ctx, c.ID, a.now()); err != nil {
			if errors.Is(err, usher.ErrNotFound) {
				return errCodeNotFound(c.Kind)
			}
			return err
		}
		return nil
	}
}

// issueExchange ends an external log-in started by StartOAuthExchange: it
// stores a single-use exchange code for the account, bound to the client's
// challenge, and returns the redirect that carries it.
func (a *Auth) issueExchange(ctx context.Context, u *usher.User, provider string, st oauthState) (string, error) {
	to, err := url.Parse(st.Redirect)
	if err != nil {
		return "", err // checked at the start; a stored state is not edited
	}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		// The account is read again holding its row, as openSession
		// does: a block, a deletion or a password set while the provider
		// answered ended the sessions and codes it found, before this
		// one was, and would leave it to open a session after them.
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		cur, err := tx.UserGet(ctx, usher.UserKey{ID: u.ID})
		if err != nil {
			return err
		}
		if !a.maySignIn(cur) {
			return errInactive(cur)
		}
		data, err := json.Marshal(exchangeState{Challenge: st.Challenge, Provider: provider})
		if err != nil {
			return err
		}
		code, c, err := a.issueCode(ctx, tx, usher.CodeExchange, u.ID, "", a.policy.ExchangeTTL, a.seal.Seal(data))
		if err != nil {
			return err
		}
		q := to.Query()
		q.Set("exchange_code", code)
		to.RawQuery = q.Encode()
		return a.record(ctx, tx, a.now(), event{action: "auth.oauth_login", resourceType: "user",
			resourceID: strconv.FormatInt(u.ID, 10), changes: map[string]usher.Change{"provider": {New: provider}},
			meta: map[string]string{"exchange_code_id": strconv.FormatInt(c.ID, 10)}})
	})
	if err != nil {
		return "", err
	}
	return to.String(), nil
}

// exchangeState is what an exchange code holds, sealed: the challenge of
// the client that started the log-in, and the provider, which
// ExchangeLogin asks again.
type exchangeState struct {
	Challenge string `json:"c"`
	Provider  string `json:"p"`
}

// ExchangeLogin trades the exchange code of an external log-in started by
// StartOAuthExchange for a session (Corteza's /auth/exchange; a JWT is
// then one IssueJWT away). Only the client that started the log-in can: it
// must bring the PKCE verifier whose challenge it started with. The code
// works once — a wrong verifier uses it up too — and for the policy's
// ExchangeTTL.
//
// Errors: NotFound (the code is unknown, used, expired or the verifier is
// not its client's: all one answer), Forbidden (the account cannot log in),
// Invalid.
func (a *Auth) ExchangeLogin(ctx context.Context, code, verifier string) (*usher.Session, error) {
	if code == "" {
		return nil, invalid("exchange_code", "is required")
	}
	if verifier == "" {
		return nil, invalid("code_verifier", "is required")
	}
	c, err := liveCode(ctx, a.store, usher.CodeExchange, code, a.now())
	if err != nil {
		return nil, err
	}
	opened, err := a.seal.Open(c.Data)
	if err != nil {
		return nil, fmt.Errorf("exchange challenge: %w", err)
	}
	var st exchangeState
	if json.Unmarshal(opened, &st) != nil {
		// A code issued before codes named their provider holds the
		// challenge alone.
		st = exchangeState{Challenge: string(opened)}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(st.Challenge)) != 1 {
		// A guess at the verifier burns the code, in a transaction of
		// its own.
		err := a.store.InTx(ctx, func(tx store.Tx) error {
			_, err := a.useCode(ctx, tx, usher.CodeExchange, code)
			return err
		})
		if err != nil && usher.ErrorKind(err) != usher.KindNotFound {
			return nil, err
		}
		_ = a.recordAlone(ctx, event{action: "auth.exchange_failed", resourceType: "user",
			resourceID: strconv.FormatInt(c.UserID, 10), meta: map[string]string{"reason": "wrong code_verifier"}})
		return nil, errCodeNotFound(usher.CodeExchange)
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{ID: c.UserID})
	if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
		return nil, errCodeNotFound(usher.CodeExchange)
	}
	if err != nil {
		return nil, err
	}
	if !a.maySignIn(u) {
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeAccountInactive,
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	// As Redeem: a provider turned off stops the log-ins under way.
	if st.Provider != "" {
		if _, err := a.connector(ctx, st.Provider); err != nil {
			return nil, err
		}
	}
	return a.openSession(ctx, u, 0, "", "auth.exchange", a.usedWith(ctx, c))
}

// Providers returns the names of the external log-in providers configured,
// sorted, whether their switches have them on or off: what the console's
// settings page offers to turn off and on.
func (a *Auth) Providers() []string {
	names := make([]string, 0, len(a.connectors))
	for name := range a.connectors {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
