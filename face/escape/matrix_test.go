package escape_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/escape"
)

// columns are who makes a request in the authorization matrix: nobody; a
// plain user acting on itself; a plain user acting on another, in no team;
// a team's reader and owner; a service account of the team; an
// administrator.
var columns = []string{"anonymous", "self", "other", "reader", "owner", "sa", "admin"}

// The outcomes of a cell.
const (
	allowed         = 'A' // 2xx or 302
	unauthenticated = 'U' // 401
	forbidden       = 'F' // 403
	notFound        = 'N' // 404
	badRequest      = 'B' // 400
)

func outcome(status int) byte {
	switch {
	case status >= 200 && status < 300 || status == http.StatusFound:
		return allowed
	case status == http.StatusUnauthorized:
		return unauthenticated
	case status == http.StatusForbidden:
		return forbidden
	case status == http.StatusNotFound:
		return notFound
	case status == http.StatusBadRequest:
		return badRequest
	}
	return '?'
}

// matrixRow is one route: what each column's request is, and what must
// become of it.
type matrixRow struct {
	method, pattern string
	want            string // one outcome per column
	build           func(c *cell) call
}

type principal struct {
	name  string
	user  *usher.User
	token string
}

// matrix is one row's world: a fresh database with every column's caller.
type matrix struct {
	*bundle
	who map[string]*principal
	sa  string // the service account's name
	n   int
}

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	b := setupWith(t, core.Policy{SignupEnabled: true, SkipEmailConfirmation: true})
	m := &matrix{bundle: b, who: map[string]*principal{"anonymous": {name: "anonymous"}}}
	for _, col := range []string{"self", "other", "reader", "owner", "admin"} {
		u := b.env.MustCreateUser(t, usher.UserCreate{Username: "m-" + col, Email: "m-" + col + "@example.com",
			Password: password, Admin: col == "admin", EmailConfirmed: true})
		m.who[col] = &principal{name: col, user: u, token: b.env.MustToken(t, u.ID, usher.TokenPersonal)}
	}
	g := m.newTeam(t)
	sa, err := b.env.Core.Groups.CreateServiceAccount(coretest.System(), usher.GroupRef{ID: g.ID}, "m-sa", "")
	if err != nil {
		t.Fatal(err)
	}
	m.sa = sa.Username
	m.who["sa"] = &principal{name: "sa", user: sa, token: b.env.MustToken(t, sa.ID, usher.TokenServiceAccount)}
	return m
}

// newTeam makes a team owned by the owner column, with the reader column
// (and the service account, once there is one) as members.
func (m *matrix) newTeam(t *testing.T) *usher.Group {
	t.Helper()
	sys := coretest.System()
	g, err := m.env.Core.Groups.Create(sys, usher.GroupCreate{Kind: usher.GroupTeam, Handle: m.unique("team"),
		Members: []int64{m.who["owner"].user.ID}})
	if err != nil {
		t.Fatal(err)
	}
	ref := usher.GroupRef{ID: g.ID}
	for col, level := range map[string]usher.Level{"owner": usher.LevelOwner, "reader": usher.LevelRead, "sa": usher.LevelWrite} {
		if p := m.who[col]; p != nil {
			if _, err := m.env.Core.Groups.AddMember(sys, ref, usher.UserKey{ID: p.user.ID}, level); err != nil {
				t.Fatal(err)
			}
		}
	}
	return g
}

func (m *matrix) unique(prefix string) string {
	m.n++
	return fmt.Sprintf("%s-%d", prefix, m.n)
}

// cell is one request of the matrix.
type cell struct {
	t   *testing.T
	m   *matrix
	who *principal
	// token is the credential sent; build may change it.
	token string
}

func (c *cell) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// target is the user a user route acts on: the caller itself in the self
// column, in the others a fresh user made for the cell.
func (c *cell) target() string {
	if c.who.name == "self" {
		return c.who.user.Username
	}
	name := c.m.unique("victim")
	c.m.env.MustCreateUser(c.t, usher.UserCreate{Username: name, Email: name + "@example.com", Password: password})
	return name
}

// team returns the path of a fresh team the columns belong to.
func (c *cell) team(suffix string) string {
	return p + "/teams/" + c.m.newTeam(c.t).Handle + "/" + suffix
}

// teamSA returns the path of a fresh team's fresh service account.
func (c *cell) teamSA(suffix string) string {
	g := c.m.newTeam(c.t)
	sa, err := c.m.env.Core.Groups.CreateServiceAccount(coretest.System(), usher.GroupRef{ID: g.ID}, c.m.unique("bot"), "")
	c.must(err)
	return p + "/teams/" + g.Handle + "/service-accounts/" + sa.Username + "/" + suffix
}

func (c *cell) plan() string {
	pl, err := c.m.env.Core.Plans.Create(coretest.System(), usher.Plan{Name: c.m.unique("plan"), CanCreateTeam: true})
	c.must(err)
	return p + "/plans/" + pl.Name + "/"
}

// session logs the column in, when it has a password, and sends the
// session.
func (c *cell) session() {
	if c.who.user == nil || c.who.name == "sa" {
		return
	}
	s, err := c.m.env.Core.Auth.Login(context.Background(), c.who.user.Username, password)
	c.must(err)
	c.token = s.Secret
}

func get(path string) func(*cell) call {
	return func(*cell) call { return call{path: path} }
}

func matrixRows() []matrixRow {
	return []matrixRow{
		{"GET", "/api/v1/auth/login-methods", "AAAAAAA", get("/api/v1/auth/login-methods")},
		{"GET", p + "/auth/login-methods", "AAAAAAA", get(p + "/auth/login-methods")},
		{"POST", p + "/auth/login/", "AAAAAAA", func(c *cell) call {
			return call{path: p + "/auth/login/", body: map[string]any{"email": "m-self@example.com", "secret_token": password}}
		}},
		{"POST", p + "/auth/login/service-account/", "AAAAAAA", func(c *cell) call {
			return call{path: p + "/auth/login/service-account/", body: map[string]any{"username": c.m.sa, "secret_token": c.m.who["sa"].token}}
		}},
		{"POST", p + "/auth/logout/", "UAAAABA", func(c *cell) call { c.session(); return call{path: p + "/auth/logout/"} }},
		{"GET", p + "/auth/signup-methods/", "AAAAAAA", get(p + "/auth/signup-methods/")},
		{"POST", p + "/auth/signup/", "AAAAAAA", func(c *cell) call {
			name := c.m.unique("new")
			return call{path: p + "/auth/signup/", body: map[string]any{"username": name, "email": name + "@example.com", "password": password}}
		}},
		{"POST", p + "/auth/confirm-email/", "NNNNNNN", func(c *cell) call {
			return call{path: p + "/auth/confirm-email/", body: map[string]any{"code": "unknown"}}
		}},
		{"POST", p + "/auth/password-reset/", "AAAAAAA", func(c *cell) call {
			return call{path: p + "/auth/password-reset/", body: map[string]any{"email": c.target() + "@example.com"}}
		}},
		{"POST", p + "/auth/password-reset/confirm/", "NNNNNNN", func(c *cell) call {
			return call{path: p + "/auth/password-reset/confirm/", body: map[string]any{"password_reset_token": "unknown", "password": password}}
		}},
		{"POST", p + "/auth/password-quality/", "AAAAAAA", func(c *cell) call {
			return call{path: p + "/auth/password-quality/", body: map[string]any{"password": password}}
		}},
		{"GET", p + "/auth/oauth/{provider}/start/", "AAAAAAA", func(c *cell) call {
			d, err := c.m.env.Core.Auth.StartDeviceLogin(context.Background(), "corp")
			c.must(err)
			return call{path: p + "/auth/oauth/corp/start/?redeem-token=" + url.QueryEscape(d.UserCode)}
		}},
		{"GET", p + "/auth/oauth/{provider}/callback/", "NNNNNNN", get(p + "/auth/oauth/corp/callback/?state=unknown&code=x")},
		// None of the columns' accounts was made by an external log-in.
		{"POST", p + "/auth/oauth/{provider}/finish-signup/", "UBBBBBB", func(c *cell) call {
			return call{path: p + "/auth/oauth/corp/finish-signup/", body: map[string]any{"username": c.m.unique("chosen")}}
		}},
		{"GET", p + "/auth/redeem/", "NNNNNNN", func(c *cell) call {
			d, err := c.m.env.Core.Auth.StartDeviceLogin(context.Background(), "corp")
			c.must(err)
			return call{path: p + "/auth/redeem/?redeem-token=" + url.QueryEscape(d.RedeemToken)}
		}},
		{"GET", p + "/acl/user/", "UAAAAAA", get(p + "/acl/user/")},
		{"GET", p + "/version/", "AAAAAAA", get(p + "/version/")},
		{"GET", p + "/openapi.json", "AAAAAAA", get(p + "/openapi.json")},

		{"GET", p + "/teams/", "UAAAAAA", get(p + "/teams/")},
		{"POST", p + "/teams/", "UAAAAUA", func(c *cell) call {
			return call{path: p + "/teams/", body: map[string]any{"name": c.m.unique("new")}}
		}},
		{"GET", p + "/teams/{team}/", "UFFAAAA", func(c *cell) call { return call{path: c.team("")} }},
		{"PUT", p + "/teams/{team}/", "UFFFAAA", func(c *cell) call {
			return call{path: c.team(""), body: map[string]any{"description": "changed"}}
		}},
		{"DELETE", p + "/teams/{team}/", "UFFFAFA", func(c *cell) call { return call{path: c.team("")} }},
		{"POST", p + "/teams/{team}/users/{username}/", "UFFFAFA", func(c *cell) call {
			return call{path: c.team("users/m-other/"), body: map[string]any{"permission": "read"}}
		}},
		// The reader removes itself: a member may leave.
		{"DELETE", p + "/teams/{team}/users/{username}/", "UFFAAFA", func(c *cell) call {
			return call{path: c.team("users/m-reader/"), body: map[string]any{"permission": "read"}}
		}},
		{"GET", p + "/teams/{team}/service-accounts/", "UFFAAAA", func(c *cell) call { return call{path: c.team("service-accounts/")} }},
		{"POST", p + "/teams/{team}/service-accounts/{username}/", "UFFFAFA", func(c *cell) call {
			return call{path: c.team("service-accounts/" + c.m.unique("bot") + "/")}
		}},
		{"DELETE", p + "/teams/{team}/service-accounts/{username}/", "UFFFAFA", func(c *cell) call { return call{path: c.teamSA("")} }},
		{"POST", p + "/teams/{team}/service-accounts/{username}/token/", "UFFFAFA", func(c *cell) call { return call{path: c.teamSA("token/")} }},
		{"POST", p + "/teams/{team}/service-accounts/{username}/rotate/", "UFFFAFA", func(c *cell) call { return call{path: c.teamSA("rotate/")} }},

		{"GET", p + "/groups/", "UAAAAAA", get(p + "/groups/")},
		{"GET", p + "/groups/{group}/users/", "UFFAAAA", func(c *cell) call {
			return call{path: strings.Replace(c.team("users/"), "/teams/", "/groups/", 1)}
		}},
		{"GET", p + "/groups/{group}/service-accounts/", "UFFAAAA", func(c *cell) call {
			return call{path: strings.Replace(c.team("service-accounts/"), "/teams/", "/groups/", 1)}
		}},
		{"GET", p + "/groups/{group}/users/{username}/roles/", "UFFAAAA", func(c *cell) call {
			return call{path: strings.Replace(c.team("users/m-reader/roles/"), "/teams/", "/groups/", 1)}
		}},

		{"POST", p + "/groups/add-user/", "UFFFFFA", func(c *cell) call {
			return call{path: p + "/groups/add-user/", body: map[string]any{"group": c.m.unique("machines"), "user_id": c.m.who["other"].user.UUID}}
		}},
		{"PUT", p + "/groups/{group}/users/{username}/roles/", "UFFFAFA", func(c *cell) call {
			return call{path: strings.Replace(c.team("users/m-reader/roles/"), "/teams/", "/groups/", 1), body: map[string]any{"roles": []string{"write"}}}
		}},
		{"GET", p + "/plans/", "UAAAAAA", get(p + "/plans/")},
		{"POST", p + "/plans/", "UFFFFFA", func(c *cell) call {
			return call{path: p + "/plans/", body: map[string]any{"name": c.m.unique("plan"), "can_create_team": true}}
		}},
		{"PUT", p + "/plans/{plan}/", "UFFFFFA", func(c *cell) call {
			return call{path: c.plan(), body: map[string]any{"can_create_team": true, "project_limit": 3}}
		}},
		{"DELETE", p + "/plans/{plan}/", "UFFFFFA", func(c *cell) call { return call{path: c.plan()} }},

		{"GET", p + "/user/", "UAAAAAA", get(p + "/user/")},
		{"GET", p + "/users/", "UAAAAAA", get(p + "/users/")},
		{"GET", p + "/users/{username}/", "UAAAAAA", func(c *cell) call { return call{path: p + "/users/" + c.target() + "/"} }},
		{"PUT", p + "/users/{username}/", "UAFFFFA", func(c *cell) call {
			return call{path: p + "/users/" + c.target() + "/", body: map[string]any{"first_name": "New"}}
		}},
		{"DELETE", p + "/users/{username}/", "UFFFFFA", func(c *cell) call { return call{path: p + "/users/" + c.target() + "/"} }},
		{"PUT", p + "/users/{username}/plan/", "UFFFFFA", func(c *cell) call {
			name := strings.TrimSuffix(strings.TrimPrefix(c.plan(), p+"/plans/"), "/")
			return call{path: p + "/users/" + c.target() + "/plan/", body: map[string]any{"name": name}}
		}},
		{"POST", p + "/users/{username}/activate/", "UFFFFFA", func(c *cell) call {
			name := c.target()
			if c.who.name != "self" {
				_, err := c.m.env.Core.Users.Suspend(coretest.System(), usher.UserKey{Username: name})
				c.must(err)
			}
			return call{path: p + "/users/" + name + "/activate/"}
		}},
		{"POST", p + "/users/{username}/deactivate/", "UFFFFFA", func(c *cell) call {
			return call{path: p + "/users/" + c.target() + "/deactivate/"}
		}},
		// Avatars are public, as usher's own are.
		{"GET", p + "/users/{username}/avatar/", "AAAAAAA", func(c *cell) call {
			name := c.target()
			_, err := c.m.env.Core.Avatars.Set(coretest.System(), usher.UserKey{Username: name}, pngBytes)
			c.must(err)
			return call{path: p + "/users/" + name + "/avatar/"}
		}},
		{"PUT", p + "/users/{username}/avatar/", "UAFFFFA", func(c *cell) call {
			return call{path: p + "/users/" + c.target() + "/avatar/", body: map[string]any{"image_uri": base64.StdEncoding.EncodeToString(pngBytes)}}
		}},
	}
}

// TestAuthorizationMatrix sends every route as every column's caller and
// checks who may call it. Every route has a row.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	rows := matrixRows()
	routes := map[string]bool{}
	for _, r := range (&escape.Handler{}).Routes() {
		routes[r] = true
	}
	for _, r := range rows {
		key := r.method + " " + r.pattern
		if !routes[key] {
			t.Errorf("row %s is not a route", key)
		}
		delete(routes, key)
		if len(r.want) != len(columns) {
			t.Errorf("row %s has %d outcomes for %d columns", key, len(r.want), len(columns))
		}
	}
	for r := range routes {
		t.Errorf("route %s has no row in the authorization matrix", r)
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, r := range rows {
		t.Run(r.method+" "+r.pattern, func(t *testing.T) {
			t.Parallel()
			m := newMatrix(t)
			got := make([]byte, len(columns))
			var detail []string
			for i, col := range columns {
				c := &cell{t: t, m: m, who: m.who[col], token: m.who[col].token}
				rq := r.build(c)
				if col == "sa" && c.token == c.who.token {
					// Minted once the cell is built: deleting a team of
					// the service account's, as an earlier cell may,
					// ends its tokens.
					c.token = m.env.MustToken(t, c.who.user.ID, usher.TokenServiceAccount)
				}
				rq.method, rq.token = r.method, c.token
				res := m.do(t, rq)
				got[i] = outcome(res.status)
				if got[i] != r.want[i] {
					detail = append(detail, fmt.Sprintf("%s: %d %s", col, res.status, res.body))
				}
			}
			if string(got) != r.want {
				t.Errorf("got %s, want %s\n%s", got, r.want, strings.Join(detail, "\n"))
			}
		})
	}
	t.Logf("%d routes × %d callers = %d cells", len(rows), len(columns), len(rows)*len(columns))
}
