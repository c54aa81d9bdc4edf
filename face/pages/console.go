package pages

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"usher"
	"usher/web"
)

// AuditService is what the console needs of the core's audit log.
type AuditService interface {
	List(ctx context.Context, f usher.AuditFilter) (*usher.Page[*usher.AuditEvent], error)
}

// InstanceService is what the console needs of the instance's settings.
type InstanceService interface {
	Get(ctx context.Context, name string) (*usher.InstanceSetting, error)
	Set(ctx context.Context, name string, value []byte) (*usher.InstanceSetting, error)
}

// consoleSettings are the switches the settings page shows, each an
// instance setting with a true or false value.
var consoleSettings = []struct{ Name, Label string }{
	{usher.SettingSignupEnabled, "People may sign up themselves"},
	{usher.SettingPasswordResetEnabled, "People may reset a forgotten password by mail"},
	{usher.SettingInternalEnabled, "People may log in with a password"},
	{usher.SettingExternalEnabled, "People may log in through external providers"},
}

// settingRow is one switch on the settings page.
type settingRow struct {
	Name, Label string
	// On is the setting's value; Set says whether it has one at all, or
	// the server's default applies.
	On, Set bool
}

func (h *Handler) adminSettings(w http.ResponseWriter, r *http.Request) error {
	return h.showSettings(w, r, "")
}

func (h *Handler) showSettings(w http.ResponseWriter, r *http.Request, notice string) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	rows := make([]settingRow, 0, len(consoleSettings))
	for _, s := range consoleSettings {
		row := settingRow{Name: s.Name, Label: s.Label}
		v, err := h.Instance.Get(r.Context(), s.Name)
		switch {
		case err == nil:
			row.Set, row.On = true, string(v.Value) == "true"
		case usher.AsError(err).Kind != usher.KindNotFound:
			return err
		}
		rows = append(rows, row)
	}
	return h.render(w, r, http.StatusOK, "admin_settings", view{Title: "Settings", Notice: notice, Data: rows})
}

// saveSettings sets each switch of the form to on or off.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	for _, s := range consoleSettings {
		value := []byte("false")
		if r.PostForm.Get(s.Name) == "on" {
			value = []byte("true")
		}
		if _, err := h.Instance.Set(r.Context(), s.Name, value); err != nil {
			return err
		}
	}
	return h.showSettings(w, r, "The settings are saved.")
}

// auditData is the audit page's: its filters, the events and the cursor
// of the older ones.
type auditData struct {
	Action, Resource, Actor string
	Events                  []*usher.AuditEvent
	Next                    string
}

// adminAudit shows the audit log, newest first, filtered by action (or a
// prefix ending in "."), resource (type or type:id) and actor id.
func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := auditData{Action: q.Get("action"), Resource: q.Get("resource"), Actor: q.Get("actor")}
	f := usher.AuditFilter{Action: d.Action, Page: usher.PageRequest{Limit: 50}}
	f.ResourceType, f.ResourceID, _ = strings.Cut(d.Resource, ":")
	if d.Actor != "" {
		id, err := strconv.ParseInt(d.Actor, 10, 64)
		if err != nil || id <= 0 {
			return web.Invalid("actor", usher.CodeInvalidID, "is not a valid user id")
		}
		f.ActorIDs = []int64{id}
	}
	if after := q.Get("after"); after != "" {
		var c usher.Cursor
		if err := web.DecodeCursor("after", after, &c); err != nil {
			return err
		}
		f.Page.After = &c
	}
	page, err := h.Audit.List(r.Context(), f)
	if err != nil {
		return err
	}
	d.Events = page.Items
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	return h.render(w, r, http.StatusOK, "admin_audit", view{Title: "Audit log", Data: d})
}

// groupsData is the group list's.
type groupsData struct {
	Query  string
	Groups []*usher.Group
	Next   string
}

// adminGroups lists groups, teams and roles, searched by handle or name.
func (h *Handler) adminGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := groupsData{Query: q.Get("q")}
	f := usher.GroupFilter{Query: d.Query, Page: usher.PageRequest{Limit: 50}}
	if after := q.Get("after"); after != "" {
		var c usher.Cursor
		if err := web.DecodeCursor("after", after, &c); err != nil {
			return err
		}
		f.Page.After = &c
	}
	page, err := h.Groups.List(r.Context(), f)
	if err != nil {
		return err
	}
	d.Groups = page.Items
	if page.Next != nil {
		d.Next = web.EncodeCursor(*page.Next)
	}
	return h.render(w, r, http.StatusOK, "admin_groups", view{Title: "Groups", Data: d})
}
