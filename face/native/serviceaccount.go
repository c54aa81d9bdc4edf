package native

import (
	"net/http"
	"strconv"

	"usher/web"
)

func (h *Handler) createServiceAccount(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Name     string `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Groups.CreateServiceAccount(r.Context(), ref, req.Username, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+strconv.FormatInt(u.ID, 10))
	return writeUser(w, r, http.StatusCreated, u, false)
}

func (h *Handler) serviceAccountToken(w http.ResponseWriter, r *http.Request) error {
	ref, key, err := h.groupAndUser(r)
	if err != nil {
		return err
	}
	var req struct {
		Regenerate bool `json:"regenerate"`
	}
	if err := web.DecodeOptionalJSON(r, &req); err != nil {
		return err
	}
	t, text, err := h.Groups.ServiceAccountToken(r.Context(), ref, key, req.Regenerate)
	if err != nil {
		return err
	}
	out := toTokenJSON(t, nil)
	out.Token = text
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusCreated, out)
}
