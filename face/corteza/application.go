package corteza

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"usher"
)

// AppService is what the face needs of the core's applications.
type AppService interface {
	Create(ctx context.Context, in usher.ApplicationCreate) (*usher.AllowedApplication, error)
	Get(ctx context.Context, id int64) (*usher.AllowedApplication, error)
	List(ctx context.Context, f usher.ApplicationFilter) (*usher.Page[*usher.AllowedApplication], error)
	Update(ctx context.Context, id int64, in usher.ApplicationUpdate) (*usher.AllowedApplication, error)
	Delete(ctx context.Context, id int64) (*usher.AllowedApplication, error)
	Undelete(ctx context.Context, id int64) (*usher.AllowedApplication, error)
}

// unify is an application's Unify block.
type unify struct {
	Name   string `json:"name,omitempty"`
	Listed bool   `json:"listed"`
	Icon   string `json:"icon,omitempty"`
	Logo   string `json:"logo,omitempty"`
	URL    string `json:"url,omitempty"`
	Config string `json:"config,omitempty"`
	Order  int    `json:"order,omitempty"`
}

// application is Corteza's types.Application with the caller's rights;
// ownerID is a plain number, as Corteza writes it.
type application struct {
	ID                   int64      `json:"applicationID,string"`
	Name                 string     `json:"name"`
	OwnerID              int64      `json:"ownerID"`
	Enabled              bool       `json:"enabled"`
	Unify                *unify     `json:"unify,omitempty"`
	CreatedAt            time.Time  `json:"createdAt"`
	UpdatedAt            *time.Time `json:"updatedAt,omitempty"`
	DeletedAt            *time.Time `json:"deletedAt,omitempty"`
	CanGrant             bool       `json:"canGrant"`
	CanUpdateApplication bool       `json:"canUpdateApplication"`
	CanDeleteApplication bool       `json:"canDeleteApplication"`
}

func toApplication(a *usher.AllowedApplication) *application {
	u := a.Unify
	out := &application{ID: a.ID, Name: a.Name, OwnerID: a.OwnerID, Enabled: a.Enabled, CreatedAt: a.CreatedAt,
		DeletedAt: a.DeletedAt, CanGrant: a.Ops.Grant, CanUpdateApplication: a.Ops.Update, CanDeleteApplication: a.Ops.Delete}
	if u != (usher.ApplicationUnify{}) {
		out.Unify = &unify{Name: u.Name, Listed: u.Listed, Icon: u.Icon, Logo: u.Logo, URL: u.URL, Config: u.Config, Order: u.Order}
	}
	if !a.UpdatedAt.IsZero() && !a.UpdatedAt.Equal(a.CreatedAt) {
		t := a.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

// appFilter is the filter an application list echoes.
type appFilter struct {
	Name    string `json:"name"`
	Query   string `json:"query"`
	Deleted int    `json:"deleted"`
	Sort    string `json:"sort"`
	paging
}

// appSortFields maps the fields of Corteza's application answers that its
// sort takes to the columns they show.
var appSortFields = map[string]string{"applicationid": "id", "createdat": "created_at", "updatedat": "updated_at"}

func (h *Handler) listApplications(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := appFilter{Name: p.str("name"), Query: p.str("query"), Sort: p.str("sort")}
	if f.Deleted, err = p.state("deleted", ""); err != nil {
		return err
	}
	if f.paging, err = p.paging(); err != nil {
		return err
	}
	page, err := h.Apps.List(r.Context(), usher.ApplicationFilter{Name: f.Name, Query: f.Query, Deleted: inclusion(f.Deleted),
		Sort: listSort(f.Sort, appSortFields), Page: f.request()})
	if err != nil {
		return err
	}
	f.Count = max(page.Total, 0)
	// Corteza's list sorts by id when asked for no sort, and echoes it.
	f.Sort = cmp.Or(f.Sort, "id")
	var set []*application
	for _, a := range page.Items {
		set = append(set, toApplication(a))
	}
	return respond(w, listPayload{Filter: f, Set: set})
}

// readUnify reads the unify parameter.
func readUnify(p *params) (*usher.ApplicationUnifyUpdate, error) {
	raw := p.raw("unify")
	if raw == nil || string(raw) == "null" {
		return nil, nil
	}
	var u usher.ApplicationUnifyUpdate
	var in struct {
		Name   *string `json:"name"`
		Listed *bool   `json:"listed"`
		Icon   *string `json:"icon"`
		Logo   *string `json:"logo"`
		URL    *string `json:"url"`
		Config *string `json:"config"`
		Order  *int    `json:"order"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid unify: " + err.Error()}
	}
	u = usher.ApplicationUnifyUpdate{Name: in.Name, Listed: in.Listed, Icon: in.Icon, Logo: in.Logo, URL: in.URL, Config: in.Config, Order: in.Order}
	return &u, nil
}

func (h *Handler) createApplication(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	in := usher.ApplicationCreate{Name: p.str("name"), Enabled: p.boolean("enabled")}
	if in.OwnerID, err = p.id("ownerID"); err != nil {
		return err
	}
	u, err := readUnify(p)
	if err != nil {
		return err
	}
	if u != nil {
		in.Unify = usher.ApplicationUnify{Name: deref(u.Name), Listed: u.Listed != nil && *u.Listed, Icon: deref(u.Icon),
			Logo: deref(u.Logo), URL: deref(u.URL), Config: deref(u.Config)}
		if u.Order != nil {
			in.Unify.Order = *u.Order
		}
	}
	a, err := h.Apps.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return respond(w, toApplication(a))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// appID reads the applicationID path value.
func appID(p *params) (int64, error) {
	id, err := p.id("applicationID")
	if err != nil || id == 0 {
		return 0, errNotFound("application")
	}
	return id, nil
}

func (h *Handler) readApplication(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := appID(p)
	if err != nil {
		return err
	}
	a, err := h.Apps.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return respond(w, toApplication(a))
}

func (h *Handler) updateApplication(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	id, err := appID(p)
	if err != nil {
		return err
	}
	in := usher.ApplicationUpdate{Name: p.optStr("name")}
	if p.has("enabled") {
		v := p.boolean("enabled")
		in.Enabled = &v
	}
	if p.has("ownerID") {
		owner, err := p.id("ownerID")
		if err != nil {
			return err
		}
		in.OwnerID = &owner
	}
	if in.Unify, err = readUnify(p); err != nil {
		return err
	}
	a, err := h.Apps.Update(r.Context(), id, in)
	if err != nil {
		return err
	}
	return respond(w, toApplication(a))
}

// appAction is an OK-only action on an application.
func (h *Handler) appAction(act func(context.Context, int64) (*usher.AllowedApplication, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := readParams(r)
		if err != nil {
			return err
		}
		id, err := appID(p)
		if err != nil {
			return err
		}
		if _, err := act(r.Context(), id); err != nil {
			return err
		}
		return ok(w)
	}
}
