package escape

import (
	"net/http"
	"net/url"

	"usher"
	"usher/web"
)

// methodJSON is one log-in method, as the Escape client reads it.
type methodJSON struct {
	URL         string `json:"url"`
	Type        string `json:"type"`
	RedeemToken string `json:"redeem-token,omitempty"`
	RedeemURL   string `json:"redeem-url,omitempty"`
}

// Method names and types the Escape client knows.
const (
	methodEmail          = "email"
	methodServiceAccount = "service-account"
	typeSecretToken      = "secret-token"
	typeOAuth            = "oauth"
)

// loginMethods answers the methods keyed by name: the e-mail address and
// password, a service account's name and token, and one per external
// provider that is on. Each provider's method carries a fresh redeem token
// the client polls the redeem URL with, and a URL for the person's browser:
// usher's device page with a separate single-use code filled in, so that
// the token the client polls with never shows in a browser, and the person
// sees the client and confirms it there. Past the core's limit of log-ins
// started from one address, the providers' methods are left out and the
// others answered (the Escape client then offers those).
func (h *Handler) loginMethods(w http.ResponseWriter, r *http.Request) error {
	base := web.BaseURL(r, h.PublicURL) + Prefix
	out := map[string]methodJSON{
		methodEmail:          {URL: base + "/auth/login/", Type: typeSecretToken},
		methodServiceAccount: {URL: base + "/auth/login/service-account/", Type: typeSecretToken},
	}
	for _, m := range h.Auth.Methods(r.Context()) {
		if m.Type != typeOAuth {
			continue
		}
		d, err := h.Auth.StartDeviceLogin(r.Context(), m.Name)
		if usher.ErrorKind(err) == usher.KindRateLimited {
			continue
		}
		if err != nil {
			return err
		}
		out[m.Name] = methodJSON{Type: typeOAuth, URL: deviceURL(web.BaseURL(r, h.PublicURL), d.UserCode),
			RedeemToken: d.RedeemToken, RedeemURL: base + "/auth/redeem/"}
	}
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, out)
}

// login checks an e-mail address (or the deprecated username, read as
// one) and password, and answers with an empty body and the new session's
// token in the X-Escape-Token header and cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	// A log-in another site makes a browser send would sign its user in
	// to an account of that site's choosing.
	if err := h.origin.Check(r); err != nil {
		return err
	}
	var req struct {
		Email       string `json:"email"`
		Username    string `json:"username"`
		SecretToken string `json:"secret_token"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	login := req.Email
	if login == "" {
		login = req.Username
	}
	s, err := h.Auth.Login(r.Context(), login, req.SecretToken)
	if err != nil {
		return err
	}
	h.cookie().Set(w, r, s.Secret, s.Token.ExpiresAt)
	return writeToken(w, s.Secret)
}

// loginServiceAccount is the log-in of a service account, which has no
// password: its name and one of its tokens. The answer carries that token,
// as a log-in's answer carries a session's; a token of another account,
// or none, is refused as a wrong password is.
func (h *Handler) loginServiceAccount(w http.ResponseWriter, r *http.Request) error {
	if err := h.origin.Check(r); err != nil {
		return err
	}
	var req struct {
		Email       string `json:"email"`
		Username    string `json:"username"`
		SecretToken string `json:"secret_token"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	name := req.Username
	if name == "" {
		name = req.Email
	}
	if _, err := h.Auth.ServiceAccountLogin(r.Context(), name, req.SecretToken); err != nil {
		return err
	}
	h.cookie().Set(w, r, req.SecretToken, nil)
	return writeToken(w, req.SecretToken)
}

// writeToken answers a log-in: an empty body and the token in the header.
func writeToken(w http.ResponseWriter, token string) error {
	w.Header().Set(tokenName, token)
	w.Header().Set("Cache-Control", "no-store")
	return empty(w)
}

// logout ends the session the call came with and removes the cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	// The cookie goes whatever the core answers: a service account's
	// log-in put its token there, which is no session to end (400
	// not_a_session), and the browser stayed signed in as the account.
	h.cookie().Clear(w, r)
	if err := h.Auth.Logout(r.Context()); err != nil {
		return err
	}
	return empty(w)
}

// signupMethods answers the ways to sign up, keyed like the log-in
// methods; with sign-up off, Escape's 500 "Signup disabled.".
func (h *Handler) signupMethods(w http.ResponseWriter, r *http.Request) error {
	methods, err := h.Auth.SignupMethods(r.Context())
	if err != nil {
		return err
	}
	base := web.BaseURL(r, h.PublicURL) + Prefix
	out := map[string]methodJSON{}
	for _, m := range methods {
		if m.Type == typeOAuth {
			out[m.Name] = methodJSON{Type: typeOAuth, URL: base + "/auth/oauth/" + url.PathEscape(m.Name) + "/start/"}
			continue
		}
		out[methodEmail] = methodJSON{Type: typeSecretToken, URL: base + "/auth/signup/"}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Username string `json:"username"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Auth.Signup(r.Context(), usher.Signup{Username: req.Username, Email: req.Email, Password: req.Password})
	if err != nil {
		return err
	}
	// The caller is no one yet, and is told no plan (null), as of any
	// account it may not read.
	return web.WriteJSON(w, http.StatusOK, toUserJSON(u, nil, usher.ViewOwn, nil))
}

func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if _, err := h.Auth.Confirm(r.Context(), req.Code); err != nil {
		return err
	}
	return empty(w)
}

// requestReset mails a reset token when the address belongs to an
// account; the answer is the same either way.
func (h *Handler) requestReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.RequestPasswordReset(r.Context(), req.Email); err != nil {
		return err
	}
	return empty(w)
}

// reset sets a new password with the mailed token, in one step of the
// core's: a password it refuses leaves the token for another try.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Password           string `json:"password"`
		PasswordResetToken string `json:"password_reset_token"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.PasswordResetToken == "" {
		return web.Invalid("password_reset_token", usher.CodeRequired, "is required")
	}
	if err := h.Auth.ResetPassword(r.Context(), req.PasswordResetToken, req.Password); err != nil {
		return err
	}
	return empty(w)
}

// passwordQuality describes how good a password is.
func (h *Handler) passwordQuality(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Password string `json:"password"`
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	q, err := h.Auth.PasswordCheck(r.Context(), req.Password, req.Username, req.Email)
	if err != nil {
		return err
	}
	out := struct {
		Score       int         `json:"score"`
		Acceptable  bool        `json:"acceptable"`
		Problems    []fieldJSON `json:"problems"`
		Warning     string      `json:"warning"`
		Suggestions []string    `json:"suggestions"`
	}{Score: q.Score, Acceptable: q.Acceptable, Problems: []fieldJSON{}, Warning: q.Warning, Suggestions: q.Suggestions}
	for _, p := range q.Problems {
		out.Problems = append(out.Problems, fieldJSON{Field: p.Field, Code: p.Code, Message: p.Message})
	}
	if out.Suggestions == nil {
		out.Suggestions = []string{}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}
