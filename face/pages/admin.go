package pages

import (
	"context"
	"net/http"

	"usher"
	"usher/web"
)

// adminOnly refuses a caller who is no administrator: the console's pages
// are for them alone. Each action is still the core's to authorize.
func (h *Handler) adminOnly(w http.ResponseWriter, r *http.Request) (*usher.Principal, error) {
	p := h.signedIn(w, r)
	if p == nil {
		return nil, nil
	}
	if !p.IsAdmin() {
		return nil, &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeForbidden, Message: "only administrators may use the console"}
	}
	return p, nil
}

func (h *Handler) adminHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	return nil
}

// usersData is the user list's: the search, the page and the next page's
// cursor.
type usersData struct {
	Query  string
	State  string
	States []usher.UserState
	Users  []*usher.User
	Total  int
	Next   string
}

// adminUsers lists users: the substring search over usernames, names and
// addresses, a state filter, paged by the core's cursor. The script
// static/admin.js re-runs the search as the administrator types; without
// it the form is an ordinary GET.
func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := usersData{Query: q.Get("q"), State: q.Get("state"),
		States: []usher.UserState{usher.StateActive, usher.StatePending, usher.StateBlocked, usher.StateSuspended}}
	f := usher.UserFilter{Query: d.Query, SearchEmail: true, Page: usher.PageRequest{Limit: 50, WithTotal: true}}
	switch d.State {
	case "":
	case "deleted":
		f.Deleted = usher.Only
	default:
		f.State = usher.UserState(d.State)
	}
	if after := q.Get("after"); after != "" {
		var c usher.Cursor
		if err := web.DecodeCursor("after", after, &c); err != nil {
			return err
		}
		f.Page.After = &c
	}
	page, err := h.Users.List(r.Context(), f)
	if err != nil {
		// A search the core refuses (too short) is shown on the page.
		return h.formError(w, r, "admin_users", view{Title: "Users", Data: d}, err)
	}
	d.Users, d.Total = page.Items, page.Total
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	return h.render(w, r, http.StatusOK, "admin_users", view{Title: "Users", Data: d})
}

// adminUserKey reads the {id} of a user of the console.
func adminUserKey(r *http.Request) (usher.UserKey, error) {
	id, err := pathID(r)
	return usher.UserKey{ID: id}, err
}

func (h *Handler) adminUser(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	key, err := adminUserKey(r)
	if err != nil {
		return err
	}
	u, err := h.Users.Get(r.Context(), key)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_user", view{Title: u.Username, Data: u})
}

// userActions are the state changes the console offers, each one named
// core method that does all the change implies (ending sessions, audit).
var userActions = map[string]struct {
	do     func(UserService, context.Context, usher.UserKey) (*usher.User, error)
	notice string
}{
	"block":     {UserService.Block, "The user is blocked; their sessions are ended."},
	"unblock":   {UserService.Unblock, "The user is unblocked."},
	"suspend":   {UserService.Suspend, "The user is suspended."},
	"unsuspend": {UserService.Unsuspend, "The user is no longer suspended."},
	"delete":    {UserService.Delete, "The user is deleted."},
	"undelete":  {UserService.Undelete, "The user is restored."},
}

// adminUserAction changes a user's state, or sends them a password reset
// mail.
func (h *Handler) adminUserAction(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	key, err := adminUserKey(r)
	if err != nil {
		return err
	}
	name := r.PathValue("action")
	if name == "reset" {
		u, err := h.Users.Get(r.Context(), key)
		if err != nil {
			return err
		}
		if err := h.Auth.RequestPasswordReset(r.Context(), u.Email); err != nil {
			return err
		}
		return h.render(w, r, http.StatusOK, "admin_user", view{Title: u.Username, Data: u,
			Notice: "A password reset mail is on its way to " + u.Email + "."})
	}
	action, ok := userActions[name]
	if !ok {
		return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "no such action"}
	}
	u, err := action.do(h.Users, r.Context(), key)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_user", view{Title: u.Username, Data: u, Notice: action.notice})
}
