package native

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// sessionJSON answers a log-in: the session token (also in the
// X-Session-Token header and the cookie), when it expires, and the account.
type sessionJSON struct {
	Token     string    `json:"token"`
	SessionID int64     `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

// writeSession answers with a new session: body, header and cookie. The
// cookie is HttpOnly, SameSite=Lax, and Secure when usher is reached over
// TLS.
func (h *Handler) writeSession(w http.ResponseWriter, r *http.Request, s *usher.Session) error {
	exp := time.Now().Add(24 * time.Hour)
	if s.Token.ExpiresAt != nil {
		exp = *s.Token.ExpiresAt
	}
	h.setSession(w, r, s.Secret, &exp)
	w.Header().Set("X-Session-Token", s.Secret)
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, sessionJSON{Token: s.Secret, SessionID: s.Token.ID, ExpiresAt: exp, User: toUserJSON(s.User)})
}

// setSession sets the session cookie of a log-in. An impersonation the
// pages left in the browser is no business of whoever logs in now: it
// ends, and its cookie goes, as the pages' own log-in does.
func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, secret string, exp *time.Time) {
	h.session().Set(w, r, secret, exp)
	left := web.ImpersonationCookie(h.SecureCookies)
	jwt := left.Read(r)
	if jwt == "" {
		return
	}
	left.Clear(w, r)
	if err := h.Auth.EndImpersonation(r.Context(), jwt); err != nil {
		if k := usher.ErrorKind(err); k != usher.KindUnauthenticated && k != usher.KindInvalid {
			web.LogError(h.Log, r, err)
		}
	}
}

// secure reports whether cookies go out marked Secure.
func (h *Handler) secure(r *http.Request) bool {
	return h.SecureCookies || usher.RequestFrom(r.Context()).Secure
}

// clearSession removes the session cookie.
func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	h.session().Clear(w, r)
}

type messageJSON struct {
	Message string `json:"message"`
}

func (h *Handler) signup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Auth.Signup(r.Context(), usher.Signup{Username: req.Username, Email: req.Email, Password: req.Password, Name: req.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+strconv.FormatInt(u.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toUserJSON(u))
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Auth.Confirm(r.Context(), req.Code)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toUserJSON(u))
}

// emailRequest is the body of the endpoints that take only an address.
type emailRequest struct {
	Email string `json:"email"`
}

func (h *Handler) resendConfirmation(w http.ResponseWriter, r *http.Request) error {
	var req emailRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.ResendConfirmation(r.Context(), req.Email); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusAccepted, messageJSON{"If the address waits for confirmation, a new code is on its way."})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Auth.Login(r.Context(), req.Login, req.Password)
	if err != nil {
		return err
	}
	return h.writeSession(w, r, s)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.Auth.Logout(r.Context()); err != nil {
		return err
	}
	h.clearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) requestReset(w http.ResponseWriter, r *http.Request) error {
	var req emailRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.RequestPasswordReset(r.Context(), req.Email); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusAccepted, messageJSON{"If the address belongs to an account, a reset token is on its way."})
}

func (h *Handler) exchangeReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	t, err := h.Auth.ExchangeResetToken(r.Context(), req.Token)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, struct {
		Ticket    string    `json:"ticket"`
		ExpiresAt time.Time `json:"expires_at"`
		User      userJSON  `json:"user"`
	}{t.Ticket, t.ExpiresAt, toUserJSON(t.User)})
}

func (h *Handler) completeReset(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Ticket   string `json:"ticket"`
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.CompletePasswordReset(r.Context(), req.Ticket, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Current  string `json:"current_password"`
		Password string `json:"new_password"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.ChangePassword(r.Context(), req.Current, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := h.Auth.SetPassword(r.Context(), key, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) passwordCheck(w http.ResponseWriter, r *http.Request) error {
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
		Score       int            `json:"score"`
		Acceptable  bool           `json:"acceptable"`
		Problems    []problemField `json:"problems"`
		Warning     string         `json:"warning"`
		Suggestions []string       `json:"suggestions"`
		CrackTime   string         `json:"crack_time"`
	}{q.Score, q.Acceptable, []problemField{}, q.Warning, q.Suggestions, q.CrackTime}
	for _, p := range q.Problems {
		out.Problems = append(out.Problems, problemField(p))
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) methods(w http.ResponseWriter, r *http.Request) error {
	type method struct {
		Name string `json:"name"`
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	out := struct {
		Methods []method `json:"methods"`
	}{Methods: []method{}}
	for _, m := range h.Auth.Methods(r.Context()) {
		out.Methods = append(out.Methods, method(m))
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// jwtJSON answers the endpoints that issue JWTs.
type jwtJSON struct {
	JWT       string    `json:"jwt"`
	ExpiresAt time.Time `json:"expires_at"`
	User      *userJSON `json:"user,omitempty"`
}

func (h *Handler) issueJWT(w http.ResponseWriter, r *http.Request) error {
	raw, c, err := h.Auth.IssueJWT(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, jwtJSON{JWT: raw, ExpiresAt: c.ExpiresAt})
}

func (h *Handler) checkJWT(w http.ResponseWriter, r *http.Request) error {
	raw := web.BearerToken(r)
	if raw == "" {
		return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "send the JWT as Authorization: Bearer"}
	}
	p, c, err := h.Auth.CheckJWT(r.Context(), raw)
	if err != nil {
		return err
	}
	u, err := h.Auth.OwnView(r.Context(), p.User)
	if err != nil {
		return err
	}
	out := struct {
		User           userJSON  `json:"user"`
		Kind           string    `json:"kind"`
		Scopes         []string  `json:"scopes"`
		ImpersonatorID *int64    `json:"impersonator_id"`
		IssuedAt       time.Time `json:"issued_at"`
		ExpiresAt      time.Time `json:"expires_at"`
	}{toUserJSON(u), string(c.Kind), c.Scopes, optionalID(c.ImpersonatorID), c.IssuedAt, c.ExpiresAt}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) impersonate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		User      string `json:"user"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	key := usher.UserKey{Username: req.User}
	if id, err := strconv.ParseInt(req.User, 10, 64); err == nil {
		key = usher.UserKey{ID: id}
	}
	if req.User == "" {
		return web.Invalid("user", usher.CodeRequired, "is required: an id or a username")
	}
	raw, c, u, err := h.Auth.Impersonate(r.Context(), key, web.Seconds(int64(req.ExpiresIn)))
	if err != nil {
		return err
	}
	uj := toUserJSON(u)
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, jwtJSON{JWT: raw, ExpiresAt: c.ExpiresAt, User: &uj})
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) error {
	data, err := h.Auth.JWKS(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(data)
	return err
}

// wantsJSON reports whether the client asked for JSON rather than a
// redirect, as a command-line client does.
func wantsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if v == "application/json" {
			return true
		}
	}
	return false
}

// binding is the cookie that carries an external log-in's binding from its
// start to its callback, in the one browser.
func (h *Handler) binding() web.SessionCookie {
	return web.SessionCookie{Name: "usher_oauth", Path: "/v1/auth/", Secure: h.SecureCookies, Host: true}
}

// setBinding gives the browser the binding of the log-in it starts.
func (h *Handler) setBinding(w http.ResponseWriter, r *http.Request, st *usher.OAuthStart) {
	h.binding().Set(w, r, st.Binding, &st.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
}

func (h *Handler) startOAuth(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	redirect := q.String("redirect_url")
	challenge, method := q.String("code_challenge"), q.String("code_challenge_method")
	if err := q.Err(); err != nil {
		return err
	}
	if challenge != "" || method != "" {
		// A client that wants an exchange code rather than a cookie.
		if wantsJSON(r) {
			return web.Invalid("code_challenge", usher.CodeNotAllowed, "is for browsers; a command-line log-in ends at redeem")
		}
		// Whoever chose the challenge holds the verifier: a link on
		// another site, in a mail or a chat, that starts one in a browser
		// signed in at the provider would end in an exchange code its
		// sender can trade for that person's session, once they read it
		// from the address (a history, a log, a Referer). The client that
		// may start one is a page of usher's own.
		if err := h.origin.CheckNavigation(r); err != nil {
			return err
		}
		st, err := h.Auth.StartOAuthExchange(r.Context(), r.PathValue("provider"), redirect, challenge, method)
		if err != nil {
			return err
		}
		h.setBinding(w, r, st)
		http.Redirect(w, r, st.AuthURL, http.StatusFound)
		return nil
	}
	if wantsJSON(r) {
		if redirect != "" {
			return web.Invalid("redirect_url", usher.CodeNotAllowed, "is for browsers; a command-line log-in ends at redeem")
		}
		d, err := h.Auth.StartDeviceLogin(r.Context(), r.PathValue("provider"))
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "no-store")
		return web.WriteJSON(w, http.StatusOK, struct {
			URL         string    `json:"url"`
			UserCode    string    `json:"user_code"`
			RedeemToken string    `json:"redeem_token"`
			RedeemURL   string    `json:"redeem_url"`
			ExpiresAt   time.Time `json:"expires_at"`
		}{d.VerificationURL, d.UserCode, d.RedeemToken, d.RedeemURL, d.ExpiresAt})
	}
	st, err := h.Auth.StartOAuth(r.Context(), r.PathValue("provider"), redirect)
	if err != nil {
		return err
	}
	h.setBinding(w, r, st)
	http.Redirect(w, r, st.AuthURL, http.StatusFound)
	return nil
}

// finishOAuth is the provider's callback. A refusal goes to a person's
// browser (one that accepts HTML) as the hosted page /login/failed, which
// explains the error code in the pages' look, rather than as a problem
// document; other clients get the problem.
func (h *Handler) finishOAuth(w http.ResponseWriter, r *http.Request) error {
	err := h.completeOAuth(w, r)
	if err == nil || !acceptsHTML(r) {
		return err
	}
	web.LogError(h.Log, r, err)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/login/failed?code="+url.QueryEscape(usher.AsError(err).Code), http.StatusSeeOther)
	return nil
}

// acceptsHTML reports whether the request is a browser's navigation: its
// Accept names HTML.
func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// completeOAuth completes an external log-in at the provider's callback.
func (h *Handler) completeOAuth(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	state, code := q.String("state"), q.String("code")
	reason := q.String("error")
	q.String("error_description")
	q.String("error_uri")
	q.String("scope")
	q.String("iss")
	q.String("session_state")
	if err := q.Err(); err != nil {
		return err
	}
	provider := r.PathValue("provider")
	if reason != "" {
		if err := h.Auth.FailOAuth(r.Context(), provider, state, reason); err != nil {
			return err
		}
		return &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeOAuthDenied, Message: "the provider says: " + reason}
	}
	s, redirect, err := h.Auth.FinishOAuth(r.Context(), provider, state, code, h.binding().Read(r))
	if err != nil {
		return err
	}
	h.binding().Clear(w, r)
	if s == nil {
		// An exchange log-in: the redirect carries the code, no cookie.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", redirect)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	if redirect != "" {
		h.setSession(w, r, s.Secret, s.Token.ExpiresAt)
		// The core allowed only usher's own pages; set the header as it is.
		w.Header().Set("Location", redirect)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	return h.writeSession(w, r, s)
}

func (h *Handler) redeem(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		RedeemToken string `json:"redeem_token"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Auth.Redeem(r.Context(), req.RedeemToken)
	if err != nil {
		return err
	}
	return h.writeSession(w, r, s)
}

// exchange trades an external log-in's exchange code, with the client's
// PKCE verifier, for a session.
func (h *Handler) exchange(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ExchangeCode string `json:"exchange_code"`
		CodeVerifier string `json:"code_verifier"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Auth.ExchangeLogin(r.Context(), req.ExchangeCode, req.CodeVerifier)
	if err != nil {
		return err
	}
	return h.writeSession(w, r, s)
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.Me(r.Context())
	if err != nil {
		return err
	}
	return writeUser(w, r, http.StatusOK, u, false)
}

// tokenJSON is the native representation of a token or session; Token, the
// text, is present only when it was just minted.
type tokenJSON struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	Hint       string     `json:"hint"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Address    string     `json:"address,omitempty"`
	UserAgent  string     `json:"user_agent,omitempty"`
	Current    bool       `json:"current,omitempty"`
	Token      string     `json:"token,omitempty"`
}

func toTokenJSON(t *usher.Token, current *usher.Token) tokenJSON {
	out := tokenJSON{ID: t.ID, Kind: string(t.Kind), Name: t.Name, Hint: t.Hint, Scopes: t.Scopes,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, Address: t.Address,
		UserAgent: t.UserAgent, Current: current != nil && current.ID == t.ID}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	return out
}

// writeTokens writes a list of tokens, marking the caller's own.
func writeTokens(w http.ResponseWriter, r *http.Request, toks []*usher.Token) error {
	current := usher.PrincipalFrom(r.Context()).Token
	return writeList(w, toks, func(t *usher.Token) tokenJSON { return toTokenJSON(t, current) })
}

func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) error {
	toks, err := h.Auth.Sessions(r.Context())
	if err != nil {
		return err
	}
	return writeTokens(w, r, toks)
}

func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Auth.EndSessions(r.Context()); err != nil {
		return err
	}
	h.clearSession(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pathID reads a numeric path segment.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.Invalid(name, usher.CodeInvalidID, "is not a valid id")
	}
	return id, nil
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Auth.EndSession(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) tokens(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	toks, err := h.Auth.Tokens(r.Context())
	if err != nil {
		return err
	}
	return writeTokens(w, r, toks)
}

func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name      string     `json:"name"`
		Kind      string     `json:"kind"`
		Scopes    []string   `json:"scopes"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := usher.PrincipalFrom(r.Context())
	t, text, err := h.Auth.CreateToken(r.Context(), usher.TokenCreate{UserID: p.UserID(), Kind: usher.TokenKind(req.Kind),
		Name: req.Name, Scopes: req.Scopes, ExpiresAt: req.ExpiresAt})
	if err != nil {
		return err
	}
	out := toTokenJSON(t, nil)
	out.Token = text
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rotateToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, text, err := h.Auth.RotateToken(r.Context(), id)
	if err != nil {
		return err
	}
	out := toTokenJSON(t, nil)
	out.Token = text
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, out)
}
