package corteza_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
)

// TestCredentials: the JWT is taken from ?jwt=, the Authorization header
// and the jwt cookie; without one, or with a bad, foreign or expired one,
// the answer is Corteza's 200 with {"error":{"message":"Unauthorized"}}.
func TestCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	other := setup(t)
	parts := strings.Split(b.adminJWT, ".")
	tampered := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
	tests := []struct {
		name string
		edit func(*http.Request)
		ok   bool
	}{
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+b.adminJWT) }, true},
		{"bearer in capitals", func(r *http.Request) { r.Header.Set("Authorization", "BEARER "+b.adminJWT) }, true},
		{"query", func(r *http.Request) { r.URL.RawQuery = "jwt=" + b.adminJWT }, true},
		{"cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "jwt", Value: b.adminJWT}) }, true},
		{"none", func(*http.Request) {}, false},
		{"garbage", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nonsense") }, false},
		{"tampered signature", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tampered) }, false},
		{"another instance's key", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+other.adminJWT) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.send(t, "GET", "/users/", nil, tt.edit)
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			msg := res.errMessage(t)
			if tt.ok && msg != "" || !tt.ok && string(res.body) != `{"error":{"message":"Unauthorized"}}`+"\n" {
				t.Errorf("body %s", res.body)
			}
		})
	}
}

// TestJWTEnds: a JWT stops working when it expires, when its session is
// logged out, and when its user is suspended, on SQLite and PostgreSQL.
func TestJWTEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		end  func(t *testing.T, b *bundle, jwt string)
	}{
		{"expired", func(t *testing.T, b *bundle, _ string) { b.clock.Add(15 * 24 * time.Hour) }},
		{"logged out", func(t *testing.T, b *bundle, jwt string) {
			if m := b.do(t, "GET", "/auth/logout", jwt, nil).errMessage(t); m != "" {
				t.Fatal(m)
			}
			b.clock.Add(3 * time.Second)
		}},
		{"user suspended", func(t *testing.T, b *bundle, _ string) {
			if m := b.do(t, "POST", "/users/"+strconv.FormatInt(b.user.ID, 10)+"/suspend", b.adminJWT, nil).errMessage(t); m != "" {
				t.Fatal(m)
			}
			b.clock.Add(3 * time.Second)
		}},
	}
	for _, tt := range tests {
		for _, postgres := range []bool{false, true} {
			t.Run(tt.name+"/"+map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
				t.Parallel()
				testJWTEnd(t, setupOn(t, postgres), tt.end)
			})
		}
	}
}

func testJWTEnd(t *testing.T, b *bundle, end func(t *testing.T, b *bundle, jwt string)) {
	if m := b.do(t, "GET", "/auth/check", b.userJWT, nil).errMessage(t); m != "" {
		t.Fatalf("a fresh JWT: %s", m)
	}
	end(t, b, b.userJWT)
	if m := b.do(t, "GET", "/users/", b.userJWT, nil).errMessage(t); m != "Unauthorized" {
		t.Errorf("after: %q", m)
	}
}

// TestEnvelope checks Corteza's envelope byte for byte where it matters:
// the filter echo, "set": null, OK-only answers, and 200-with-error
// bodies.
func TestEnvelope(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			t.Parallel()
			testEnvelope(t, setupOn(t, postgres))
		})
	}
}

func testEnvelope(t *testing.T, b *bundle) {
	uid := strconv.FormatInt(b.user.ID, 10)
	role := b.editorsRole(t)
	tests := []struct {
		name, method, path string
		body               any
		want               string // the exact body, or a prefix ending in "…"
		wantErr            string // a substring of the error message
	}{
		{"empty list", "GET", "/users/?query=nobody-at-all&deleted=2&limit=5&offset=10", nil,
			`{"response":{"filter":{"userID":null,"roleID":null,"query":"nobody-at-all","email":"","username":"","handle":"","kind":"","deleted":2,"suspended":0,"sort":"id","limit":5,"offset":10,"count":0},"set":null}}`, ""},
		{"deprecated incDeleted", "GET", "/users/?incDeleted=true&query=nobody-at-all", nil,
			`{"response":{"filter":{"userID":null,"roleID":null,"query":"nobody-at-all","email":"","username":"","handle":"","kind":"","deleted":1,"suspended":0,"sort":"id","count":0},"set":null}}`, ""},
		{"filter from a JSON body", "GET", "/roles/", map[string]any{"query": "none-such", "archived": 2},
			`{"response":{"filter":{"roleID":null,"memberID":0,"query":"none-such","handle":"","name":"","archived":2,"deleted":0,"sort":"id","count":0},"set":null}}`, ""},
		{"OK-only action", "POST", "/users/" + uid + "/unsuspend", nil, `{"success":{"message":"OK"}}`, ""},
		{"settings update", "PATCH", "/settings/", map[string]any{"values": []map[string]any{{"name": "ui.title", "value": "Hi"}}},
			`{"response":true}`, ""},
		{"unknown user", "GET", "/users/987654321", nil, "", "not found"},
		{"a query of two characters", "GET", "/users/?query=no", nil, "", "at least 3 characters"},
		{"unknown role", "GET", "/roles/987654321", nil, "", "not found"},
		{"unknown application", "GET", "/application/987654321", nil, "", "not found"},
		{"a user id that is no number", "GET", "/users/abc", nil, "", "not found"},
		{"duplicate e-mail", "POST", "/users/", map[string]any{"email": "plain@example.com"}, "", "email"},
		{"malformed JSON", "POST", "/users/", `{"email": `, "", "error parsing http request body"},
		{"bad state filter", "GET", "/users/?deleted=7", nil, "", "deleted"},
		{"bad sort", "GET", "/users/?sort=bogus", nil, "", "sort"},
		// Round 43, each as Corteza 2020.9's: Permissions.Update answers
		// resputil.OK(); the settings repository selects into a nil slice;
		// a reminder list leaves an empty set out ("set,omitempty"), and
		// its filter's ids are numbers; a wrong log-in is
		// AuthErrInvalidCredentials, whether or not the address is known.
		{"a role's rules patched", "PATCH", "/permissions/" + role + "/rules",
			map[string]any{"rules": []map[string]any{{"resource": "system", "operation": "user.create", "access": "allow"}}},
			`{"success":{"message":"OK"}}`, ""},
		{"no settings", "GET", "/settings/?prefix=no.such.prefix", nil, `{"response":null}`, ""},
		{"no reminders", "GET", "/reminder/?resource=no-such&assignedTo=" + uid, nil,
			`{"response":{"filter":{"reminderID":null,"resource":"no-such","assignedTo":` + uid + `,"scheduledFrom":null,"scheduledUntil":null,"excludeDismissed":false,"scheduledOnly":false,"sort":"","count":0}}}`, ""},
		{"a wrong password", "POST", "/auth/internal/login", map[string]any{"email": "plain@example.com", "password": "wrong password here"},
			"", "invalid username and password combination"},
		{"an unknown address", "POST", "/auth/internal/login", map[string]any{"email": "nobody@example.com", "password": "wrong password here"},
			"", "invalid username and password combination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := b.do(t, tt.method, tt.path, b.adminJWT, tt.body)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200 as Corteza: %s", res.status, res.body)
			}
			got := strings.TrimSuffix(string(res.body), "\n")
			if tt.want != "" && got != tt.want {
				t.Errorf("body\n%s\nwant\n%s", got, tt.want)
			}
			if msg := res.errMessage(t); tt.wantErr != "" && !strings.Contains(strings.ToLower(msg), tt.wantErr) {
				t.Errorf("error %q, want it to mention %q", msg, tt.wantErr)
			}
		})
	}
}

// TestTrailingSlashes: routes match as Corteza writes them, and usher's
// middleware takes a list's path without its slash too; another path is a
// 404 in the error envelope, another method a 405.
func TestTrailingSlashes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/users/", 200},
		{"GET", "/users", 200},
		{"GET", "/users/1/nothing", 404},
		{"GET", "/stats/", 200},
		{"GET", "/stats", 200},
		{"GET", "/auth/check", 200},
		{"GET", "/auth/check/", 404},
		{"PATCH", "/users/", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := b.do(t, tt.method, tt.path, b.adminJWT, nil)
			if res.status != tt.status {
				t.Errorf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			if tt.status != 200 && res.errMessage(t) == "" {
				t.Errorf("no error envelope: %s", res.body)
			}
		})
	}
}

// TestShapes checks the types Corteza writes: ids as strings, an
// application's ownerID as a number, membership lists of id strings,
// paging by page and perPage.
func TestShapes(t *testing.T) {
	t.Parallel()
	for _, postgres := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[postgres], func(t *testing.T) {
			t.Parallel()
			testShapes(t, setupOn(t, postgres))
		})
	}
}

func testShapes(t *testing.T, b *bundle) {
	var role struct {
		Response struct {
			RoleID   string `json:"roleID"`
			CanGrant bool   `json:"canGrant"`
		} `json:"response"`
	}
	b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": "Editors", "handle": "editors"}).decode(t, &role)
	if role.Response.RoleID == "" || !role.Response.CanGrant {
		t.Fatalf("role %+v", role)
	}
	uid := strconv.FormatInt(b.user.ID, 10)
	if m := b.do(t, "POST", "/roles/"+role.Response.RoleID+"/member/"+uid, b.adminJWT, nil).errMessage(t); m != "" {
		t.Fatal(m)
	}
	for _, path := range []string{"/users/" + uid + "/membership", "/roles/" + role.Response.RoleID + "/members"} {
		var ids struct {
			Response []string `json:"response"`
		}
		b.do(t, "GET", path, b.adminJWT, nil).decode(t, &ids)
		want := role.Response.RoleID
		if strings.HasSuffix(path, "members") {
			want = uid
		}
		if len(ids.Response) != 1 || ids.Response[0] != want {
			t.Errorf("%s: %v, want [%q]", path, ids.Response, want)
		}
	}
	var byRole struct {
		Response struct {
			Set []struct {
				UserID string `json:"userID"`
			} `json:"set"`
		} `json:"response"`
	}
	b.do(t, "GET", "/users/?roleID="+role.Response.RoleID, b.adminJWT, nil).decode(t, &byRole)
	if len(byRole.Response.Set) != 1 || byRole.Response.Set[0].UserID != uid {
		t.Errorf("users of the role: %+v", byRole)
	}

	var app map[string]map[string]any
	b.do(t, "POST", "/application/", b.adminJWT, map[string]any{"name": "Wiki", "enabled": true}).decode(t, &app)
	if _, isNumber := app["response"]["ownerID"].(float64); !isNumber {
		t.Errorf("ownerID %T, want a number as Corteza writes it", app["response"]["ownerID"])
	}
	if _, isString := app["response"]["applicationID"].(string); !isString {
		t.Errorf("applicationID %T, want a string", app["response"]["applicationID"])
	}

	for i := range 3 {
		b.env.MustCreateUser(t, usher.UserCreate{Username: "u" + strconv.Itoa(i), Email: "u" + strconv.Itoa(i) + "@example.com"})
	}
	var page struct {
		Response struct {
			Filter map[string]any    `json:"filter"`
			Set    []json.RawMessage `json:"set"`
		} `json:"response"`
	}
	b.do(t, "GET", "/users/?perPage=2&page=3", b.adminJWT, nil).decode(t, &page)
	if len(page.Response.Set) != 1 || page.Response.Filter["count"] != float64(5) || page.Response.Filter["page"] != float64(3) {
		t.Errorf("page 3 of 2: %d users, filter %v", len(page.Response.Set), page.Response.Filter)
	}
	// (page-1)×perPage wrapped round to 0: the first page.
	if m := b.do(t, "GET", "/users/?perPage=4294967296&page=4294967297", b.adminJWT, nil).errMessage(t); m == "" {
		t.Error("page 4294967297 of 4294967296 users each answered")
	}
}

// TestSignupAndImpersonate: sign-up and impersonation answer {"jwt","user"}
// with a JWT that works.
func TestSignupAndImpersonate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var out struct {
		Response struct {
			JWT  string `json:"jwt"`
			User struct {
				UserID string   `json:"userID"`
				Email  string   `json:"email"`
				Roles  []string `json:"roles"`
			} `json:"user"`
		} `json:"response"`
	}
	res := b.do(t, "POST", "/auth/internal/signup", "", map[string]any{"email": "new@example.com", "username": "newbie",
		"password": "another long passphrase", "name": "New"})
	res.decode(t, &out)
	if out.Response.User.Email != "new@example.com" || out.Response.User.Roles == nil {
		t.Fatalf("signup: %s", res.body)
	}
	res = b.do(t, "POST", "/auth/impersonate", b.adminJWT, map[string]any{"userID": strconv.FormatInt(b.user.ID, 10)})
	res.decode(t, &out)
	if out.Response.User.UserID != strconv.FormatInt(b.user.ID, 10) || len(out.Response.JWT) <= 100 {
		t.Fatalf("impersonate: %s", res.body)
	}
	var check struct {
		Response struct {
			User struct {
				UserID string `json:"userID"`
			} `json:"user"`
		} `json:"response"`
	}
	b.do(t, "GET", "/auth/check", out.Response.JWT, nil).decode(t, &check)
	if check.Response.User.UserID != strconv.FormatInt(b.user.ID, 10) {
		t.Errorf("the impersonation's JWT: %+v", check)
	}
	if m := b.do(t, "POST", "/auth/impersonate", b.userJWT, map[string]any{"userID": strconv.FormatInt(b.admin.ID, 10)}).errMessage(t); m == "" {
		t.Error("a plain user impersonated an administrator")
	}
	_ = usher.KindForbidden
}
