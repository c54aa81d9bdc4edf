package pages

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"

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

// adminForm is adminOnly for a form's post, whose origin and token it
// checks too.
func (h *Handler) adminForm(w http.ResponseWriter, r *http.Request) (*usher.Principal, error) {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return nil, err
	}
	if err := h.checkForm(r); err != nil {
		return nil, err
	}
	return p, nil
}

// after reads the cursor of a list's next page from the query's "after";
// nil asks for the first page.
func after(r *http.Request) (*usher.Cursor, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return nil, nil
	}
	var c usher.Cursor
	if err := web.DecodeCursor("after", v, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (h *Handler) adminHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	return nil
}

// usersData is the user list's: the search, the page, its rows as HTML
// (userRows) and the next page's cursor.
type usersData struct {
	Query  string
	State  string
	States []usher.UserState
	Users  []*usher.User
	Rows   template.HTML
	Next   string
}

// userRows writes the user list's table rows: a link to the user, the
// name, the address and the state. They are written here rather than by
// the template, which calls its escaping functions through reflection,
// one call for each of a row's six values: at a page of 50 that was a
// quarter of the console search's CPU (cmd/usherbench, console_search).
// Every value from the user is escaped as html/template escapes text
// between tags (template.HTMLEscapeString); the id is a number.
func userRows(users []*usher.User) template.HTML {
	var b strings.Builder
	b.Grow(len(users) * 160)
	for _, u := range users {
		b.WriteString(`<tr><td><a href="/admin/users/`)
		b.WriteString(strconv.FormatInt(u.ID, 10))
		b.WriteString(`">`)
		b.WriteString(template.HTMLEscapeString(u.Username))
		b.WriteString(`</a></td><td>`)
		b.WriteString(template.HTMLEscapeString(u.Name))
		b.WriteString(`</td><td>`)
		b.WriteString(template.HTMLEscapeString(u.Email))
		b.WriteString(`</td><td>`)
		b.WriteString(template.HTMLEscapeString(string(u.State)))
		if u.DeletedAt != nil {
			b.WriteString(` (deleted)`)
		}
		b.WriteString(`</td></tr>`)
	}
	return template.HTML(b.String())
}

// adminUsers lists users: the substring search over usernames, names and
// addresses, a state filter, paged by the core's cursor. It asks for no
// total: a search runs at every key stroke, and even the core's bounded
// count (10,001 rows) costs it ten times the page (cmd/usherbench,
// console_search); the page says how many it found when they fit on it.
// The script static/usher.js re-runs the search as the administrator
// types; without it the form is an ordinary GET.
func (h *Handler) adminUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := usersData{Query: q.Get("q"), State: q.Get("state"),
		States: []usher.UserState{usher.StateActive, usher.StatePending, usher.StateBlocked, usher.StateSuspended}}
	f := usher.UserFilter{Query: d.Query, SearchEmail: true, Brief: true, Page: usher.PageRequest{Limit: 50}}
	switch d.State {
	case "":
	case "deleted":
		f.Deleted = usher.Only
	default:
		f.State = usher.UserState(d.State)
	}
	if f.Page.After, err = after(r); err != nil {
		return err
	}
	page, err := h.Users.List(r.Context(), f)
	if err != nil {
		// A search the core refuses (too short) is shown on the page.
		return h.formError(w, r, "admin_users", view{Title: "Users", Data: d}, err)
	}
	d.Users, d.Rows = page.Items, userRows(page.Items)
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	return h.render(w, r, http.StatusOK, "admin_users", view{Title: "Users", Data: d})
}

// userForm checks an administrator's form about the user of the
// request's {id}, and returns the user's key; nil when it answered
// already, or with an error.
func (h *Handler) userForm(w http.ResponseWriter, r *http.Request) (*usher.UserKey, error) {
	p, err := h.adminForm(w, r)
	if p == nil {
		return nil, err
	}
	key, err := adminUserKey(r)
	if err != nil {
		return nil, err
	}
	return &key, nil
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
	return h.showUser(w, r, key, http.StatusOK, view{})
}

// showUser renders the user's page with v's notice, error and field
// problems.
func (h *Handler) showUser(w http.ResponseWriter, r *http.Request, key usher.UserKey, status int, v view) error {
	u, err := h.Users.Get(r.Context(), key)
	if err != nil {
		return err
	}
	v.Title, v.Data = u.Username, u
	return h.render(w, r, status, "admin_user", v)
}

// editUser changes a user's username, name, address and administrator
// flag, if the user is still at the version the form was made from; a
// refusal shows the user as they are now, with the problem.
func (h *Handler) editUser(w http.ResponseWriter, r *http.Request) error {
	ref, err := h.userForm(w, r)
	if ref == nil {
		return err
	}
	key := *ref
	f := r.PostForm
	version, err := strconv.ParseInt(f.Get("version"), 10, 64)
	if err != nil {
		return web.Invalid("version", usher.CodeInvalidValue, "is not a version")
	}
	username, email, name, admin := f.Get("username"), f.Get("email"), f.Get("name"), f.Get("admin") == "on"
	held := key
	held.IfVersion = &version
	_, err = h.Users.Update(r.Context(), held, usher.UserUpdate{Username: &username, Email: &email, Name: &name, Admin: &admin})
	if err == nil {
		return h.showUser(w, r, key, http.StatusOK, view{Notice: "The user is saved."})
	}
	e := usher.AsError(err)
	if e.Kind == usher.KindInternal || e.Kind == usher.KindNotFound || e.Kind == usher.KindForbidden {
		return err
	}
	v := view{}
	v.Error, v.Fields = fieldErrors(err)
	return h.showUser(w, r, key, statuses[e.Kind], v)
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
	ref, err := h.userForm(w, r)
	if ref == nil {
		return err
	}
	key := *ref
	name := r.PathValue("action")
	if name == "end-sessions" {
		n, err := h.Auth.EndUserSessions(r.Context(), key)
		if err != nil {
			return err
		}
		return h.showUser(w, r, key, http.StatusOK, view{Notice: "Sessions ended: " + strconv.Itoa(n) + "."})
	}
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
