package gitlab_test

import (
	"bytes"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/face/native"
)

// withNative mounts the native face beside the GitLab face.
func withNative(mux *http.ServeMux, env *coretest.Env) {
	(&native.Handler{Users: env.Core.Users, Auth: env.Core.Auth, Audit: env.Core.Audit, Avatars: env.Core.Avatars}).Mount(mux)
}

// nativeCall is a request to the native face, which takes a bearer token.
func nativeCall(method, path, token string, body any) call {
	return call{method: method, path: path, body: body, header: map[string]string{"Authorization": "Bearer " + token}}
}

// sameStored fails unless two stored users are alike in every field but
// those that must differ between two accounts (ids, unique names, the
// external uid of an identity), the times (compared by presence: two writes
// are not at once), the version, which counts writes, not their result,
// and the GitLab profile, which the native face neither takes nor shows.
func sameStored(t *testing.T, what string, a, b *usher.User) {
	t.Helper()
	epoch := time.Unix(0, 0).UTC()
	norm := func(u *usher.User) usher.User {
		c := *u
		c.ID, c.UUID, c.Username, c.Email, c.Handle, c.Version = 0, "", "", "", "", 0
		c.CreatedAt, c.UpdatedAt = epoch, epoch
		c.GitLab = usher.GitLabProfile{}
		for _, p := range []**time.Time{&c.EmailConfirmedAt, &c.LastSignInAt, &c.CurrentSignInAt, &c.LastSeenAt, &c.SuspendedAt, &c.DeletedAt, &c.CredentialsSince} {
			if *p != nil {
				*p = &epoch
			}
		}
		c.Identities = nil
		for _, id := range u.Identities {
			c.Identities = append(c.Identities, usher.Identity{Provider: id.Provider})
		}
		return c
	}
	x, y := norm(a), norm(b)
	xv, yv := reflect.ValueOf(x), reflect.ValueOf(y)
	for i := range xv.NumField() {
		if !reflect.DeepEqual(xv.Field(i).Interface(), yv.Field(i).Interface()) {
			t.Errorf("%s: %s differs: GitLab face %#v, native %#v", what, xv.Type().Field(i).Name,
				reflect.ValueOf(*a).Field(i).Interface(), reflect.ValueOf(*b).Field(i).Interface())
		}
	}
}

// TestNativeParity does the same operations through the GitLab face and
// through the native face and compares the stored users field by field.
func TestNativeParity(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{mounts: []func(*http.ServeMux, *coretest.Env){withNative}})

	gres := b.do(t, call{method: "POST", path: "/api/v4/users", token: b.adminTok, body: map[string]any{
		"email": "grace@example.com", "password": password, "username": "grace", "name": "Grace Hopper",
		"skype": "grace.s", "linkedin": "grace-in", "twitter": "@grace", "website_url": "https://grace.example.com",
		"projects_limit": 12, "extern_uid": "g-1", "provider": "github", "bio": "Admiral", "location": "Arlington",
		"admin": true, "can_create_group": false, "confirm": false, "external": true,
	}})
	nres := b.do(t, nativeCall("POST", "/v1/users", b.adminTok, map[string]any{
		"email": "ada@example.com", "password": password, "username": "ada", "name": "Grace Hopper",
		"website_url": "https://grace.example.com",
		"identities":  []map[string]string{{"provider": "github", "extern_uid": "n-1"}},
		"bio":         "Admiral", "location": "Arlington", "admin": true,
		"skip_confirmation": true, "external": true,
	}))
	if gres.status != http.StatusCreated || nres.status != http.StatusCreated {
		t.Fatalf("create: GitLab %d %s, native %d %s", gres.status, gres.body, nres.status, nres.body)
	}
	var g, n struct {
		ID int64 `json:"id"`
	}
	gres.decode(t, &g)
	nres.decode(t, &n)
	gu, nu := b.stored(t, g.ID), b.stored(t, n.ID)
	sameStored(t, "created", gu, nu)
	if gu.Version != 1 || nu.Version != 1 || gu.EmailConfirmedAt == nil || gu.Identities[0].ExternUID != "g-1" {
		t.Fatalf("created: %+v", gu)
	}
	if want := (usher.GitLabProfile{Skype: "grace.s", LinkedIn: "grace-in", Twitter: "@grace", ProjectsLimit: 12, ThemeID: 1, ColorSchemeID: 1}); gu.GitLab != want {
		t.Fatalf("created: GitLab profile %+v, want %+v", gu.GitLab, want)
	}
	if nu.GitLab.ProjectsLimit <= 0 || !nu.GitLab.CanCreateGroup || nu.GitLab.Skype != "" {
		t.Fatalf("created natively: GitLab profile %+v, want the defaults", nu.GitLab)
	}
	for _, login := range []string{"grace", "ada"} {
		if _, err := b.env.Core.Auth.Login(system(), login, password); err != nil {
			t.Fatalf("%s cannot log in: %v", login, err)
		}
	}

	change := map[string]any{
		"name": "Grace B. Hopper", "bio": "", "location": "Washington", "admin": false,
		"external": false, "website_url": "http://navy.example.mil",
	}
	gchange := map[string]any{"password": "a new password for grace", "projects_limit": 0, "can_create_group": true,
		"skype": "", "theme_id": 2, "color_scheme_id": 3}
	for k, v := range change {
		gchange[k] = v
	}
	b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", g.ID), token: b.adminTok, body: gchange}).want(t, "GitLab update", 200, "")
	b.do(t, nativeCall("PATCH", fmt.Sprintf("/v1/users/%d", n.ID), b.adminTok, change)).want(t, "native update", 200, "")
	b.do(t, nativeCall("PUT", fmt.Sprintf("/v1/users/%d/password", n.ID), b.adminTok, map[string]any{"password": "a new password for grace"})).
		want(t, "native password", 204, "")
	gu, nu = b.stored(t, g.ID), b.stored(t, n.ID)
	sameStored(t, "updated", gu, nu)
	if gu.Name != "Grace B. Hopper" || gu.FirstName != "Grace B." || gu.GitLab.ProjectsLimit != 0 || gu.GitLab.ThemeID != 2 {
		t.Fatalf("updated: %+v", gu)
	}
	if want := (usher.GitLabProfile{LinkedIn: "grace-in", Twitter: "@grace", CanCreateGroup: true, ThemeID: 2, ColorSchemeID: 3}); gu.GitLab != want {
		t.Fatalf("updated: GitLab profile %+v, want %+v", gu.GitLab, want)
	}
	// A native change of the shared profile leaves the GitLab one alone,
	// and the native user does not show it.
	res := b.do(t, nativeCall("PATCH", fmt.Sprintf("/v1/users/%d", g.ID), b.adminTok, map[string]any{"bio": "Rear admiral"}))
	res.want(t, "native update of a GitLab user", 200, "")
	if strings.Contains(string(res.body), "projects_limit") || strings.Contains(string(res.body), "skype") {
		t.Fatalf("the native user shows GitLab's fields: %s", res.body)
	}
	if after := b.stored(t, g.ID); after.GitLab != gu.GitLab || after.Bio != "Rear admiral" {
		t.Fatalf("native update: GitLab profile %+v, was %+v", after.GitLab, gu.GitLab)
	}
	gu = b.stored(t, g.ID)
	b.do(t, nativeCall("PATCH", fmt.Sprintf("/v1/users/%d", n.ID), b.adminTok, map[string]any{"bio": "Rear admiral"})).want(t, "native update", 200, "")
	for _, login := range []string{"grace", "ada"} {
		if _, err := b.env.Core.Auth.Login(system(), login, "a new password for grace"); err != nil {
			t.Fatalf("%s cannot log in with the new password: %v", login, err)
		}
	}

	b.do(t, call{method: "POST", path: fmt.Sprintf("/api/v4/users/%d/block", g.ID), token: b.adminTok}).want(t, "GitLab block", 201, "true")
	b.do(t, nativeCall("POST", fmt.Sprintf("/v1/users/%d/block", n.ID), b.adminTok, nil)).want(t, "native block", 200, "")
	gu, nu = b.stored(t, g.ID), b.stored(t, n.ID)
	sameStored(t, "blocked", gu, nu)
	if gu.State != usher.StateBlocked {
		t.Fatalf("blocked: %s", gu.State)
	}

	b.do(t, call{method: "DELETE", path: fmt.Sprintf("/api/v4/users/%d", g.ID), token: b.adminTok}).want(t, "GitLab delete", 200, "")
	b.do(t, nativeCall("DELETE", fmt.Sprintf("/v1/users/%d", n.ID), b.adminTok, nil)).want(t, "native delete", 200, "")
	page, err := b.env.Core.Users.List(system(), usher.UserFilter{IDs: []int64{g.ID, n.ID}, Deleted: usher.Include})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("deleted users: %v, %v", page, err)
	}
	sameStored(t, "deleted", page.Items[0], page.Items[1])
	if page.Items[0].DeletedAt == nil {
		t.Fatal("the GitLab delete deleted nothing")
	}
}

// TestAvatarURL fetches the avatar_url the face gives from the native face
// that serves it.
func TestAvatarURL(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{mounts: []func(*http.ServeMux, *coretest.Env){withNative}})
	img := pngImage(t)
	if _, err := b.env.Core.Avatars.Set(system(), usher.UserKey{ID: b.user.ID}, img); err != nil {
		t.Fatal(err)
	}
	me := b.do(t, call{method: "GET", path: "/api/v4/user", token: b.userTok}).object(t)
	avatar, _ := me["avatar_url"].(string)
	path, ok := strings.CutPrefix(avatar, baseURL)
	if !ok {
		t.Fatalf("avatar_url %q", avatar)
	}
	res := b.do(t, call{method: "GET", path: path})
	if res.status != http.StatusOK || !bytes.Equal(res.body, img) {
		t.Fatalf("GET %s: %d, %d bytes", path, res.status, len(res.body))
	}
}
