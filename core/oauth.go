package core

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/store"
)

// Methods lists the enabled log-in methods: the password, then each
// external provider.
func (a *Auth) Methods(ctx context.Context) []usher.LoginMethod {
	methods := []usher.LoginMethod{{Name: "password", Type: "secret-token", URL: a.policy.PublicURL + "/v1/auth/login"}}
	names := make([]string, 0, len(a.connectors))
	for name := range a.connectors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		methods = append(methods, usher.LoginMethod{Name: name, Type: "oauth",
			URL: a.policy.PublicURL + "/v1/auth/oauth/" + name + "/start"})
	}
	return methods
}

// OAuthStart is how an external log-in begins: where to send the browser,
// and the redeem token with which a command-line client that cannot receive
// the callback collects its session once the person has logged in.
type OAuthStart struct {
	AuthURL     string
	RedeemToken string
	RedeemURL   string
	ExpiresAt   time.Time
}

// oauthState is what the state of a log-in in flight carries, sealed.
type oauthState struct {
	Provider string `json:"p"`
	Redeem   int64  `json:"r"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Redirect string `json:"u,omitempty"`
}

func errUnknownProvider(name string) error {
	return &usher.Error{Kind: usher.KindNotFound, Code: "provider_not_found", Message: "no log-in provider named " + name}
}

// checkRedirect allows only usher's own pages as places to return to after
// a log-in: a path, or an address under the public URL. Anything else would
// make usher an open redirector.
func (e *env) checkRedirect(to string) error {
	switch {
	case to == "":
		return nil
	case strings.HasPrefix(to, "/") && !strings.HasPrefix(to, "//") && !strings.Contains(to, `\`):
		return nil
	case strings.HasPrefix(to, e.policy.PublicURL+"/"):
		return nil
	}
	return usher.FieldErrors(usher.FieldError{Field: "redirect_url", Code: "not_allowed",
		Message: "must be a path, or an address under " + e.policy.PublicURL})
}

// StartOAuth begins a log-in with an external provider. The state, nonce and
// PKCE verifier are kept, sealed, under a single-use state code; the redeem
// token is kept as a hash.
//
// Errors: NotFound (no such provider), Unprocessable (a redirect that is not
// usher's).
func (a *Auth) StartOAuth(ctx context.Context, provider, redirect string) (*OAuthStart, error) {
	conn, ok := a.connectors[provider]
	if !ok {
		return nil, errUnknownProvider(provider)
	}
	if err := a.checkRedirect(redirect); err != nil {
		return nil, err
	}
	st := oauthState{Provider: provider, Verifier: randomBase62(64), Nonce: randomBase62(32), Redirect: redirect}
	out := &OAuthStart{}
	err := a.store.InTx(ctx, func(tx store.Tx) error {
		redeem, rc, err := a.issueCode(ctx, tx, usher.CodeRedeem, 0, a.policy.RedeemTTL, "")
		if err != nil {
			return err
		}
		st.Redeem = rc.ID
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		state, _, err := a.issueCode(ctx, tx, usher.CodeOAuthState, 0, a.policy.RedeemTTL, a.seal.Seal(data))
		if err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(st.Verifier))
		out.AuthURL = conn.AuthCodeURL(state, st.Nonce, base64.RawURLEncoding.EncodeToString(sum[:]))
		out.RedeemToken, out.ExpiresAt = redeem, rc.ExpiresAt
		out.RedeemURL = a.policy.PublicURL + "/v1/auth/redeem"
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishOAuth completes a log-in when the provider sends the browser back
// with code and state: it asks the provider who the person is, finds their
// account by the identity (or links it to the account with the same
// verified address, or creates one when sign-up is open), opens a session,
// and hands the account to the redeem token. It returns the session and where
// to send the browser next.
//
// Errors: NotFound (no such provider; an unknown, used or expired state),
// Unauthenticated (the provider refused), Forbidden (sign-up is off; the
// account cannot log in), Conflict.
func (a *Auth) FinishOAuth(ctx context.Context, provider, state, code string) (*usher.Session, string, error) {
	conn, ok := a.connectors[provider]
	if !ok {
		return nil, "", errUnknownProvider(provider)
	}
	if state == "" || code == "" {
		return nil, "", invalid("code", "the provider's callback needs code and state")
	}
	var st oauthState
	err := a.store.InTx(ctx, func(tx store.Tx) error {
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
	id, err := conn.Exchange(ctx, code, st.Verifier, st.Nonce)
	if err != nil {
		a.log.WarnContext(ctx, "oauth exchange failed", "provider", provider, "err", err)
		_ = a.recordAlone(ctx, event{action: "auth.oauth_failed", resourceType: "provider", resourceID: provider})
		return nil, "", &usher.Error{Kind: usher.KindUnauthenticated, Code: "oauth_failed",
			Message: "the provider did not confirm the log-in", Err: err}
	}
	id.Provider = provider
	u, err := a.externalUser(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !a.maySignIn(u) {
		return nil, "", &usher.Error{Kind: usher.KindForbidden, Code: "account_inactive",
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	sess, err := a.openSession(ctx, u, 0, "auth.oauth_login", func(tx store.Tx, changes map[string]usher.Change) error {
		changes["provider"] = usher.Change{New: provider}
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
// account with the same verified address, or creates an account.
func (a *Auth) externalUser(ctx context.Context, id *usher.ExternalIdentity) (*usher.User, error) {
	u, err := a.store.UserGet(ctx, usher.UserKey{Provider: id.Provider, ExternUID: id.Subject})
	if err == nil || !errors.Is(err, usher.ErrNotFound) {
		return u, err
	}
	identity := usher.Identity{Provider: id.Provider, ExternUID: id.Subject}
	if id.Email != "" && id.EmailVerified && !a.policy.NoEmailLinking && validEmail(id.Email) {
		u, err := a.store.UserGet(ctx, usher.UserKey{Email: id.Email})
		if err == nil {
			err = a.store.InTx(ctx, func(tx store.Tx) error {
				if err := tx.IdentitySet(ctx, u.ID, identity, a.now()); err != nil {
					return err
				}
				return a.record(ctx, tx, a.now(), event{action: "auth.oauth_link", resourceType: "user",
					resourceID: strconv.FormatInt(u.ID, 10), changes: map[string]usher.Change{"identity." + id.Provider: {New: id.Subject}}})
			})
			return u, userWriteError(err)
		}
		if !errors.Is(err, usher.ErrNotFound) {
			return nil, err
		}
	}
	email := ""
	if id.EmailVerified && validEmail(id.Email) {
		email = id.Email
	}
	if err := a.signupAllowed(email); err != nil {
		return nil, err
	}
	sys := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalSystem})
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		username, err := a.freeUsername(ctx, tx, id)
		if err != nil {
			return err
		}
		u, err = a.newUser(sys, tx, usher.UserCreate{Username: username, Email: email, Name: id.Name,
			EmailConfirmed: email != "", Identities: []usher.Identity{identity}}, "")
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
		_, err := tx.UserGet(ctx, usher.UserKey{Username: name})
		if errors.Is(err, usher.ErrNotFound) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", &usher.Error{Kind: usher.KindConflict, Code: "username_taken", Message: "no free username for the new account"}
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
	c, err := a.store.CodeByHash(ctx, usher.CodeRedeem, hashCode(token))
	now := a.now()
	if errors.Is(err, usher.ErrNotFound) || (err == nil && (c.UsedAt != nil || !c.ExpiresAt.After(now))) {
		return nil, errCodeNotFound(usher.CodeRedeem)
	}
	if err != nil {
		return nil, err
	}
	if c.UserID == 0 {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: "redeem_pending", Message: "the log-in is not completed yet"}
	}
	u, err := a.store.UserGet(ctx, usher.UserKey{ID: c.UserID})
	if err != nil {
		return nil, err
	}
	if !a.maySignIn(u) {
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: "account_inactive",
			Message: "the account is " + string(u.State) + " and cannot log in"}
	}
	return a.openSession(ctx, u, 0, "auth.redeem", func(tx store.Tx, _ map[string]usher.Change) error {
		if err := tx.CodeUse(ctx, c.ID, a.now()); err != nil {
			if errors.Is(err, usher.ErrNotFound) {
				return errCodeNotFound(usher.CodeRedeem)
			}
			return err
		}
		return nil
	})
}
