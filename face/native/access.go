package native

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// GroupService is what the face needs of the core's groups.
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
	Members(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.Membership], error)
	AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	SetUserGroups(ctx context.Context, key usher.UserKey, in usher.GroupChanges) ([]*usher.Membership, error)
	Operations(ctx context.Context) ([]usher.Operation, error)
	Effective(ctx context.Context, resource string) ([]usher.Permission, error)
	Rules(ctx context.Context, ref usher.GroupRef) ([]usher.Rule, error)
	SetRules(ctx context.Context, ref usher.GroupRef, rules []usher.Rule, replace bool) ([]usher.Rule, error)
	DeleteRules(ctx context.Context, ref usher.GroupRef) (int, error)
	CreateServiceAccount(ctx context.Context, team usher.GroupRef, username, name string) (*usher.User, error)
	ServiceAccounts(ctx context.Context, team usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.User], error)
	DeleteServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) error
	ServiceAccountToken(ctx context.Context, team usher.GroupRef, account usher.UserKey, regenerate bool) (*usher.Token, string, error)
}

// OrgService is what the face needs of the core's organisations.
type OrgService interface {
	Create(ctx context.Context, handle, name string) (*usher.Organisation, error)
	Get(ctx context.Context, id int64, handle string) (*usher.Organisation, error)
	List(ctx context.Context, archived, deleted usher.Inclusion, req usher.PageRequest) (*usher.Page[*usher.Organisation], error)
	Update(ctx context.Context, id int64, in usher.OrganisationUpdate) (*usher.Organisation, error)
}

// PlanService is what the face needs of the core's plans.
type PlanService interface {
	List(ctx context.Context) ([]*usher.Plan, error)
	Get(ctx context.Context, name string) (*usher.Plan, error)
	Create(ctx context.Context, p usher.Plan) (*usher.Plan, error)
	Update(ctx context.Context, name string, p usher.Plan) (*usher.Plan, error)
	Delete(ctx context.Context, name string) error
	Default(ctx context.Context) (string, error)
}

// groupJSON is the native representation of a group.
type groupJSON struct {
	ID             int64      `json:"id"`
	Kind           string     `json:"kind"`
	Handle         string     `json:"handle"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	Logo           string     `json:"logo"`
	OrganisationID *int64     `json:"organisation_id"`
	Members        int        `json:"members"`
	Level          string     `json:"level,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ArchivedAt     *time.Time `json:"archived_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
	Version        int64      `json:"version"`
}

func toGroupJSON(g *usher.Group, level usher.Level) groupJSON {
	return groupJSON{ID: g.ID, Kind: string(g.Kind), Handle: g.Handle, Name: g.Name, Description: g.Description,
		Logo: g.Logo, OrganisationID: optionalID(g.OrganisationID), Members: g.Members, Level: string(level),
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, ArchivedAt: g.ArchivedAt, DeletedAt: g.DeletedAt, Version: g.Version}
}

func writeGroup(w http.ResponseWriter, status int, g *usher.Group, level usher.Level) error {
	w.Header().Set("ETag", `"`+strconv.FormatInt(g.Version, 10)+`"`)
	return web.WriteJSON(w, status, toGroupJSON(g, level))
}

// groupRef reads the {group} path segment: a numeric id.
func groupRef(r *http.Request) (usher.GroupRef, error) {
	id, err := pathID(r, "group")
	return usher.GroupRef{ID: id}, err
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Kind           string `json:"kind"`
		Handle         string `json:"handle"`
		Name           string `json:"name"`
		Description    string `json:"description"`
		Logo           string `json:"logo"`
		OrganisationID int64  `json:"organisation_id"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	g, err := h.Groups.Create(r.Context(), usher.GroupCreate{Kind: usher.GroupKind(req.Kind), Handle: req.Handle, Name: req.Name,
		Description: req.Description, Logo: req.Logo, OrganisationID: req.OrganisationID})
	if err != nil {
		return err
	}
	// The answer carries the creator's level, as a read does: the core
	// says what it is.
	_, level, err := h.Groups.Get(r.Context(), usher.GroupRef{ID: g.ID})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/groups/"+strconv.FormatInt(g.ID, 10))
	return writeGroup(w, http.StatusCreated, g, level)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	f := usher.GroupFilter{Query: q.String("q"), Handle: q.String("handle"),
		Archived: inclusion(q, "archived"), Deleted: inclusion(q, "deleted"), Page: idPage(q)}
	if k := q.String("kind"); k != "" {
		f.Kinds = []usher.GroupKind{usher.GroupKind(k)}
	}
	f.OrganisationID = int64(q.Int("organisation", 0, 1, 1<<62))
	f.MemberID = int64(q.Int("member", 0, 1, 1<<62))
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Groups.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, page, func(g *usher.Group) groupJSON { return toGroupJSON(g, "") }, idCursor)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	g, level, err := h.Groups.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, level)
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Handle      web.Optional[string] `json:"handle"`
		Name        web.Optional[string] `json:"name"`
		Description web.Optional[string] `json:"description"`
		Logo        web.Optional[string] `json:"logo"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.GroupUpdate{Handle: req.Handle.Ptr(), Name: req.Name.Ptr(), Description: req.Description.Ptr(), Logo: req.Logo.Ptr()}
	if v, ok := ifMatch(r); ok {
		in.IfVersion = &v
	}
	g, err := h.Groups.Update(r.Context(), ref, in)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}

// ifMatch reads an If-Match header: the version it names, or -1 for a tag
// that cannot match; ok is false when there is none (or it is *).
func ifMatch(r *http.Request) (int64, bool) {
	match := r.Header.Get("If-Match")
	if match == "" || match == "*" {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.Trim(match, `"`), 10, 64)
	if err != nil || !strings.HasPrefix(match, `"`) {
		return -1, true
	}
	return v, true
}

// groupAction serves the endpoints that change a group and answer with it:
// DELETE /v1/groups/{group} and POST /v1/groups/{group}/undelete.
func (h *Handler) groupAction(act func(GroupService, context.Context, usher.GroupRef) (*usher.Group, error)) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		g, err := act(h.Groups, r.Context(), ref)
		if err != nil {
			return err
		}
		return writeGroup(w, http.StatusOK, g, "")
	}
}

// archiveGroup serves POST /v1/groups/{group}/archive and unarchive.
func (h *Handler) archiveGroup(archived bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		g, err := h.Groups.SetArchived(r.Context(), ref, archived)
		if err != nil {
			return err
		}
		return writeGroup(w, http.StatusOK, g, "")
	}
}

func (h *Handler) moveGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		OrganisationID web.Optional[int64] `json:"organisation_id"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if !req.OrganisationID.Set {
		return web.Invalid("organisation_id", usher.CodeRequired, "is required (null for none)")
	}
	g, err := h.Groups.Move(r.Context(), ref, req.OrganisationID.Value)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}

func (h *Handler) mergeGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Into int64 `json:"into"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Into <= 0 {
		return web.Invalid("into", usher.CodeRequired, "is required: the id of the group to merge into")
	}
	g, err := h.Groups.Merge(r.Context(), ref, usher.GroupRef{ID: req.Into})
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}

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

func (h *Handler) groupMembers(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	q := web.NewQuery(r)
	req := idPage(q)
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Groups.Members(r.Context(), ref, req)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toMembershipJSON, idCursor)
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

type ruleJSON struct {
	Resource  string `json:"resource"`
	Operation string `json:"operation"`
	Access    string `json:"access"`
}

func writeRules(w http.ResponseWriter, rules []usher.Rule) error {
	return writeList(w, rules, func(r usher.Rule) ruleJSON { return ruleJSON{r.Resource, r.Operation, string(r.Access)} })
}

func (h *Handler) groupRules(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	rules, err := h.Groups.Rules(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeRules(w, rules)
}

// setRules serves PUT (replace) and PATCH (add or change) of a role's rules.
func (h *Handler) setRules(replace bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		var req struct {
			Rules []ruleJSON `json:"rules"`
		}
		if err := web.DecodeJSON(r, &req); err != nil {
			return err
		}
		if req.Rules == nil {
			return web.Invalid("rules", usher.CodeRequired, "is required (an empty list for none)")
		}
		rules := make([]usher.Rule, len(req.Rules))
		for i, x := range req.Rules {
			rules[i] = usher.Rule{Resource: x.Resource, Operation: x.Operation, Access: usher.Access(x.Access)}
		}
		out, err := h.Groups.SetRules(r.Context(), ref, rules, replace)
		if err != nil {
			return err
		}
		return writeRules(w, out)
	}
}

func (h *Handler) deleteRules(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	if _, err := h.Groups.DeleteRules(r.Context(), ref); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) operations(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	ops, err := h.Groups.Operations(r.Context())
	if err != nil {
		return err
	}
	type opJSON struct {
		Resource    string `json:"resource"`
		Operation   string `json:"operation"`
		Description string `json:"description"`
	}
	return writeList(w, ops, func(o usher.Operation) opJSON { return opJSON(o) })
}

func (h *Handler) effective(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	resource := q.String("resource")
	if err := q.Err(); err != nil {
		return err
	}
	perms, err := h.Groups.Effective(r.Context(), resource)
	if err != nil {
		return err
	}
	type permJSON struct {
		Resource  string `json:"resource"`
		Operation string `json:"operation"`
		Allow     bool   `json:"allow"`
	}
	return writeList(w, perms, func(p usher.Permission) permJSON { return permJSON(p) })
}

func (h *Handler) serviceAccounts(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	q := web.NewQuery(r)
	req := idPage(q)
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Groups.ServiceAccounts(r.Context(), ref, req)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toUserJSON, idCursor)
}

func (h *Handler) createServiceAccount(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Name     string `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Groups.CreateServiceAccount(r.Context(), ref, req.Username, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+strconv.FormatInt(u.ID, 10))
	return writeUser(w, http.StatusCreated, u)
}

func (h *Handler) serviceAccountToken(w http.ResponseWriter, r *http.Request) error {
	ref, key, err := h.groupAndUser(r)
	if err != nil {
		return err
	}
	var req struct {
		Regenerate bool `json:"regenerate"`
	}
	if r.ContentLength != 0 {
		if err := web.DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	t, text, err := h.Groups.ServiceAccountToken(r.Context(), ref, key, req.Regenerate)
	if err != nil {
		return err
	}
	out := toTokenJSON(t, nil)
	out.Token = text
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusCreated, out)
}

// orgJSON is the native representation of an organisation.
type orgJSON struct {
	ID         int64      `json:"id"`
	Handle     string     `json:"handle"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ArchivedAt *time.Time `json:"archived_at"`
	DeletedAt  *time.Time `json:"deleted_at"`
}

func toOrgJSON(o *usher.Organisation) orgJSON {
	return orgJSON{o.ID, o.Handle, o.Name, o.CreatedAt, o.UpdatedAt, o.ArchivedAt, o.DeletedAt}
}

// orgRef reads the {org} path segment: an id, or a handle.
func orgRef(r *http.Request) (int64, string) {
	ref := r.PathValue("org")
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		return id, ""
	}
	return 0, ref
}

func (h *Handler) createOrg(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Handle string `json:"handle"`
		Name   string `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	o, err := h.Orgs.Create(r.Context(), req.Handle, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/organisations/"+strconv.FormatInt(o.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toOrgJSON(o))
}

func (h *Handler) listOrgs(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	archived, deleted := inclusion(q, "archived"), inclusion(q, "deleted")
	req := idPage(q)
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Orgs.List(r.Context(), archived, deleted, req)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toOrgJSON, idCursor)
}

func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request) error {
	id, handle := orgRef(r)
	o, err := h.Orgs.Get(r.Context(), id, handle)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toOrgJSON(o))
}

// changeOrg finds the organisation of the request and applies in to it.
func (h *Handler) changeOrg(w http.ResponseWriter, r *http.Request, in usher.OrganisationUpdate) error {
	id, handle := orgRef(r)
	if id == 0 {
		o, err := h.Orgs.Get(r.Context(), 0, handle)
		if err != nil {
			return err
		}
		id = o.ID
	}
	o, err := h.Orgs.Update(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toOrgJSON(o))
}

func (h *Handler) updateOrg(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Handle web.Optional[string] `json:"handle"`
		Name   web.Optional[string] `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	return h.changeOrg(w, r, usher.OrganisationUpdate{Handle: req.Handle.Ptr(), Name: req.Name.Ptr()})
}

// orgState serves the organisation endpoints that set a state.
func (h *Handler) orgState(archived, deleted *bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h.changeOrg(w, r, usher.OrganisationUpdate{Archived: archived, Deleted: deleted})
	}
}

// planJSON is the native representation of a plan.
type planJSON struct {
	Name                  string    `json:"name"`
	CanCreateTeam         bool      `json:"can_create_team"`
	CanCreateStateProject bool      `json:"can_create_state_project"`
	CanManageProjectACL   bool      `json:"can_manage_project_acl"`
	CanManageProjectHooks bool      `json:"can_manage_project_hooks"`
	ProjectLimit          int       `json:"project_limit"`
	Default               bool      `json:"default"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

func toPlanJSON(p *usher.Plan) planJSON {
	return planJSON{p.Name, p.CanCreateTeam, p.CanCreateStateProject, p.CanManageProjectACL, p.CanManageProjectHooks,
		p.ProjectLimit, p.Default, p.CreatedAt, p.UpdatedAt}
}

// planRequest is the body of the plan writes.
type planRequest struct {
	Name                  string `json:"name"`
	CanCreateTeam         bool   `json:"can_create_team"`
	CanCreateStateProject bool   `json:"can_create_state_project"`
	CanManageProjectACL   bool   `json:"can_manage_project_acl"`
	CanManageProjectHooks bool   `json:"can_manage_project_hooks"`
	ProjectLimit          int    `json:"project_limit"`
	Default               bool   `json:"default"`
}

func (p planRequest) plan() usher.Plan {
	return usher.Plan{Name: p.Name, CanCreateTeam: p.CanCreateTeam, CanCreateStateProject: p.CanCreateStateProject,
		CanManageProjectACL: p.CanManageProjectACL, CanManageProjectHooks: p.CanManageProjectHooks,
		ProjectLimit: p.ProjectLimit, Default: p.Default}
}

func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	plans, err := h.Plans.List(r.Context())
	if err != nil {
		return err
	}
	def, err := h.Plans.Default(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		DefaultPlan *string    `json:"default_plan"`
		Items       []planJSON `json:"items"`
	}{Items: make([]planJSON, 0, len(plans))}
	if def != "" {
		out.DefaultPlan = &def
	}
	for _, p := range plans {
		out.Items = append(out.Items, toPlanJSON(p))
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) createPlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	p, err := h.Plans.Create(r.Context(), req.plan())
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/plans/"+url.PathEscape(p.Name))
	return web.WriteJSON(w, http.StatusCreated, toPlanJSON(p))
}

func (h *Handler) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := h.Plans.Get(r.Context(), r.PathValue("plan"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toPlanJSON(p))
}

func (h *Handler) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name != "" && !strings.EqualFold(req.Name, r.PathValue("plan")) {
		return web.Invalid("name", usher.CodeRename, "a plan's name does not change")
	}
	p, err := h.Plans.Update(r.Context(), r.PathValue("plan"), req.plan())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toPlanJSON(p))
}

func (h *Handler) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := h.Plans.Delete(r.Context(), r.PathValue("plan")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
