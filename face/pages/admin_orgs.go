package pages

import (
	"context"
	"net/http"

	"usher"
	"usher/web"
)

// OrgService is what the console needs of the core's organisations.
type OrgService interface {
	List(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error)
}

// orgsData is the organisation list's.
type orgsData struct {
	Orgs []*usher.Organisation
	Next string
}

// adminOrgs lists the organisations, archived ones included; each links
// to the groups it holds.
func (h *Handler) adminOrgs(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	req := usher.PageRequest{Limit: 50}
	if req.After, err = after(r); err != nil {
		return err
	}
	page, err := h.Orgs.List(r.Context(), usher.OrganisationFilter{Archived: usher.Include, Deleted: usher.Exclude, Page: req})
	if err != nil {
		return err
	}
	d := orgsData{Orgs: page.Items}
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	return h.render(w, r, http.StatusOK, "admin_orgs", view{Title: "Organisations", Data: d})
}
