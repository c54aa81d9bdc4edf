package corteza

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// SettingService is what the face needs of the core's instance settings.
type SettingService interface {
	List(ctx context.Context, prefix string) ([]*usher.InstanceSetting, error)
	Get(ctx context.Context, name string) (*usher.InstanceSetting, error)
	Set(ctx context.Context, name string, value []byte) (*usher.InstanceSetting, error)
	SetFile(ctx context.Context, name string, in usher.AttachmentUpload) (*usher.InstanceSetting, error)
	MayManage(ctx context.Context) error
	Update(ctx context.Context, values []usher.InstanceSettingValue) ([]*usher.InstanceSetting, error)
	Current(ctx context.Context) (map[string]json.RawMessage, error)
}

// setting is Corteza's settings value.
type setting struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt time.Time       `json:"updatedAt"`
	UpdatedBy int64           `json:"updatedBy"`
}

func toSetting(s *usher.InstanceSetting) *setting {
	return &setting{Name: s.Name, Value: json.RawMessage(s.Value), UpdatedAt: s.UpdatedAt, UpdatedBy: s.UpdatedBy}
}

func (h *Handler) listSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	list, err := h.Settings.List(r.Context(), p.str("prefix"))
	if err != nil {
		return err
	}
	// None is null, as Corteza's repository selects into a nil slice.
	var out []*setting
	for _, s := range list {
		out = append(out, toSetting(s))
	}
	return respond(w, out)
}

func (h *Handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	var values []struct {
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	if raw := p.raw("values"); raw != nil {
		if err := json.Unmarshal(raw, &values); err != nil {
			return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid values: " + err.Error()}
		}
	}
	in := make([]usher.InstanceSettingValue, 0, len(values))
	for _, v := range values {
		in = append(in, usher.InstanceSettingValue{Name: v.Name, Value: v.Value})
	}
	if _, err := h.Settings.Update(r.Context(), in); err != nil {
		return err
	}
	return respond(w, true)
}

// ownerID reads a setting's ownerID: Corteza's settings may belong to a
// user, usher's belong to the instance (owner 0).
func ownerID(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid ownerID: " + strconv.Quote(v)}
	}
	return id, nil
}

func (h *Handler) getSetting(w http.ResponseWriter, r *http.Request) error {
	owner, err := ownerID(r.URL.Query().Get("ownerID"))
	if err != nil {
		return err
	}
	s, err := h.Settings.Get(r.Context(), r.PathValue("key"))
	if usher.ErrorKind(err) == usher.KindNotFound || err == nil && owner != 0 {
		// Corteza answers an unset setting with null; usher holds none
		// owned by a user.
		return respond(w, nil)
	}
	if err != nil {
		return err
	}
	return respond(w, toSetting(s))
}

// setSetting sets a setting from an uploaded file (the form's upload
// field), as Corteza's POST /settings/{key} does.
func (h *Handler) setSetting(w http.ResponseWriter, r *http.Request) error {
	if h.Attachments == nil {
		return errNotFound("attachments")
	}
	// Asked before the form is read: one who may not change the settings
	// has no body read, no temporary file written (SetFile decides again).
	if err := h.Settings.MayManage(r.Context()); err != nil {
		return err
	}
	up, err := web.ReadUpload(w, r, h.Attachments.MaxBytes(), "upload")
	if err != nil {
		return err
	}
	defer up.Close()
	v := r.URL.Query().Get("ownerID")
	if form := up.Values["ownerID"]; len(form) > 0 {
		v = form[0]
	}
	owner, err := ownerID(v)
	if err != nil {
		return err
	}
	if owner != 0 {
		// Setting the instance's value instead would change it for
		// everyone.
		return &usher.Error{Kind: usher.KindUnprocessable, Code: usher.CodeInvalidParameter,
			Message: "ownerID: usher keeps no settings owned by a user"}
	}
	s, err := h.Settings.SetFile(r.Context(), r.PathValue("key"), usher.AttachmentUpload{Kind: usher.AttachmentSetting, Name: up.Name, Body: up.File})
	if err != nil {
		return err
	}
	return respond(w, toSetting(s))
}

func (h *Handler) currentSettings(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Settings.Current(r.Context())
	if err != nil {
		return err
	}
	return respond(w, m)
}
