package escape

import (
	"net/http"
	"strings"

	"usher"
	"usher/web"
)

// planJSON is Escape's UserPlan.
type planJSON struct {
	Name                  string `json:"name"`
	CanCreateTeam         bool   `json:"can_create_team"`
	CanCreateStateProject bool   `json:"can_create_state_project"`
	CanManageProjectACL   bool   `json:"can_manage_project_acl"`
	CanManageProjectHooks bool   `json:"can_manage_project_hooks"`
	ProjectLimit          int    `json:"project_limit"`
}

func toPlanJSON(p *usher.Plan) planJSON {
	return planJSON{Name: p.Name, CanCreateTeam: p.CanCreateTeam, CanCreateStateProject: p.CanCreateStateProject,
		CanManageProjectACL: p.CanManageProjectACL, CanManageProjectHooks: p.CanManageProjectHooks, ProjectLimit: p.ProjectLimit}
}

func (p planJSON) plan() usher.Plan {
	return usher.Plan{Name: p.Name, CanCreateTeam: p.CanCreateTeam, CanCreateStateProject: p.CanCreateStateProject,
		CanManageProjectACL: p.CanManageProjectACL, CanManageProjectHooks: p.CanManageProjectHooks, ProjectLimit: p.ProjectLimit}
}

// planSet returns every plan by lower-cased name, and the default's name.
func (h *Handler) planSet(r *http.Request) (map[string]*usher.Plan, string, error) {
	plans, err := h.Plans.List(r.Context())
	if err != nil {
		return nil, "", err
	}
	def, err := h.Plans.Default(r.Context())
	if err != nil {
		return nil, "", err
	}
	out := make(map[string]*usher.Plan, len(plans))
	for _, p := range plans {
		out[strings.ToLower(p.Name)] = p
	}
	return out, def, nil
}

// listPlans answers Escape's UserPlans: the plans by name and the default.
func (h *Handler) listPlans(w http.ResponseWriter, r *http.Request) error {
	plans, def, err := h.planSet(r)
	if err != nil {
		return err
	}
	out := struct {
		DefaultPlan string              `json:"default_plan"`
		Plans       map[string]planJSON `json:"plans"`
	}{def, make(map[string]planJSON, len(plans))}
	for _, p := range plans {
		out.Plans[p.Name] = toPlanJSON(p)
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// planRequest is a plan as a body gives it; default makes it the default.
// Escape's UserPlan has no such field, so an Escape client never sends it.
type planRequest struct {
	planJSON
	Default *bool `json:"default"`
}

func (h *Handler) createPlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	p := req.plan()
	p.Default = req.Default != nil && *req.Default
	if _, err := h.Plans.Create(r.Context(), p); err != nil {
		return err
	}
	return empty(w)
}

// updatePlan replaces a plan's capabilities and limit; its name stays,
// and so does whether it is the default unless the body says.
func (h *Handler) updatePlan(w http.ResponseWriter, r *http.Request) error {
	var req planRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if _, err := h.Plans.Update(r.Context(), r.PathValue("plan"), usher.PlanUpdate{CanCreateTeam: req.CanCreateTeam,
		CanCreateStateProject: req.CanCreateStateProject, CanManageProjectACL: req.CanManageProjectACL,
		CanManageProjectHooks: req.CanManageProjectHooks, ProjectLimit: req.ProjectLimit, Default: req.Default}); err != nil {
		return err
	}
	return empty(w)
}

func (h *Handler) deletePlan(w http.ResponseWriter, r *http.Request) error {
	if err := h.Plans.Delete(r.Context(), r.PathValue("plan")); err != nil {
		return err
	}
	return empty(w)
}
