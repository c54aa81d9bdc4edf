package corteza_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"
	"usher"
	"usher/core/coretest"
)

// TestCreateUserRequiresEmail: POST /users/ without an email is refused
// by Corteza 2020.9 (system/service/user.go Create: mail.ParseAddress
// fails, UserErrInvalidEmail); the document marks email as required.
func TestCreateUserRequiresEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, "POST", "/users/", b.adminJWT, map[string]any{"name": "No Mail", "handle": "nomail"})
	if res.errMessage(t) == "" {
		t.Errorf("POST /users/ without email was accepted (Corteza answers \"invalid email\"): %s", res.body)
	}
}

// TestUserListUnknownRoleIsEmpty: GET /users/?roleID=<no such role> is, in
// Corteza 2020.9, a membership subquery (system/repository/user.go Find:
// u.ID IN (SELECT rel_user FROM sys_role_member WHERE rel_role = ?)):
// an empty list, not an error.
func TestUserListUnknownRoleIsEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := b.list(t, "/users/?roleID=987654")
	if l.Error != nil || len(l.Set()) != 0 {
		t.Errorf("GET /users/?roleID=987654 answered %+v, %d users; Corteza answers an empty list (set null, count 0)", l.Error, len(l.Set()))
	}
	// With a role that has a member, that member.
	role, err := b.env.Core.Groups.Create(coretest.System(), usher.GroupCreate{Kind: usher.GroupRole, Handle: "eds", Name: "Eds", Members: []int64{b.user.ID}})
	if err != nil {
		t.Fatal(err)
	}
	l = b.list(t, fmt.Sprintf("/users/?roleID=987654&roleID=%d", role.ID))
	if got := l.field("username"); l.Error != nil || len(got) != 1 || got[0] != b.user.Username {
		t.Errorf("GET /users/?roleID=987654&roleID=%d answered %+v, %v; want the role's member alone", role.ID, l.Error, got)
	}
}

// TestUserListUnknownKindIsEmpty: GET /users/?kind=foo filters u.kind = 'foo'
// in Corteza 2020.9 (system/repository/user.go Find), which matches no
// user; the face listed every normal user.
func TestUserListUnknownKindIsEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t)
	l := b.list(t, "/users/?kind=foo")
	if l.Error != nil || len(l.Set()) != 0 {
		t.Errorf("GET /users/?kind=foo answered %+v, %d users %v; Corteza lists none of kind \"foo\"", l.Error, len(l.Set()), l.field("username"))
	}
	if l := b.list(t, "/users/?kind=bot"); l.Error != nil {
		t.Errorf("GET /users/?kind=bot: %+v", l.Error)
	}
}

// TestRuleResourceExtraSegmentRefused: Corteza 2020.9 checks each rule of a
// PATCH against its whitelist by the resource with the id trimmed off
// (pkg/permissions Whitelist.Check, Resource.TrimID: up to the last ':'),
// so "system:role:*:x" (trimmed "system:role:*:") is refused with
// "invalid rule". The face stores it as a rule.
func TestRuleResourceExtraSegmentRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out struct {
		Response struct {
			RoleID string `json:"roleID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": "Eds", "handle": "eds"}).decode(t, &out)
	rid := out.Response.RoleID
	res := b.do(t, "PATCH", "/permissions/"+rid+"/rules", b.adminJWT,
		`{"rules":[{"resource":"system:role:*:x","operation":"read","access":"allow"}]}`)
	if res.errMessage(t) == "" {
		t.Errorf("PATCH rules with resource system:role:*:x was accepted (Corteza refuses it: invalid rule): %s", res.body)
	}
}

// TestSignupKeepsHandle: POST /auth/internal/signup takes a handle (the
// document lists it); Corteza 2020.9 stores it (system/rest/auth_internal.go
// Signup: types.User{Email, Handle, Username, Name}; service/auth.go
// InternalSignUp checks handle.IsValid and creates the user with it).
func TestSignupKeepsHandle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, "POST", "/auth/internal/signup", "", map[string]any{"email": "ada@example.com", "username": "ada",
		"password": "another long passphrase", "name": "Ada", "handle": "countess-ada"})
	var out struct {
		Response struct {
			User struct {
				UserID string `json:"userID"`
				Handle string `json:"handle"`
			} `json:"user"`
		} `json:"response"`
	}
	res.decode(t, &out)
	if out.Response.User.UserID == "" {
		t.Fatalf("signup: %s", res.body)
	}
	var u struct {
		Response struct {
			Handle string `json:"handle"`
		} `json:"response"`
	}
	b.do(t, "GET", "/users/"+out.Response.User.UserID, b.adminJWT, nil).decode(t, &u)
	if u.Response.Handle != "countess-ada" {
		t.Errorf("signup with handle \"countess-ada\" made a user with handle %q (answer %s)", u.Response.Handle, res.body)
	}
}

// TestReminderResourceIsAPrefix: Corteza 2020.9 filters reminders by
// resource as a prefix (system/repository/reminder.go Find: r.resource
// LIKE resource%), so ?resource=system:user lists a reminder on
// system:user:2; the face matched the whole resource and listed none.
func TestReminderResourceIsAPrefix(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, "POST", "/reminder/", b.adminJWT, map[string]any{"resource": "system:user:" + strconv.FormatInt(b.user.ID, 10),
		"assignedTo": strconv.FormatInt(b.admin.ID, 10), "payload": map[string]any{}, "remindAt": b.clock.Now().Add(time.Hour).Format(time.RFC3339)})
	if msg := res.errMessage(t); msg != "" {
		t.Fatalf("a reminder: %s", msg)
	}
	for q, want := range map[string]int{"system:user": 1, "system:user:" + strconv.FormatInt(b.user.ID, 10): 1, "system:role": 0, "SYSTEM:user": 0, "system_user": 0} {
		l := b.list(t, "/reminder/?resource="+q)
		if l.Error != nil || len(l.Set()) != want {
			t.Errorf("GET /reminder/?resource=%s listed %d reminders (error %v), want %d", q, len(l.Set()), l.Error, want)
		}
	}
}

// TestRoleUpdateKeepsMembersOfAnEmptyList: Corteza 2020.9's Role.Update
// (system/rest/role.go) replaces a role's members only when it is given
// some; a client sending the role back with "members": [] emptied it here
// (round 43).
func TestRoleUpdateKeepsMembersOfAnEmptyList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	role := b.editorsRole(t)
	uid := strconv.FormatInt(b.user.ID, 10)
	wantErr(t, b.do(t, "POST", "/roles/"+role+"/member/"+uid, b.adminJWT, nil), "")
	for _, members := range []any{[]string{}, nil} {
		wantErr(t, b.do(t, "PUT", "/roles/"+role, b.adminJWT, map[string]any{"name": "Editors", "handle": "editors", "members": members}), "")
		var got struct{ Response []string }
		b.do(t, "GET", "/roles/"+role+"/members", b.adminJWT, nil).decode(t, &got)
		if len(got.Response) != 1 || got.Response[0] != uid {
			t.Errorf("members after an update with members %v: %v, want [%s] kept", members, got.Response, uid)
		}
	}
	// Some members still replace them.
	wantErr(t, b.do(t, "PUT", "/roles/"+role, b.adminJWT, map[string]any{"name": "Editors", "handle": "editors",
		"members": []string{strconv.FormatInt(b.admin.ID, 10)}}), "")
	var got struct{ Response []string }
	b.do(t, "GET", "/roles/"+role+"/members", b.adminJWT, nil).decode(t, &got)
	if len(got.Response) != 1 || got.Response[0] != strconv.FormatInt(b.admin.ID, 10) {
		t.Errorf("members after an update naming the administrator: %v", got.Response)
	}
}

// TestReminderWritesEveryField: Corteza 2020.9's types.Reminder writes
// dismissedBy, dismissedAt and remindAt with no omitempty: "0", null and
// null on a reminder neither dismissed nor scheduled, where the face left
// them out (round 43).
func TestReminderWritesEveryField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	uid := strconv.FormatInt(b.user.ID, 10)
	res := b.do(t, "POST", "/reminder/", b.userJWT, map[string]any{"resource": "system:user:" + uid, "assignedTo": uid, "payload": map[string]any{}})
	wantErr(t, res, "")
	var out struct{ Response map[string]any }
	res.decode(t, &out)
	for field, want := range map[string]any{"dismissedBy": "0", "dismissedAt": nil, "remindAt": nil} {
		if v, ok := out.Response[field]; !ok || v != want {
			t.Errorf("%s: %v (given %v), want %v: %s", field, v, ok, want, res.body)
		}
	}
}
