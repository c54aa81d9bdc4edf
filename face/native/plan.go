package native

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// PlanService is what the face needs of the core's plans.
type PlanService interface {
	List(ctx context.Context) ([]*usher.Plan, error)
	Get(ctx context.Context, name string) (*usher.Plan, error)
	Create(ctx context.Context, p usher.Plan) (*usher.Plan, error)
	Update(ctx context.Context, name string, in usher.PlanUpdate) (*usher.Plan, error)
	Delete(ctx context.Context, name string) error
	Default(ctx context.Context) (string, error)
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
	// A whole plan: default false takes the default away.
	p, err := h.Plans.Update(r.Context(), r.PathValue("plan"), usher.PlanUpdate{CanCreateTeam: req.CanCreateTeam,
		CanCreateStateProject: req.CanCreateStateProject, CanManageProjectACL: req.CanManageProjectACL,
		CanManageProjectHooks: req.CanManageProjectHooks, ProjectLimit: req.ProjectLimit, Default: &req.Default})
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
