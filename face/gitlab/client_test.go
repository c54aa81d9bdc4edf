package gitlab_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"usher"
	"usher/core/coretest"
)

// The tests in this file drive the face with GitLab's own Go client: every
// UsersService call that corresponds to an operation of GitLab's Users API documentation.

// wantStatus fails unless err is the client's error for an answer with the
// status.
func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	if status == http.StatusNotFound {
		if !errors.Is(err, gl.ErrNotFound) {
			t.Fatalf("%s: %v, want 404", what, err)
		}
		return
	}
	var er *gl.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != status {
		t.Fatalf("%s: %v, want %d", what, err, status)
	}
}

func TestClientUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)

	u, res, err := admin.Users.CreateUser(&gl.CreateUserOptions{
		Email: ptr("john@example.com"), Password: ptr(password), Username: ptr("john_smith"),
		Name: ptr("John Smith"), Skype: ptr("john.skype"), Linkedin: ptr("john-in"), Twitter: ptr("@john"),
		WebsiteURL: ptr("https://john.example.com"), ProjectsLimit: ptr(int64(42)),
		ExternUID: ptr("2435223452345"), Provider: ptr("github"), Bio: ptr("Hi"), Location: ptr("Oslo"),
		Admin: ptr(false), CanCreateGroup: ptr(false), External: ptr(true), SkipConfirmation: ptr(true),
	})
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID == 0 || u.Username != "john_smith" || u.Email != "john@example.com" || u.Name != "John Smith" ||
		u.State != "active" || u.Skype != "john.skype" || u.Linkedin != "john-in" || u.Twitter != "@john" ||
		u.WebsiteURL != "https://john.example.com" || u.ProjectsLimit != 42 || u.Bio != "Hi" || u.Location != "Oslo" ||
		u.IsAdmin || u.CanCreateGroup || !u.CanCreateProject || !u.External || u.ConfirmedAt == nil ||
		u.CreatedAt == nil || u.LastSignInAt != nil || u.CurrentSignInAt != nil || u.AvatarURL != "" ||
		u.WebURL != fmt.Sprintf("%s/api/v4/users/%d", baseURL, u.ID) ||
		len(u.Identities) != 1 || u.Identities[0].Provider != "github" || u.Identities[0].ExternUID != "2435223452345" {
		t.Fatalf("CreateUser returned %+v", u)
	}
	// confirm=false is the documentation's spelling; without either, the address
	// waits for confirmation.
	jane, _, err := admin.Users.CreateUser(&gl.CreateUserOptions{Email: ptr("jane@example.com"),
		Password: ptr(password), Username: ptr("jane_smith"), Name: ptr("Jane Smith")})
	if err != nil || jane.ConfirmedAt != nil || jane.ProjectsLimit <= 0 || !jane.CanCreateGroup || jane.Bio != "" {
		t.Fatalf("CreateUser with defaults: %+v, %v", jane, err)
	}

	got, _, err := admin.Users.GetUser(u.ID, gl.GetUsersOptions{})
	if err != nil || got.ID != u.ID || got.Email != "john@example.com" || got.ProjectsLimit != 42 || len(got.Identities) != 1 {
		t.Fatalf("GetUser as admin: %+v, %v", got, err)
	}
	// A plain user sees the user view: no e-mail, no identities.
	got, _, err = plain.Users.GetUser(u.ID, gl.GetUsersOptions{})
	if err != nil || got.Username != "john_smith" || got.Email != "" || got.Identities != nil || got.Bio != "Hi" ||
		got.Skype != "john.skype" || got.CreatedAt == nil || got.ProjectsLimit != 0 {
		t.Fatalf("GetUser as a user: %+v, %v", got, err)
	}
	_, _, err = plain.Users.GetUser(999999, gl.GetUsersOptions{})
	wantStatus(t, "GetUser of nobody", err, http.StatusNotFound)

	u, _, err = admin.Users.ModifyUser(u.ID, &gl.ModifyUserOptions{
		Name: ptr("Johnny Smith"), Email: ptr("johnny@example.com"), Username: ptr("johnny"),
		Password: ptr("another fine password"), Bio: ptr(""), ProjectsLimit: ptr(int64(0)),
		CanCreateGroup: ptr(true), External: ptr(false), Admin: ptr(true),
		ExternUID: ptr("johnny@corp"), Provider: ptr("ldapmain"), Location: ptr("Bergen"),
	})
	if err != nil || u.Name != "Johnny Smith" || u.Email != "johnny@example.com" || u.Username != "johnny" ||
		u.Bio != "" || u.ProjectsLimit != 0 || u.CanCreateProject || !u.CanCreateGroup || u.External || !u.IsAdmin ||
		u.Location != "Bergen" || u.ConfirmedAt != nil {
		t.Fatalf("ModifyUser: %+v, %v", u, err)
	}
	// The identity is added beside the first. (The core's Update returns
	// the user as it was read, without the new identity, so the stored user
	// is what tells.)
	if ids := b.stored(t, u.ID).Identities; len(ids) != 2 || ids[1] != (usher.Identity{Provider: "ldapmain", ExternUID: "johnny@corp"}) {
		t.Fatalf("identities after ModifyUser: %+v", ids)
	}
	if _, err := b.env.Core.Auth.Login(system(), "johnny", "another fine password"); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	_, _, err = plain.Users.ModifyUser(u.ID, &gl.ModifyUserOptions{Name: ptr("Mallory")})
	wantStatus(t, "ModifyUser as a user", err, http.StatusForbidden)
	_, _, err = admin.Users.ModifyUser(u.ID, &gl.ModifyUserOptions{Email: ptr("PLAIN@example.com")})
	wantStatus(t, "ModifyUser to a taken address", err, http.StatusConflict)
	if !strings.Contains(err.Error(), "Email has already been taken") {
		t.Fatalf("ModifyUser to a taken address: %v", err)
	}

	me, _, err := plain.Users.CurrentUser()
	if err != nil || me.ID != b.user.ID || me.Username != "plain" || me.Email != "plain@example.com" || me.IsAdmin {
		t.Fatalf("CurrentUser: %+v, %v", me, err)
	}

	_, _, err = plain.Users.CreateUser(&gl.CreateUserOptions{Email: ptr("x@example.com"), Password: ptr(password),
		Username: ptr("x"), Name: ptr("X")})
	wantStatus(t, "CreateUser as a user", err, http.StatusForbidden)
	_, _, err = admin.Users.CreateUser(&gl.CreateUserOptions{Email: ptr("jane@EXAMPLE.com"), Password: ptr(password),
		Username: ptr("jane2"), Name: ptr("Jane Two")})
	wantStatus(t, "CreateUser with a taken address", err, http.StatusConflict)
	if !strings.Contains(err.Error(), "Email has already been taken") {
		t.Fatalf("CreateUser with a taken address: %v", err)
	}
	_, _, err = admin.Users.CreateUser(&gl.CreateUserOptions{Email: ptr("jane3@example.com"), Password: ptr(password),
		Username: ptr("Jane_Smith"), Name: ptr("Jane Three")})
	wantStatus(t, "CreateUser with a taken username", err, http.StatusConflict)
	if !strings.Contains(err.Error(), "Username has already been taken") {
		t.Fatalf("CreateUser with a taken username: %v", err)
	}

	res, err = admin.Users.DeleteUser(jane.ID)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteUser: %v", err)
	}
	res, err = admin.Users.DeleteUser(jane.ID)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteUser again: %v", err)
	}
	_, _, err = admin.Users.GetUser(jane.ID, gl.GetUsersOptions{})
	wantStatus(t, "GetUser of a deleted user", err, http.StatusNotFound)
	_, err = plain.Users.DeleteUser(u.ID)
	wantStatus(t, "DeleteUser as a user", err, http.StatusForbidden)
}

func TestClientListUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)
	for i := range 7 {
		b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("smith%d", i), Email: fmt.Sprintf("s%d@smiths.example", i),
			Name: fmt.Sprintf("Agent Smith %d", i)})
	}
	b.env.MustCreateUser(t, usher.UserCreate{Username: "neo", Email: "neo@zion.example", Name: "Thomas Anderson"})

	// Every page, followed through X-Next-Page.
	var ids []int64
	opt := &gl.ListUsersOptions{ListOptions: gl.ListOptions{PerPage: 3}}
	pages := 0
	for {
		users, res, err := admin.Users.ListUsers(opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if res.TotalItems != 10 || res.TotalPages != 4 || res.ItemsPerPage != 3 || res.CurrentPage != int64(pages) {
			t.Fatalf("page %d: total %d, pages %d, per page %d, page %d", pages, res.TotalItems, res.TotalPages, res.ItemsPerPage, res.CurrentPage)
		}
		for _, u := range users {
			if u.Email == "" || u.CreatedAt == nil {
				t.Fatalf("admin list without the admin view: %+v", u)
			}
			ids = append(ids, u.ID)
		}
		if res.NextPage == 0 {
			if res.NextLink != "" || res.LastLink == "" {
				t.Fatalf("last page links: next %q, last %q", res.NextLink, res.LastLink)
			}
			break
		}
		if res.NextLink == "" || !strings.HasPrefix(res.NextLink, baseURL+"/api/v4/users?") {
			t.Fatalf("Link next: %q", res.NextLink)
		}
		opt.Page = res.NextPage
	}
	if pages != 4 || len(ids) != 10 || !slices.IsSorted(ids) || slices.Compact(slices.Clone(ids))[9] != ids[9] {
		t.Fatalf("pages %d, ids %v", pages, ids)
	}

	found, res, err := admin.Users.ListUsers(&gl.ListUsersOptions{Search: ptr("SMITH")})
	if err != nil || len(found) != 7 || res.TotalItems != 7 {
		t.Fatalf("search by name: %d users, %v", len(found), err)
	}
	found, _, err = admin.Users.ListUsers(&gl.ListUsersOptions{Search: ptr("zion.example")})
	if err != nil || len(found) != 1 || found[0].Username != "neo" {
		t.Fatalf("an admin's search by address: %+v, %v", found, err)
	}
	// A plain user's search never matches addresses, and sees the basic view.
	found, _, err = plain.Users.ListUsers(&gl.ListUsersOptions{Search: ptr("zion.example")})
	if err != nil || len(found) != 0 {
		t.Fatalf("a user's search by address: %+v, %v", found, err)
	}
	found, _, err = plain.Users.ListUsers(&gl.ListUsersOptions{Search: ptr("anderson")})
	if err != nil || len(found) != 1 || found[0].Username != "neo" || found[0].Name != "Thomas Anderson" ||
		found[0].Email != "" || found[0].CreatedAt != nil || found[0].State != "active" || found[0].WebURL == "" {
		t.Fatalf("a user's search by name: %+v, %v", found, err)
	}
	found, _, err = plain.Users.ListUsers(&gl.ListUsersOptions{Username: ptr("SMITH3")})
	if err != nil || len(found) != 1 || found[0].Username != "smith3" {
		t.Fatalf("by username: %+v, %v", found, err)
	}
	found, res, err = plain.Users.ListUsers(&gl.ListUsersOptions{Username: ptr("smith")})
	if err != nil || len(found) != 0 || res.TotalItems != 0 || res.TotalPages != 1 {
		t.Fatalf("by a username nobody has: %+v, %v", found, err)
	}
}

func TestClientSSHKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)

	k, res, err := plain.Users.AddSSHKey(&gl.AddSSHKeyOptions{Title: ptr("Public key"), Key: ptr(coretest.RSAKey)})
	if err != nil || res.StatusCode != http.StatusCreated || k.ID == 0 || k.Title != "Public key" || k.Key != coretest.RSAKey || k.CreatedAt == nil {
		t.Fatalf("AddSSHKey: %+v, %v", k, err)
	}
	_, _, err = plain.Users.AddSSHKey(&gl.AddSSHKeyOptions{Title: ptr("again"), Key: ptr(coretest.RSAKey)})
	wantStatus(t, "AddSSHKey of a taken key", err, http.StatusBadRequest)
	if msg := err.(*gl.ErrorResponse).Message; msg != "{message: {fingerprint: [has already been taken]}, {key: [has already been taken]}}" {
		t.Fatalf("taken key: %q", msg)
	}
	keys, res, err := plain.Users.ListSSHKeys(nil)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Key != coretest.RSAKey || res.TotalItems != 1 {
		t.Fatalf("ListSSHKeys: %+v, %v", keys, err)
	}
	one, _, err := plain.Users.GetSSHKey(k.ID)
	if err != nil || one.ID != k.ID || one.Title != "Public key" || !one.CreatedAt.Equal(*k.CreatedAt) {
		t.Fatalf("GetSSHKey: %+v, %v", one, err)
	}
	if k.ExpiresAt != nil || one.ExpiresAt != nil {
		t.Fatalf("a key without expiry expires: %v, %v", k.ExpiresAt, one.ExpiresAt)
	}
	expiring, _, err := plain.Users.AddSSHKey(&gl.AddSSHKeyOptions{Title: ptr("expiring"), Key: ptr(coretest.NewSSHKey(t)),
		ExpiresAt: ptr(gl.ISOTime(time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC)))})
	if err != nil || expiring.ExpiresAt == nil || !expiring.ExpiresAt.Equal(time.Date(2099, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("AddSSHKey with expires_at: %+v, %v", expiring, err)
	}
	if _, err := plain.Users.DeleteSSHKey(expiring.ID); err != nil {
		t.Fatal(err)
	}

	other, res, err := admin.Users.AddSSHKeyForUser(b.user.ID, &gl.AddSSHKeyOptions{Title: ptr("ABC"), Key: ptr(coretest.Ed25519Key)})
	if err != nil || res.StatusCode != http.StatusCreated || other.Title != "ABC" || other.Key != coretest.Ed25519Key {
		t.Fatalf("AddSSHKeyForUser: %+v, %v", other, err)
	}
	_, _, err = admin.Users.AddSSHKeyForUser(999999, &gl.AddSSHKeyOptions{Title: ptr("x"), Key: ptr(coretest.NewSSHKey(t))})
	wantStatus(t, "AddSSHKeyForUser of nobody", err, http.StatusNotFound)
	for _, uid := range []any{b.user.ID, "plain"} {
		keys, _, err = admin.Users.ListSSHKeysForUser(uid, nil)
		if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].ID != other.ID {
			t.Fatalf("ListSSHKeysForUser(%v): %+v, %v", uid, keys, err)
		}
	}
	_, _, err = plain.Users.ListSSHKeysForUser(b.admin.ID, nil)
	wantStatus(t, "ListSSHKeysForUser of another as a user", err, http.StatusForbidden)
	_, _, err = plain.Users.AddSSHKeyForUser(b.admin.ID, &gl.AddSSHKeyOptions{Title: ptr("x"), Key: ptr(coretest.NewSSHKey(t))})
	wantStatus(t, "AddSSHKeyForUser of another as a user", err, http.StatusForbidden)

	// Deleting one's own key is idempotent.
	for range 2 {
		res, err = plain.Users.DeleteSSHKey(k.ID)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("DeleteSSHKey: %v", err)
		}
	}
	_, _, err = plain.Users.GetSSHKey(k.ID)
	wantStatus(t, "GetSSHKey of a deleted key", err, http.StatusNotFound)
	// Another user's: 404 when the key or the user is missing.
	res, err = admin.Users.DeleteSSHKeyForUser(b.user.ID, other.ID)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteSSHKeyForUser: %v", err)
	}
	_, err = admin.Users.DeleteSSHKeyForUser(b.user.ID, other.ID)
	wantStatus(t, "DeleteSSHKeyForUser of a deleted key", err, http.StatusNotFound)
	_, err = admin.Users.DeleteSSHKeyForUser(999999, other.ID)
	wantStatus(t, "DeleteSSHKeyForUser of nobody", err, http.StatusNotFound)
	keys, _, err = admin.Users.ListSSHKeysForUser(b.user.ID, nil)
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys left: %+v, %v", keys, err)
	}
}

func TestClientEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)

	e, res, err := plain.Users.AddEmail(&gl.AddEmailOptions{Email: ptr("email@example.com")})
	if err != nil || res.StatusCode != http.StatusCreated || e.ID == 0 || e.Email != "email@example.com" {
		t.Fatalf("AddEmail: %+v, %v", e, err)
	}
	_, _, err = plain.Users.AddEmail(&gl.AddEmailOptions{Email: ptr("ROOT@example.com")})
	wantStatus(t, "AddEmail of a taken address", err, http.StatusBadRequest)
	if msg := err.(*gl.ErrorResponse).Message; msg != "{message: {email: [has already been taken]}}" {
		t.Fatalf("taken address: %q", msg)
	}
	list, res, err := plain.Users.ListEmails()
	if err != nil || len(list) != 1 || list[0].ID != e.ID || list[0].Email != "email@example.com" || res.TotalItems != 1 {
		t.Fatalf("ListEmails: %+v, %v", list, err)
	}
	one, _, err := plain.Users.GetEmail(e.ID)
	if err != nil || one.ID != e.ID || one.Email != "email@example.com" {
		t.Fatalf("GetEmail: %+v, %v", one, err)
	}

	other, res, err := admin.Users.AddEmailForUser(b.user.ID, &gl.AddEmailOptions{Email: ptr("email2@example.com"), SkipConfirmation: ptr(true)})
	if err != nil || res.StatusCode != http.StatusCreated || other.Email != "email2@example.com" {
		t.Fatalf("AddEmailForUser: %+v, %v", other, err)
	}
	stored, err := b.env.Core.Emails.Get(system(), usher.UserKey{ID: b.user.ID}, other.ID)
	if err != nil || stored.ConfirmedAt == nil {
		t.Fatalf("an address an admin adds with skip_confirmation is confirmed: %+v, %v", stored, err)
	}
	_, _, err = admin.Users.AddEmailForUser(999999, &gl.AddEmailOptions{Email: ptr("nobody@example.com")})
	wantStatus(t, "AddEmailForUser of nobody", err, http.StatusNotFound)
	list, _, err = admin.Users.ListEmailsForUser(b.user.ID, nil)
	if err != nil || len(list) != 2 || list[0].ID != e.ID || list[1].ID != other.ID {
		t.Fatalf("ListEmailsForUser: %+v, %v", list, err)
	}
	_, _, err = plain.Users.ListEmailsForUser(b.admin.ID, nil)
	wantStatus(t, "ListEmailsForUser of another as a user", err, http.StatusForbidden)

	for range 2 {
		res, err = plain.Users.DeleteEmail(e.ID)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("DeleteEmail: %v", err)
		}
	}
	_, _, err = plain.Users.GetEmail(e.ID)
	wantStatus(t, "GetEmail of a deleted address", err, http.StatusNotFound)
	res, err = admin.Users.DeleteEmailForUser(b.user.ID, other.ID)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteEmailForUser: %v", err)
	}
	_, err = admin.Users.DeleteEmailForUser(b.user.ID, other.ID)
	wantStatus(t, "DeleteEmailForUser of a deleted address", err, http.StatusNotFound)
	_, err = admin.Users.DeleteEmailForUser(999999, other.ID)
	wantStatus(t, "DeleteEmailForUser of nobody", err, http.StatusNotFound)
	list, _, err = plain.Users.ListEmails()
	if err != nil || len(list) != 0 {
		t.Fatalf("addresses left: %+v, %v", list, err)
	}
}

func TestClientBlock(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)

	wantStatus(t, "BlockUser as a user", plain.Users.BlockUser(b.admin.ID), http.StatusForbidden)
	if err := admin.Users.BlockUser(b.user.ID); err != nil {
		t.Fatalf("BlockUser: %v", err)
	}
	u, _, err := admin.Users.GetUser(b.user.ID, gl.GetUsersOptions{})
	if err != nil || u.State != "blocked" {
		t.Fatalf("blocked user: %+v, %v", u, err)
	}
	_, _, err = plain.Users.CurrentUser()
	wantStatus(t, "a blocked user's token", err, http.StatusUnauthorized)
	if err := admin.Users.UnblockUser(b.user.ID); err != nil {
		t.Fatalf("UnblockUser: %v", err)
	}
	u, _, err = plain.Users.CurrentUser()
	if err != nil || u.State != "active" {
		t.Fatalf("unblocked user: %+v, %v", u, err)
	}

	ext := b.env.MustCreateUser(t, usher.UserCreate{Username: "ldap_user", Email: "ldap@example.com", State: usher.StateBlockedExternal})
	u, _, err = admin.Users.GetUser(ext.ID, gl.GetUsersOptions{})
	if err != nil || u.State != "ldap_blocked" {
		t.Fatalf("externally blocked user: %+v, %v", u, err)
	}
	if err := admin.Users.UnblockUser(ext.ID); !errors.Is(err, gl.ErrUserUnblockPrevented) {
		t.Fatalf("UnblockUser of an externally blocked user: %v", err)
	}
	err = admin.Users.BlockUser(ext.ID)
	wantStatus(t, "BlockUser of an externally blocked user", err, http.StatusForbidden)
	// A deactivated user, usher's suspended, is not unblocked: GitLab's
	// 403, which the client calls a prevented unblock, and the user stays
	// deactivated.
	sleepy := b.env.MustCreateUser(t, usher.UserCreate{Username: "sleepy", Email: "sleepy@example.com", State: usher.StateSuspended})
	if err := admin.Users.UnblockUser(sleepy.ID); !errors.Is(err, gl.ErrUserUnblockPrevented) {
		t.Fatalf("UnblockUser of a deactivated user: %v", err)
	}
	if u, _, err := admin.Users.GetUser(sleepy.ID, gl.GetUsersOptions{}); err != nil || u.State != "deactivated" {
		t.Fatalf("deactivated user after unblock: %+v, %v", u, err)
	}
	b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d/unblock", sleepy.ID), token: b.adminTok}).
		want(t, "PUT unblock of a deactivated user", 403, `{"message":"403 Forbidden - Deactivated users cannot be unblocked by the API"}`)
	if err := admin.Users.UnblockUser(999999); !errors.Is(err, gl.ErrUserNotFound) {
		t.Fatalf("UnblockUser of nobody: %v", err)
	}
	err = admin.Users.BlockUser(999999)
	wantStatus(t, "BlockUser of nobody", err, http.StatusNotFound)
}

func TestClientSudo(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin, plain := b.client(t, b.adminTok), b.client(t, b.userTok)
	for _, as := range []any{b.user.ID, "plain"} {
		me, _, err := admin.Users.CurrentUser(gl.WithSudo(as))
		if err != nil || me.ID != b.user.ID || me.IsAdmin {
			t.Fatalf("CurrentUser with Sudo %v: %+v, %v", as, me, err)
		}
	}
	// Acting as the user, the admin adds a key the user owns.
	k, _, err := admin.Users.AddSSHKey(&gl.AddSSHKeyOptions{Title: ptr("via sudo"), Key: ptr(coretest.Ed25519Key)}, gl.WithSudo(b.user.ID))
	if err != nil {
		t.Fatal(err)
	}
	keys, _, err := plain.Users.ListSSHKeys(nil)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("the sudo key is not the user's: %+v, %v", keys, err)
	}
	_, _, err = plain.Users.CurrentUser(gl.WithSudo(b.admin.ID))
	wantStatus(t, "Sudo as a user", err, http.StatusForbidden)
}

// TestClientDeletesOwnConfirmedEmail: GitLab gives every personal access
// token scopes, and its client deletes one of its user's own confirmed
// addresses with one (a review found a rule for bounded credentials
// refusing it, 403). A plain account's own address is no concern of that
// rule: a freed address is taken only by whoever proves the mailbox.
func TestClientDeletesOwnConfirmedEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.client(t, b.adminTok)
	own := b.client(t, b.env.MustToken(t, b.user.ID, usher.TokenPersonal, usher.ScopeAPI))
	e, _, err := admin.Users.AddEmailForUser(b.user.ID, &gl.AddEmailOptions{Email: ptr("second@example.com"), SkipConfirmation: ptr(true)})
	if err != nil {
		t.Fatalf("AddEmailForUser: %v", err)
	}
	if res, err := own.Users.DeleteEmail(e.ID); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("DeleteEmail of one's own confirmed address with an api-scoped token: %v", err)
	}
}
