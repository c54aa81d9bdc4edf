package gitlab

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// userRef finds whose keys or addresses a request is about.
type userRef func(r *http.Request) (usher.UserKey, error)

// self is the caller's own account: /user/keys, /user/emails.
func self(r *http.Request) (usher.UserKey, error) {
	return usher.UserKey{ID: usher.PrincipalFrom(r.Context()).UserID()}, nil
}

// pathUser is the :id of /users/:id/keys, an id or a username as GitLab
// takes it there.
func pathUser(r *http.Request) (usher.UserKey, error) {
	ref := r.PathValue("id")
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return usher.UserKey{ID: id}, nil
	}
	return usher.UserKey{Username: ref}, nil
}

// keyJSON is an SSH key as GitLab shows it: the documentation's four fields and
// GitLab v4's expires_at, null for a key that does not expire.
type keyJSON struct {
	ID        int64       `json:"id"`
	Title     string      `json:"title"`
	Key       string      `json:"key"`
	CreatedAt gitlabTime  `json:"created_at"`
	ExpiresAt *gitlabTime `json:"expires_at"`
}

func toKeyJSON(k *usher.SSHKey) keyJSON {
	return keyJSON{ID: k.ID, Title: k.Title, Key: k.Key, CreatedAt: gitlabTime(k.CreatedAt),
		ExpiresAt: optionalTime(k.ExpiresAt)}
}

// emailJSON is a secondary e-mail address as GitLab shows it.
type emailJSON struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

func toEmailJSON(e *usher.Email) emailJSON { return emailJSON{ID: e.ID, Email: e.Email} }

// writeList writes one page of a whole list with GitLab's pagination
// headers.
func writeList[T, J any](h *Handler, w http.ResponseWriter, r *http.Request, pg page, items []T, conv func(T) J) error {
	h.setPageHeaders(w, r, pg, len(items))
	out := make([]J, 0, pg.size)
	for _, it := range slice(items, pg) {
		out = append(out, conv(it))
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// expiry reads the expires_at of a new key: a date (the key expires as it
// begins) or a date and time.
func expiry(in *params) *time.Time {
	s, ok := in.text("expires_at")
	if !ok || s == "" {
		return nil
	}
	// Grape coerces a DateTime with Ruby's DateTime.parse, which takes a
	// time without a zone as UTC, a time without seconds, and a zone
	// with or without its colon. (Go's parsing takes a fraction after the
	// seconds whatever the layout.)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return &t
	}
	for _, sep := range []string{"T", " "} {
		for _, clock := range []string{"15:04:05", "15:04"} {
			for _, zone := range []string{"", "Z07:00", "Z0700"} {
				if t, err := time.Parse(time.DateOnly+sep+clock+zone, s); err == nil {
					return &t
				}
			}
		}
	}
	in.fail("expires_at", "is invalid")
	return nil
}

func (h *Handler) listKeys(ref userRef) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		pg := in.pagination()
		if err := in.err(); err != nil {
			return err
		}
		keys, err := h.Keys.List(r.Context(), key)
		if err != nil {
			return err
		}
		return writeList(h, w, r, pg, keys, toKeyJSON)
	}
}

func (h *Handler) addKey(ref userRef) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		in.require("title", "key")
		title, _ := in.text("title")
		text, _ := in.text("key")
		expires := expiry(in)
		if err := in.err(); err != nil {
			return err
		}
		k, err := h.Keys.Add(r.Context(), key, title, text, expires)
		if err != nil {
			return err
		}
		return web.WriteJSON(w, http.StatusCreated, toKeyJSON(k))
	}
}

func (h *Handler) listEmails(ref userRef) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		pg := in.pagination()
		if err := in.err(); err != nil {
			return err
		}
		emails, err := h.Emails.List(r.Context(), key)
		if err != nil {
			return err
		}
		return writeList(h, w, r, pg, emails, toEmailJSON)
	}
}

func (h *Handler) addEmail(ref userRef) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		in.require("email")
		addr, _ := in.text("email")
		skip := isTrue(in.boolean("skip_confirmation"))
		if err := in.err(); err != nil {
			return err
		}
		e, err := h.Emails.Add(r.Context(), key, addr, skip)
		if err != nil {
			return err
		}
		return web.WriteJSON(w, http.StatusCreated, toEmailJSON(e))
	}
}

// getOne serves GET of one of a user's SSH keys or addresses, by the id in
// the path segment (param in GitLab's error). svc points at the Handler's
// service, read when a request comes, as every handler reads it.
func getOne[S interface {
	Get(ctx context.Context, key usher.UserKey, id int64) (T, error)
}, T, J any](svc *S, conv func(T) J, ref userRef, segment, param string) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		id, err := pathID(r, segment, param)
		if err != nil {
			return err
		}
		v, err := (*svc).Get(r.Context(), key, id)
		if err != nil {
			return err
		}
		return web.WriteJSON(w, http.StatusOK, conv(v))
	}
}

// deleteOne serves DELETE of one of a user's SSH keys or addresses, like
// getOne. On the caller's own (idempotent) it answers 200 whether or not
// the key or address was there, as the documentation says; on another user's, a
// missing user, key or address is 404.
func deleteOne[S interface {
	Delete(ctx context.Context, key usher.UserKey, id int64) error
}](svc *S, ref userRef, segment, param string, idempotent bool) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := ref(r)
		if err != nil {
			return err
		}
		id, err := pathID(r, segment, param)
		if err != nil {
			return err
		}
		err = (*svc).Delete(r.Context(), key, id)
		if err != nil && !(idempotent && usher.ErrorKind(err) == usher.KindNotFound) {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
}
