package native

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
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

// appJSON is the native representation of an application, with what the
// caller may do on it.
type appJSON struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	OwnerID   *int64     `json:"owner_id"`
	Enabled   bool       `json:"enabled"`
	Unify     unifyJSON  `json:"unify"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at"`
	CanRead   bool       `json:"can_read"`
	CanUpdate bool       `json:"can_update"`
	CanDelete bool       `json:"can_delete"`
	CanGrant  bool       `json:"can_grant"`
}

// unifyJSON is an application's presentation, in and out.
type unifyJSON struct {
	Name   string          `json:"name"`
	Listed bool            `json:"listed"`
	Icon   string          `json:"icon"`
	Logo   string          `json:"logo"`
	URL    string          `json:"url"`
	Config json.RawMessage `json:"config"`
	Order  int             `json:"order"`
}

// unifyPatch is a partial change of an application's presentation.
type unifyPatch struct {
	Name   web.Optional[string]          `json:"name"`
	Listed web.Optional[bool]            `json:"listed"`
	Icon   web.Optional[string]          `json:"icon"`
	Logo   web.Optional[string]          `json:"logo"`
	URL    web.Optional[string]          `json:"url"`
	Config web.Optional[json.RawMessage] `json:"config"`
	Order  web.Optional[int]             `json:"order"`
}

func toAppJSON(a *usher.AllowedApplication) appJSON {
	u := a.Unify
	out := appJSON{ID: a.ID, Name: a.Name, Enabled: a.Enabled, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		DeletedAt: a.DeletedAt, CanRead: a.Ops.Read, CanUpdate: a.Ops.Update, CanDelete: a.Ops.Delete, CanGrant: a.Ops.Grant,
		Unify: unifyJSON{Name: u.Name, Listed: u.Listed, Icon: u.Icon, Logo: u.Logo, URL: u.URL, Config: json.RawMessage(u.Config), Order: u.Order}}
	if a.OwnerID != 0 {
		out.OwnerID = &a.OwnerID
	}
	return out
}

// decodeNested decodes a nested object of the body into dst, refusing its
// unknown fields as the body's own are refused, named under prefix.
func decodeNested(data json.RawMessage, prefix string, dst any) error {
	err := web.Unmarshal(data, dst)
	var e *usher.Error
	if errors.As(err, &e) {
		for i := range e.Fields {
			e.Fields[i].Field = prefix + "." + e.Fields[i].Field
		}
		if len(e.Fields) > 0 {
			e.Message = e.Fields[0].Field + ": " + e.Fields[0].Message
		}
	}
	return err
}

func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name    string          `json:"name"`
		OwnerID int64           `json:"owner_id"`
		Enabled *bool           `json:"enabled"`
		Unify   json.RawMessage `json:"unify"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.ApplicationCreate{Name: req.Name, OwnerID: req.OwnerID, Enabled: req.Enabled == nil || *req.Enabled}
	if len(req.Unify) > 0 && string(req.Unify) != "null" {
		var u unifyJSON
		if err := decodeNested(req.Unify, "unify", &u); err != nil {
			return err
		}
		in.Unify = usher.ApplicationUnify{Name: u.Name, Listed: u.Listed, Icon: u.Icon, Logo: u.Logo, URL: u.URL,
			Config: string(u.Config), Order: u.Order}
	}
	a, err := h.Apps.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/applications/"+strconv.FormatInt(a.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toAppJSON(a))
}

func (h *Handler) listApps(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	f := usher.ApplicationFilter{Name: q.String("name"), Query: q.String("query"), Deleted: inclusion(q, "deleted"), Page: idPage(q)}
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Apps.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, page, toAppJSON, idCursor)
}

func (h *Handler) getApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "app")
	if err != nil {
		return err
	}
	a, err := h.Apps.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toAppJSON(a))
}

func (h *Handler) updateApp(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "app")
	if err != nil {
		return err
	}
	var req struct {
		Name    web.Optional[string] `json:"name"`
		OwnerID web.Optional[int64]  `json:"owner_id"`
		Enabled web.Optional[bool]   `json:"enabled"`
		Unify   json.RawMessage      `json:"unify"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.ApplicationUpdate{Name: req.Name.Ptr(), OwnerID: req.OwnerID.Ptr(), Enabled: req.Enabled.Ptr()}
	if len(req.Unify) > 0 && string(req.Unify) != "null" {
		var u unifyPatch
		if err := decodeNested(req.Unify, "unify", &u); err != nil {
			return err
		}
		in.Unify = &usher.ApplicationUnifyUpdate{Name: u.Name.Ptr(), Listed: u.Listed.Ptr(), Icon: u.Icon.Ptr(),
			Logo: u.Logo.Ptr(), URL: u.URL.Ptr(), Order: u.Order.Ptr()}
		if u.Config.Set {
			cfg := "{}"
			if !u.Config.Null {
				cfg = string(u.Config.Value)
			}
			in.Unify.Config = &cfg
		}
	}
	a, err := h.Apps.Update(r.Context(), id, in)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toAppJSON(a))
}

// appAction serves the application endpoints that change its state.
func (h *Handler) appAction(fn func(AppService, context.Context, int64) (*usher.AllowedApplication, error)) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "app")
		if err != nil {
			return err
		}
		a, err := fn(h.Apps, r.Context(), id)
		if err != nil {
			return err
		}
		return web.WriteJSON(w, http.StatusOK, toAppJSON(a))
	}
}
