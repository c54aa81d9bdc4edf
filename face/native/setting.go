package native

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"usher"
	"usher/web"
)

// InstanceService is what the face needs of the core's instance settings.
type InstanceService interface {
	List(ctx context.Context, prefix string) ([]*usher.InstanceSetting, error)
	Get(ctx context.Context, name string) (*usher.InstanceSetting, error)
	Set(ctx context.Context, name string, value []byte) (*usher.InstanceSetting, error)
	MayManage(ctx context.Context) error
	SetFile(ctx context.Context, name string, in usher.AttachmentUpload) (*usher.InstanceSetting, error)
	Update(ctx context.Context, values []usher.InstanceSettingValue) ([]*usher.InstanceSetting, error)
	Current(ctx context.Context) (map[string]json.RawMessage, error)
}

// instanceSettingJSON is the native representation of an instance setting.
type instanceSettingJSON struct {
	Name      string          `json:"name"`
	Value     json.RawMessage `json:"value"`
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy *int64          `json:"updated_by"`
}

// instanceSettingList is a list of instance settings; they are few, and
// come in one page.
type instanceSettingList struct {
	Items []instanceSettingJSON `json:"items"`
}

func toInstanceSettingJSON(s *usher.InstanceSetting) instanceSettingJSON {
	out := instanceSettingJSON{Name: s.Name, Value: json.RawMessage(s.Value), UpdatedAt: s.UpdatedAt}
	if s.UpdatedBy != 0 {
		out.UpdatedBy = &s.UpdatedBy
	}
	return out
}

func writeInstanceSettings(w http.ResponseWriter, list []*usher.InstanceSetting) error {
	out := instanceSettingList{Items: make([]instanceSettingJSON, 0, len(list))}
	for _, s := range list {
		out.Items = append(out.Items, toInstanceSettingJSON(s))
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) listInstanceSettings(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	prefix := q.String("prefix")
	if err := q.Err(); err != nil {
		return err
	}
	list, err := h.Instance.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	return writeInstanceSettings(w, list)
}

func (h *Handler) getInstanceSetting(w http.ResponseWriter, r *http.Request) error {
	s, err := h.Instance.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toInstanceSettingJSON(s))
}

// setInstanceSetting sets one setting to the body's value; a null or
// absent value deletes it, answered with 204. A multipart/form-data body
// sets it from the file of its part "upload" instead.
func (h *Handler) setInstanceSetting(w http.ResponseWriter, r *http.Request) error {
	if mt, err := web.MediaType(r, web.MediaJSON, web.MediaMultipart); err == nil && mt == web.MediaMultipart {
		return h.setInstanceSettingFile(w, r)
	}
	var req struct {
		Value json.RawMessage `json:"value"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Instance.Set(r.Context(), r.PathValue("name"), req.Value)
	if err != nil {
		return err
	}
	if s == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return web.WriteJSON(w, http.StatusOK, toInstanceSettingJSON(s))
}

// updateInstanceSettings sets many settings at once; a null or absent
// value deletes its setting. It answers with those set.
func (h *Handler) updateInstanceSettings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Values []struct {
			Name  string          `json:"name"`
			Value json.RawMessage `json:"value"`
		} `json:"values"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := make([]usher.InstanceSettingValue, 0, len(req.Values))
	for _, v := range req.Values {
		in = append(in, usher.InstanceSettingValue{Name: v.Name, Value: v.Value})
	}
	list, err := h.Instance.Update(r.Context(), in)
	if err != nil {
		return err
	}
	return writeInstanceSettings(w, list)
}

// currentSettings serves, to anyone, the settings a client may read.
func (h *Handler) currentSettings(w http.ResponseWriter, r *http.Request) error {
	cur, err := h.Instance.Current(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, cur)
}

// setInstanceSettingFile sets a setting from an uploaded file, which
// becomes an attachment the setting's value refers to. The core is asked
// first whether the caller may: no body is read for one who may not.
func (h *Handler) setInstanceSettingFile(w http.ResponseWriter, r *http.Request) error {
	if err := h.Instance.MayManage(r.Context()); err != nil {
		return err
	}
	up, err := web.ReadUpload(w, r, h.maxUpload(), "upload")
	if err != nil {
		return err
	}
	defer up.Close()
	s, err := h.Instance.SetFile(r.Context(), r.PathValue("name"), usher.AttachmentUpload{Name: up.Name, Body: up.File})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toInstanceSettingJSON(s))
}
