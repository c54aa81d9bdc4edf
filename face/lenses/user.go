package lenses

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"usher"
	"usher/core"
	"usher/web"
)

// userJSON is Lenses' hq_User.
type userJSON struct {
	Name        string             `json:"name"`
	DisplayName string             `json:"display_name"`
	LRN         string             `json:"lrn"`
	ID          string             `json:"id"`
	CreatedAt   time.Time          `json:"created_at"`
	Groups      []compactGroupJSON `json:"groups"`
	LastSeenAt  *time.Time         `json:"last_seen_at,omitempty"`
	Profile     profileJSON        `json:"profile"`
	IsAdmin     bool               `json:"is_admin"`
	Metadata    map[string]string  `json:"metadata,omitempty"`
}

// profileJSON is Lenses' hq_UserProfile.
type profileJSON struct {
	FullName     string `json:"full_name,omitempty"`
	EmailAddress string `json:"email_address,omitempty"`
}

// compactGroupJSON is Lenses' hq_CompactGroup.
type compactGroupJSON struct {
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	SSOName     string    `json:"sso_name"`
	LRN         string    `json:"lrn"`
	ID          string    `json:"id"`
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description"`
	UserCount   int       `json:"user_count"`
	SACount     int       `json:"sa_count"`
	RoleCount   int       `json:"role_count"`
}

// listJSON is Lenses' list envelope, hq_UserList.
type listJSON struct {
	Items []userJSON `json:"items"`
}

// userLRN is a user's Lenses resource name: service, resource type and
// name, as Lenses' IAM writes them.
func userLRN(name string) string { return "iam:user:" + name }

func groupLRN(handle string) string { return "iam:group:" + handle }

// toUserJSON is u as Lenses shows it, with its groups; members holds the
// groups' member counts by id.
func toUserJSON(u *usher.User, groups []*usher.Group, members map[int64]int) userJSON {
	out := userJSON{
		Name: u.Username, DisplayName: u.DisplayName, LRN: userLRN(u.Username), ID: strconv.FormatInt(u.ID, 10),
		CreatedAt: u.CreatedAt.UTC(), Groups: make([]compactGroupJSON, 0, len(groups)),
		Profile: profileJSON{FullName: u.Name, EmailAddress: u.Email}, IsAdmin: u.Admin, Metadata: u.Metadata,
	}
	if out.DisplayName == "" {
		out.DisplayName = u.Username
	}
	if u.LastSeenAt != nil {
		t := u.LastSeenAt.UTC()
		out.LastSeenAt = &t
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, toCompactGroupJSON(g, members[g.ID]))
	}
	return out
}

// toCompactGroupJSON is g as Lenses shows a group of a user. usher counts
// members without telling users from service accounts, and its plain
// groups hold no roles: user_count counts every member, sa_count and
// role_count are 0.
func toCompactGroupJSON(g *usher.Group, members int) compactGroupJSON {
	name := g.Name
	if name == "" {
		name = g.Handle
	}
	return compactGroupJSON{
		Name: g.Handle, DisplayName: name, LRN: groupLRN(g.Handle), ID: strconv.FormatInt(g.ID, 10),
		CreatedAt: g.CreatedAt.UTC(), Description: g.Description, UserCount: members,
	}
}

// view returns users as Lenses shows them, each with its groups.
func (h *Handler) view(ctx context.Context, users ...*usher.User) ([]userJSON, error) {
	groups := make([][]*usher.Group, len(users))
	ids := map[int64]bool{}
	for i, u := range users {
		ms, err := h.Groups.UserGroups(ctx, usher.UserKey{ID: u.ID}, usher.GroupPlain)
		if err != nil {
			return nil, fmt.Errorf("groups of user %d: %w", u.ID, err)
		}
		for _, m := range ms {
			groups[i] = append(groups[i], m.Group)
			ids[m.GroupID] = true
		}
	}
	members, err := h.memberCounts(ctx, slices.Collect(maps.Keys(ids)))
	if err != nil {
		return nil, err
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = toUserJSON(u, groups[i], members)
	}
	return out, nil
}

// memberCounts returns the member counts of the groups with the given ids
// that the caller may see.
func (h *Handler) memberCounts(ctx context.Context, ids []int64) (map[int64]int, error) {
	out := map[int64]int{}
	f := usher.GroupFilter{Kinds: []usher.GroupKind{usher.GroupPlain}, IDs: ids, Limit: len(ids)}
	for len(out) < len(ids) {
		page, err := h.Groups.List(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("group member counts: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, g := range page {
			out[g.ID] = g.Members
		}
		f.After = page[len(page)-1].ID
	}
	return out, nil
}

// writeUser writes u with its groups.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, status int, u *usher.User) error {
	views, err := h.view(r.Context(), u)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, status, views[0])
}

// lookup finds the user a {name} path segment names. Service accounts are
// usher users too, but Lenses keeps them apart from its users: here they
// are not found.
func (h *Handler) lookup(r *http.Request) (*usher.User, error) {
	u, err := h.Users.Get(r.Context(), usher.UserKey{Username: r.PathValue("name")})
	if err != nil {
		return nil, err
	}
	if u.Kind == usher.KindServiceAccount {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: "user_not_found", Message: "user not found"}
	}
	return u, nil
}

// pageSize is the page the face asks the core for when it reads every
// user; the core caps it.
const pageSize = 1000

// listUsers returns every user, as Lenses does: its list has no pages.
func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	var users []*usher.User
	f := usher.UserFilter{Limit: pageSize}
	for {
		page, err := h.Users.List(r.Context(), f)
		if err != nil {
			return err
		}
		for _, u := range page.Users {
			if u.Kind != usher.KindServiceAccount {
				users = append(users, u)
			}
		}
		if page.Next == nil {
			break
		}
		f.After = page.Next
	}
	views, err := h.view(r.Context(), users...)
	if err != nil {
		return err
	}
	if views == nil {
		views = []userJSON{}
	}
	return web.WriteJSON(w, http.StatusOK, listJSON{Items: views})
}

// Lenses' limits on its request fields.
const (
	maxName        = 100 // a user's name
	maxDisplayName = 150
	maxProfile     = 100 // full_name and email_address
)

// resourceNameRE is Lenses' HQ resource name: lowercase letters, digits and
// hyphens, neither first nor last a hyphen.
var resourceNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// checkName checks the name of a new user against Lenses' request shape.
func checkName(name string) error {
	switch {
	case name == "":
		return web.Invalid("name", "required", "is required")
	case utf8.RuneCountInString(name) > maxName:
		return web.Invalid("name", "too_long", "is longer than %d characters", maxName)
	case !resourceNameRE.MatchString(name):
		return web.Invalid("name", "invalid", "must be lowercase letters, digits and hyphens, and must not start or end with a hyphen")
	}
	return nil
}

// checkLength checks an optional text field: when set, it is from min to
// max characters long.
func checkLength(field string, v *string, minLen, maxLen int) error {
	switch {
	case v == nil:
	case utf8.RuneCountInString(*v) < minLen:
		return web.Invalid(field, "too_short", "is shorter than %d characters", minLen)
	case utf8.RuneCountInString(*v) > maxLen:
		return web.Invalid(field, "too_long", "is longer than %d characters", maxLen)
	}
	return nil
}

// createFields names the core's fields of a user as POST /users does.
var createFields = map[string]string{"username": "name"}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name        string  `json:"name"`
		DisplayName *string `json:"display_name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkName(req.Name); err != nil {
		return err
	}
	if err := checkLength("display_name", req.DisplayName, 1, maxDisplayName); err != nil {
		return err
	}
	display := req.Name
	if req.DisplayName != nil {
		display = *req.DisplayName
	}
	u, err := h.Users.Create(r.Context(), usher.UserCreate{Username: req.Name, DisplayName: display})
	if err != nil {
		return renameFields(err, createFields)
	}
	return h.writeUser(w, r, http.StatusCreated, u)
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DisplayName *string `json:"display_name"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkLength("display_name", req.DisplayName, 1, maxDisplayName); err != nil {
		return err
	}
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	u, err = h.Users.Update(r.Context(), usher.UserKey{ID: u.ID}, usher.UserUpdate{DisplayName: req.DisplayName})
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request) error {
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	if _, err := h.Users.Delete(r.Context(), usher.UserKey{ID: u.ID}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// profileFields names the core's fields of a user as the profile does.
var profileFields = map[string]string{"name": "full_name", "email": "email_address"}

func (h *Handler) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		FullName     *string `json:"full_name"`
		EmailAddress *string `json:"email_address"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkLength("full_name", req.FullName, 0, maxProfile); err != nil {
		return err
	}
	if err := checkLength("email_address", req.EmailAddress, 0, maxProfile); err != nil {
		return err
	}
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	u, err = h.Users.Update(r.Context(), usher.UserKey{ID: u.ID}, usher.UserUpdate{Name: req.FullName, Email: req.EmailAddress})
	if err != nil {
		return renameFields(err, profileFields)
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

// setGroups changes the user's plain groups as Lenses does: set_groups
// alone, or add_to_groups and remove_from_groups, removal winning. The
// answer is the user with its groups.
func (h *Handler) setGroups(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Add    []string `json:"add_to_groups"`
		Remove []string `json:"remove_from_groups"`
		Set    []string `json:"set_groups"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := h.lookup(r)
	if err != nil {
		return err
	}
	in := core.GroupChanges{Kind: usher.GroupPlain, Add: req.Add, Remove: req.Remove, Set: req.Set}
	if _, err := h.Groups.SetUserGroups(r.Context(), usher.UserKey{ID: u.ID}, in); err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}
