package pages

import (
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// pathID reads the {id} path segment.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, web.Invalid("id", usher.CodeInvalidID, "is not a valid id")
	}
	return id, nil
}

// postedID opens a signed-in person's form that acts on the row its path
// names: the person (nil when not signed in, the answer written), the
// checked form, and the row's id.
func (h *Handler) postedID(w http.ResponseWriter, r *http.Request) (*usher.Principal, int64, error) {
	p := h.signedIn(w, r)
	if p == nil {
		return nil, 0, nil
	}
	if err := h.checkForm(r); err != nil {
		return nil, 0, err
	}
	id, err := pathID(r)
	if err != nil {
		return nil, 0, err
	}
	return p, id, nil
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	me, err := h.Users.Get(r.Context(), usher.UserKey{ID: p.UserID()})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "account", view{Title: "Your profile", Me: me})
}

// updateAccount changes the signed-in person's profile: their names.
func (h *Handler) updateAccount(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	name, display := r.PostForm.Get("name"), r.PostForm.Get("display_name")
	me, err := h.Users.Update(r.Context(), usher.UserKey{ID: p.UserID()}, usher.UserUpdate{Name: &name, DisplayName: &display})
	if err != nil {
		return h.formError(w, r, "account", view{Title: "Your profile"}, err)
	}
	return h.render(w, r, http.StatusOK, "account", view{Title: "Your profile", Me: me, Notice: "Your profile is saved."})
}

func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) error {
	if h.signedIn(w, r) == nil {
		return nil
	}
	return h.render(w, r, http.StatusOK, "password", view{Title: "Change your password"})
}

func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) error {
	if h.signedIn(w, r) == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	v := view{Title: "Change your password"}
	if err := h.Auth.ChangePassword(r.Context(), r.PostForm.Get("current_password"), r.PostForm.Get("new_password")); err != nil {
		return h.formError(w, r, "password", v, err)
	}
	v.Notice = "Your password is changed."
	return h.render(w, r, http.StatusOK, "password", v)
}

// sessionRow is one open session, marked when it is this browser's.
type sessionRow struct {
	*usher.Token
	Current bool
}

func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request) error {
	return h.showSessions(w, r, "")
}

func (h *Handler) showSessions(w http.ResponseWriter, r *http.Request, notice string) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	list, err := h.Auth.Sessions(r.Context())
	if err != nil {
		return err
	}
	rows := make([]sessionRow, 0, len(list))
	for _, t := range list {
		rows = append(rows, sessionRow{Token: t, Current: p.Token != nil && p.Token.ID == t.ID})
	}
	return h.render(w, r, http.StatusOK, "sessions", view{Title: "Your sessions", Notice: notice, Data: rows})
}

func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) error {
	p, id, err := h.postedID(w, r)
	if p == nil {
		return err
	}
	if err := h.Auth.EndSession(r.Context(), id); err != nil {
		return err
	}
	return h.showSessions(w, r, "The session is ended.")
}

// endOtherSessions ends every session of the caller but this browser's.
func (h *Handler) endOtherSessions(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	if _, err := h.Auth.EndOtherSessions(r.Context()); err != nil {
		return err
	}
	return h.showSessions(w, r, "Every other session is ended.")
}

// tokensData is the personal tokens page's: the list, the scopes to choose
// from and, once after a creation, the new token's secret.
type tokensData struct {
	Tokens []*usher.Token
	Scopes []string
	Secret string
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request) error {
	return h.showTokens(w, r, view{Title: "Personal access tokens"}, "")
}

func (h *Handler) showTokens(w http.ResponseWriter, r *http.Request, v view, secret string) error {
	if h.signedIn(w, r) == nil {
		return nil
	}
	list, err := h.Auth.Tokens(r.Context(), usher.TokenPersonal)
	if err != nil {
		return err
	}
	v.Data = tokensData{Tokens: list, Scopes: usher.Scopes, Secret: secret}
	return h.render(w, r, http.StatusOK, "tokens", v)
}

// createToken makes a personal token and shows its secret this once.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	in := usher.TokenCreate{UserID: p.UserID(), Kind: usher.TokenPersonal, Name: r.PostForm.Get("name"), Scopes: r.PostForm["scopes"]}
	v := view{Title: "Personal access tokens"}
	if days := r.PostForm.Get("expires_days"); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 {
			v.Error, v.Fields = "The token could not be created.", map[string]string{"expires_days": "must be a whole number of days, at least 1"}
			return h.showTokens(w, r, v, "")
		}
		// Any count of days past the year 10000 is refused alike by the
		// core; capped, the date cannot wrap round into the past.
		at := time.Now().AddDate(0, 0, min(n, 4_000_000))
		in.ExpiresAt = &at
	}
	_, secret, err := h.Auth.CreateToken(r.Context(), in)
	if err != nil {
		if v.Error, v.Fields = fieldErrors(err); v.Error == "" {
			return err
		}
		return h.showTokens(w, r, v, "")
	}
	v.Notice = "Your new token is below. Copy it now: it is not shown again."
	return h.showTokens(w, r, v, secret)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p, id, err := h.postedID(w, r)
	if p == nil {
		return err
	}
	if err := h.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	return h.showTokens(w, r, view{Title: "Personal access tokens", Notice: "The token is revoked."}, "")
}
