package pages

import (
	"context"
	"net/http"

	"usher"
	"usher/web"
)

// AppService is what the console needs of the core's applications.
type AppService interface {
	Create(ctx context.Context, in usher.ApplicationCreate) (*usher.AllowedApplication, error)
	List(ctx context.Context, f usher.ApplicationFilter) (*usher.Page[*usher.AllowedApplication], error)
	Update(ctx context.Context, id int64, in usher.ApplicationUpdate) (*usher.AllowedApplication, error)
	Delete(ctx context.Context, id int64) (*usher.AllowedApplication, error)
	Undelete(ctx context.Context, id int64) (*usher.AllowedApplication, error)
}

// appsData is the application list's.
type appsData struct {
	Query string
	Apps  []*usher.AllowedApplication
	Next  string
}

// adminApps lists the applications, deleted ones included, searched by
// name.
func (h *Handler) adminApps(w http.ResponseWriter, r *http.Request) error {
	return h.showApps(w, r, http.StatusOK, view{})
}

func (h *Handler) showApps(w http.ResponseWriter, r *http.Request, status int, v view) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := appsData{Query: q.Get("q")}
	f := usher.ApplicationFilter{Query: d.Query, Deleted: usher.Include, Page: usher.PageRequest{Limit: 50}}
	if f.Page.After, err = after(r); err != nil {
		return err
	}
	page, err := h.Apps.List(r.Context(), f)
	if err != nil {
		return err
	}
	d.Apps = page.Items
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	v.Title, v.Data = "Applications", d
	return h.render(w, r, status, "admin_apps", v)
}

// createApp registers an application owned by the administrator.
func (h *Handler) createApp(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	f := r.PostForm
	_, err = h.Apps.Create(r.Context(), usher.ApplicationCreate{Name: f.Get("name"), Enabled: f.Get("enabled") == "on",
		Unify: usher.ApplicationUnify{URL: f.Get("url"), Listed: f.Get("listed") == "on"}})
	if err != nil {
		e := usher.AsError(err)
		if e.Kind != usher.KindInvalid && e.Kind != usher.KindUnprocessable {
			return err
		}
		v := view{}
		v.Error, v.Fields = fieldErrors(err)
		return h.showApps(w, r, statuses[e.Kind], v)
	}
	return h.showApps(w, r, http.StatusOK, view{Notice: "The application is registered."})
}

// appActions are what the list's buttons do to one application.
var appActions = map[string]struct {
	do     func(AppService, context.Context, int64) (*usher.AllowedApplication, error)
	notice string
}{
	"enable": {func(s AppService, ctx context.Context, id int64) (*usher.AllowedApplication, error) {
		on := true
		return s.Update(ctx, id, usher.ApplicationUpdate{Enabled: &on})
	}, "The application is enabled."},
	"disable": {func(s AppService, ctx context.Context, id int64) (*usher.AllowedApplication, error) {
		off := false
		return s.Update(ctx, id, usher.ApplicationUpdate{Enabled: &off})
	}, "The application is disabled."},
	"delete":   {AppService.Delete, "The application is deleted."},
	"undelete": {AppService.Undelete, "The application is restored."},
}

// appAction enables, disables, deletes or restores an application.
func (h *Handler) appAction(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	action, ok := appActions[r.PathValue("action")]
	if !ok {
		return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "no such action"}
	}
	if _, err := action.do(h.Apps, r.Context(), id); err != nil {
		return err
	}
	return h.showApps(w, r, http.StatusOK, view{Notice: action.notice})
}

// appButtons names the actions the list offers on an application.
func appButtons(a *usher.AllowedApplication) []string {
	switch {
	case a.DeletedAt != nil:
		return []string{"undelete"}
	case a.Enabled:
		return []string{"disable", "delete"}
	}
	return []string{"enable", "delete"}
}
