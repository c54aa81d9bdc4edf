package pages

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"usher"
	"usher/web"
)

// accountData is a team's service account's page: its tokens, and the
// secret of the one just created, shown this once.
type accountData struct {
	Team    *usher.Group
	Account *usher.User
	Tokens  []*usher.Token
	Secret  string
}

// accountKey reads the {uid} of a service account.
func accountKey(r *http.Request) (usher.UserKey, error) {
	id, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil || id <= 0 {
		return usher.UserKey{}, web.Invalid("uid", usher.CodeInvalidID, "is not a valid user id")
	}
	return usher.UserKey{ID: id}, nil
}

// createAccount makes a service account in the team and opens its page.
func (h *Handler) createAccount(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	u, err := h.Groups.CreateServiceAccount(r.Context(), ref, strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("name"))
	if err != nil {
		return h.groupResult(w, r, "", err)
	}
	http.Redirect(w, r, "/admin/groups/"+strconv.FormatInt(ref.ID, 10)+"/accounts/"+strconv.FormatInt(u.ID, 10), http.StatusSeeOther)
	return nil
}

// adminAccount shows a team's service account with its tokens.
func (h *Handler) adminAccount(w http.ResponseWriter, r *http.Request) error {
	return h.showAccount(w, r, view{}, "")
}

// showAccount renders the service account's page with v's notice and the
// secret of a token just made.
func (h *Handler) showAccount(w http.ResponseWriter, r *http.Request, v view, secret string) error {
	team, _, err := h.consoleGroup(w, r)
	if team == nil {
		return err
	}
	key, err := accountKey(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u, err := h.Groups.ServiceAccount(ctx, usher.GroupRef{ID: team.ID}, key)
	if err != nil {
		return err
	}
	tokens, err := h.Auth.UserTokens(ctx, key, usher.TokenServiceAccount)
	if err != nil {
		return err
	}
	v.Title, v.Data = u.Username, accountData{Team: team, Account: u, Tokens: tokens, Secret: secret}
	return h.render(w, r, http.StatusOK, "admin_account", v)
}

// createAccountToken mints a token for the service account, shown once.
func (h *Handler) createAccountToken(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	key, err := accountKey(r)
	if err != nil {
		return err
	}
	_, secret, err := h.Groups.ServiceAccountToken(r.Context(), ref, key, false)
	if err != nil {
		return err
	}
	return h.showAccount(w, r, view{Notice: "The token is created. Copy it now: it is not shown again."}, secret)
}

// revokeAccountToken revokes one of the service account's tokens.
func (h *Handler) revokeAccountToken(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("tid"), 10, 64)
	if err != nil || id <= 0 {
		return web.Invalid("tid", usher.CodeInvalidID, "is not a valid token id")
	}
	key, err := accountKey(r)
	if err != nil {
		return err
	}
	// The account must be the team's, and the token this account's: the
	// address names them so.
	if _, err := h.Groups.ServiceAccount(r.Context(), ref, key); err != nil {
		return err
	}
	tokens, err := h.Auth.UserTokens(r.Context(), key, usher.TokenServiceAccount)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(tokens, func(t *usher.Token) bool { return t.ID == id }) {
		return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeTokenNotFound, Message: "token not found"}
	}
	if err := h.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	return h.showAccount(w, r, view{Notice: "The token is revoked."}, "")
}
