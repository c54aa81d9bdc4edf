package native

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// KeyService is what the face needs of the core's SSH keys.
type KeyService interface {
	Add(ctx context.Context, key usher.UserKey, title, text string, expires *time.Time) (*usher.SSHKey, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.SSHKey, error)
	Get(ctx context.Context, key usher.UserKey, id int64) (*usher.SSHKey, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
}

// EmailService is what the face needs of the core's secondary addresses.
type EmailService interface {
	Add(ctx context.Context, key usher.UserKey, addr string, skipConfirmation bool) (*usher.Email, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.Email, error)
	Get(ctx context.Context, key usher.UserKey, id int64) (*usher.Email, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
	Confirm(ctx context.Context, code string) (*usher.Email, error)
	MakePrimary(ctx context.Context, key usher.UserKey, id int64) (*usher.User, error)
}

// SettingService is what the face needs of the core's settings.
type SettingService interface {
	Get(ctx context.Context, key usher.UserKey) ([]usher.Setting, error)
	Update(ctx context.Context, key usher.UserKey, values map[string]json.RawMessage) ([]usher.Setting, error)
}

// AvatarService is what the face needs of the core's avatars.
type AvatarService interface {
	Get(ctx context.Context, key usher.UserKey) (*usher.Avatar, error)
	Set(ctx context.Context, key usher.UserKey, data []byte) (*usher.Avatar, error)
	Delete(ctx context.Context, key usher.UserKey) error
}

// keyJSON is the native representation of an SSH key.
type keyJSON struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	Key         string     `json:"key"`
	Fingerprint string     `json:"fingerprint"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

func toKeyJSON(k *usher.SSHKey) keyJSON {
	return keyJSON{k.ID, k.Title, k.Key, k.Fingerprint, k.CreatedAt, k.ExpiresAt}
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	keys, err := h.Keys.List(r.Context(), key)
	if err != nil {
		return err
	}
	return writeList(w, keys, toKeyJSON)
}

func (h *Handler) addKey(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Title     string     `json:"title"`
		Key       string     `json:"key"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	k, err := h.Keys.Add(r.Context(), key, req.Title, req.Key, req.ExpiresAt)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(k.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toKeyJSON(k))
}

func (h *Handler) getKey(w http.ResponseWriter, r *http.Request) error {
	key, id, err := h.userAndID(r)
	if err != nil {
		return err
	}
	k, err := h.Keys.Get(r.Context(), key, id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toKeyJSON(k))
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) error {
	key, id, err := h.userAndID(r)
	if err != nil {
		return err
	}
	if err := h.Keys.Delete(r.Context(), key, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userAndID reads the {user} and {id} path segments.
func (h *Handler) userAndID(r *http.Request) (usher.UserKey, int64, error) {
	key, err := h.userRef(r)
	if err != nil {
		return key, 0, err
	}
	id, err := pathID(r, "id")
	return key, id, err
}

// emailJSON is the native representation of a secondary address.
type emailJSON struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

func toEmailJSON(e *usher.Email) emailJSON {
	return emailJSON{e.ID, e.Email, e.ConfirmedAt, e.CreatedAt}
}

func (h *Handler) listEmails(w http.ResponseWriter, r *http.Request) error {
	if err := web.NewQuery(r).Err(); err != nil {
		// A whole list takes no parameter: a cursor is not ignored.
		return err
	}
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	emails, err := h.Emails.List(r.Context(), key)
	if err != nil {
		return err
	}
	return writeList(w, emails, toEmailJSON)
}

func (h *Handler) addEmail(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Email            string `json:"email"`
		SkipConfirmation bool   `json:"skip_confirmation"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	e, err := h.Emails.Add(r.Context(), key, req.Email, req.SkipConfirmation)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(e.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toEmailJSON(e))
}

func (h *Handler) getEmail(w http.ResponseWriter, r *http.Request) error {
	key, id, err := h.userAndID(r)
	if err != nil {
		return err
	}
	e, err := h.Emails.Get(r.Context(), key, id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toEmailJSON(e))
}

func (h *Handler) deleteEmail(w http.ResponseWriter, r *http.Request) error {
	key, id, err := h.userAndID(r)
	if err != nil {
		return err
	}
	if err := h.Emails.Delete(r.Context(), key, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// makePrimary makes a confirmed secondary address the user's primary one
// and answers the user.
func (h *Handler) makePrimary(w http.ResponseWriter, r *http.Request) error {
	key, id, err := h.userAndID(r)
	if err != nil {
		return err
	}
	u, err := h.Emails.MakePrimary(r.Context(), key, id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toUserJSON(u))
}

func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Code string `json:"code"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	e, err := h.Emails.Confirm(r.Context(), req.Code)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toEmailJSON(e))
}

// writeSettings writes settings as one JSON object of key to value.
func writeSettings(w http.ResponseWriter, settings []usher.Setting) error {
	out := make(map[string]json.RawMessage, len(settings))
	for _, s := range settings {
		out[s.Key] = s.Value
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) settings(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	settings, err := h.Settings.Get(r.Context(), key)
	if err != nil {
		return err
	}
	return writeSettings(w, settings)
}

// updateSettings merges a JSON object of settings into the user's: a null
// value removes its setting.
func (h *Handler) updateSettings(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	data, err := web.ReadJSONBody(r)
	if err != nil {
		return err
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(data, &values); err != nil || values == nil {
		return web.Invalid("", usher.CodeInvalidJSON, "the body must be a JSON object of settings")
	}
	settings, err := h.Settings.Update(r.Context(), key, values)
	if err != nil {
		return err
	}
	return writeSettings(w, settings)
}

// avatar serves a user's picture to anyone, with its ETag so that caches
// revalidate it cheaply.
func (h *Handler) avatar(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	av, err := h.Avatars.Get(r.Context(), key)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+av.ETag+`"`)
	w.Header().Set("Cache-Control", "public, max-age=300, must-revalidate")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Last-Modified", av.UpdatedAt.UTC().Format(http.TimeFormat))
	if etagMatches(r.Header.Get("If-None-Match"), av.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", av.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(av.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(av.Data)
	}
	return nil
}

// etagMatches reports whether an If-None-Match header names tag; weak
// comparison, as RFC 9110 has it for If-None-Match.
func etagMatches(header, tag string) bool {
	for _, item := range strings.Split(header, ",") {
		item = strings.TrimPrefix(strings.TrimSpace(item), "W/")
		if item == "*" || item == `"`+tag+`"` {
			return true
		}
	}
	return false
}

func (h *Handler) setAvatar(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	data, err := web.ReadBody(r)
	if err != nil {
		return err
	}
	av, err := h.Avatars.Set(r.Context(), key, data)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+av.ETag+`"`)
	return web.WriteJSON(w, http.StatusOK, avatarJSON{ContentType: av.ContentType, Size: len(av.Data),
		ETag: av.ETag, UpdatedAt: av.UpdatedAt, URL: avatarURL(av.UserID, av.ETag)})
}

// avatarJSON describes a stored avatar.
type avatarJSON struct {
	URL         string    `json:"url"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	ETag        string    `json:"etag"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// avatarURL is the path of a user's avatar; the tag in its query changes
// with the picture, so a cache never serves an old one under it.
func avatarURL(userID int64, etag string) string {
	return "/v1/users/" + strconv.FormatInt(userID, 10) + "/avatar?v=" + etag
}

func (h *Handler) deleteAvatar(w http.ResponseWriter, r *http.Request) error {
	key, err := h.userRef(r)
	if err != nil {
		return err
	}
	if err := h.Avatars.Delete(r.Context(), key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
