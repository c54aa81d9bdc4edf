package lenses

import (
	"encoding/json"
	"net/http"

	"usher"
	"usher/web"
)

// self is the key of the caller's own account.
func self(r *http.Request) usher.UserKey {
	return usher.UserKey{ID: usher.PrincipalFrom(r.Context()).UserID()}
}

// me returns the caller's own account; a service account is no Lenses
// user, here as by name.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.MeOfKinds(r.Context(), userKinds)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

// writeSettings writes settings as one JSON object of keys and values.
func writeSettings(w http.ResponseWriter, settings []usher.Setting) error {
	out := make(map[string]json.RawMessage, len(settings))
	for _, s := range settings {
		out[s.Key] = s.Value
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request) error {
	settings, err := h.Settings.Get(r.Context(), self(r))
	if err != nil {
		return err
	}
	return writeSettings(w, settings)
}

// updateSettings merges a JSON object into the caller's settings: absent
// keys are left alone, a null value removes its key.
func (h *Handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	data, err := web.ReadJSONBody(r)
	if err != nil {
		return err
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(data, &values); err != nil || values == nil {
		return web.Invalid("", usher.CodeMalformedJSON, "the body must be a JSON object of settings")
	}
	settings, err := h.Settings.Update(r.Context(), self(r), values)
	if err != nil {
		return err
	}
	return writeSettings(w, settings)
}

// endSessions ends every session of the caller, the one in use included,
// and removes the cookie.
func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Auth.EndSessions(r.Context()); err != nil {
		return err
	}
	h.session().Clear(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// login checks a username (or e-mail address) and password and puts the
// new session into the session_id cookie; the answer has no body.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) error {
	// A log-in another site makes a browser send would sign its user in
	// to an account of that site's choosing.
	if err := h.origin.Check(r); err != nil {
		return err
	}
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := h.Auth.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		return err
	}
	h.session().Set(w, r, s.Secret, s.Token.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}
