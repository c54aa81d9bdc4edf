package escape

import (
	"net/http"

	"usher"
	"usher/web"
)

// memberJSON is Escape's UserPermission: a member and its level.
type memberJSON struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	Permission string `json:"permission"`
}

// teamJSON is Escape's Team. A list leaves out the members and the
// caller's permission.
type teamJSON struct {
	Name        string                `json:"name"`
	Description string                `json:"description"`
	Logo        string                `json:"logo"`
	Members     map[string]memberJSON `json:"members,omitempty"`
	Permission  string                `json:"permission,omitempty"`
}

func toTeamJSON(g *usher.Group) teamJSON {
	return teamJSON{Name: g.Handle, Description: g.Description, Logo: g.Logo}
}

// teamRef is the team a path names. An internal group of the name is no
// team: it answers 404 here.
func teamRef(r *http.Request) usher.GroupRef {
	return usher.GroupRef{Kind: usher.GroupTeam, Handle: r.PathValue("team")}
}

// listTeams answers the teams the caller may see whose name holds query.
func (h *Handler) listTeams(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	query := q.String("query")
	if err := q.Err(); err != nil {
		return err
	}
	return writeGroups(h, w, r, usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupTeam}, Query: query}, toTeamJSON)
}

// writeGroups answers every group of the filter the caller may see, each
// in Escape's shape, page by page as WriteJSONPages writes them.
func writeGroups[T any](h *Handler, w http.ResponseWriter, r *http.Request, f usher.GroupFilter, shape func(*usher.Group) T) error {
	f.Page.Limit = readPage
	return web.WriteJSONPages(w, r, h.log(), "[", "]\n", func() ([]T, bool, error) {
		page, err := h.Groups.List(r.Context(), f)
		if err != nil {
			return nil, false, err
		}
		out := make([]T, 0, len(page.Items))
		for _, g := range page.Items {
			out = append(out, shape(g))
		}
		f.Page.After = page.Next
		return out, page.Next != nil, nil
	})
}

// teamRequest is a team as a body gives it.
type teamRequest struct {
	Name        string               `json:"name"`
	Description web.Optional[string] `json:"description"`
	Logo        web.Optional[string] `json:"logo"`
}

// createTeam creates a team the caller owns.
func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request) error {
	var req teamRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.GroupCreate{Kind: usher.GroupTeam, Handle: req.Name, Name: req.Name}
	if p := req.Description.Ptr(); p != nil {
		in.Description = *p
	}
	if p := req.Logo.Ptr(); p != nil {
		in.Logo = *p
	}
	if _, err := h.Groups.Create(r.Context(), in); err != nil {
		return renameHandle(err)
	}
	return empty(w)
}

// getTeam answers a team with its members and the caller's permission.
func (h *Handler) getTeam(w http.ResponseWriter, r *http.Request) error {
	g, level, err := h.Groups.Get(r.Context(), teamRef(r))
	if err != nil {
		return err
	}
	out := toTeamJSON(g)
	out.Permission = string(level)
	out.Members = map[string]memberJSON{}
	err = h.eachMember(r, teamRef(r), func(m *usher.Membership) {
		if m.User != nil && m.User.Kind != usher.KindServiceAccount {
			out.Members[m.User.NameOrHandle()] = memberJSON{ID: m.User.UUID, Username: m.User.NameOrHandle(), Permission: string(m.Level)}
		}
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// eachMember calls fn with every membership of a group, page by page.
func (h *Handler) eachMember(r *http.Request, ref usher.GroupRef, fn func(*usher.Membership)) error {
	var req usher.PageRequest
	for {
		page, err := h.Groups.Members(r.Context(), ref, req)
		if err != nil {
			return err
		}
		for _, m := range page.Items {
			fn(m)
		}
		if page.Next == nil {
			return nil
		}
		req.After = page.Next
	}
}

// updateTeam changes a team's name, description or logo; absent fields
// are left alone.
func (h *Handler) updateTeam(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name        web.Optional[string] `json:"name"`
		Description web.Optional[string] `json:"description"`
		Logo        web.Optional[string] `json:"logo"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.GroupUpdate{Handle: req.Name.Ptr(), Name: req.Name.Ptr(), Description: req.Description.Ptr(), Logo: req.Logo.Ptr()}
	if _, err := h.Groups.Update(r.Context(), teamRef(r), in); err != nil {
		return renameHandle(err)
	}
	return empty(w)
}

func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Groups.Delete(r.Context(), teamRef(r)); err != nil {
		return err
	}
	return empty(w)
}

// permission reads the body's permission, which Escape requires: read,
// write or owner, a level a team gives.
func permission(r *http.Request) (usher.Level, error) {
	var req struct {
		Permission string `json:"permission"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return "", err
	}
	level := usher.Level(req.Permission)
	if req.Permission == "" {
		return "", web.Invalid("permission", usher.CodeRequired, "is required: read, write or owner")
	}
	if !usher.GroupTeam.Gives(level) {
		return "", web.Invalid("permission", usher.CodeInvalid, "must be read, write or owner")
	}
	return level, nil
}

// addTeamUser adds a user to a team with a permission, or changes the
// permission of a member.
func (h *Handler) addTeamUser(w http.ResponseWriter, r *http.Request) error {
	level, err := permission(r)
	if err != nil {
		return err
	}
	if _, err := h.Groups.AddMember(r.Context(), teamRef(r), userKey(r), level); err != nil {
		return err
	}
	return empty(w)
}

// removeTeamUser removes a member from a team. Escape's body names the
// permission removed; usher holds one per member, so it is checked and
// then the membership goes.
func (h *Handler) removeTeamUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := permission(r); err != nil {
		return err
	}
	if err := h.Groups.RemoveMember(r.Context(), teamRef(r), userKey(r)); err != nil {
		return err
	}
	return empty(w)
}

// renameHandle names the core's handle as Escape names it: the team's
// name.
func renameHandle(err error) error {
	return web.RenameFields(err, map[string]string{"handle": "name"})
}
