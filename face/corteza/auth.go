package corteza

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// AuthService is what the face needs of the core's authentication.
type AuthService interface {
	Authenticate(ctx context.Context, credential string, accept ...usher.TokenKind) (*usher.Principal, error)
	Login(ctx context.Context, login, password string) (*usher.Session, error)
	Logout(ctx context.Context) error
	IssueSharedJWT(ctx context.Context) (string, *usher.JWTClaims, error)
	Impersonate(ctx context.Context, key usher.UserKey, ttl time.Duration) (string, *usher.JWTClaims, *usher.User, error)
	Redeem(ctx context.Context, token string) (*usher.Session, error)
	SignupMethods(ctx context.Context) ([]usher.LoginMethod, error)
	Methods(ctx context.Context) []usher.LoginMethod
	Signup(ctx context.Context, in usher.Signup) (*usher.User, error)
	Confirm(ctx context.Context, code string) (*usher.User, error)
	RequestPasswordReset(ctx context.Context, email string) error
	ExchangeResetToken(ctx context.Context, token string) (*usher.ResetTicket, error)
	CompletePasswordReset(ctx context.Context, ticket, pw string) error
	ChangePassword(ctx context.Context, current, pw string) error
	SetPassword(ctx context.Context, key usher.UserKey, pw string) error
}

// authUser is the user of an auth answer (Corteza's outgoing.User).
type authUser struct {
	ID       int64    `json:"userID,string"`
	Name     string   `json:"name"`
	Email    string   `json:"email"`
	Username string   `json:"username"`
	Handle   string   `json:"handle"`
	Roles    []string `json:"roles"`
}

// authPayload is {"jwt", "user"}.
type authPayload struct {
	JWT  string    `json:"jwt"`
	User *authUser `json:"user"`
}

// payload makes the answer for a principal holding jwt.
func (h *Handler) payload(ctx context.Context, jwt string, u *usher.User) (*authPayload, error) {
	roles := []string{}
	if p := usher.PrincipalFrom(ctx); p.Anonymous() || p.UserID() != u.ID {
		// Not signed in as u (a sign-up waiting for its address to be
		// confirmed; a code used where another account is signed in): the
		// user alone, whose roles are not the caller's to read.
		return &authPayload{JWT: jwt, User: &authUser{ID: u.ID, Name: u.Name, Email: u.Email, Username: u.Username,
			Handle: u.Handle, Roles: roles}}, nil
	}
	ms, err := h.Groups.RolesInForce(ctx, usher.UserKey{ID: u.ID})
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		roles = append(roles, strconv.FormatInt(m.GroupID, 10))
	}
	return &authPayload{JWT: jwt, User: &authUser{ID: u.ID, Name: u.Name, Email: u.Email, Username: u.Username,
		Handle: u.Handle, Roles: roles}}, nil
}

// sessionJWT turns a fresh session into Corteza's answer: a shared JWT made
// with it, and its user.
func (h *Handler) sessionJWT(ctx context.Context, w http.ResponseWriter, secret string) error {
	p, err := h.Auth.Authenticate(ctx, secret, usher.TokenSession)
	if err != nil {
		return err
	}
	return h.principalJWT(usher.WithPrincipal(ctx, p), w)
}

// principalJWT answers with a shared JWT for the caller.
func (h *Handler) principalJWT(ctx context.Context, w http.ResponseWriter) error {
	jwt, _, err := h.Auth.IssueSharedJWT(ctx)
	if err != nil {
		return err
	}
	out, err := h.payload(ctx, jwt, usher.PrincipalFrom(ctx).User)
	if err != nil {
		return err
	}
	return respondCredential(w, out)
}

// respondCredential is respond for an answer that carries a credential (a
// JWT, a reset's ticket): no cache keeps it, the browser's on disk
// neither, as no other face's log-in answer is kept.
func respondCredential(w http.ResponseWriter, v any) error {
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, v)
}

func (h *Handler) authSettings(w http.ResponseWriter, r *http.Request) error {
	signup, err := h.Auth.SignupMethods(r.Context())
	internal, external := false, []map[string]string{}
	for _, m := range h.Auth.Methods(r.Context()) {
		if m.Name == "password" {
			internal = true
			continue
		}
		external = append(external, map[string]string{"handle": m.Name, "label": m.Name})
	}
	signupEnabled := err == nil && len(signup) > 0
	return respond(w, map[string]any{
		"internalEnabled":                         internal,
		"internalPasswordResetEnabled":            internal,
		"internalSignUpEmailConfirmationRequired": true,
		"internalSignUpEnabled":                   signupEnabled,
		"externalEnabled":                         len(external) > 0,
		"externalProviders":                       external,
		"signUpDisabled":                          !signupEnabled,
	})
}

// authCheck answers with a JWT made again, as Corteza's check does
// (makePayload), with the roles in force now in its memberOf, which
// Corteza's other services grant by: a role the user left or that was
// archived since the log-in is not named to them. It expires with the JWT
// it was asked with.
func (h *Handler) authCheck(w http.ResponseWriter, r *http.Request) error {
	if usher.PrincipalFrom(r.Context()).Anonymous() {
		return errUnauthorized()
	}
	return h.principalJWT(r.Context(), w)
}

func (h *Handler) authLogout(w http.ResponseWriter, r *http.Request) error {
	if usher.PrincipalFrom(r.Context()).Anonymous() {
		return errUnauthorized()
	}
	// Corteza logs out by GET, which a link on another site makes a
	// browser send with the jwt cookie: a session ended by its cookie
	// alone must be ended from usher's own pages.
	if r.URL.Query().Get("jwt") == "" && web.BearerToken(r) == "" {
		if err := h.origin.CheckChange(r); err != nil {
			return err
		}
	}
	if err := h.Auth.Logout(r.Context()); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) authExchange(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	s, err := h.Auth.Redeem(r.Context(), p.str("token"))
	if err != nil {
		return err
	}
	return h.sessionJWT(r.Context(), w, s.Secret)
}

func (h *Handler) authImpersonate(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := p.id("userID")
	if err != nil {
		return err
	}
	// expire is the JWT's life in seconds; 0 or none is the core's
	// default, and the core bounds it (under 24 hours).
	var ttl time.Duration
	if s := p.str("expire"); s != "" {
		secs, err := strconv.Atoi(s)
		if err != nil {
			return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid expire: " + strconv.Quote(s)}
		}
		ttl = web.Seconds(int64(secs))
	}
	raw, _, _, err := h.Auth.Impersonate(r.Context(), usher.UserKey{ID: id}, ttl)
	if err != nil {
		return err
	}
	as, err := h.Auth.Authenticate(r.Context(), raw, usher.TokenJWT)
	if err != nil {
		return err
	}
	return h.principalJWT(usher.WithPrincipal(r.Context(), as), w)
}

func (h *Handler) internalLogin(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	s, err := h.Auth.Login(r.Context(), p.str("email"), p.str("password"))
	if e := usher.AsError(err); err != nil && e.Code == usher.CodeInvalidCredentials {
		// Corteza's words for a wrong password or an unknown address
		// (AuthErrInvalidCredentials).
		return &usher.Error{Kind: e.Kind, Code: e.Code, Message: "invalid username and password combination"}
	}
	if err != nil {
		return err
	}
	return h.sessionJWT(r.Context(), w, s.Secret)
}

func (h *Handler) internalSignup(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	in := usher.Signup{Email: p.str("email"), Username: p.str("username"), Password: p.str("password"), Name: p.str("name"),
		Handle: p.str("handle")}
	u, err := h.Auth.Signup(r.Context(), in)
	if err != nil {
		return err
	}
	s, err := h.Auth.Login(r.Context(), in.Email, in.Password)
	if err != nil {
		// Not signed in yet (the address needs confirming): the user
		// alone, as Corteza answers then.
		out, perr := h.payload(r.Context(), "", u)
		if perr != nil {
			return perr
		}
		return respond(w, out)
	}
	return h.sessionJWT(r.Context(), w, s.Secret)
}

func (h *Handler) internalConfirmEmail(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	u, err := h.Auth.Confirm(r.Context(), p.str("token"))
	if err != nil {
		return err
	}
	out, err := h.payload(r.Context(), "", u)
	if err != nil {
		return err
	}
	return respond(w, out)
}

func (h *Handler) internalRequestReset(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := h.Auth.RequestPasswordReset(r.Context(), p.str("email")); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) internalExchangeReset(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	t, err := h.Auth.ExchangeResetToken(r.Context(), p.str("token"))
	if err != nil {
		return err
	}
	out, err := h.payload(r.Context(), "", t.User)
	if err != nil {
		return err
	}
	return respondCredential(w, map[string]any{"token": t.Ticket, "user": out.User})
}

func (h *Handler) internalResetPassword(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := h.Auth.CompletePasswordReset(r.Context(), p.str("token"), p.str("password")); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) internalChangePassword(w http.ResponseWriter, r *http.Request) error {
	if usher.PrincipalFrom(r.Context()).Anonymous() {
		return errUnauthorized()
	}
	p, err := readParams(r)
	if err != nil {
		return err
	}
	if err := h.Auth.ChangePassword(r.Context(), p.str("oldPassword"), p.str("newPassword")); err != nil {
		return err
	}
	return ok(w)
}
