package pages

import (
	"net/http"
	"strconv"
	"strings"

	"usher"
	"usher/web"
)

// groupData is a group's page: the group, a page of its members, and, by
// its kind, its service accounts (teams) or its permission rules (roles).
type groupData struct {
	Group   *usher.Group
	Levels  []usher.Level
	Members []*usher.Membership
	Next    string
	// Accounts are a team's service accounts.
	Accounts []*usher.User
	// Rules are a role's permission rules; Operations what a rule may name.
	Rules      []usher.Rule
	Operations []usher.Operation
}

// groupRef reads the {id} of a group of the console.
func groupRef(r *http.Request) (usher.GroupRef, error) {
	id, err := pathID(r)
	return usher.GroupRef{ID: id}, err
}

// adminGroup shows a group with its members, and what its kind holds.
func (h *Handler) adminGroup(w http.ResponseWriter, r *http.Request) error {
	return h.showGroup(w, r, http.StatusOK, view{})
}

// showGroup renders the page of the group of the request's {id} with v's
// notice or error.
func (h *Handler) showGroup(w http.ResponseWriter, r *http.Request, status int, v view) error {
	g, ref, err := h.consoleGroup(w, r)
	if g == nil {
		return err
	}
	ctx := r.Context()
	d := groupData{Group: g, Levels: g.Kind.Levels()}
	req := usher.PageRequest{Limit: 50}
	if req.After, err = after(r); err != nil {
		return err
	}
	members, err := h.Groups.Members(ctx, ref, req)
	if err != nil {
		return err
	}
	d.Members = members.Items
	if members.Next != nil {
		d.Next = web.EncodeCursor(*members.Next)
	}
	if g.Kind.HoldsServiceAccounts() {
		accounts, err := h.Groups.ServiceAccounts(ctx, ref, usher.PageRequest{Limit: 100})
		if err != nil {
			return err
		}
		d.Accounts = accounts.Items
	}
	if g.Kind.CarriesRules() {
		if d.Rules, err = h.Groups.Rules(ctx, ref); err != nil {
			return err
		}
		if d.Operations, err = h.Groups.Operations(ctx); err != nil {
			return err
		}
	}
	v.Title, v.Data = g.Name, d
	return h.render(w, r, status, "admin_group", v)
}

// consoleGroup returns the group of the request's {id} to an
// administrator; nil when it answered already, or with an error.
func (h *Handler) consoleGroup(w http.ResponseWriter, r *http.Request) (*usher.Group, usher.GroupRef, error) {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return nil, usher.GroupRef{}, err
	}
	ref, err := groupRef(r)
	if err != nil {
		return nil, ref, err
	}
	g, _, err := h.Groups.Get(r.Context(), ref)
	return g, ref, err
}

// groupForm checks an administrator's form about the group of the
// request's {id}.
func (h *Handler) groupForm(w http.ResponseWriter, r *http.Request) (*usher.Principal, usher.GroupRef, error) {
	p, err := h.adminForm(w, r)
	if p == nil {
		return nil, usher.GroupRef{}, err
	}
	ref, err := groupRef(r)
	return p, ref, err
}

// groupResult shows the group again after a change: with the notice, or
// with the core's refusal of a form (other errors go to the error page).
func (h *Handler) groupResult(w http.ResponseWriter, r *http.Request, notice string, err error) error {
	if err == nil {
		return h.showGroup(w, r, http.StatusOK, view{Notice: notice})
	}
	e := usher.AsError(err)
	switch e.Kind {
	case usher.KindInvalid, usher.KindUnprocessable, usher.KindConflict:
		v := view{}
		v.Error, v.Fields = fieldErrors(err)
		return h.showGroup(w, r, statuses[e.Kind], v)
	}
	return err
}

// deleteGroup deletes the group, with a team's service accounts, as the
// native API's DELETE does; its page stays, to restore it from.
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	_, err = h.Groups.Delete(r.Context(), ref)
	return h.groupResult(w, r, "The group is deleted.", err)
}

// undeleteGroup restores a deleted group. A team's service accounts
// deleted with it stay deleted: each is restored on its own.
func (h *Handler) undeleteGroup(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	_, err = h.Groups.Undelete(r.Context(), ref)
	return h.groupResult(w, r, "The group is restored.", err)
}

// setMember adds a user, by username, to the group at a level, or changes
// the level of a member.
func (h *Handler) setMember(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	if username == "" {
		return h.groupResult(w, r, "", web.Invalid("username", usher.CodeRequired, "is required"))
	}
	_, err = h.Groups.AddMember(r.Context(), ref, usher.UserKey{Username: username}, usher.Level(r.PostForm.Get("level")))
	return h.groupResult(w, r, username+" is a member at the level chosen.", err)
}

// setMemberLevel changes the level of the member a row of the members
// table shows, by the user id the row was drawn for: a username read when
// the button is pressed may be another account's by then (the member
// renamed, another took the name).
func (h *Handler) setMemberLevel(w http.ResponseWriter, r *http.Request) error {
	ref, member, err := h.memberForm(w, r)
	if member == nil || err != nil {
		return err
	}
	_, err = h.Groups.SetMemberLevel(r.Context(), ref, *member, usher.Level(r.PostForm.Get("level")))
	return h.groupResult(w, r, "The member's level is set.", err)
}

// removeMember takes a member out of the group.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request) error {
	ref, member, err := h.memberForm(w, r)
	if member == nil || err != nil {
		return err
	}
	err = h.Groups.RemoveMember(r.Context(), ref, *member)
	return h.groupResult(w, r, "The member is removed.", err)
}

// memberForm is groupForm for a form on one member's row: the group, and
// the member by the user id in the path. A nil member with a nil error
// means the answer was written.
func (h *Handler) memberForm(w http.ResponseWriter, r *http.Request) (usher.GroupRef, *usher.UserKey, error) {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return ref, nil, err
	}
	uid, err := strconv.ParseInt(r.PathValue("uid"), 10, 64)
	if err != nil || uid <= 0 {
		return ref, nil, web.Invalid("uid", usher.CodeInvalidID, "is not a valid user id")
	}
	return ref, &usher.UserKey{ID: uid}, nil
}

// addRule adds a permission rule to a role, or changes its verdict.
func (h *Handler) addRule(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	f := r.PostForm
	resource, operation, _ := strings.Cut(f.Get("operation"), ".")
	if target := strings.TrimSpace(f.Get("instance")); target != "" {
		resource += ":" + target
	}
	rule := usher.Rule{Resource: resource, Operation: operation, Access: usher.Access(f.Get("access"))}
	_, err = h.Groups.SetRules(r.Context(), ref, []usher.Rule{rule}, false)
	return h.groupResult(w, r, "The rule is set.", err)
}

// removeRule removes a role's rule on one resource and operation.
func (h *Handler) removeRule(w http.ResponseWriter, r *http.Request) error {
	p, ref, err := h.groupForm(w, r)
	if p == nil || err != nil {
		return err
	}
	err = h.Groups.RemoveRule(r.Context(), ref, r.PostForm.Get("resource"), r.PostForm.Get("operation"))
	return h.groupResult(w, r, "The rule is removed.", err)
}

// createGroup makes a group of the kind chosen and opens its page.
func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	f := r.PostForm
	g, err := h.Groups.Create(r.Context(), usher.GroupCreate{Kind: usher.GroupKind(f.Get("kind")),
		Handle: strings.TrimSpace(f.Get("handle")), Name: f.Get("name")})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/groups/"+strconv.FormatInt(g.ID, 10), http.StatusSeeOther)
	return nil
}
