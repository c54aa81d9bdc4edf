package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/face/pages"
)

// facesBundle is every face mounted by newHandler over one core, with an
// administrator's credential for each, and users in each state the core
// knows: one active, one suspended, one deleted, and a team's service
// account.
type facesBundle struct {
	srv *httptest.Server
	id  int64 // the administrator's
	// The administrator's tokens: a personal one (native, GitLab, Lenses)
	// and an application key (Pterodactyl).
	personal, application string
}

func setupFaces(t *testing.T) *facesBundle {
	t.Helper()
	env := coretest.New(t, coretest.Options{})
	ctx := coretest.System()
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true,
		Password: rootPassword})
	env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	env.MustCreateUser(t, usher.UserCreate{Username: "sus", Email: "sus@example.com", State: usher.StateSuspended})
	del := env.MustCreateUser(t, usher.UserCreate{Username: "del", Email: "del@example.com"})
	if _, err := env.Core.Users.Delete(ctx, usher.UserKey{ID: del.ID}); err != nil {
		t.Fatal(err)
	}
	asAdmin := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalUser, User: admin})
	if _, err := env.Core.Groups.Create(asAdmin, usher.GroupCreate{Kind: usher.GroupTeam, Handle: "ops"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Core.Groups.CreateServiceAccount(asAdmin, usher.GroupRef{Kind: usher.GroupTeam, Handle: "ops"}, "ops-bot", ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newHandler(env.Core, env.Store, slog.New(slog.DiscardHandler), "http://usher.test", nil, "", nil, pages.MailConfig{}))
	t.Cleanup(srv.Close)
	return &facesBundle{srv: srv, id: admin.ID,
		personal:    env.MustToken(t, admin.ID, usher.TokenPersonal, usher.ScopeAPI),
		application: env.MustToken(t, admin.ID, usher.TokenApplication, usher.ScopeAPI)}
}

// rootPassword is the administrator's password in setupFaces.
const rootPassword = "the administrator's passphrase"

// mustList GETs a face's user list with the credential in header and
// returns its users by username, each as the face's JSON object.
func (b *facesBundle) mustList(t *testing.T, path, header, credential string, users func(body []byte) ([]map[string]any, error), name string) map[string]map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(header, credential)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	list, err := users(body)
	if err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
	out := map[string]map[string]any{}
	for _, u := range list {
		n, _ := u[name].(string)
		out[n] = u
	}
	return out
}

// listItems reads the users of a list shaped {"items": [...]} (native,
// Lenses).
func listItems(body []byte) ([]map[string]any, error) {
	var v struct{ Items []map[string]any }
	err := json.Unmarshal(body, &v)
	return v.Items, err
}

// listArray reads the users of a list that is a bare array (GitLab).
func listArray(body []byte) ([]map[string]any, error) {
	var v []map[string]any
	err := json.Unmarshal(body, &v)
	return v, err
}

// listFractal reads the attributes of a Fractal collection's items
// (Pterodactyl).
func listFractal(body []byte) ([]map[string]any, error) {
	var v struct {
		Object string
		Data   []struct{ Attributes map[string]any }
	}
	err := json.Unmarshal(body, &v)
	if err == nil && v.Object != "list" {
		return nil, fmt.Errorf("object %q, want list", v.Object)
	}
	out := make([]map[string]any, len(v.Data))
	for i, d := range v.Data {
		out[i] = d.Attributes
	}
	return out, err
}

// TestFacesListAlike: each face lists the users the core gives it, in its
// product's words. A suspended user is in every list (the native one's
// when asked to include them), with the state its
// dialect has for it (native "suspended", GitLab "deactivated", Escape's
// activated false; Pterodactyl
// and Lenses have no state and list it as any user); a deleted user is in
// none; a team's service account is where its product shows them (native,
// GitLab and Escape) and nowhere else (Pterodactyl and Lenses have no teams).
func TestFacesListAlike(t *testing.T) {
	t.Parallel()
	b := setupFaces(t)
	bearer := "Bearer "
	for _, tt := range []struct {
		face       string
		path       string
		header     string
		credential string
		users      func([]byte) ([]map[string]any, error)
		name       string // the field holding the username
		// state is the field holding the user's state and what it holds
		// for an active and a suspended user; "" when the dialect has none.
		state                string
		active, suspended    any
		showsServiceAccounts bool
		// kind is the field, if any, that tells a service account from a
		// user, and what it holds for one.
		kind, serviceAccount string
	}{
		// The native list leaves suspended users out unless asked
		// (docs/native.md); see TestFacesNativeHidesSuspended.
		{"native", "/v1/users?limit=100&suspended=include", "Authorization", bearer + b.personal, listItems, "username", "state", "active", "suspended", true, "kind", "service_account"},
		{"gitlab", "/api/v4/users?per_page=100", "Private-Token", b.personal, listArray, "username", "state", "active", "deactivated", true, "", ""},
		{"pterodactyl", "/api/application/users?per_page=100", "Authorization", bearer + b.application, listFractal, "username", "", nil, nil, false, "", ""},
		{"lenses", "/api/v1/users", "Authorization", bearer + b.personal, listItems, "name", "", nil, nil, false, "", ""},
		{"escape", "/escape/api/v1/users/", "X-Escape-Token", b.personal, listArray, "username", "activated", true, false, true, "provider", "service-account"},
	} {
		t.Run(tt.face, func(t *testing.T) {
			t.Parallel()
			got := b.mustList(t, tt.path, tt.header, tt.credential, tt.users, tt.name)
			for _, name := range []string{"root", "alice", "sus"} {
				if got[name] == nil {
					t.Fatalf("%s is not listed: %v", name, got)
				}
			}
			if tt.state != "" {
				if s := got["alice"][tt.state]; s != tt.active {
					t.Errorf("an active user's %s = %v, want %v", tt.state, s, tt.active)
				}
				if s := got["sus"][tt.state]; s != tt.suspended {
					t.Errorf("a suspended user's %s = %v, want %v", tt.state, s, tt.suspended)
				}
			} else {
				for _, field := range []string{"state", "suspended", "suspended_at"} {
					if v, ok := got["sus"][field]; ok {
						t.Errorf("a dialect without states shows %s = %v", field, v)
					}
				}
			}
			if got["del"] != nil {
				t.Errorf("a deleted user is listed: %v", got["del"])
			}
			if (got["ops-bot"] != nil) != tt.showsServiceAccounts {
				t.Errorf("the service account listed: %v, want %v", got["ops-bot"] != nil, tt.showsServiceAccounts)
			}
			if tt.kind != "" && got["ops-bot"][tt.kind] != tt.serviceAccount {
				t.Errorf("the service account's %s = %v, want %s", tt.kind, got["ops-bot"][tt.kind], tt.serviceAccount)
			}
			if want := 3; !tt.showsServiceAccounts && len(got) != want {
				t.Errorf("listed %d users, want %d: %v", len(got), want, got)
			}
			if want := 4; tt.showsServiceAccounts && len(got) != want {
				t.Errorf("listed %d users, want %d: %v", len(got), want, got)
			}
		})
	}
}

// TestFacesNativeHidesSuspended: the native list leaves suspended users out
// by default, as docs/native.md has it, and lists only them when asked.
func TestFacesNativeHidesSuspended(t *testing.T) {
	t.Parallel()
	b := setupFaces(t)
	auth := "Bearer " + b.personal
	if got := b.mustList(t, "/v1/users", "Authorization", auth, listItems, "username"); got["sus"] != nil || got["alice"] == nil {
		t.Errorf("by default: %v", got)
	}
	got := b.mustList(t, "/v1/users?suspended=only", "Authorization", auth, listItems, "username")
	if len(got) != 1 || got["sus"]["state"] != "suspended" {
		t.Errorf("suspended=only: %v", got)
	}
}

// TestFacesEscapeBesideLenses: the Escape client pointed at the bare host
// finds the log-in methods at /api/v1/auth/login-methods, pointing into
// /escape/api/v1, while the rest of /api/v1 stays the Lenses face's.
func TestFacesEscapeBesideLenses(t *testing.T) {
	t.Parallel()
	b := setupFaces(t)
	res, err := http.Get(b.srv.URL + "/api/v1/auth/login-methods")
	if err != nil {
		t.Fatal(err)
	}
	var methods map[string]struct{ URL, Type string }
	err = json.NewDecoder(res.Body).Decode(&methods)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || methods["email"].URL != "http://usher.test/escape/api/v1/auth/login/" {
		t.Fatalf("login-methods: %d %v %v", res.StatusCode, methods, err)
	}
	got := b.mustList(t, "/api/v1/users", "Authorization", "Bearer "+b.personal, listItems, "name")
	if got["alice"] == nil {
		t.Fatalf("the Lenses list: %v", got)
	}
	res, err = http.Get(b.srv.URL + "/api/v1/auth/other")
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Type string }
	err = json.NewDecoder(res.Body).Decode(&e)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusNotFound || e.Type == "" {
		t.Fatalf("another path under /api/v1 is not the Lenses face's 404: %d %+v %v", res.StatusCode, e, err)
	}
}

// TestFacesAnswersArePrivate replays a shared cache in front of usher (a
// CDN, or Varnish, which keeps an answer with no Cache-Control for two
// minutes and passes only requests with Authorization or a cookie): the
// answer to one caller's GET /api/v4/user, whose PRIVATE-TOKEN no cache
// knows for a credential, had no Cache-Control, so the next caller of the
// URL got the first one's account. Every face's answer to a credential is
// now marked private and to be asked again (as GitLab's API marks its
// own), unless its handler says otherwise.
func TestFacesAnswersArePrivate(t *testing.T) {
	t.Parallel()
	b := setupFaces(t)
	res, err := http.Post(b.srv.URL+"/api/system/auth/internal/login", "application/json",
		strings.NewReader(`{"email": "root@example.com", "password": "`+rootPassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Response struct{ JWT string } }
	err = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	if err != nil || login.Response.JWT == "" {
		t.Fatalf("Corteza's log-in: %d %v", res.StatusCode, err)
	}
	id := strconv.FormatInt(b.id, 10)
	for _, tt := range []struct {
		face, path, header, credential string
	}{
		{"native", "/v1/me", "Authorization", "Bearer " + b.personal},
		{"native", "/v1/users/" + id, "Authorization", "Bearer " + b.personal},
		{"native", "/v1/me/tokens", "Authorization", "Bearer " + b.personal},
		{"GitLab", "/api/v4/user", "PRIVATE-TOKEN", b.personal},
		{"GitLab", "/api/v4/users/" + id, "PRIVATE-TOKEN", b.personal},
		{"Pterodactyl", "/api/application/users/" + id, "Authorization", "Bearer " + b.application},
		{"Corteza", "/api/system/users/" + id, "Authorization", "Bearer " + login.Response.JWT},
		{"Lenses", "/api/v1/users/me", "Authorization", "Bearer " + b.personal},
		{"Escape", "/escape/api/v1/user/", "X-Escape-Token", b.personal},
	} {
		req, err := http.NewRequest(http.MethodGet, b.srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(tt.header, tt.credential)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s GET %s: %d %s", tt.face, tt.path, res.StatusCode, body)
			continue
		}
		cc := res.Header.Values("Cache-Control")
		if len(cc) != 1 || !strings.Contains(cc[0], "private") && !strings.Contains(cc[0], "no-store") {
			t.Errorf("%s GET %s: Cache-Control %q, want one value, private or no-store: a shared cache keeps the caller's account for the next", tt.face, tt.path, cc)
		}
	}
}
