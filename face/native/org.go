package native

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// OrgService is what the face needs of the core's organisations.
type OrgService interface {
	Create(ctx context.Context, handle, name string) (*usher.Organisation, error)
	Get(ctx context.Context, id int64, handle string) (*usher.Organisation, error)
	List(ctx context.Context, f usher.OrganisationFilter) (*usher.Page[*usher.Organisation], error)
	Update(ctx context.Context, id int64, in usher.OrganisationUpdate) (*usher.Organisation, error)
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
	page, err := h.Orgs.List(r.Context(), usher.OrganisationFilter{Archived: archived, Deleted: deleted, Page: req})
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
