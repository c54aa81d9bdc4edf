package pages

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

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
	Switches(ctx context.Context) (map[string]bool, error)
}

// consoleSettings are the switches the settings page shows, each an
// instance setting with a true or false value.
var consoleSettings = []struct{ Name, Label string }{
	{usher.SettingSignupEnabled, "People may sign up themselves"},
	{usher.SettingPasswordResetEnabled, "People may reset a forgotten password by mail"},
	{usher.SettingInternalEnabled, "People may log in with a password"},
	{usher.SettingExternalEnabled, "People may log in through external providers"},
}

// settings are the switches of the settings page: consoleSettings, and
// one for each external provider configured.
func (h *Handler) settings() []struct{ Name, Label string } {
	out := slices.Clone(consoleSettings)
	for _, name := range h.Auth.Providers() {
		out = append(out, struct{ Name, Label string }{usher.SettingProviderEnabled(name), "People may log in through " + name})
	}
	return out
}

// settingRow is one switch on the settings page.
type settingRow struct {
	Name, Label string
	// On is the setting's value; Set says whether it has one at all, or
	// the server's default applies.
	On, Set bool
}

// MailService is what the console needs to check the mail settings.
type MailService interface {
	Test(ctx context.Context, to string) (*usher.MailTest, error)
}

// MailConfig is the mail configuration the settings page shows. Mail is
// configured by flags (--smtp-url, --mail-from, --mail-language,
// --public-url), not in the console, so the page only shows it.
type MailConfig struct {
	// Transport is "smtp" or "smtps" for an SMTP server, or "log" when
	// none is configured and mail is written to the server's log.
	Transport string
	// Host is the SMTP server's host and port.
	Host string
	// URL is --smtp-url with its password hidden.
	URL string
	// From is the sender, Language the default language of mail, and
	// PublicURL the address the links in mail are built from.
	From, Language, PublicURL string
}

// settingsData is the settings page's: the switches, the mail
// configuration, and the outcome of a test mail when one was sent.
type settingsData struct {
	Switches []settingRow
	Mail     MailConfig
	// To is the address of the test mail form.
	To string
}

func (h *Handler) adminSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	v, err := h.settingsView(r)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_settings", v)
}

// settingsView is the settings page's view as the settings are now.
func (h *Handler) settingsView(r *http.Request) (view, error) {
	// Each switch shows its own value, stored or default, not what another
	// implies: a save must turn nothing off that nobody touched.
	own, err := h.Instance.Switches(r.Context())
	if err != nil {
		return view{}, err
	}
	d := settingsData{Mail: h.MailConfig}
	for _, s := range h.settings() {
		row := settingRow{Name: s.Name, Label: s.Label, On: own[s.Name]}
		_, err := h.Instance.Get(r.Context(), s.Name)
		switch {
		case err == nil:
			row.Set = true
		case usher.AsError(err).Kind != usher.KindNotFound:
			return view{}, err
		}
		d.Switches = append(d.Switches, row)
	}
	return view{Title: "Settings", Data: d}, nil
}

// saveSettings sets each switch of the form to on or off.
func (h *Handler) saveSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	for _, s := range h.settings() {
		value := []byte("false")
		if r.PostForm.Get(s.Name) == "on" {
			value = []byte("true")
		}
		if _, err := h.Instance.Set(r.Context(), s.Name, value); err != nil {
			return err
		}
	}
	v, err := h.settingsView(r)
	if err != nil {
		return err
	}
	v.Notice = "The settings are saved."
	return h.render(w, r, http.StatusOK, "admin_settings", v)
}

// testMail sends one mail to the address the form names, through the
// core, and shows what happened: sent, or the transport's error in its
// own words (502: the mail server, not the request, failed).
func (h *Handler) testMail(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	v, err := h.settingsView(r)
	if err != nil {
		return err
	}
	if h.Mail == nil {
		return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeNotAllowed, Message: "this server sends no test mail"}
	}
	to := strings.TrimSpace(r.PostForm.Get("to"))
	d := v.Data.(settingsData)
	d.To, v.Data = to, d
	res, err := h.Mail.Test(r.Context(), to)
	if err != nil {
		return h.formError(w, r, "admin_settings", v, err)
	}
	switch {
	case !res.Sent:
		v.Error = "The test mail to " + to + " was not sent: " + res.Error
		return h.render(w, r, http.StatusBadGateway, "admin_settings", v)
	case h.MailConfig.Transport == "log":
		v.Notice = "No SMTP server is configured: the test mail to " + to + " was written to the server's log, not sent."
	default:
		v.Notice = "The test mail to " + to + " is sent: " + h.MailConfig.Host + " accepted it."
	}
	return h.render(w, r, http.StatusOK, "admin_settings", v)
}

// auditData is the audit page's: its filters, the events and the cursor
// of the older ones.
type auditData struct {
	Action, Resource, Actor string
	// From and To bound the events' time, as the form's fields hold them.
	From, To string
	Events   []*usher.AuditEvent
	Next     string
}

// adminAudit shows the audit log, newest first, filtered by action (or a
// prefix ending in "."), resource (type or type:id) and actor id.
func (h *Handler) adminAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := auditData{Action: q.Get("action"), Resource: q.Get("resource"), Actor: q.Get("actor"), From: q.Get("from"), To: q.Get("to")}
	f := usher.AuditFilter{Action: d.Action, Page: usher.PageRequest{Limit: 50}}
	for _, b := range []struct {
		field, value string
		to           **time.Time
	}{{"from", d.From, &f.From}, {"to", d.To, &f.To}} {
		if b.value == "" {
			continue
		}
		t, err := parseTime(b.value)
		if err != nil {
			return web.Invalid(b.field, usher.CodeInvalidValue, "is not a time such as 2026-01-31 or 2026-01-31T14:00")
		}
		*b.to = &t
	}
	f.ResourceType, f.ResourceID, _ = strings.Cut(d.Resource, ":")
	if d.Actor != "" {
		id, err := strconv.ParseInt(d.Actor, 10, 64)
		if err != nil || id <= 0 {
			return web.Invalid("actor", usher.CodeInvalidID, "is not a valid user id")
		}
		f.ActorIDs = []int64{id}
	}
	if f.Page.After, err = after(r); err != nil {
		return err
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
	// Kind and Org are the filters: a kind, an organisation's id.
	Kind  string
	Org   string
	Kinds []usher.GroupKind
}

// adminGroups lists groups, teams and roles, searched by handle or name.
func (h *Handler) adminGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	q := r.URL.Query()
	d := groupsData{Query: q.Get("q"), Kind: q.Get("kind"), Org: q.Get("org"), Kinds: usher.GroupKinds}
	f := usher.GroupFilter{Query: d.Query, Page: usher.PageRequest{Limit: 50}}
	if d.Kind != "" {
		f.Kinds = []usher.GroupKind{usher.GroupKind(d.Kind)}
	}
	if d.Org != "" {
		id, err := strconv.ParseInt(d.Org, 10, 64)
		if err != nil || id <= 0 {
			return web.Invalid("org", usher.CodeInvalidID, "is not a valid organisation id")
		}
		f.OrganisationID = id
	}
	if f.Page.After, err = after(r); err != nil {
		return err
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

// parseTime reads a time of the audit page's filter: a day, a minute as a
// browser's datetime-local field sends it, or RFC 3339; times without a
// zone are UTC.
func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a time")
}
