package escape

import (
	"net/http"

	"usher"
	"usher/web"
)

// serviceAccountJSON is one of Escape's ServiceAccounts.
type serviceAccountJSON struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
}

// serviceAccounts returns every service account of a team, page by page.
func (h *Handler) serviceAccounts(r *http.Request, team usher.GroupRef) ([]serviceAccountJSON, error) {
	out := []serviceAccountJSON{}
	var req usher.PageRequest
	for {
		page, err := h.Groups.ServiceAccounts(r.Context(), team, req)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			out = append(out, serviceAccountJSON{ID: u.UUID, Username: u.NameOrHandle(), Name: u.Name})
		}
		if page.Next == nil {
			return out, nil
		}
		req.After = page.Next
	}
}

func (h *Handler) listServiceAccounts(w http.ResponseWriter, r *http.Request) error {
	out, err := h.serviceAccounts(r, teamRef(r))
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// createServiceAccount creates a service account of the team under the
// path's username.
func (h *Handler) createServiceAccount(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("username")
	if _, err := h.Groups.CreateServiceAccount(r.Context(), teamRef(r), name, name); err != nil {
		return err
	}
	return empty(w)
}

func (h *Handler) deleteServiceAccount(w http.ResponseWriter, r *http.Request) error {
	if err := h.Groups.DeleteServiceAccount(r.Context(), teamRef(r), userKey(r)); err != nil {
		return err
	}
	return empty(w)
}

// mintServiceAccountToken answers a new token of the service account as
// Escape's EscapeAuthToken, a JSON string.
func (h *Handler) mintServiceAccountToken(w http.ResponseWriter, r *http.Request) error {
	return h.serviceAccountToken(w, r, false)
}

// rotateServiceAccountToken revokes the service account's tokens and
// answers a new one.
func (h *Handler) rotateServiceAccountToken(w http.ResponseWriter, r *http.Request) error {
	return h.serviceAccountToken(w, r, true)
}

func (h *Handler) serviceAccountToken(w http.ResponseWriter, r *http.Request, regenerate bool) error {
	_, secret, err := h.Groups.ServiceAccountToken(r.Context(), teamRef(r), userKey(r), regenerate)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, secret)
}
