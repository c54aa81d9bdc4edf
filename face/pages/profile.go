package pages

import (
	"context"
	"io"
	"net/http"
	"time"

	"usher"
	"usher/web"
)

// AvatarService is what the pages need of the core's avatars.
type AvatarService interface {
	Set(ctx context.Context, key usher.UserKey, data []byte) (*usher.Avatar, error)
	Delete(ctx context.Context, key usher.UserKey) error
}

// EmailService is what the pages need of the core's secondary addresses.
type EmailService interface {
	Add(ctx context.Context, key usher.UserKey, addr string, skipConfirmation bool) (*usher.Email, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.Email, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
	Confirm(ctx context.Context, code string) (*usher.Email, error)
	MakePrimary(ctx context.Context, key usher.UserKey, id int64) (*usher.User, error)
}

// KeyService is what the pages need of the core's SSH keys.
type KeyService interface {
	Add(ctx context.Context, key usher.UserKey, title, text string, expires *time.Time) (*usher.SSHKey, error)
	List(ctx context.Context, key usher.UserKey) ([]*usher.SSHKey, error)
	Delete(ctx context.Context, key usher.UserKey, id int64) error
}

// GroupService is what the pages need of the core's groups.
type GroupService interface {
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	List(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error)
	Get(ctx context.Context, ref usher.GroupRef) (*usher.Group, usher.Level, error)
	Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error)
	Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Undelete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Members(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.Membership], error)
	AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	SetMemberLevel(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error
	ServiceAccounts(ctx context.Context, team usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.User], error)
	CreateServiceAccount(ctx context.Context, team usher.GroupRef, username, name string) (*usher.User, error)
	ServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) (*usher.User, error)
	ServiceAccountToken(ctx context.Context, team usher.GroupRef, account usher.UserKey, regenerate bool) (*usher.Token, string, error)
	Operations(ctx context.Context) ([]usher.Operation, error)
	Rules(ctx context.Context, ref usher.GroupRef) ([]usher.Rule, error)
	SetRules(ctx context.Context, ref usher.GroupRef, rules []usher.Rule, replace bool) ([]usher.Rule, error)
	RemoveRule(ctx context.Context, ref usher.GroupRef, resource, operation string) error
}

// maxAvatar bounds an avatar upload; the core decides what it accepts.
const maxAvatar = 4 << 20

// setAvatar takes an uploaded picture as the signed-in person's avatar.
func (h *Handler) setAvatar(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	web.UploadBody(w, r, maxAvatar+64<<10)
	if err := h.checkForm(r); err != nil {
		return err
	}
	me := usher.UserKey{ID: p.UserID()}
	v := view{Title: "Your profile"}
	if r.PostForm.Get("remove") == "yes" {
		if err := h.Avatars.Delete(r.Context(), me); err != nil {
			return h.formError(w, r, "account", v, err)
		}
		v.Notice = "Your picture is removed."
	} else {
		f, _, err := r.FormFile("avatar")
		if err != nil {
			v.Error = "Choose a picture to upload."
			return h.render(w, r, http.StatusBadRequest, "account", v)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxAvatar+1))
		if err != nil {
			return err
		}
		if _, err := h.Avatars.Set(r.Context(), me, data); err != nil {
			return h.formError(w, r, "account", v, err)
		}
		v.Notice = "Your picture is saved."
	}
	// Read afresh: the principal's account is as it was before the change.
	u, err := h.Users.Get(r.Context(), me)
	if err != nil {
		return err
	}
	v.Me = u
	return h.render(w, r, http.StatusOK, "account", v)
}

func (h *Handler) emailsPage(w http.ResponseWriter, r *http.Request) error {
	return h.showEmails(w, r, view{Title: "Your e-mail addresses"})
}

func (h *Handler) showEmails(w http.ResponseWriter, r *http.Request, v view) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	list, err := h.Emails.List(r.Context(), usher.UserKey{ID: p.UserID()})
	if err != nil {
		return err
	}
	v.Data = list
	return h.render(w, r, http.StatusOK, "emails", v)
}

// addEmail adds an address; the core mails it a code to confirm it.
func (h *Handler) addEmail(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	addr := r.PostForm.Get("email")
	v := view{Title: "Your e-mail addresses"}
	if _, err := h.Emails.Add(r.Context(), usher.UserKey{ID: p.UserID()}, addr, false); err != nil {
		v.Error, v.Fields = fieldErrors(err)
		if v.Error == "" {
			return err
		}
	} else {
		v.Notice = "We sent a code to " + addr + " to confirm it."
	}
	return h.showEmails(w, r, v)
}

func (h *Handler) deleteEmail(w http.ResponseWriter, r *http.Request) error {
	p, id, err := h.postedID(w, r)
	if p == nil {
		return err
	}
	if err := h.Emails.Delete(r.Context(), usher.UserKey{ID: p.UserID()}, id); err != nil {
		return err
	}
	return h.showEmails(w, r, view{Title: "Your e-mail addresses", Notice: "The address is removed."})
}

// makePrimary makes a confirmed address the account's primary one; the
// one it replaces stays among the other addresses.
func (h *Handler) makePrimary(w http.ResponseWriter, r *http.Request) error {
	p, id, err := h.postedID(w, r)
	if p == nil {
		return err
	}
	v := view{Title: "Your e-mail addresses"}
	u, err := h.Emails.MakePrimary(r.Context(), usher.UserKey{ID: p.UserID()}, id)
	if err != nil {
		// An address that may not become primary is said on the page;
		// an unknown one is a 404 like any unknown page.
		if v.Error, _ = fieldErrors(err); v.Error == "" || usher.ErrorKind(err) != usher.KindUnprocessable {
			return err
		}
		return h.showEmails(w, r, v)
	}
	v.Me, v.Notice = u, u.Email+" is now your primary address."
	return h.showEmails(w, r, v)
}

func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request) error {
	return h.showKeys(w, r, view{Title: "Your SSH keys"})
}

func (h *Handler) showKeys(w http.ResponseWriter, r *http.Request, v view) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	list, err := h.Keys.List(r.Context(), usher.UserKey{ID: p.UserID()})
	if err != nil {
		return err
	}
	v.Data = list
	return h.render(w, r, http.StatusOK, "keys", v)
}

func (h *Handler) addKey(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	v := view{Title: "Your SSH keys"}
	if _, err := h.Keys.Add(r.Context(), usher.UserKey{ID: p.UserID()}, r.PostForm.Get("title"), r.PostForm.Get("key"), nil); err != nil {
		v.Error, v.Fields = fieldErrors(err)
		if v.Error == "" {
			return err
		}
	} else {
		v.Notice = "The key is added."
	}
	return h.showKeys(w, r, v)
}

func (h *Handler) deleteKey(w http.ResponseWriter, r *http.Request) error {
	p, id, err := h.postedID(w, r)
	if p == nil {
		return err
	}
	if err := h.Keys.Delete(r.Context(), usher.UserKey{ID: p.UserID()}, id); err != nil {
		return err
	}
	return h.showKeys(w, r, view{Title: "Your SSH keys", Notice: "The key is removed."})
}

// teamsPage lists the teams and groups the signed-in person belongs to.
func (h *Handler) teamsPage(w http.ResponseWriter, r *http.Request) error {
	p := h.signedIn(w, r)
	if p == nil {
		return nil
	}
	ms, err := h.Groups.UserGroups(r.Context(), usher.UserKey{ID: p.UserID()})
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "teams", view{Title: "Your teams and groups", Data: ms})
}

// fieldErrors returns the message and field problems of an error the core
// refused a form with, or "" for an internal error, which a page does not
// show.
func fieldErrors(err error) (string, map[string]string) {
	e := usher.AsError(err)
	if e.Kind == usher.KindInternal {
		return "", nil
	}
	fields := make(map[string]string)
	for _, f := range e.Fields {
		fields[f.Field] = f.Message
	}
	return e.Message, fields
}
