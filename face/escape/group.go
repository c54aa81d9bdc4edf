package escape

import (
	"net/http"
	"strings"

	"usher"
	"usher/web"
)

// groupJSON is Escape's Group: a team, or an internal group that Escape's
// services manage, with the user's role in it when a user's groups are
// listed.
type groupJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Logo        string `json:"logo"`
	IsInternal  bool   `json:"is_internal"`
	Role        string `json:"role,omitempty"`
}

func toGroupJSON(g *usher.Group) groupJSON {
	return groupJSON{Name: g.Handle, Description: g.Description, Logo: g.Logo, IsInternal: g.Kind == usher.GroupInternal}
}

// toGroupsJSON converts a user's memberships into its Groups.
func toGroupsJSON(ms []*usher.Membership) []groupJSON {
	out := []groupJSON{}
	for _, m := range ms {
		if m.Group == nil {
			continue
		}
		g := toGroupJSON(m.Group)
		g.Role = string(m.Level)
		out = append(out, g)
	}
	return out
}

// groupNames is Escape's GroupNames of a user's memberships.
func groupNames(ms []*usher.Membership) []string {
	out := []string{}
	for _, m := range ms {
		if m.Group != nil {
			out = append(out, m.Group.Handle)
		}
	}
	return out
}

// groupKinds are the kinds of group Escape knows: teams and internal
// groups.
var groupKinds = []usher.GroupKind{usher.GroupTeam, usher.GroupInternal}

// listGroups answers the teams and internal groups the caller may see
// whose name holds query.
func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	query := q.String("query")
	if err := q.Err(); err != nil {
		return err
	}
	return writeGroups(h, w, r, usher.GroupFilter{Kinds: groupKinds, Query: query}, toGroupJSON)
}

// group finds the group a path names: an internal group, or else a team,
// as Escape's groups are both.
func (h *Handler) group(r *http.Request) (usher.GroupRef, *usher.Group, error) {
	name := r.PathValue("group")
	ref := usher.GroupRef{Kind: usher.GroupInternal, Handle: name}
	g, _, err := h.Groups.Get(r.Context(), ref)
	if err == nil || usher.ErrorKind(err) != usher.KindNotFound {
		return ref, g, err
	}
	ref.Kind = usher.GroupTeam
	g, _, err = h.Groups.Get(r.Context(), ref)
	return ref, g, err
}

// groupUsers answers a group's members with their permission
// (GetGroupsUserResponse).
func (h *Handler) groupUsers(w http.ResponseWriter, r *http.Request) error {
	ref, _, err := h.group(r)
	if err != nil {
		return err
	}
	out := struct {
		Users []memberJSON `json:"users"`
	}{[]memberJSON{}}
	err = h.eachMember(r, ref, func(m *usher.Membership) {
		if m.User != nil && m.User.Kind != usher.KindServiceAccount {
			out.Users = append(out.Users, memberJSON{ID: m.User.UUID, Username: m.User.NameOrHandle(), Permission: string(m.Level)})
		}
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// groupServiceAccounts answers a group's service accounts
// (GetGroupsServiceAccountsResponse). Only teams hold them.
func (h *Handler) groupServiceAccounts(w http.ResponseWriter, r *http.Request) error {
	ref, _, err := h.group(r)
	if err != nil {
		return err
	}
	out := struct {
		ServiceAccounts []serviceAccountJSON `json:"service_accounts"`
	}{[]serviceAccountJSON{}}
	if !ref.Kind.HoldsServiceAccounts() {
		return web.WriteJSON(w, http.StatusOK, out)
	}
	if out.ServiceAccounts, err = h.serviceAccounts(r, ref); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// roles answers a user's Roles in a group: its membership's level, or
// none.
func (h *Handler) roles(w http.ResponseWriter, r *http.Request) error {
	ref, g, err := h.group(r)
	if err != nil {
		return err
	}
	ms, err := h.Groups.UserGroups(r.Context(), userKey(r), ref.Kind)
	if err != nil {
		return err
	}
	out := []string{}
	for _, m := range ms {
		if m.GroupID == g.ID {
			out = append(out, string(m.Level))
		}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// joinGroup adds a user, named by its id, to an internal group, which is
// created when missing.
func (h *Handler) joinGroup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Group  string `json:"group"`
		UserID string `json:"user_id"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.UserID == "" {
		return web.Invalid("user_id", usher.CodeRequired, "is required")
	}
	ref := usher.GroupRef{Kind: usher.GroupInternal, Handle: req.Group}
	if _, err := h.Groups.JoinGroup(r.Context(), ref, usher.UserKey{UUID: req.UserID}, ""); err != nil {
		return web.RenameFields(err, map[string]string{"handle": "group", "uuid": "user_id"})
	}
	return empty(w)
}

// setRoles sets a user's Roles in a group: usher holds one permission per
// member, so the roles are one level the group's kind gives, or none,
// which takes the user out of the group. Escape's body names the user, and
// in one form the group, that the path names: when given, they must be the
// path's (names are compared regardless of case, as they are held).
func (h *Handler) setRoles(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Roles    *[]string `json:"roles"`
		Username string    `json:"username"`
		Group    string    `json:"group"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Roles == nil {
		// None removes the member: a body that left roles out, or sent
		// it null, would else take a member out by what it forgot.
		return web.Invalid("roles", usher.CodeRequired, "is required: one role sets the member's level, [] removes the member")
	}
	roles := *req.Roles
	if req.Username != "" && !strings.EqualFold(req.Username, r.PathValue("username")) {
		return web.Invalid("username", usher.CodeInvalid, "must be the user the path names")
	}
	if req.Group != "" && !strings.EqualFold(req.Group, r.PathValue("group")) {
		return web.Invalid("group", usher.CodeInvalid, "must be the group the path names")
	}
	if len(roles) > 1 {
		return web.Invalid("roles", usher.CodeInvalid, "holds one role at most: a member has one permission")
	}
	if len(roles) == 1 && roles[0] == "" {
		// An empty role (or null) is no level the group gives; the core
		// would read it as the default and change nothing.
		return web.Invalid("roles", usher.CodeInvalid, "names no role the group gives")
	}
	ref, _, err := h.group(r)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		if err := h.Groups.RemoveMember(r.Context(), ref, userKey(r)); err != nil {
			return err
		}
		return empty(w)
	}
	if _, err := h.Groups.AddMember(r.Context(), ref, userKey(r), usher.Level(roles[0])); err != nil {
		return web.RenameFields(err, map[string]string{"level": "roles"})
	}
	return empty(w)
}
