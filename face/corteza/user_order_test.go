package corteza_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestUserListHiddenRoleAddsNone: past TestUserListUnknownRoleIsEmpty, a
// role the caller may not see (a rule denies them group.read on it) turned
// the whole list into an error, even beside a role they may see, and told
// that role apart from an unknown id (round 40). It adds no one, as an
// unknown one.
func TestUserListHiddenRoleAddsNone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	sys := coretest.System()
	hidden, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "hidden", Name: "Hidden", Members: []int64{b.admin.ID}})
	if err != nil {
		t.Fatal(err)
	}
	visible, err := b.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupRole, Handle: "visible", Name: "Visible", Members: []int64{b.user.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Groups.SetRules(sys, usher.GroupRef{ID: visible.ID},
		[]usher.Rule{{Resource: "group:" + strconv.FormatInt(hidden.ID, 10), Operation: "read", Access: usher.Deny}}, true); err != nil {
		t.Fatal(err)
	}
	get := func(path string) listAnswer {
		var out listAnswer
		b.do(t, "GET", path, b.userJWT, nil).decode(t, &out)
		return out
	}
	unknown := get("/users/?roleID=987654")
	if unknown.Error != nil || len(unknown.Set()) != 0 {
		t.Fatalf("GET /users/?roleID=987654 as plain: %+v %v (want an empty list)", unknown.Error, unknown.field("username"))
	}
	if l := get(fmt.Sprintf("/users/?roleID=%d", hidden.ID)); l.Error != nil || len(l.Set()) != 0 {
		t.Errorf("GET /users/?roleID=<role plain may not see> as plain: error %+v, users %v; want an empty list, as for an unknown role id (the hidden role adds none, and is not told apart from one that does not exist)", l.Error, l.field("username"))
	}
	if l := get(fmt.Sprintf("/users/?roleID=%d&roleID=%d", hidden.ID, visible.ID)); l.Error != nil || len(l.field("username")) != 1 || l.field("username")[0] != "plain" {
		t.Errorf("GET /users/?roleID=<hidden>&roleID=<visible> as plain: error %+v, users %v; want [plain], the visible role's member", l.Error, l.field("username"))
	}
}

// TestCreateUserHandleCheckedBeforeEmail: Corteza 2020.9's user service
// Create checks the handle (handle.IsValid: UserErrInvalidHandle) before it
// parses the address (UserErrInvalidEmail); the face refused a missing
// address before the core saw the handle (round 40). The core checks the
// address (UserCreate.EmailRequired) after the handle.
func TestCreateUserHandleCheckedBeforeEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withEmail := b.do(t, "POST", "/users/", b.adminJWT, map[string]any{"email": "bad@example.com", "name": "Bad", "handle": "!!bad"}).errMessage(t)
	noEmail := b.do(t, "POST", "/users/", b.adminJWT, map[string]any{"name": "Bad", "handle": "!!bad"}).errMessage(t)
	if withEmail == "" || !strings.HasPrefix(noEmail, withEmail) {
		t.Errorf("POST /users/ with handle \"!!bad\" and no email: error %q; with an email the same handle is %q — Corteza checks the handle first and answers the handle's error either way", noEmail, withEmail)
	}
}

// TestCreateUserPermissionBeforeEmail: Corteza 2020.9's Create first
// asks CanCreateUser (UserErrNotAllowedToCreate), then the handle, then the
// address. The face's email check came before the core's authorization,
// so a caller who may not create users and sent no email was told
// "invalid email" instead of being refused (round 40).
func TestCreateUserPermissionBeforeEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	withEmail := b.do(t, "POST", "/users/", b.userJWT, map[string]any{"email": "new@example.com", "name": "New"})
	noEmail := b.do(t, "POST", "/users/", b.userJWT, map[string]any{"name": "New"})
	if w, n := withEmail.errMessage(t), noEmail.errMessage(t); w == "" || n != w {
		t.Errorf("POST /users/ as a user who may not create users, without email: %d %q; with an email: %d %q — want the same refusal (Corteza checks CanCreateUser first)", noEmail.status, n, withEmail.status, w)
	}
}
