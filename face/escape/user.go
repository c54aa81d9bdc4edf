package escape

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"usher"
	"usher/web"
)

// userJSON is Escape's User.
type userJSON struct {
	ID          string      `json:"id"`
	Username    string      `json:"username"`
	Email       string      `json:"email"`
	FirstName   string      `json:"first_name"`
	LastName    string      `json:"last_name"`
	Description string      `json:"description"`
	Activated   bool        `json:"activated"`
	IsConfirmed *bool       `json:"is_confirmed"`
	AvatarURL   string      `json:"avatar_url"`
	AvatarURI   string      `json:"avatar_uri"`
	Provider    *string     `json:"provider"`
	ProviderID  *string     `json:"provider_id"`
	Plan        *planJSON   `json:"plan"`
	Groups      []groupJSON `json:"groups"`
}

// Escape's providers of an account.
const (
	providerEmail          = "email"
	providerServiceAccount = "service-account"
)

// toUserJSON converts a user, with its memberships when they were read,
// as the caller may see it (view), on plan (Plans.Of). What the core
// withholds from the public profile — whether the address is confirmed,
// the identity's provider, the plan — is null, not a value made up from
// its absence (a confirmation never made, "email", the default plan).
func toUserJSON(u *usher.User, ms []*usher.Membership, view usher.UserView, plan *usher.Plan) userJSON {
	out := userJSON{ID: u.UUID, Username: u.NameOrHandle(), Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Description: u.Bio, Activated: u.State == usher.StateActive, Groups: toGroupsJSON(ms)}
	if view != usher.ViewProfile {
		confirmed, provider, providerID := u.EmailConfirmedAt != nil, providerEmail, ""
		switch {
		case u.Kind == usher.KindServiceAccount:
			provider = providerServiceAccount
		case len(u.Identities) > 0:
			provider, providerID = u.Identities[0].Provider, u.Identities[0].ExternUID
		}
		out.IsConfirmed, out.Provider, out.ProviderID = &confirmed, &provider, &providerID
	}
	if plan != nil {
		p := toPlanJSON(plan)
		out.Plan = &p
	}
	if u.AvatarETag != "" {
		out.AvatarURL = Prefix + "/users/" + url.PathEscape(u.NameOrHandle()) + "/avatar/?v=" + url.QueryEscape(u.AvatarETag)
	}
	return out
}

// userKey is the user a path names by username (or, for an account
// without one, usher.KeyOfName's "@" and handle).
func userKey(r *http.Request) usher.UserKey {
	return usher.KeyOfName(r.PathValue("username"))
}

// writeUser answers with one user, its groups and its plan.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, u *usher.User) error {
	ms, err := h.Groups.UserGroups(r.Context(), usher.UserKey{ID: u.ID}, usher.GroupTeam, usher.GroupInternal)
	if err != nil {
		return err
	}
	plans, err := h.Plans.Of(r.Context(), []*usher.User{u})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toUserJSON(u, ms, h.Users.View(r.Context(), u), plans[0]))
}

// me answers the caller's own account.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.Me(r.Context())
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u)
}

// listUsers answers the users whose username, name or address holds the
// query, each with its groups. Escape's list has no pages: the face reads
// the core's, the largest it gives, and writes each before reading the
// next, so that a list of every user is never held whole.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	query := q.String("query")
	if err := q.Err(); err != nil {
		return err
	}
	f := usher.UserFilter{Query: query, SearchEmail: true, WithGroups: []usher.GroupKind{usher.GroupTeam, usher.GroupInternal},
		Page: usher.PageRequest{Limit: readPage}}
	return web.WriteJSONPages(w, r, h.log(), "[", "]\n", func() ([]userJSON, bool, error) {
		page, err := h.Users.List(r.Context(), f)
		if err != nil {
			return nil, false, web.RenameFields(err, map[string]string{"q": "query"})
		}
		plans, err := h.Plans.Of(r.Context(), page.Items)
		if err != nil {
			return nil, false, err
		}
		out := make([]userJSON, 0, len(page.Items))
		for i, u := range page.Items {
			out = append(out, toUserJSON(u, page.Memberships[u.ID], h.Users.View(r.Context(), u), plans[i]))
		}
		f.Page.After = page.Next
		return out, page.Next != nil, nil
	})
}

// readPage is the page the face asks the core for when it reads a list
// through; the core caps it, and it bounds what is held at once.
const readPage = 1000

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.Users.Get(r.Context(), userKey(r))
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u)
}

// updateUser changes the fields of a User a person edits: names, the
// description and the address. Absent fields are left alone.
func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email       web.Optional[string] `json:"email"`
		FirstName   web.Optional[string] `json:"first_name"`
		LastName    web.Optional[string] `json:"last_name"`
		Description web.Optional[string] `json:"description"`
		Username    web.Optional[string] `json:"username"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.Users.Update(r.Context(), userKey(r), usher.UserUpdate{Email: req.Email.Ptr(), FirstName: req.FirstName.Ptr(),
		LastName: req.LastName.Ptr(), Bio: req.Description.Ptr(), Username: req.Username.Ptr()})
	if err != nil {
		return web.RenameFields(err, map[string]string{"bio": "description"})
	}
	return h.writeUser(w, r, u)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Users.Delete(r.Context(), userKey(r)); err != nil {
		return err
	}
	return empty(w)
}

// activate lifts a user's suspension: Escape's activated user.
func (h *Handler) activate(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Users.Unsuspend(r.Context(), userKey(r)); err != nil {
		return err
	}
	return empty(w)
}

// deactivate suspends a user: it cannot log in, and its sessions end.
func (h *Handler) deactivate(w http.ResponseWriter, r *http.Request) error {
	if _, err := h.Users.Suspend(r.Context(), userKey(r)); err != nil {
		return err
	}
	return empty(w)
}

// setPlan assigns a plan to a user by name.
func (h *Handler) setPlan(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		// The native API's empty plan takes a user off its plan; Escape
		// assigns one, by a name no plan lacks.
		return web.Invalid("name", usher.CodeRequired, "is required: the name of the plan to assign")
	}
	if _, err := h.Users.Update(r.Context(), userKey(r), usher.UserUpdate{Plan: &req.Name}); err != nil {
		return web.RenameFields(err, map[string]string{"plan": "name"})
	}
	return empty(w)
}

// avatar answers a user's avatar image.
func (h *Handler) avatar(w http.ResponseWriter, r *http.Request) error {
	a, err := h.Avatars.Get(r.Context(), userKey(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("ETag", `"`+a.ETag+`"`)
	// Only images are taken, but a browser must not read one as anything
	// else at usher's origin, as the native face's avatar says.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(a.Data)
	return err
}

// setAvatar takes Escape's image_uri: the image as a data URI
// ("data:image/png;base64,…") or plain base64.
func (h *Handler) setAvatar(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ImageURI string `json:"image_uri"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	text := req.ImageURI
	if rest, ok := strings.CutPrefix(text, "data:"); ok {
		meta, data, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(meta, ";base64") {
			return web.Invalid("image_uri", usher.CodeInvalid, "must be a base64 data URI or base64")
		}
		text = data
	}
	data, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(data) == 0 {
		return web.Invalid("image_uri", usher.CodeInvalid, "must be a base64 data URI or base64")
	}
	if _, err := h.Avatars.Set(r.Context(), userKey(r), data); err != nil {
		return web.RenameFields(err, map[string]string{"avatar": "image_uri"})
	}
	return empty(w)
}
