package corteza

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"usher"
)

// GroupService is what the face needs of the core's groups: Corteza's
// roles are usher's groups of the role kind.
type GroupService interface {
	Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error)
	Get(ctx context.Context, ref usher.GroupRef) (*usher.Group, usher.Level, error)
	List(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error)
	Update(ctx context.Context, ref usher.GroupRef, in usher.GroupUpdate) (*usher.Group, error)
	SetArchived(ctx context.Context, ref usher.GroupRef, archived bool) (*usher.Group, error)
	Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Undelete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Move(ctx context.Context, ref usher.GroupRef, orgID int64) (*usher.Group, error)
	Merge(ctx context.Context, source, target usher.GroupRef) (*usher.Group, error)
	MemberIDs(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[int64], error)
	AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	RolesInForce(ctx context.Context, key usher.UserKey) ([]*usher.Membership, error)
	Operations(ctx context.Context) ([]usher.Operation, error)
	Effective(ctx context.Context, resource string) ([]usher.Permission, error)
	MayCreate(ctx context.Context, kind usher.GroupKind) error
	Rules(ctx context.Context, ref usher.GroupRef) ([]usher.Rule, error)
	PatchRules(ctx context.Context, ref usher.GroupRef, set, remove []usher.Rule) ([]usher.Rule, error)
	DeleteRules(ctx context.Context, ref usher.GroupRef) (int, error)
}

// role is Corteza's types.Role with the caller's rights rolePayload adds.
type role struct {
	ID            int64      `json:"roleID,string"`
	Name          string     `json:"name"`
	Handle        string     `json:"handle"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     *time.Time `json:"updatedAt,omitempty"`
	ArchivedAt    *time.Time `json:"archivedAt,omitempty"`
	DeletedAt     *time.Time `json:"deletedAt,omitempty"`
	CanGrant      bool       `json:"canGrant"`
	CanUpdateRole bool       `json:"canUpdateRole"`
	CanDeleteRole bool       `json:"canDeleteRole"`
}

// toRole translates a group, with the core's verdicts for the caller.
func (h *Handler) toRole(ctx context.Context, g *usher.Group) (*role, error) {
	out := &role{ID: g.ID, Name: g.Name, Handle: g.Handle, CreatedAt: g.CreatedAt, ArchivedAt: g.ArchivedAt, DeletedAt: g.DeletedAt}
	if !g.UpdatedAt.IsZero() && !g.UpdatedAt.Equal(g.CreatedAt) {
		t := g.UpdatedAt
		out.UpdatedAt = &t
	}
	perms, err := h.Groups.Effective(ctx, "group:"+strconv.FormatInt(g.ID, 10))
	if err != nil {
		return nil, err
	}
	for _, p := range perms {
		switch p.Operation {
		case "rules":
			out.CanGrant = p.Allow
		case "update":
			out.CanUpdateRole = p.Allow
		case "delete":
			out.CanDeleteRole = p.Allow
		}
	}
	return out, nil
}

// roleFilter is the filter a role list echoes.
type roleFilter struct {
	RoleID   []int64 `json:"roleID"`
	MemberID int64   `json:"memberID"`
	Query    string  `json:"query"`
	Handle   string  `json:"handle"`
	Name     string  `json:"name"`
	Archived int     `json:"archived"`
	Deleted  int     `json:"deleted"`
	Sort     string  `json:"sort"`
	paging
}

// roleSortFields maps the fields of Corteza's role answers that its sort
// takes to the columns they show.
var roleSortFields = map[string]string{"roleid": "id", "createdat": "created_at", "updatedat": "updated_at"}

// roleRef reads the roleID path value.
func roleRef(p *params) (usher.GroupRef, error) {
	id, err := p.id("roleID")
	if err != nil || id == 0 {
		return usher.GroupRef{}, errNotFound("role")
	}
	return usher.GroupRef{ID: id, Kind: usher.GroupRole}, nil
}

func (h *Handler) listRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := roleFilter{Query: p.str("query"), Name: p.str("name"), Handle: p.str("handle"), Sort: p.str("sort")}
	if f.RoleID, err = ids(p.strs("roleID")); err != nil {
		return err
	}
	if s := p.str("memberID"); s != "" && s != "0" {
		m, err := ids([]string{s})
		if err != nil {
			return err
		}
		f.MemberID = m[0]
	}
	if f.Archived, err = p.state("archived", ""); err != nil {
		return err
	}
	if f.Deleted, err = p.state("deleted", ""); err != nil {
		return err
	}
	if f.paging, err = p.paging(); err != nil {
		return err
	}
	gf := usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupRole}, Query: f.Query, Handle: f.Handle,
		Archived: inclusion(f.Archived), Deleted: inclusion(f.Deleted), Sort: listSort(f.Sort, roleSortFields), Page: f.request()}
	if f.Name != "" && gf.Query == "" {
		gf.Query = f.Name
	}
	gf.IDs, gf.MemberID = f.RoleID, f.MemberID
	// Corteza's list sorts by id when asked for no sort, and echoes it.
	f.Sort = cmp.Or(f.Sort, "id")
	page, err := h.Groups.List(r.Context(), gf)
	if gf.MemberID != 0 && usher.ErrorKind(err) == usher.KindNotFound {
		// Corteza answers a member it does not know with no roles.
		page, err = &usher.Page[*usher.Group]{}, nil
	}
	if err != nil {
		return err
	}
	f.Count = max(page.Total, 0)
	var set []*role
	for _, g := range page.Items {
		out, err := h.toRole(r.Context(), g)
		if err != nil {
			return err
		}
		set = append(set, out)
	}
	return respond(w, listPayload{Filter: f, Set: set})
}

func (h *Handler) createRole(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	members, err := ids(p.strs("members"))
	if err != nil {
		return err
	}
	g, err := h.Groups.Create(r.Context(), usher.GroupCreate{Kind: usher.GroupRole, Name: p.str("name"), Handle: p.str("handle"), Members: members})
	if err != nil {
		return err
	}
	return h.writeRole(w, r, g)
}

func (h *Handler) writeRole(w http.ResponseWriter, r *http.Request, g *usher.Group) error {
	out, err := h.toRole(r.Context(), g)
	if err != nil {
		return err
	}
	return respond(w, out)
}

func (h *Handler) readRole(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	g, _, err := h.Groups.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	return h.writeRole(w, r, g)
}

func (h *Handler) updateRole(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	in := usher.GroupUpdate{Name: p.optStr("name"), Handle: p.optStr("handle")}
	if members := p.strs("members"); len(members) > 0 {
		// The members are set with the rest, in one core call, so that a
		// refused member leaves the role as it was. An empty list leaves
		// them, as Corteza's Role.Update replaces them only when it is
		// given some: a client sending the role back with "members": []
		// does not empty it.
		if in.Members, err = ids(members); err != nil {
			return err
		}
	}
	g, err := h.Groups.Update(r.Context(), ref, in)
	if err != nil {
		return err
	}
	return h.writeRole(w, r, g)
}

// roleAction is an OK-only action on a role.
func (h *Handler) roleAction(act func(context.Context, usher.GroupRef) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := readParams(r)
		if err != nil {
			return err
		}
		ref, err := roleRef(p)
		if err != nil {
			return err
		}
		if err := act(r.Context(), ref); err != nil {
			return err
		}
		return ok(w)
	}
}

func (h *Handler) deleteRole(ctx context.Context, ref usher.GroupRef) error {
	_, err := h.Groups.Delete(ctx, ref)
	return err
}

func (h *Handler) undeleteRole(ctx context.Context, ref usher.GroupRef) error {
	_, err := h.Groups.Undelete(ctx, ref)
	return err
}

func (h *Handler) archiveRole(ctx context.Context, ref usher.GroupRef) error {
	_, err := h.Groups.SetArchived(ctx, ref, true)
	return err
}

func (h *Handler) unarchiveRole(ctx context.Context, ref usher.GroupRef) error {
	_, err := h.Groups.SetArchived(ctx, ref, false)
	return err
}

func (h *Handler) moveRole(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	org, err := p.id("organisationID")
	if err != nil {
		return err
	}
	if _, err := h.Groups.Move(r.Context(), ref, org); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) mergeRole(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	dest, err := p.id("destination")
	if err != nil {
		return err
	}
	if _, err := h.Groups.Merge(r.Context(), ref, usher.GroupRef{ID: dest, Kind: usher.GroupRole}); err != nil {
		return err
	}
	return ok(w)
}

// memberIDs lists a role's members, the core's pages one after another:
// every one when most is 0, else no more than most.
func (h *Handler) memberIDs(ctx context.Context, ref usher.GroupRef, most int) ([]int64, error) {
	var out []int64
	req := usher.PageRequest{Limit: listCap}
	for {
		page, err := h.Groups.MemberIDs(ctx, ref, req)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == nil || most > 0 && len(out) >= most {
			return out, nil
		}
		req.After = page.Next
	}
}

// roleMembers lists the members of any of the roles, each once: a role
// named again is not read again, and a member of several roles is one id
// of the user list's filter. Past listCap members in all, which the
// user list could not take, it reads no further and refuses them, as
// the core refuses more ids: a role's first thousand members were its
// users before, the rest left out without a word.
func (h *Handler) roleMembers(ctx context.Context, roles []int64) ([]int64, error) {
	list := slices.Clone(roles)
	slices.Sort(list)
	seen := make(map[int64]bool)
	for _, id := range slices.Compact(list) {
		m, err := h.memberIDs(ctx, usher.GroupRef{ID: id, Kind: usher.GroupRole}, listCap+1)
		if k := usher.ErrorKind(err); k == usher.KindNotFound || k == usher.KindForbidden {
			// Corteza's filter is a subquery of the roles' members: a
			// role it does not find (or the caller may not see) adds
			// none.
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, u := range m {
			seen[u] = true
		}
		if len(seen) > listCap {
			msg := fmt.Sprintf("the roles have more than %d members", listCap)
			return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeTooMany, Message: "roleID: " + msg,
				Fields: []usher.FieldError{{Field: "roleID", Code: usher.CodeTooMany, Message: msg}}}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

func (h *Handler) roleMemberList(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ref, err := roleRef(p)
	if err != nil {
		return err
	}
	m, err := h.memberIDs(r.Context(), ref, 0)
	if err != nil {
		return err
	}
	return respond(w, idStrings(m))
}

// membership adds (or removes) a user to (from) a role, from either side's
// route.
func (h *Handler) membership(add bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := readParams(r)
		if err != nil {
			return err
		}
		ref, err := roleRef(p)
		if err != nil {
			return err
		}
		key, err := userKey(p)
		if err != nil {
			return err
		}
		if add {
			_, err = h.Groups.AddMember(r.Context(), ref, key, usher.LevelMember)
		} else {
			err = h.Groups.RemoveMember(r.Context(), ref, key)
		}
		if err != nil {
			return err
		}
		return ok(w)
	}
}

func (h *Handler) userMembershipList(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	key, err := userKey(p)
	if err != nil {
		return err
	}
	ms, err := h.Groups.UserGroups(r.Context(), key, usher.GroupRole)
	if err != nil {
		return err
	}
	out := make([]int64, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.GroupID)
	}
	return respond(w, idStrings(out))
}

// idStrings writes ids as Corteza does in membership lists: strings.
func idStrings(list []int64) []string {
	out := make([]string, 0, len(list))
	for _, id := range list {
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out
}
