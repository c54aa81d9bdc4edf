package native

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// GroupService is what the face needs of the core's groups.
type GroupService interface {
	Create(ctx context.Context, in usher.GroupCreate) (*usher.Group, error)
	Get(ctx context.Context, ref usher.GroupRef) (*usher.Group, usher.Level, error)
	List(ctx context.Context, f usher.GroupFilter) (*usher.Page[*usher.Group], error)
	Update(ctx context.Context, ref usher.GroupRef, in usher.GroupUpdate) (*usher.Group, error)
	SetArchived(ctx context.Context, ref usher.GroupRef, archived bool) (*usher.Group, error)
	Delete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Undelete(ctx context.Context, ref usher.GroupRef) (*usher.Group, error)
	Move(ctx context.Context, ref usher.GroupRef, orgID int64) (*usher.Group, error)
	Merge(ctx context.Context, source, target usher.GroupRef) (*usher.Group, error)
	Members(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.Membership], error)
	MemberIDs(ctx context.Context, ref usher.GroupRef, req usher.PageRequest) (*usher.Page[int64], error)
	AddMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey, level usher.Level) (*usher.Membership, error)
	RemoveMember(ctx context.Context, ref usher.GroupRef, key usher.UserKey) error
	UserGroups(ctx context.Context, key usher.UserKey, kinds ...usher.GroupKind) ([]*usher.Membership, error)
	SetUserGroups(ctx context.Context, key usher.UserKey, in usher.GroupChanges) ([]*usher.Membership, error)
	Operations(ctx context.Context) ([]usher.Operation, error)
	Effective(ctx context.Context, resource string) ([]usher.Permission, error)
	Rules(ctx context.Context, ref usher.GroupRef) ([]usher.Rule, error)
	SetRules(ctx context.Context, ref usher.GroupRef, rules []usher.Rule, replace bool) ([]usher.Rule, error)
	DeleteRules(ctx context.Context, ref usher.GroupRef) (int, error)
	CreateServiceAccount(ctx context.Context, team usher.GroupRef, username, name string) (*usher.User, error)
	ServiceAccounts(ctx context.Context, team usher.GroupRef, req usher.PageRequest) (*usher.Page[*usher.User], error)
	DeleteServiceAccount(ctx context.Context, team usher.GroupRef, account usher.UserKey) error
	ServiceAccountToken(ctx context.Context, team usher.GroupRef, account usher.UserKey, regenerate bool) (*usher.Token, string, error)
}

// groupJSON is the native representation of a group.
type groupJSON struct {
	ID             int64      `json:"id"`
	Kind           string     `json:"kind"`
	Handle         string     `json:"handle"`
	Name           string     `json:"name"`
	Description    string     `json:"description"`
	Logo           string     `json:"logo"`
	OrganisationID *int64     `json:"organisation_id"`
	Members        int        `json:"members"`
	Level          string     `json:"level,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	ArchivedAt     *time.Time `json:"archived_at"`
	DeletedAt      *time.Time `json:"deleted_at"`
	Version        int64      `json:"version"`
}

func toGroupJSON(g *usher.Group, level usher.Level) groupJSON {
	return groupJSON{ID: g.ID, Kind: string(g.Kind), Handle: g.Handle, Name: g.Name, Description: g.Description,
		Logo: g.Logo, OrganisationID: optionalID(g.OrganisationID), Members: g.Members, Level: string(level),
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt, ArchivedAt: g.ArchivedAt, DeletedAt: g.DeletedAt, Version: g.Version}
}

// writeGroup writes one group with its ETag, "<version>-<id>": the version
// If-Match names, and the id a conditional change by handle must match.
func writeGroup(w http.ResponseWriter, status int, g *usher.Group, level usher.Level) error {
	w.Header().Set("ETag", `"`+strconv.FormatInt(g.Version, 10)+"-"+strconv.FormatInt(g.ID, 10)+`"`)
	return web.WriteJSON(w, status, toGroupJSON(g, level))
}

// groupRef passes the {group} path segment — a numeric id, kind:handle
// (role:helpdesk) or a bare handle — to the core, which reads it.
func groupRef(r *http.Request) (usher.GroupRef, error) {
	return usher.GroupRef{Text: r.PathValue("group")}, nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Kind           string  `json:"kind"`
		Handle         string  `json:"handle"`
		Name           string  `json:"name"`
		Description    string  `json:"description"`
		Logo           string  `json:"logo"`
		OrganisationID int64   `json:"organisation_id"`
		Members        []int64 `json:"members"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	g, err := h.Groups.Create(r.Context(), usher.GroupCreate{Kind: usher.GroupKind(req.Kind), Handle: req.Handle, Name: req.Name,
		Description: req.Description, Logo: req.Logo, OrganisationID: req.OrganisationID, Members: req.Members})
	if err != nil {
		return err
	}
	// The answer carries the creator's level, as a read does: the core
	// says what it is.
	_, level, err := h.Groups.Get(r.Context(), usher.GroupRef{ID: g.ID})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/groups/"+strconv.FormatInt(g.ID, 10))
	return writeGroup(w, http.StatusCreated, g, level)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *http.Request) error {
	q := web.NewQuery(r)
	f := usher.GroupFilter{Query: q.String("q"), Handle: q.String("handle"),
		Archived: inclusion(q, "archived"), Deleted: inclusion(q, "deleted"), Page: idPage(q)}
	if k := q.String("kind"); k != "" {
		f.Kinds = []usher.GroupKind{usher.GroupKind(k)}
	}
	f.OrganisationID = int64(q.Int("organisation", 0, 1, 1<<62))
	f.MemberID = int64(q.Int("member", 0, 1, 1<<62))
	if err := q.Err(); err != nil {
		return err
	}
	page, err := h.Groups.List(r.Context(), f)
	if err != nil {
		return err
	}
	return writePage(w, r, page, func(g *usher.Group) groupJSON { return toGroupJSON(g, "") }, idCursor)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	g, level, err := h.Groups.Get(r.Context(), ref)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, level)
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Handle      web.Optional[string] `json:"handle"`
		Name        web.Optional[string] `json:"name"`
		Description web.Optional[string] `json:"description"`
		Logo        web.Optional[string] `json:"logo"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	in := usher.GroupUpdate{Handle: req.Handle.Ptr(), Name: req.Name.Ptr(), Description: req.Description.Ptr(), Logo: req.Logo.Ptr()}
	if ref, err = h.conditionalGroup(r, ref); err != nil {
		return err
	}
	g, err := h.Groups.Update(r.Context(), ref, in)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}

// ifMatch reads an If-Match header: the version it names, or -1 for a tag
// that cannot match; ok is false when there is none (or it is *). A user's
// ETag follows its version with a digest of one representation (userETag),
// which If-Match does not compare: "<version>" alone matches as well.
func ifMatch(r *http.Request) (int64, bool) {
	match := r.Header.Get("If-Match")
	if match == "" || match == "*" {
		return 0, false
	}
	version, _, _ := strings.Cut(strings.Trim(match, `"`), "-")
	v, err := strconv.ParseInt(version, 10, 64)
	if err != nil || !strings.HasPrefix(match, `"`) {
		return -1, true
	}
	return v, true
}

// ifMatchNames reports whether the If-Match tag ends with the id, as the
// ETags of users and groups do: a change of one named by a name that may
// have changed hands since the read must match the one the tag was read
// from.
func ifMatchNames(r *http.Request, id int64) bool {
	tag := strings.Trim(strings.TrimSpace(r.Header.Get("If-Match")), `"`)
	i := strings.LastIndexByte(tag, '-')
	return i > 0 && tag[i+1:] == strconv.FormatInt(id, 10)
}

// errTagNamesAnother is the 412 of a conditional change whose tag names
// another user or group than the name in the path, or none.
func errTagNamesAnother(what string) error {
	return &usher.Error{Kind: usher.KindPrecondition, Code: usher.CodeVersionMismatch,
		Message: "If-Match names another " + what + ", or no " + what + ": a " + what + " named by a name is matched by its whole ETag"}
}

// groupAction serves the endpoints that change a group and answer with it:
// DELETE /v1/groups/{group} and POST /v1/groups/{group}/undelete. With
// live, the action is on a live group, and If-Match holds it to the one
// read, as conditionalUser does a user's.
func (h *Handler) groupAction(act func(GroupService, context.Context, usher.GroupRef) (*usher.Group, error), live bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		if live {
			if ref, err = h.conditionalGroup(r, ref); err != nil {
				return err
			}
		}
		g, err := act(h.Groups, r.Context(), ref)
		if err != nil {
			return err
		}
		return writeGroup(w, http.StatusOK, g, "")
	}
}

// conditionalGroup is, for a change of a live group with If-Match, the
// group to change, held to the tag's version, which the core compares as
// it changes the group (else 412). Named by its handle, which a rename
// frees for another group, it is the tag's group (its id ends the tag),
// by id, else 412 at once.
func (h *Handler) conditionalGroup(r *http.Request, ref usher.GroupRef) (usher.GroupRef, error) {
	v, ok := ifMatch(r)
	if !ok {
		return ref, nil
	}
	if _, err := strconv.ParseInt(ref.Text, 10, 64); err != nil {
		g, _, err := h.Groups.Get(r.Context(), ref)
		if err != nil {
			return ref, err
		}
		if !ifMatchNames(r, g.ID) {
			return ref, errTagNamesAnother("group")
		}
		ref = usher.GroupRef{ID: g.ID}
	}
	ref.IfVersion = &v
	return ref, nil
}

// archiveGroup serves POST /v1/groups/{group}/archive and unarchive.
func (h *Handler) archiveGroup(archived bool) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref, err := groupRef(r)
		if err != nil {
			return err
		}
		if ref, err = h.conditionalGroup(r, ref); err != nil {
			return err
		}
		g, err := h.Groups.SetArchived(r.Context(), ref, archived)
		if err != nil {
			return err
		}
		return writeGroup(w, http.StatusOK, g, "")
	}
}

func (h *Handler) moveGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		OrganisationID web.Optional[int64] `json:"organisation_id"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if !req.OrganisationID.Set {
		return web.Invalid("organisation_id", usher.CodeRequired, "is required (null for none)")
	}
	g, err := h.Groups.Move(r.Context(), ref, req.OrganisationID.Value)
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}

func (h *Handler) mergeGroup(w http.ResponseWriter, r *http.Request) error {
	ref, err := groupRef(r)
	if err != nil {
		return err
	}
	var req struct {
		Into int64 `json:"into"`
	}
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.Into <= 0 {
		return web.Invalid("into", usher.CodeRequired, "is required: the id of the group to merge into")
	}
	g, err := h.Groups.Merge(r.Context(), ref, usher.GroupRef{ID: req.Into})
	if err != nil {
		return err
	}
	return writeGroup(w, http.StatusOK, g, "")
}
