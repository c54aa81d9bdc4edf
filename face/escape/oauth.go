package escape

import (
	"net/http"
	"net/url"

	"usher"
	"usher/web"
)

// binding is the cookie that carries an external log-in's binding from its
// start to its callback, in the one browser. It is native's cookie, sent
// to every path, since the callback registered with a provider is
// usher's /v1/auth/oauth/{provider}/callback and the face's own callback
// may be registered too.
func (h *Handler) binding() web.SessionCookie {
	return web.SessionCookie{Name: "usher_oauth", Path: "/", Secure: h.SecureCookies, Host: true}
}

// devicePath is usher's page where a person takes up a command-line
// log-in (the native face's): it shows the client that started it and
// approves it only with a form of its own, confirmed by the person.
const devicePath = "/v1/auth/device"

// startOAuth sends the person's browser, which opened the URL of a
// provider's method in an older answer of the log-in methods (redeem-token
// is the user code it carried), to the device page with the code filled
// in; a code no log-in waits with is Escape's 404 ("Redeem token not
// found."), which the core's look-up answers, counting the try as the
// device page's do. It approves nothing: a link another site makes a
// browser open must not hand that site's client the person's session
// (docs/auth.md).
func (h *Handler) startOAuth(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	code := q.String("redeem-token")
	if err := q.Err(); err != nil {
		return err
	}
	if code == "" {
		return web.Invalid("redeem-token", usher.CodeRequired, "Missing redeem-token parameter.")
	}
	// Only whether the code is live: the nonce, issued to no viewer,
	// approves nothing.
	if _, err := h.Auth.DescribeDevice(r.Context(), code, ""); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, deviceURL(web.BaseURL(r, h.PublicURL), code), http.StatusFound)
	return nil
}

// deviceURL is the device page at base with the user code filled in.
func deviceURL(base, code string) string {
	return base + devicePath + "?user_code=" + url.QueryEscape(code)
}

// finishOAuth is the provider's callback: it completes the log-in, hands
// the account to the redeem token of the client that started it, and
// answers the browser with the token (header and cookie) and an empty 200,
// or a 302 to the page the log-in returns to: a device log-in's
// /device/done.
func (h *Handler) finishOAuth(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	state, code := q.String("state"), q.String("code")
	reason := q.String("error")
	for _, name := range []string{"error_description", "error_uri", "scope", "iss", "session_state"} {
		q.String(name)
	}
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
	w.Header().Set("Cache-Control", "no-store")
	if s != nil {
		h.cookie().Set(w, r, s.Secret, s.Token.ExpiresAt)
		w.Header().Set(tokenName, s.Secret)
	}
	if s == nil || redirect != "" {
		// The core allowed only usher's own pages (a device log-in's
		// browser lands on the page that sends the person back to their
		// terminal); set the header as it is.
		w.Header().Set("Location", redirect)
		w.WriteHeader(http.StatusFound)
		return nil
	}
	return writeToken(w, s.Secret)
}

// finishSignup lets the person an external log-in made an account for
// choose its username and address; absent fields are left alone.
func (h *Handler) finishSignup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Username web.Optional[string] `json:"username"`
		Email    web.Optional[string] `json:"email"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Users.FinishExternalSignup(r.Context(), r.PathValue("provider"), req.Username.Ptr(), req.Email.Ptr())
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u)
}

// redeem answers the client's polling: 404 until the person completes the
// log-in, then once the token as plain text, then 404 again.
func (h *Handler) redeem(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	token := q.String("redeem-token")
	if err := q.Err(); err != nil {
		return err
	}
	if token == "" {
		return web.Invalid("redeem-token", usher.CodeRequired, "Missing redeem-token parameter.")
	}
	s, err := h.Auth.Redeem(r.Context(), token)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(s.Secret))
	return err
}

// aclUserJSON is how Escape's other services learn who a token belongs
// to and which groups it is in.
type aclUserJSON struct {
	UserID   string   `json:"user_id"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// aclUser answers the ACLUser of the token the call came with: its teams
// and internal groups by bare name, each name the group the core says it
// means (NamedGroups).
func (h *Handler) aclUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.Me(r.Context())
	if err != nil {
		return err
	}
	ms, err := h.Groups.NamedGroups(r.Context(), usher.UserKey{ID: u.ID})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, aclUserJSON{UserID: u.UUID, Username: u.NameOrHandle(), Groups: groupNames(ms)})
}

// version answers the running version.
func (h *Handler) version(w http.ResponseWriter, r *http.Request) error {
	return web.WriteJSON(w, http.StatusOK, struct {
		Version string `json:"version"`
	}{h.Version})
}
