package corteza

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usher"
)

// UserService is what the face needs of the core's users.
type UserService interface {
	Create(ctx context.Context, in usher.UserCreate) (*usher.User, error)
	Get(ctx context.Context, key usher.UserKey) (*usher.User, error)
	List(ctx context.Context, f usher.UserFilter) (*usher.UserPage, error)
	Update(ctx context.Context, key usher.UserKey, in usher.UserUpdate) (*usher.User, error)
	Delete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Undelete(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Suspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
	Unsuspend(ctx context.Context, key usher.UserKey) (*usher.User, error)
}

// user is Corteza's types.User.
type user struct {
	ID             int64           `json:"userID,string"`
	Username       string          `json:"username"`
	Email          string          `json:"email"`
	Name           string          `json:"name"`
	Handle         string          `json:"handle"`
	Kind           string          `json:"kind"`
	Meta           json.RawMessage `json:"meta"`
	OrganisationID int64           `json:"organisationID,string"`
	RelatedUserID  int64           `json:"relatedUserID,string"`
	User           *user           `json:"user"`
	CreatedAt      time.Time       `json:"createdAt"`
	UpdatedAt      *time.Time      `json:"updatedAt,omitempty"`
	SuspendedAt    *time.Time      `json:"suspendedAt,omitempty"`
	DeletedAt      *time.Time      `json:"deletedAt,omitempty"`
}

func toUser(u *usher.User) *user {
	out := &user{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name, Handle: u.Handle,
		Meta: u.Meta, OrganisationID: u.OrganisationID, CreatedAt: u.CreatedAt, SuspendedAt: u.SuspendedAt, DeletedAt: u.DeletedAt}
	if u.Kind == usher.KindBot {
		out.Kind = "bot"
	}
	if len(out.Meta) == 0 {
		out.Meta = json.RawMessage("{}")
	}
	if !u.UpdatedAt.IsZero() && !u.UpdatedAt.Equal(u.CreatedAt) {
		t := u.UpdatedAt
		out.UpdatedAt = &t
	}
	return out
}

// userFilter is the filter a user list echoes.
type userFilter struct {
	UserID    []int64 `json:"userID"`
	RoleID    []int64 `json:"roleID"`
	Query     string  `json:"query"`
	Email     string  `json:"email"`
	Username  string  `json:"username"`
	Handle    string  `json:"handle"`
	Kind      string  `json:"kind"`
	Deleted   int     `json:"deleted"`
	Suspended int     `json:"suspended"`
	Sort      string  `json:"sort"`
	paging
}

// userKey reads the userID path value.
func userKey(p *params) (usher.UserKey, error) {
	id, err := p.id("userID")
	if err != nil || id == 0 {
		return usher.UserKey{}, errNotFound("user")
	}
	return usher.UserKey{ID: id}, nil
}

// userSorts maps Corteza's sort onto the core's: its column names ("id",
// "created_at DESC", which Corteza's repository takes) and the fields its
// answers name ("userID", "createdAt DESC").
var userSorts = map[string]usher.UserSort{
	"": usher.SortIDAsc, "userid": usher.SortIDAsc, "userid asc": usher.SortIDAsc, "userid desc": usher.SortIDDesc,
	"id": usher.SortIDAsc, "id asc": usher.SortIDAsc, "id desc": usher.SortIDDesc,
	"createdat": usher.SortCreatedAsc, "createdat asc": usher.SortCreatedAsc, "createdat desc": usher.SortCreatedDesc,
	"created_at": usher.SortCreatedAsc, "created_at asc": usher.SortCreatedAsc, "created_at desc": usher.SortCreatedDesc,
	"username": usher.SortUsernameAsc, "username asc": usher.SortUsernameAsc, "username desc": usher.SortUsernameDesc,
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	f := userFilter{Query: p.str("query"), Email: p.str("email"), Username: p.str("username"), Handle: p.str("handle"),
		Kind: p.str("kind"), Sort: p.str("sort")}
	if f.UserID, err = ids(p.strs("userID")); err != nil {
		return err
	}
	if f.RoleID, err = ids(p.strs("roleID")); err != nil {
		return err
	}
	if f.Deleted, err = p.state("deleted", "incDeleted"); err != nil {
		return err
	}
	if f.Suspended, err = p.state("suspended", "incSuspended"); err != nil {
		return err
	}
	if f.paging, err = p.paging(); err != nil {
		return err
	}
	sort, known := userSorts[strings.ToLower(strings.Join(strings.Fields(f.Sort), " "))]
	if !known {
		return &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid sort: " + f.Sort}
	}
	uf := usher.UserFilter{Query: f.Query, SearchEmail: true, Email: f.Email, Username: f.Username, Handle: f.Handle,
		Deleted: inclusion(f.Deleted), Suspended: inclusion(f.Suspended), Sort: sort, Page: f.request()}
	switch f.Kind {
	case "":
	case "bot":
		uf.Kind = usher.KindBot
	default:
		// Corteza filters by the kind as written, and has no other:
		// none match.
		return respond(w, listPayload{Filter: f, Set: nil})
	}
	uf.IDs = f.UserID
	// Corteza's list sorts by id when asked for no sort, and echoes it.
	f.Sort = cmp.Or(f.Sort, "id")
	if len(f.RoleID) > 0 {
		members, err := h.roleMembers(r.Context(), f.RoleID)
		if err != nil {
			return err
		}
		if len(uf.IDs) > 0 {
			members = intersect(uf.IDs, members)
		}
		if len(members) == 0 {
			return respond(w, listPayload{Filter: f, Set: nil})
		}
		uf.IDs = members
	}
	page, err := h.Users.List(r.Context(), uf)
	if err != nil {
		return err
	}
	f.Count = max(page.Total, 0)
	var set []*user
	for _, u := range page.Items {
		set = append(set, toUser(u))
	}
	return respond(w, listPayload{Filter: f, Set: set})
}

// listPayload is Corteza's list: the echoed filter and the set, null when
// empty.
type listPayload struct {
	Filter any `json:"filter"`
	Set    any `json:"set"`
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	in := usher.UserCreate{Email: p.str("email"), Name: p.str("name"), Handle: p.str("handle"), Username: p.str("username"),
		UsernameOptional: true, EmailRequired: true, Meta: p.raw("meta")}
	if p.str("kind") == "bot" {
		in.Kind = usher.KindBot
	}
	if in.Meta != nil && string(in.Meta) == "null" {
		in.Meta = nil
	}
	u, err := h.Users.Create(r.Context(), in)
	if err != nil {
		return err
	}
	return respond(w, toUser(u))
}

func (h *Handler) readUser(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	key, err := userKey(p)
	if err != nil {
		return err
	}
	u, err := h.Users.Get(r.Context(), key)
	if err != nil {
		return err
	}
	return respond(w, toUser(u))
}

func (h *Handler) updateUser(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	key, err := userKey(p)
	if err != nil {
		return err
	}
	in := usher.UserUpdate{Email: p.optStr("email"), Name: p.optStr("name"), Handle: p.optStr("handle")}
	if p.has("kind") {
		if in.Kind, err = h.kind(r.Context(), key, p.str("kind")); err != nil {
			return err
		}
	}
	if m := p.raw("meta"); m != nil && string(m) != "null" {
		in.Meta = &m
	}
	u, err := h.Users.Update(r.Context(), key, in)
	if err != nil {
		return err
	}
	return respond(w, toUser(u))
}

// kind translates Corteza's kind of a user, "bot" or "" (not a bot), for
// an update of the user key names: "" makes a bot a normal account and
// leaves any other kind as it is, so that a service account, which Corteza
// shows as "", stays one when a client sends back what it read.
func (h *Handler) kind(ctx context.Context, key usher.UserKey, kind string) (*usher.UserKind, error) {
	k := usher.KindBot
	if kind != "bot" {
		u, err := h.Users.Get(ctx, key)
		if err != nil || u.Kind != usher.KindBot {
			return nil, err
		}
		k = usher.KindNormal
	}
	return &k, nil
}

// userAction is an OK-only action on a user.
func (h *Handler) userAction(act func(context.Context, usher.UserKey) (*usher.User, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := readParams(r)
		if err != nil {
			return err
		}
		key, err := userKey(p)
		if err != nil {
			return err
		}
		if _, err := act(r.Context(), key); err != nil {
			return err
		}
		return ok(w)
	}
}

func (h *Handler) setUserPassword(w http.ResponseWriter, r *http.Request) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	key, err := userKey(p)
	if err != nil {
		return err
	}
	if err := h.Auth.SetPassword(r.Context(), key, p.str("password")); err != nil {
		return err
	}
	return ok(w)
}

// nilIfEmpty keeps an empty list null in the echoed filter.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// ids parses a list of id strings.
func ids(list []string) ([]int64, error) {
	var out []int64
	for _, s := range list {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 {
			return nil, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeInvalidParameter, Message: "invalid ID: " + s}
		}
		out = append(out, v)
	}
	return out, nil
}

// intersect keeps the ids of a that are in b.
func intersect(a, b []int64) []int64 {
	in := make(map[int64]bool, len(b))
	for _, v := range b {
		in[v] = true
	}
	var out []int64
	for _, v := range a {
		if in[v] {
			out = append(out, v)
		}
	}
	return out
}
