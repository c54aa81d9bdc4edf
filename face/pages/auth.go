package pages

import (
	"net/http"
	"net/url"
	"strings"
	"time"
	"usher/web"

	"usher"
)

// urlQuery escapes s for a query string.
func urlQuery(s string) string { return url.QueryEscape(s) }

// returnTo is where to send the browser after a log-in: the return_to the
// request names when the core allows it (usher's own pages only, never an
// open redirect), or else the landing page.
func (h *Handler) returnTo(r *http.Request) string {
	to := r.FormValue("return_to")
	if to == "" || h.Auth.CheckReturnTo(to) != nil {
		return "/"
	}
	return to
}

// loginData is the log-in page's own.
type loginData struct {
	Login    string
	ReturnTo string
	// Providers are the external log-in providers, each a button.
	Providers []provider
	Password  bool
}

type provider struct {
	Name, URL string
}

func (h *Handler) loginData(r *http.Request, login string) loginData {
	d := loginData{Login: login, ReturnTo: h.returnTo(r)}
	for _, m := range h.Auth.Methods(r.Context()) {
		if m.Type == "secret-token" {
			d.Password = true
			continue
		}
		d.Providers = append(d.Providers, provider{Name: m.Name,
			URL: "/v1/auth/oauth/" + url.PathEscape(m.Name) + "/start?redirect_url=" + urlQuery(d.ReturnTo)})
	}
	return d
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	if h.signedIn(w, r) == nil {
		return nil
	}
	return h.render(w, r, http.StatusOK, "home", view{Title: "You are signed in"})
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) error {
	if !usher.PrincipalFrom(r.Context()).Anonymous() {
		http.Redirect(w, r, h.returnTo(r), http.StatusSeeOther)
		return nil
	}
	return h.render(w, r, http.StatusOK, "login", view{Title: "Log in", Data: h.loginData(r, "")})
}

// login checks the password and sets the session cookie. A post from
// another site is refused: it would sign the browser in to an account of
// that site's choosing.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	login := r.PostForm.Get("login")
	s, err := h.Auth.Login(r.Context(), login, r.PostForm.Get("password"))
	if err != nil {
		return h.formError(w, r, "login", view{Title: "Log in", Data: h.loginData(r, login)}, err)
	}
	exp := time.Now().Add(24 * time.Hour)
	if s.Token.ExpiresAt != nil {
		exp = *s.Token.ExpiresAt
	}
	h.session().Set(w, r, s.Secret, &exp)
	// An impersonation left in this browser is no business of whoever
	// logs in now: it ends, and its cookie goes.
	if err := h.endImpersonation(w, r); err != nil {
		web.LogError(h.Log, r, err)
	}
	http.Redirect(w, r, h.returnTo(r), http.StatusSeeOther)
	return nil
}

func (h *Handler) logoutPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "logout", view{Title: "Log out"})
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	// The cookies go whatever the core answers: a browser that asked to
	// log out is left signed in as no one.
	h.session().Clear(w, r)
	if err := h.endImpersonation(w, r); err != nil {
		web.LogError(h.Log, r, err)
	}
	if !usher.PrincipalFrom(r.Context()).Anonymous() {
		if err := h.Auth.Logout(r.Context()); err != nil {
			return err
		}
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// signupData is the sign-up form's values, kept when it is refused.
type signupData struct {
	Username, Email, Name string
}

func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "signup", view{Title: "Sign up", Data: signupData{}})
}

// signup creates the account; whether sign-up is open is the core's
// decision, and its refusal is shown on the form.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	f := r.PostForm
	d := signupData{Username: f.Get("username"), Email: f.Get("email"), Name: f.Get("name")}
	_, err := h.Auth.Signup(r.Context(), usher.Signup{Username: d.Username, Email: d.Email, Name: d.Name, Password: f.Get("password")})
	if err != nil {
		return h.formError(w, r, "signup", view{Title: "Sign up", Data: d}, err)
	}
	return h.render(w, r, http.StatusOK, "message", view{Title: "Check your mail",
		Notice: "We sent a link to " + d.Email + ". Open it to confirm your address, then log in."})
}

// confirmData is the confirmation form's: the code and whether it
// confirms an account's address (kind "") or an added one ("email").
type confirmData struct {
	Code, Kind string
}

// confirmPage shows the code from the mail's link with a button: opening
// the link alone confirms nothing, so that a mail scanner that follows
// links does not use the code up.
func (h *Handler) confirmPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return h.render(w, r, http.StatusOK, "confirm", view{Title: "Confirm your e-mail address",
		Data: confirmData{Code: q.Get("code"), Kind: q.Get("kind")}})
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	d := confirmData{Code: r.PostForm.Get("code"), Kind: r.PostForm.Get("kind")}
	var err error
	if d.Kind == "email" {
		_, err = h.Emails.Confirm(r.Context(), d.Code)
	} else {
		_, err = h.Auth.Confirm(r.Context(), d.Code)
	}
	if err != nil {
		return h.formError(w, r, "confirm", view{Title: "Confirm your e-mail address", Data: d}, err)
	}
	return h.render(w, r, http.StatusOK, "message", view{Title: "Address confirmed",
		Notice: "Your e-mail address is confirmed. You can log in now."})
}

func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "forgot", view{Title: "Forgot your password?"})
}

// forgot asks for a reset mail. The answer is the same whether the address
// belongs to an account or not, as the API's is.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	if err := h.Auth.RequestPasswordReset(r.Context(), r.PostForm.Get("email")); err != nil {
		return h.formError(w, r, "forgot", view{Title: "Forgot your password?"}, err)
	}
	return h.render(w, r, http.StatusOK, "message", view{Title: "Check your mail",
		Notice: "If the address belongs to an account, a link to reset its password is on its way."})
}

// resetData is the reset form's: the token from the mail until it is
// exchanged, then the ticket it was exchanged for, so that a refused
// password does not cost the person their link.
type resetData struct {
	Token, Ticket string
}

func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "reset", view{Title: "Choose a new password", Data: resetData{Token: r.URL.Query().Get("token")}})
}

// reset takes the token from the mail and the new password together,
// exchanging the token for a ticket first when the form has none yet.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkForm(r); err != nil {
		return err
	}
	d := resetData{Token: r.PostForm.Get("token"), Ticket: r.PostForm.Get("ticket")}
	if d.Ticket == "" {
		t, err := h.Auth.ExchangeResetToken(r.Context(), d.Token)
		if err != nil {
			return h.formError(w, r, "reset", view{Title: "Choose a new password", Data: d}, err)
		}
		d = resetData{Ticket: t.Ticket}
	}
	if err := h.Auth.CompletePasswordReset(r.Context(), d.Ticket, r.PostForm.Get("password")); err != nil {
		return h.formError(w, r, "reset", view{Title: "Choose a new password", Data: d}, err)
	}
	return h.render(w, r, http.StatusOK, "message", view{Title: "Password changed",
		Notice: "Your password is changed. Log in with the new one."})
}

// device sends the browser to the device log-in's page, which the native
// API serves in the same look.
func (h *Handler) device(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/v1/auth/device", http.StatusSeeOther)
	return nil
}

// deviceDone is where a command-line client's log-in leaves the browser
// once the provider has confirmed the person: the client's next redeem
// takes the session, and the person goes back to their terminal. The
// browser is signed in as well (the native API's callback set the
// cookie), which the page's header shows.
func (h *Handler) deviceDone(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, "device_done", view{Title: "Return to your terminal"})
}

// oauthFailures explains, by error code, why an external log-in did not
// complete: the native API's callback sends a browser to /login/failed
// with the code alone, so that no text another site chose is shown.
var oauthFailures = map[string]struct {
	status  int
	message string
}{
	usher.CodeOAuthDenied:        {http.StatusUnauthorized, "The provider did not let you log in."},
	usher.CodeOAuthFailed:        {http.StatusUnauthorized, "The provider did not confirm the log-in. Try again."},
	usher.CodeOAuthBinding:       {http.StatusUnauthorized, "The log-in was started in another browser. Start it again here."},
	usher.CodeOAuthStateNotFound: {http.StatusNotFound, "This log-in expired or was already used. Start it again."},
	usher.CodeSignupDisabled:     {http.StatusForbidden, "There is no account for you here, and sign-up is off."},
	usher.CodeAccountInactive:    {http.StatusForbidden, "Your account is blocked, suspended or deleted, and cannot log in."},
	usher.CodeProviderDisabled:   {http.StatusForbidden, "Log-in through this provider is turned off."},
	usher.CodeEmailUnconfirmed: {http.StatusConflict, "An account has this address, but its address was never confirmed, " +
		"so this log-in was not joined to it. If the account is yours, reset its password by mail."},
	usher.CodeAccountHasPassword: {http.StatusConflict, "An account has this address and a password, so this log-in was not joined to it. " +
		"If the account is yours, log in with its password or reset the password by mail, and ask an administrator to link this provider to it."},
	usher.CodeAccountHasIdentity: {http.StatusConflict, "An account has this address, logs in through another provider and proved the address only later, so this log-in was not joined to it. " +
		"If the account is yours, log in as you do, and ask an administrator to link this provider to it."},
	usher.CodeServiceAccountLogIn: {http.StatusConflict, "An account has this address and is a service account, which works only with its tokens, " +
		"so this log-in was not joined to it."},
}

// loginFailed is where the native API's callback sends a browser whose
// external log-in did not complete: what went wrong, by its error code,
// and the way back to the log-in page.
func (h *Handler) loginFailed(w http.ResponseWriter, r *http.Request) error {
	f, ok := oauthFailures[r.URL.Query().Get("code")]
	if !ok {
		f.status, f.message = http.StatusBadRequest, "The log-in with the provider did not complete. Start it again."
	}
	return h.render(w, r, f.status, "message", view{Title: "The log-in did not complete", Error: f.message})
}

// websiteHref is the link a profile's website makes: the address as given
// when it is an http or https one, else as GitLab links one (http:// put
// before it); none when that is an address of usher's own host, by the
// public URL or by the request. A website is somewhere else: a link into
// usher (/v1/…, or its own address) would be a navigation from usher's own
// page, which an exchange start takes for the page's own.
func (h *Handler) websiteHref(r *http.Request, v string) string {
	href := v
	if u, err := url.Parse(v); err != nil || u.Host == "" || !(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) {
		href = "http://" + strings.TrimLeft(v, "/\\")
	}
	to, err := url.Parse(href)
	if err != nil || !domainName(to.Hostname()) {
		return ""
	}
	for _, own := range []string{h.PublicURL, "http://" + r.Host} {
		if u, err := url.Parse(own); err == nil && strings.EqualFold(u.Hostname(), to.Hostname()) {
			return ""
		}
	}
	return href
}

// domainName reports whether host (with no port) is a domain name a
// browser takes as written, but for case: ASCII letters, digits, hyphens
// and dots, no empty label, and a letter in the last. A browser rewrites
// other hosts before it compares them — full-width or other Unicode
// forms, percent escapes, a trailing dot, IP addresses in short, octal or
// hex form — so that one unlike usher's own to Go may be usher's to it.
func domainName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || strings.IndexFunc(l, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}) >= 0 {
			return false
		}
	}
	return strings.IndexFunc(labels[len(labels)-1], func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }) >= 0
}

// profileData is what the profile page shows: the user, and the link its
// website makes (websiteHref), empty for none.
type profileData struct {
	*usher.User
	Website string
}

// profile is a user's public page, where the GitLab face's web_url
// points. What it shows is what the core lets the caller see.
func (h *Handler) profile(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.Get(r.Context(), usher.UserKey{Username: r.PathValue("username")})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "profile", view{Title: u.Username, Data: profileData{User: u, Website: h.websiteHref(r, u.WebsiteURL)}})
}
