package gitlab

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// timeLayout is how GitLab writes times: UTC, with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// gitlabTime is a time written as GitLab writes it.
type gitlabTime time.Time

// MarshalJSON writes the time in timeLayout.
func (t gitlabTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

// optionalTime is nil for no time, so that it is written as null.
func optionalTime(t *time.Time) *gitlabTime {
	if t == nil {
		return nil
	}
	g := gitlabTime(*t)
	return &g
}

// optionalText is nil for the empty string, so that it is written as null:
// GitLab shows an unset bio or location as null.
func optionalText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// states maps usher's account states onto GitLab's. GitLab has no pending
// state (an unconfirmed user is active with confirmed_at null) and no
// suspension; its "deactivated" is the nearest.
var states = map[usher.UserState]string{
	usher.StateActive:          "active",
	usher.StatePending:         "active",
	usher.StateBlocked:         "blocked",
	usher.StateBlockedExternal: "ldap_blocked",
	usher.StateSuspended:       "deactivated",
}

// basicUserJSON is the user as a list shows it to a user who is not an
// administrator.
type basicUserJSON struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
}

// userJSON is one user as GET /users/:id shows it to a user who is not an
// administrator.
type userJSON struct {
	ID         int64      `json:"id"`
	Username   string     `json:"username"`
	Name       string     `json:"name"`
	State      string     `json:"state"`
	AvatarURL  *string    `json:"avatar_url"`
	WebURL     string     `json:"web_url"`
	CreatedAt  gitlabTime `json:"created_at"`
	IsAdmin    bool       `json:"is_admin"`
	Bio        *string    `json:"bio"`
	Location   *string    `json:"location"`
	Skype      string     `json:"skype"`
	Linkedin   string     `json:"linkedin"`
	Twitter    string     `json:"twitter"`
	WebsiteURL string     `json:"website_url"`
}

// adminUserJSON is the user as administrators see it, and as every user
// sees itself at GET /user (less private_token: see docs/gitlab.md).
type adminUserJSON struct {
	ID               int64          `json:"id"`
	Username         string         `json:"username"`
	Email            string         `json:"email"`
	Name             string         `json:"name"`
	State            string         `json:"state"`
	AvatarURL        *string        `json:"avatar_url"`
	WebURL           string         `json:"web_url"`
	CreatedAt        gitlabTime     `json:"created_at"`
	IsAdmin          bool           `json:"is_admin"`
	Bio              *string        `json:"bio"`
	Location         *string        `json:"location"`
	Skype            string         `json:"skype"`
	Linkedin         string         `json:"linkedin"`
	Twitter          string         `json:"twitter"`
	WebsiteURL       string         `json:"website_url"`
	LastSignInAt     *gitlabTime    `json:"last_sign_in_at"`
	ConfirmedAt      *gitlabTime    `json:"confirmed_at"`
	ThemeID          int            `json:"theme_id"`
	ColorSchemeID    int            `json:"color_scheme_id"`
	ProjectsLimit    int            `json:"projects_limit"`
	CurrentSignInAt  *gitlabTime    `json:"current_sign_in_at"`
	Identities       []identityJSON `json:"identities"`
	CanCreateGroup   bool           `json:"can_create_group"`
	CanCreateProject bool           `json:"can_create_project"`
	TwoFactorEnabled bool           `json:"two_factor_enabled"`
	External         bool           `json:"external"`
}

type identityJSON struct {
	Provider  string `json:"provider"`
	ExternUID string `json:"extern_uid"`
}

// avatarURL is where usher serves the user's avatar, with its entity tag
// so that a new picture is a new URL; nil when the user has none.
func (h *Handler) avatarURL(r *http.Request, u *usher.User) *string {
	if u.AvatarETag == "" {
		return nil
	}
	s := web.BaseURL(r, h.BaseURL) + "/v1/users/" + strconv.FormatInt(u.ID, 10) + "/avatar?v=" + url.QueryEscape(u.AvatarETag)
	return &s
}

// webURL is the user at this face, GET /api/v4/users/:id: usher serves no
// profile pages, and no public one, to point at as GitLab's web_url does.
// It is the same under /api/v3, so that both versions answer alike.
func (h *Handler) webURL(r *http.Request, u *usher.User) string {
	return web.BaseURL(r, h.BaseURL) + versions[0] + "/users/" + strconv.FormatInt(u.ID, 10)
}

func (h *Handler) basicView(r *http.Request, u *usher.User) basicUserJSON {
	return basicUserJSON{ID: u.ID, Username: u.Username, Name: u.Name, State: states[u.State],
		AvatarURL: h.avatarURL(r, u), WebURL: h.webURL(r, u)}
}

func (h *Handler) userView(r *http.Request, u *usher.User) userJSON {
	return userJSON{
		ID: u.ID, Username: u.Username, Name: u.Name, State: states[u.State],
		AvatarURL: h.avatarURL(r, u), WebURL: h.webURL(r, u), CreatedAt: gitlabTime(u.CreatedAt),
		IsAdmin: u.Admin, Bio: optionalText(u.Bio), Location: optionalText(u.Location),
		Skype: u.GitLab.Skype, Linkedin: u.GitLab.LinkedIn, Twitter: u.GitLab.Twitter, WebsiteURL: u.WebsiteURL,
	}
}

func (h *Handler) adminView(r *http.Request, u *usher.User) adminUserJSON {
	out := adminUserJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name, State: states[u.State],
		AvatarURL: h.avatarURL(r, u), WebURL: h.webURL(r, u), CreatedAt: gitlabTime(u.CreatedAt),
		IsAdmin: u.Admin, Bio: optionalText(u.Bio), Location: optionalText(u.Location),
		Skype: u.GitLab.Skype, Linkedin: u.GitLab.LinkedIn, Twitter: u.GitLab.Twitter, WebsiteURL: u.WebsiteURL,
		LastSignInAt: optionalTime(u.LastSignInAt), ConfirmedAt: optionalTime(u.EmailConfirmedAt),
		ThemeID: u.GitLab.ThemeID, ColorSchemeID: u.GitLab.ColorSchemeID, ProjectsLimit: u.GitLab.ProjectsLimit,
		CurrentSignInAt: optionalTime(u.CurrentSignInAt), Identities: make([]identityJSON, 0, len(u.Identities)),
		CanCreateGroup: u.GitLab.CanCreateGroup,
		// usher keeps no projects, so a user's limit is all that is left of
		// it: GitLab's projects_limit_left > 0.
		CanCreateProject: u.GitLab.ProjectsLimit > 0,
		TwoFactorEnabled: u.TwoFactorEnabled, External: u.External,
	}
	for _, id := range u.Identities {
		out.Identities = append(out.Identities, identityJSON(id))
	}
	return out
}

// view is GitLab's representation of u for the caller, by what the core
// says the caller may see of it: the admin view for administrators; for
// users, the user view, or with own the admin view of their own account
// (what GET /user shows them anyway).
func (h *Handler) view(r *http.Request, u *usher.User, own bool) any {
	switch v := h.Users.View(r.Context(), u); {
	case v == usher.ViewAdmin, v == usher.ViewOwn && own:
		return h.adminView(r, u)
	}
	return h.userView(r, u)
}

// resultView is the user a change answers with: GitLab's admin view, as
// GitLab answers its administrators, for administrators and for users who
// changed themselves; the user view for anyone else a permission rule let
// make the change.
func (h *Handler) resultView(r *http.Request, u *usher.User) any { return h.view(r, u, true) }

// pathID reads a numeric path segment; GitLab answers others with 400. A
// number past int64 is one GitLab's route takes and no row has: it is read
// as the largest, which no row has either, so that its look-up answers
// GitLab's 404 of what it names.
func pathID(r *http.Request, segment, param string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(segment), 10, 64)
	if errors.Is(err, strconv.ErrRange) && digits(r.PathValue(segment)) {
		return math.MaxInt64, nil
	}
	if err != nil {
		return 0, paramError{param + " is invalid"}
	}
	return id, nil
}

// userID reads the :id of /users/:id and of /users/:id/emails, which GitLab
// takes as an integer there.
func userID(r *http.Request) (usher.UserKey, error) {
	id, err := pathID(r, "id", "id")
	return usher.UserKey{ID: id}, err
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request, in *params) error {
	pg := in.pagination()
	f := usher.UserFilter{Suspended: usher.Include, Page: usher.PageRequest{WithTotal: true}}
	f.Query, _ = in.text("search")
	f.Username, _ = in.text("username")
	if err := in.err(); err != nil {
		return err
	}
	res, pg, err := h.readPage(r.Context(), f, pg)
	if err != nil {
		return err
	}
	if res.TotalEstimated {
		h.setUncountedPageHeaders(w, r, pg, res.Next != nil)
	} else {
		h.setPageHeaders(w, r, pg, res.Total)
	}
	out := make([]any, 0, len(res.Items))
	for _, u := range res.Items {
		if h.Users.View(r.Context(), u) == usher.ViewAdmin {
			out = append(out, h.adminView(r, u))
		} else {
			out = append(out, h.basicView(r, u))
		}
	}
	return web.WriteJSON(w, http.StatusOK, out)
}

// readPage reads page pg of the users f finds, and returns it with the
// page as the core served it: the core may serve fewer users a page than
// asked for (its policy caps every list), says how many in Limit and
// numbers pages in that size, so that paging through reaches every user
// once.
func (h *Handler) readPage(ctx context.Context, f usher.UserFilter, pg page) (*usher.UserPage, page, error) {
	f.Page.Number, f.Page.Limit = pg.number, pg.size
	res, err := h.Users.List(ctx, f)
	if err != nil {
		return nil, pg, err
	}
	if res.Limit < 1 {
		return nil, pg, fmt.Errorf("gitlab: the core served users in pages of %d", res.Limit)
	}
	pg.size = res.Limit
	return res, pg, nil
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, in *params) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	u, err := h.Users.Get(r.Context(), key)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, h.view(r, u, false))
}

func (h *Handler) currentUser(w http.ResponseWriter, r *http.Request, in *params) error {
	u, err := h.Users.Me(r.Context())
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, h.view(r, u, true))
}

// identity reads extern_uid and provider: either one names an identity,
// and the core requires both.
func identity(in *params) *usher.Identity {
	provider, hasProvider := in.text("provider")
	uid, hasUID := in.text("extern_uid")
	if !hasProvider && !hasUID {
		return nil
	}
	return &usher.Identity{Provider: provider, ExternUID: uid}
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, in *params) error {
	var c usher.UserCreate
	// reset_password=true makes the user without a password and mails a
	// link to set one: GitLab's invitation. Otherwise a password is needed.
	c.SendInvitation = isTrue(in.boolean("reset_password"))
	// force_random_password=true is GitLab's user whose password no one
	// is told, who signs in through an identity's provider or after a
	// reset: usher makes it without one, which signs in alike. A
	// password given beside it is dropped, as GitLab replaces it.
	random := isTrue(in.boolean("force_random_password"))
	if c.SendInvitation || random {
		in.require("email", "username", "name")
	} else {
		in.require("email", "password", "username", "name")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"email", &c.Email}, {"password", &c.Password}, {"username", &c.Username}, {"name", &c.Name},
		{"website_url", &c.WebsiteURL}, {"bio", &c.Bio}, {"location", &c.Location},
	} {
		*f.dst, _ = in.text(f.name)
	}
	c.GitLab = gitLabProfile(in)
	c.Admin = isTrue(in.boolean("admin"))
	c.External = isTrue(in.boolean("external"))
	// confirm=false is the documentation's way to skip confirmation,
	// skip_confirmation=true today's GitLab's; otherwise GitLab mails the
	// address a confirmation. The core decides what either means.
	confirm := in.boolean("confirm")
	c.SkipConfirmation = (confirm != nil && !*confirm) || isTrue(in.boolean("skip_confirmation"))
	c.SendConfirmation = !c.SkipConfirmation
	if id := identity(in); id != nil {
		c.Identities = []usher.Identity{*id}
	}
	if err := in.err(); err != nil {
		return err
	}
	if random {
		c.Password = ""
	}
	if err := blank(c, c.SendInvitation || random); err != nil {
		return err
	}
	u, err := h.Users.Create(r.Context(), c)
	if err != nil {
		return web.RenameFields(err, nameParts)
	}
	return web.WriteJSON(w, http.StatusCreated, h.resultView(r, u))
}

// blank refuses a create whose required parameters were given, as
// require saw, but empty, blank or null: GitLab reads a required parameter
// only when it is present (its API's required_attributes!, its models'
// presence validations) and answers 400 "can't be blank". To the core an
// empty address, name or password is none, which GitLab's users always
// have: a user without a password could not sign in and would be sent no
// invitation, unless it was asked for without one (passwordless).
func blank(c usher.UserCreate, passwordless bool) error {
	fields := []given{{"email", &c.Email}, {"password", &c.Password}, {"username", &c.Username}, {"name", &c.Name}}
	if passwordless {
		fields = slices.Delete(fields, 1, 2)
	}
	return refuseBlank(fields...)
}

// blankChange refuses an update that gives an address, a username or a
// name but empty, blank or null, as blank does a create's.
func blankChange(up usher.UserUpdate) error {
	return refuseBlank(given{"email", up.Email}, given{"username", up.Username}, given{"name", up.Name})
}

// given is a parameter's name and its value, nil when not given.
type given struct {
	name  string
	value *string
}

// refuseBlank answers 400 "can't be blank" for each parameter given empty,
// blank or null, or nil when there is none.
func refuseBlank(params ...given) error {
	var fields []usher.FieldError
	for _, p := range params {
		if p.value != nil && strings.TrimSpace(*p.value) == "" {
			fields = append(fields, usher.FieldError{Field: p.name, Code: usher.CodeRequired, Message: "can't be blank"})
		}
	}
	if len(fields) > 0 {
		return usher.FieldErrors(fields...)
	}
	return nil
}

// gitLabProfile reads the GitLab profile fields of a user's create or
// update.
func gitLabProfile(in *params) usher.GitLabProfileUpdate {
	return usher.GitLabProfileUpdate{
		Skype: in.str("skype"), LinkedIn: in.str("linkedin"), Twitter: in.str("twitter"),
		ProjectsLimit: in.integer("projects_limit"), CanCreateGroup: in.boolean("can_create_group"),
		ThemeID: in.integer("theme_id"), ColorSchemeID: in.integer("color_scheme_id"),
	}
}

func isTrue(b *bool) bool { return b != nil && *b }

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request, in *params) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	up := usher.UserUpdate{
		Email: in.str("email"), Username: in.str("username"), Name: in.str("name"),
		Password: in.str("password"), WebsiteURL: in.str("website_url"), Bio: in.str("bio"),
		Location: in.str("location"), Admin: in.boolean("admin"), External: in.boolean("external"),
		GitLab: gitLabProfile(in), Identity: identity(in),
	}
	// skip_reconfirmation=true takes a new address as confirmed, as GitLab
	// does for administrators; the core refuses anyone else.
	up.EmailConfirmed = up.Email != nil && isTrue(in.boolean("skip_reconfirmation"))
	if err := in.err(); err != nil {
		return err
	}
	if err := blankChange(up); err != nil {
		return err
	}
	u, err := h.Users.Update(r.Context(), key, up)
	if err != nil {
		return web.RenameFields(err, nameParts)
	}
	return web.WriteJSON(w, http.StatusOK, h.resultView(r, u))
}

// nameParts names the parts the core makes of a name by the parameter
// GitLab's API takes them as, which has no others: a name whose part is
// too long or holds a control character is a name that is.
var nameParts = map[string]string{"first_name": "name", "last_name": "name"}

// deleteUser is idempotent, as GitLab's documentation says: 200 with the user when one
// was deleted, 200 without a body when there was none to delete. With
// today's GitLab's hard_delete, the teams the user alone owns go too;
// without, such a user is refused with GitLab's 409. The core
// refuses a caller who may delete no user at all before it looks for the
// user, so only callers allowed to delete learn that one is missing.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, in *params) error {
	key, err := userID(r)
	if err != nil {
		return err
	}
	del := usher.UserDelete{SoleOwnedTeams: isTrue(in.boolean("hard_delete"))}
	if err := in.err(); err != nil {
		return err
	}
	u, err := h.Users.DeleteWith(r.Context(), key, del)
	if usher.ErrorKind(err) == usher.KindNotFound {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, h.resultView(r, u))
}

// stateAction serves block and unblock: GitLab answers true, with 200 for
// the documentation's PUT and 201 for today's POST.
func (h *Handler) stateAction(act func(UserService, context.Context, usher.UserKey) (*usher.User, error), status int) handler {
	return func(w http.ResponseWriter, r *http.Request, in *params) error {
		key, err := userID(r)
		if err != nil {
			return err
		}
		if _, err := act(h.Users, r.Context(), key); err != nil {
			return err
		}
		return web.WriteJSON(w, status, true)
	}
}
