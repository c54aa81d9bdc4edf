package lenses

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"usher"
	"usher/web"
)

// userJSON is Lenses' hq_User.
type userJSON struct {
	Name        string             `json:"name"`
	DisplayName string             `json:"display_name"`
	LRN         string             `json:"lrn"`
	ID          string             `json:"id"`
	CreatedAt   time.Time          `json:"created_at"`
	Groups      []compactGroupJSON `json:"groups"`
	LastSeenAt  *time.Time         `json:"last_seen_at,omitempty"`
	Profile     profileJSON        `json:"profile"`
	IsAdmin     bool               `json:"is_admin"`
	Metadata    map[string]string  `json:"metadata,omitempty"`
}

// profileJSON is Lenses' hq_UserProfile.
type profileJSON struct {
	FullName     string `json:"full_name,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
}

// compactGroupJSON is Lenses' hq_CompactGroup.
type compactGroupJSON struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	SSOName     string    `json:"sso_name"`
	LRN         string    `json:"lrn"`
	ID          string    `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description"`
	UserCount   int       `json:"user_count"`
	SACount     int       `json:"sa_count"`
	RoleCount   int       `json:"role_count"`
}

// listJSON is Lenses' list envelope, hq_UserList.
type listJSON struct {
	Items []userJSON `json:"items"`
}

// userLRN is a user's Lenses resource name: service, resource type and
// name, as Lenses' IAM writes them.
func userLRN(name string) string { return "iam:user:" + name }

func groupLRN(handle string) string { return "iam:group:" + handle }

// userKinds are the accounts Lenses knows as users: it keeps service
// accounts apart, so they are neither listed nor found by name.
var userKinds = []usher.UserKind{usher.KindNormal, usher.KindBot}

// toUserJSON is u as Lenses shows it, with its memberships of groups.
func toUserJSON(u *usher.User, ms []*usher.Membership) userJSON {
	out := userJSON{
		Name: u.NameOrHandle(), DisplayName: u.DisplayName, LRN: userLRN(u.NameOrHandle()), ID: strconv.FormatInt(u.ID, 10),
		CreatedAt: u.CreatedAt.UTC(), Groups: make([]compactGroupJSON, 0, len(ms)),
		Profile: profileJSON{FullName: u.Name, EmailAddress: u.Email}, IsAdmin: u.Admin, Metadata: u.Metadata,
	}
	if out.DisplayName == "" {
		out.DisplayName = out.Name
	}
	if u.LastSeenAt != nil {
		t := u.LastSeenAt.UTC()
		out.LastSeenAt = &t
	}
	for _, m := range ms {
		out.Groups = append(out.Groups, toCompactGroupJSON(m.Group))
	}
	return out
}

// toCompactGroupJSON is g as Lenses shows a group of a user, with the
// core's counts: user_count the members that are not service accounts,
// sa_count those that are, role_count the roles its members hold.
func toCompactGroupJSON(g *usher.Group) compactGroupJSON {
	name := g.Name
	if name == "" {
		name = g.Handle
	}
	return compactGroupJSON{
		Name: g.Handle, DisplayName: name, LRN: groupLRN(g.Handle), ID: strconv.FormatInt(g.ID, 10),
		CreatedAt: g.CreatedAt.UTC(), Description: g.Description, UserCount: g.Members - g.ServiceAccounts,
		SACount: g.ServiceAccounts, RoleCount: g.Roles,
	}
}

// writeUser writes u with its groups.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, status int, u *usher.User) error {
	ms, err := h.Groups.UserGroups(r.Context(), usher.UserKey{ID: u.ID}, usher.GroupPlain)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, status, toUserJSON(u, ms))
}

// lookup finds the user a {name} path segment names, within Lenses' scope.
func (h *Handler) lookup(r *http.Request) (*usher.User, error) {
	u, err := h.Users.Get(r.Context(), userKey(r))
	return u, web.RenameFields(err, keyFields)
}

// keyFields names the core's fields of a user key as the path does: a
// {name} that can be no user's name is Lenses' "name", not usher's
// "username".
var keyFields = map[string]string{"username": "name"}

// userKey is the user a request's path names: by name, and only of the
// kinds Lenses shows as users. A change goes to the core by this key, not
// by an id looked up first, so that the core refuses a caller who may
// change no user before it looks, and the answer does not tell whether
// the user exists.
func userKey(r *http.Request) usher.UserKey {
	key := usher.KeyOfName(r.PathValue("name"))
	key.Kinds = userKinds
	return key
}

// listUsers returns every user, as Lenses does: its list has no pages.
// The face reads the core's pages, each with its users' groups, and
// writes each before reading the next, so that a large list is never
// held whole. An error after the first page can no longer change the
// status: the response is cut off, so that the client sees a broken
// answer rather than a short list.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	f := usher.UserFilter{Kinds: userKinds, WithGroups: []usher.GroupKind{usher.GroupPlain},
		Page: usher.PageRequest{Limit: pageSize}}
	return web.WriteJSONPages(w, r, h.log(), `{"items":[`, "]}\n", func() ([]userJSON, bool, error) {
		page, err := h.Users.List(r.Context(), f)
		if err != nil {
			return nil, false, err
		}
		out := make([]userJSON, 0, len(page.Items))
		for _, u := range page.Items {
			out = append(out, toUserJSON(u, page.Memberships[u.ID]))
		}
		f.Page.After = page.Next
		return out, page.Next != nil, nil
	})
}

// pageSize is the page the face asks the core for when it reads every
// user; the core caps it, and it bounds what is held at once.
const pageSize = 1000

// Lenses' limits on its request fields.
const (
	maxDisplayName = 150
	maxProfile     = 100 // full_name and email_address
)

// checkLength checks an optional text field: when set, it is from min to
// max characters long.
func checkLength(field string, v *string, minLen, maxLen int) error {
	switch {
	case v == nil:
	case utf8.RuneCountInString(*v) < minLen:
		return web.Invalid(field, usher.CodeTooShort, "is shorter than %d characters", minLen)
	case utf8.RuneCountInString(*v) > maxLen:
		return web.Invalid(field, usher.CodeTooLong, "is longer than %d characters", maxLen)
	}
	return nil
}

// createFields names the core's fields of a user as POST /users does.
var createFields = map[string]string{"username": "name"}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name        string  `json:"name"`
		DisplayName *string `json:"display_name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkLength("display_name", req.DisplayName, 1, maxDisplayName); err != nil {
		return err
	}
	display := ""
	if req.DisplayName != nil {
		display = *req.DisplayName
	}
	u, err := h.Users.Create(r.Context(), usher.UserCreate{Username: req.Name, DisplayName: display,
		NameRule: usher.NameResource})
	if err != nil {
		return web.RenameFields(err, createFields)
	}
	return h.writeUser(w, r, http.StatusCreated, u)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkLength("display_name", req.DisplayName, 1, maxDisplayName); err != nil {
		return err
	}
	u, err := h.Users.Update(r.Context(), userKey(r), usher.UserUpdate{DisplayName: req.DisplayName})
	if err != nil {
		return web.RenameFields(err, keyFields)
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Users.Delete(r.Context(), userKey(r)); err != nil {
		return web.RenameFields(err, keyFields)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// profileFields names the core's fields of a user as the profile does,
// and its key as the path does.
var profileFields = map[string]string{"name": "full_name", "email": "email_address", "username": "name"}

func (h *Handler) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FullName     *string `json:"full_name"`
		EmailAddress *string `json:"email_address"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkLength("full_name", req.FullName, 0, maxProfile); err != nil {
		return err
	}
	if err := checkLength("email_address", req.EmailAddress, 0, maxProfile); err != nil {
		return err
	}
	u, err := h.Users.Update(r.Context(), userKey(r), usher.UserUpdate{Name: req.FullName, Email: req.EmailAddress})
	if err != nil {
		return web.RenameFields(err, profileFields)
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

// setGroups changes the user's plain groups as Lenses does: set_groups
// alone, or add_to_groups and remove_from_groups, removal winning. The
// answer is the user with its groups.
func (h *Handler) setGroups(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Add    []string `json:"add_to_groups"`
		Remove []string `json:"remove_from_groups"`
		Set    []string `json:"set_groups"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.GroupChanges{Kind: usher.GroupPlain, Add: req.Add, Remove: req.Remove, Set: req.Set}
	if _, err := h.Groups.SetUserGroups(r.Context(), userKey(r), in); err != nil {
		return web.RenameFields(err, keyFields)
	}
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}
