package native

import (
	"context"
	"net/http"
	"time"

	"usher"
	"usher/web"
)

// membershipJSON is the native representation of a membership.
type membershipJSON struct {
	GroupID   int64      `json:"group_id"`
	UserID    int64      `json:"user_id"`
	Level     string     `json:"level"`
	CreatedAt time.Time  `json:"created_at"`
	User      *userJSON  `json:"user,omitempty"`
	Group     *groupJSON `json:"group,omitempty"`
}

func toMembershipJSON(m *usher.Membership) membershipJSON {
	out := membershipJSON{GroupID: m.GroupID, UserID: m.UserID, Level: string(m.Level), CreatedAt: m.CreatedAt}
	if m.User != nil {
		u := toUserJSON(m.User)
		out.User = &u
	}
	if m.Group != nil {
		g := toGroupJSON(m.Group, "")
		out.Group = &g
	}
	return out
}

// groupList serves a paged list of one group's: the group from the path,
// the page from the query, list (a GroupService method, called on h's at
// request time) to read it, view to show each item.
func groupList[T, V any](h *Handler, list func(GroupService, context.Context, usher.GroupRef, usher.PageRequest) (*usher.Page[T], error), view func(T) V) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		q := web.NewQuery(r)
		req := idPage(q)
		if err := q.Err(); err != nil {
			return err
		}
		page, err := list(h.Groups, r.Context(), ref, req)
		if err != nil {
			return err
		}
		return writePage(w, r, page, view, idCursor)
	}
}

func (h *Handler) setMember(w http.ResponseWriter, r *http.Request) error {
	ref, key, err := h.groupAndUser(r)
	if err != nil {
		return err
	}
	var req struct {
		Level string `json:"level"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	m, err := h.Groups.AddMember(r.Context(), ref, key, usher.Level(req.Level))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toMembershipJSON(m))
}

// groupAndUser reads the {group} and {user} path segments.
func (h *Handler) groupAndUser(r *http.Request) (usher.GroupRef, usher.UserKey, error) {
	ref, err := groupRef(r)
	if err != nil {
		return ref, usher.UserKey{}, err
	}
	key, err := h.userRef(r)
	return ref, key, err
}

// removeFromGroup serves the DELETEs of a principal from a group: a member,
// or a team's service account.
func (h *Handler) removeFromGroup(act func(GroupService, context.Context, usher.GroupRef, usher.UserKey) error) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, key, err := h.groupAndUser(r)
		if err != nil {
			return err
		}
		if err := act(h.Groups, r.Context(), ref, key); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (h *Handler) userGroups(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	q := web.NewQuery(r)
	kind := q.String("kind")
	if err := q.Err(); err != nil {
		return err
	}
	var kinds []usher.GroupKind
	if kind != "" {
		if !usher.GroupKind(kind).Valid() {
			return web.Invalid("kind", usher.CodeInvalidValue, "must be team, role, group or internal")
		}
		kinds = []usher.GroupKind{usher.GroupKind(kind)}
	}
	ms, err := h.Groups.UserGroups(r.Context(), key, kinds...)
	if err != nil {
		return err
	}
	return writeList(w, ms, toMembershipJSON)
}

func (h *Handler) setUserGroups(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	if key, err = h.conditionalUser(r, key); err != nil {
		return err
	}
	var req struct {
		Kind   string   `json:"kind"`
		Add    []string `json:"add_to_groups"`
		Remove []string `json:"remove_from_groups"`
		Set    []string `json:"set_groups"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	kind := usher.GroupKind(req.Kind)
	if kind == "" {
		kind = usher.GroupPlain
	}
	if !kind.Valid() {
		return web.Invalid("kind", usher.CodeInvalidValue, "must be team, role, group or internal")
	}
	ms, err := h.Groups.SetUserGroups(r.Context(), key, usher.GroupChanges{Kind: kind, Add: req.Add, Remove: req.Remove, Set: req.Set})
	if err != nil {
		return err
	}
	return writeList(w, ms, toMembershipJSON)
}
