package native_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/face/native"
)

// columns are who makes a request in the authorization matrix: nobody; a
// plain user acting on itself; a plain user acting on another; a team's
// reader, writer and owner; a service account of the team with a token that
// may write, and one whose token may only read its own profile; a blocked
// user; an administrator.
var columns = []string{"anonymous", "self", "other", "reader", "writer", "owner", "sa", "sa-read-user", "blocked", "admin"}

// The outcomes of a cell.
const (
	allowed         = 'A' // 2xx, or 304
	unauthenticated = 'U' // 401
	forbidden       = 'F' // 403
	notFound        = 'N' // 404
	badRequest      = 'B' // 400: the request makes no sense for this caller
)

func outcome(status int) byte {
	switch {
	case status >= 200 && status < 300 || status == http.StatusNotModified:
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

// A matrixRow is one route: what each column's request is, and what must
// become of it.
type matrixRow struct {
	method, pattern string
	// want has one outcome per column.
	want string
	// build returns the cell's request (its method is the row's); it may
	// make what the request acts on, fresh for the cell, so that one cell's
	// change does not decide another's outcome.
	build func(c *cell) req
}

// principal is one column's caller.
type principal struct {
	name     string
	user     *usher.User
	token    string
	password string // empty for those that have none
	// scopes, for the service account, are those a cell's token is
	// minted with: deleting any of its teams, as a cell may, ends its
	// tokens.
	scopes []string
}

// matrix is one row's world: a fresh database with every column's caller.
type matrix struct {
	*bundle
	who map[string]*principal
	n   int
}

const matrixPassword = "a long and winding passphrase"

func newMatrix(t *testing.T) *matrix {
	t.Helper()
	b := setupWith(t, coretest.Options{Policy: core.Policy{SignupEnabled: true, SkipEmailConfirmation: true}})
	m := &matrix{bundle: b, who: map[string]*principal{"anonymous": {name: "anonymous"}}}
	add := func(col, username string, admin bool) *principal {
		u := b.env.MustCreateUser(t, usher.UserCreate{Username: username, Email: username + "@example.com",
			Password: matrixPassword, Admin: admin, EmailConfirmed: true})
		p := &principal{name: col, user: u, token: b.env.MustToken(t, u.ID, usher.TokenPersonal), password: matrixPassword}
		m.who[col] = p
		return p
	}
	for _, col := range []string{"self", "other", "reader", "writer", "owner", "blocked"} {
		add(col, "m-"+col, false)
	}
	add("admin", "m-admin", true)
	// The team the columns belong to; each cell that acts on a team makes
	// its own with the same members (see cell.team).
	team := m.newTeam(t)
	sa, err := b.env.Core.Groups.CreateServiceAccount(m.as(t, "owner"), usher.GroupRef{ID: team.ID}, "m-sa", "")
	if err != nil {
		t.Fatal(err)
	}
	m.who["sa"] = &principal{name: "sa", user: sa, token: b.env.MustToken(t, sa.ID, usher.TokenServiceAccount, usher.ScopeAPI),
		scopes: []string{usher.ScopeAPI}}
	m.who["sa-read-user"] = &principal{name: "sa-read-user", user: sa,
		token: b.env.MustToken(t, sa.ID, usher.TokenServiceAccount, usher.ScopeReadUser), scopes: []string{usher.ScopeReadUser}}
	if _, err := b.env.Core.Users.Block(coretest.System(), usher.UserKey{ID: m.who["blocked"].user.ID}); err != nil {
		t.Fatal(err)
	}
	return m
}

// as returns a context acting as a column's caller.
func (m *matrix) as(t *testing.T, col string) context.Context {
	t.Helper()
	p, err := m.env.Core.Auth.Authenticate(context.Background(), m.who[col].token)
	if err != nil {
		t.Fatalf("authenticate %s: %v", col, err)
	}
	return usher.WithPrincipal(context.Background(), p)
}

// newTeam makes a team owned by the owner column, with the reader and
// writer columns (and the service account, once there is one) as members.
func (m *matrix) newTeam(t *testing.T) *usher.Group {
	t.Helper()
	owner := m.as(t, "owner")
	g, err := m.env.Core.Groups.Create(owner, usher.GroupCreate{Kind: usher.GroupTeam, Handle: m.unique("team")})
	if err != nil {
		t.Fatal(err)
	}
	members := map[string]usher.Level{"reader": usher.LevelRead, "writer": usher.LevelWrite, "sa": usher.LevelWrite}
	for col, level := range members {
		if p := m.who[col]; p != nil {
			// The service account of the column is one account for every
			// team: only an administrator puts it in each of them.
			by := owner
			if col == "sa" {
				by = sys()
			}
			if _, err := m.env.Core.Groups.AddMember(by, usher.GroupRef{ID: g.ID}, usher.UserKey{ID: p.user.ID}, level); err != nil {
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
	token  string
	victim *usher.User
}

func sys() context.Context { return coretest.System() }

func (c *cell) must(err error) {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
}

// target is the user a user route acts on: the caller itself in the self
// column, in the others a fresh user made for the cell.
func (c *cell) target() *usher.User {
	if c.who.name == "self" {
		return c.who.user
	}
	if c.victim == nil {
		name := c.m.unique("victim")
		c.victim = c.m.env.MustCreateUser(c.t, usher.UserCreate{Username: name, Email: name + "@example.com", Password: matrixPassword})
	}
	return c.victim
}

func (c *cell) targetKey() usher.UserKey { return usher.UserKey{ID: c.target().ID} }

func (c *cell) userPath(suffix string) string {
	return fmt.Sprintf("/v1/users/%d%s", c.target().ID, suffix)
}

// team returns the path of a fresh team the columns belong to.
func (c *cell) team(suffix string) string {
	return fmt.Sprintf("/v1/groups/%d%s", c.m.newTeam(c.t).ID, suffix)
}

func (c *cell) teamRef() (usher.GroupRef, *usher.Group) {
	g := c.m.newTeam(c.t)
	return usher.GroupRef{ID: g.ID}, g
}

func (c *cell) role(suffix string) string {
	g, err := c.m.env.Core.Groups.Create(sys(), usher.GroupCreate{Kind: usher.GroupRole, Handle: c.m.unique("role")})
	c.must(err)
	_, err = c.m.env.Core.Groups.SetRules(sys(), usher.GroupRef{ID: g.ID}, []usher.Rule{{Resource: "audit", Operation: "read", Access: usher.Allow}}, true)
	c.must(err)
	return fmt.Sprintf("/v1/groups/%d%s", g.ID, suffix)
}

func (c *cell) org(archived, deleted bool) *usher.Organisation {
	o, err := c.m.env.Core.Orgs.Create(sys(), c.m.unique("org"), "Org")
	c.must(err)
	if archived || deleted {
		o, err = c.m.env.Core.Orgs.Update(sys(), o.ID, usher.OrganisationUpdate{Archived: &archived, Deleted: &deleted})
		c.must(err)
	}
	return o
}

func (c *cell) orgPath(o *usher.Organisation, suffix string) string {
	return fmt.Sprintf("/v1/organisations/%d%s", o.ID, suffix)
}

// app returns the path of a fresh application the self column owns.
func (c *cell) app(listed, deleted bool, suffix string) string {
	a, err := c.m.env.Core.Apps.Create(sys(), usher.ApplicationCreate{Name: c.m.unique("app"), OwnerID: c.m.who["self"].user.ID,
		Enabled: true, Unify: usher.ApplicationUnify{Listed: listed}})
	c.must(err)
	if deleted {
		_, err = c.m.env.Core.Apps.Delete(sys(), a.ID)
		c.must(err)
	}
	return fmt.Sprintf("/v1/applications/%d%s", a.ID, suffix)
}

func (c *cell) plan() string {
	p, err := c.m.env.Core.Plans.Create(sys(), usher.Plan{Name: c.m.unique("plan")})
	c.must(err)
	return "/v1/plans/" + p.Name
}

// reminder returns the path of a fresh reminder assigned to the cell's
// target, made by the system.
func (c *cell) reminder(suffix string) string {
	r, err := c.m.env.Core.Reminders.Create(sys(), usher.ReminderCreate{Resource: "user:1", AssignedTo: c.target().ID})
	c.must(err)
	return fmt.Sprintf("/v1/reminders/%d%s", r.ID, suffix)
}

// script returns the path of a fresh script made by the system: a client
// script in its own bundle, or a server script that runs on request.
func (c *cell) script(kind usher.ScriptKind, suffix string) string {
	in := usher.ScriptCreate{Name: c.m.unique("script"), Kind: kind, Source: "usher.log(1)"}
	if kind == usher.ScriptClient {
		in.Bundle = in.Name
	} else {
		in.Triggers = []usher.Trigger{usher.TriggerSystemManual}
	}
	sc, err := c.m.env.Core.Scripts.Create(sys(), in)
	c.must(err)
	if kind == usher.ScriptClient {
		return "/v1/scripts/bundles/" + sc.Bundle
	}
	return "/v1/scripts/" + sc.Name + suffix
}

// sshKey returns a new authorized_keys line.
func (c *cell) sshKey() string { return coretest.NewSSHKey(c.t) }

// pngImage returns a small PNG.
func pngImage(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// session logs the caller in and sends the session instead of its token;
// callers that cannot log in keep their token.
func (c *cell) session() *usher.Session {
	if c.who.password == "" || c.who.name == "blocked" {
		return nil
	}
	s, err := c.m.env.Core.Auth.Login(context.Background(), c.who.user.Username, c.who.password)
	c.must(err)
	c.token = s.Secret
	return s
}

// own mints a token of the caller's, to revoke or rotate.
func (c *cell) own() int64 {
	if c.who.user == nil {
		return 1
	}
	kind := usher.TokenPersonal
	if c.who.user.Kind == usher.KindServiceAccount {
		kind = usher.TokenServiceAccount
	}
	tok, _, err := c.m.env.Core.Auth.CreateToken(sys(), usher.TokenCreate{UserID: c.who.user.ID, Kind: kind, Name: "spare"})
	c.must(err)
	return tok.ID
}

func path(p string) func(*cell) req { return func(*cell) req { return req{path: p} } }

func body(p string, b any) func(*cell) req { return func(*cell) req { return req{path: p, body: b} } }

// matrixRows lists every native route with its request for each column and
// the outcomes: A allowed, U 401, F 403, N 404, B 400. The columns are
// anonymous, self, other, reader, writer, owner, sa, sa-read-user, blocked,
// admin.
func matrixRows() []matrixRow {
	userState := func(prep func(*cell)) func(*cell) req {
		return func(c *cell) req {
			if prep != nil {
				prep(c)
			}
			return req{path: c.userPath("")}
		}
	}
	return []matrixRow{
		// Users.
		{"POST", "/v1/users", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/users", body: map[string]any{"username": c.m.unique("new")}}
		}},
		{"GET", "/v1/users", "UAAAAAAFUA", path("/v1/users")},
		{"GET", "/v1/users/{user}", "UAAAAAAFUA", userState(nil)},
		{"PATCH", "/v1/users/{user}", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath(""), body: map[string]any{"bio": "changed"}}
		}},
		{"DELETE", "/v1/users/{user}", "UFFFFFFFUA", userState(nil)},
		{"POST", "/v1/users/{user}/undelete", "UFFFFFFFUA", func(c *cell) req {
			if c.who.name != "self" {
				_, err := c.m.env.Core.Users.Delete(sys(), c.targetKey())
				c.must(err)
			}
			return req{path: c.userPath("/undelete")}
		}},
		{"POST", "/v1/users/{user}/block", "UFFFFFFFUA", func(c *cell) req { return req{path: c.userPath("/block")} }},
		{"POST", "/v1/users/{user}/unblock", "UFFFFFFFUA", func(c *cell) req {
			if c.who.name != "self" {
				_, err := c.m.env.Core.Users.Block(sys(), c.targetKey())
				c.must(err)
			}
			return req{path: c.userPath("/unblock")}
		}},
		{"POST", "/v1/users/{user}/suspend", "UFFFFFFFUA", func(c *cell) req { return req{path: c.userPath("/suspend")} }},
		{"POST", "/v1/users/{user}/unsuspend", "UFFFFFFFUA", func(c *cell) req {
			if c.who.name != "self" {
				_, err := c.m.env.Core.Users.Suspend(sys(), c.targetKey())
				c.must(err)
			}
			return req{path: c.userPath("/unsuspend")}
		}},
		{"POST", "/v1/users/{user}/purge", "UFFFFFFFUA", func(c *cell) req {
			if c.who.name != "self" {
				_, err := c.m.env.Core.Users.Delete(sys(), c.targetKey())
				c.must(err)
			}
			return req{path: c.userPath("/purge")}
		}},
		{"PUT", "/v1/users/{user}/password", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath("/password"), body: map[string]any{"password": "another long passphrase"}}
		}},
		{"GET", "/v1/audit", "UFFFFFFFUA", path("/v1/audit")},
		{"GET", "/v1/stats", "UFFFFFFFUA", path("/v1/stats")},
		{"GET", "/v1/subscription", "UAAAAAAFUA", path("/v1/subscription")},

		// SSH keys, e-mail addresses, settings, avatars.
		{"GET", "/v1/users/{user}/keys", "UAFFFFFFUA", func(c *cell) req { return req{path: c.userPath("/keys")} }},
		{"POST", "/v1/users/{user}/keys", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath("/keys"), body: map[string]any{"title": "laptop", "key": c.sshKey()}}
		}},
		{"GET", "/v1/users/{user}/keys/{id}", "UAFFFFFFUA", func(c *cell) req {
			k, err := c.m.env.Core.Keys.Add(sys(), c.targetKey(), "laptop", c.sshKey(), nil)
			c.must(err)
			return req{path: c.userPath(fmt.Sprintf("/keys/%d", k.ID))}
		}},
		{"DELETE", "/v1/users/{user}/keys/{id}", "UAFFFFFFUA", func(c *cell) req {
			k, err := c.m.env.Core.Keys.Add(sys(), c.targetKey(), "laptop", c.sshKey(), nil)
			c.must(err)
			return req{path: c.userPath(fmt.Sprintf("/keys/%d", k.ID))}
		}},
		{"GET", "/v1/users/{user}/emails", "UAFFFFFFUA", func(c *cell) req { return req{path: c.userPath("/emails")} }},
		{"POST", "/v1/users/{user}/emails", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath("/emails"), body: map[string]any{"email": c.m.unique("extra") + "@example.org"}}
		}},
		{"GET", "/v1/users/{user}/emails/{id}", "UAFFFFFFUA", func(c *cell) req {
			e, err := c.m.env.Core.Emails.Add(sys(), c.targetKey(), c.m.unique("extra")+"@example.org", true)
			c.must(err)
			return req{path: c.userPath(fmt.Sprintf("/emails/%d", e.ID))}
		}},
		{"DELETE", "/v1/users/{user}/emails/{id}", "UAFFFFFFUA", func(c *cell) req {
			e, err := c.m.env.Core.Emails.Add(sys(), c.targetKey(), c.m.unique("extra")+"@example.org", true)
			c.must(err)
			return req{path: c.userPath(fmt.Sprintf("/emails/%d", e.ID))}
		}},
		{"POST", "/v1/users/{user}/emails/{id}/primary", "UAFFFFFFUA", func(c *cell) req {
			e, err := c.m.env.Core.Emails.Add(sys(), c.targetKey(), c.m.unique("extra")+"@example.org", true)
			c.must(err)
			return req{path: c.userPath(fmt.Sprintf("/emails/%d/primary", e.ID))}
		}},
		{"POST", "/v1/auth/confirm-email", "NNNNNNNNNN", body("/v1/auth/confirm-email", map[string]any{"code": strings.Repeat("x", 32)})},
		{"GET", "/v1/users/{user}/settings", "UAFFFFFFUA", func(c *cell) req { return req{path: c.userPath("/settings")} }},
		{"PATCH", "/v1/users/{user}/settings", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath("/settings"), body: map[string]any{"theme": "dark"}}
		}},
		{"GET", "/v1/users/{user}/avatar", "AAAAAAAAAA", func(c *cell) req {
			_, err := c.m.env.Core.Avatars.Set(sys(), c.targetKey(), pngImage(c.t))
			c.must(err)
			return req{path: c.userPath("/avatar")}
		}},
		{"PUT", "/v1/users/{user}/avatar", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.userPath("/avatar"), body: pngImage(c.t), header: map[string]string{"Content-Type": "image/png"}}
		}},
		{"DELETE", "/v1/users/{user}/avatar", "UAFFFFFFUA", func(c *cell) req {
			_, err := c.m.env.Core.Avatars.Set(sys(), c.targetKey(), pngImage(c.t))
			c.must(err)
			return req{path: c.userPath("/avatar")}
		}},

		// A user's groups.
		{"GET", "/v1/users/{user}/groups", "UAAAAAAFUA", func(c *cell) req { return req{path: c.userPath("/groups")} }},
		{"PUT", "/v1/users/{user}/groups", "UFFFFAFFUA", func(c *cell) req {
			_, g := c.teamRef()
			return req{path: c.userPath("/groups"), body: map[string]any{"kind": "team", "add_to_groups": []string{g.Handle}}}
		}},

		// Groups.
		{"POST", "/v1/groups", "UAAAAAFFUA", func(c *cell) req {
			return req{path: "/v1/groups", body: map[string]any{"kind": "team", "handle": c.m.unique("made")}}
		}},
		{"GET", "/v1/groups", "UAAAAAAFUA", path("/v1/groups")},
		{"GET", "/v1/groups/{group}", "UFFAAAAFUA", func(c *cell) req { return req{path: c.team("")} }},
		{"PATCH", "/v1/groups/{group}", "UFFFAAAFUA", func(c *cell) req {
			return req{path: c.team(""), body: map[string]any{"description": "changed"}}
		}},
		{"DELETE", "/v1/groups/{group}", "UFFFFAFFUA", func(c *cell) req { return req{path: c.team("")} }},
		{"POST", "/v1/groups/{group}/undelete", "UNNNNNNNUA", func(c *cell) req {
			ref, _ := c.teamRef()
			_, err := c.m.env.Core.Groups.Delete(sys(), ref)
			c.must(err)
			return req{path: fmt.Sprintf("/v1/groups/%d/undelete", ref.ID)}
		}},
		{"POST", "/v1/groups/{group}/archive", "UFFFAAAFUA", func(c *cell) req { return req{path: c.team("/archive")} }},
		{"POST", "/v1/groups/{group}/unarchive", "UFFFAAAFUA", func(c *cell) req {
			ref, _ := c.teamRef()
			_, err := c.m.env.Core.Groups.SetArchived(sys(), ref, true)
			c.must(err)
			return req{path: fmt.Sprintf("/v1/groups/%d/unarchive", ref.ID)}
		}},
		{"POST", "/v1/groups/{group}/move", "UFFFAAAFUA", func(c *cell) req {
			return req{path: c.team("/move"), body: map[string]any{"organisation_id": c.org(false, false).ID}}
		}},
		{"POST", "/v1/groups/{group}/merge", "UFFFFAFFUA", func(c *cell) req {
			_, into := c.teamRef()
			return req{path: c.team("/merge"), body: map[string]any{"into": into.ID}}
		}},
		{"GET", "/v1/groups/{group}/members", "UFFAAAAFUA", func(c *cell) req { return req{path: c.team("/members")} }},
		{"GET", "/v1/groups/{group}/member-ids", "UFFAAAAFUA", func(c *cell) req { return req{path: c.team("/member-ids")} }},
		{"PUT", "/v1/groups/{group}/members/{user}", "UFFFFAFFUA", func(c *cell) req {
			return req{path: c.team(fmt.Sprintf("/members/%d", c.target().ID)), body: map[string]any{"level": "write"}}
		}},
		{"DELETE", "/v1/groups/{group}/members/{user}", "UFFFFAFFUA", func(c *cell) req {
			ref, _ := c.teamRef()
			u := c.m.env.MustCreateUser(c.t, usher.UserCreate{Username: c.m.unique("member")})
			_, err := c.m.env.Core.Groups.AddMember(sys(), ref, usher.UserKey{ID: u.ID}, usher.LevelRead)
			c.must(err)
			return req{path: fmt.Sprintf("/v1/groups/%d/members/%d", ref.ID, u.ID)}
		}},
		{"GET", "/v1/groups/{group}/rules", "UAAAAAAFUA", func(c *cell) req { return req{path: c.role("/rules")} }},
		{"PUT", "/v1/groups/{group}/rules", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.role("/rules"), body: map[string]any{"rules": []map[string]string{{"resource": "user", "operation": "list", "access": "deny"}}}}
		}},
		{"PATCH", "/v1/groups/{group}/rules", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.role("/rules"), body: map[string]any{"rules": []map[string]string{{"resource": "user", "operation": "list", "access": "deny"}}}}
		}},
		{"DELETE", "/v1/groups/{group}/rules", "UFFFFFFFUA", func(c *cell) req { return req{path: c.role("/rules")} }},
		{"GET", "/v1/groups/{group}/service-accounts", "UFFAAAAFUA", func(c *cell) req { return req{path: c.team("/service-accounts")} }},
		{"POST", "/v1/groups/{group}/service-accounts", "UFFFFAFFUA", func(c *cell) req {
			return req{path: c.team("/service-accounts"), body: map[string]any{"username": c.m.unique("bot")}}
		}},
		{"DELETE", "/v1/groups/{group}/service-accounts/{user}", "UFFFFAFFUA", func(c *cell) req {
			ref, _ := c.teamRef()
			sa, err := c.m.env.Core.Groups.CreateServiceAccount(sys(), ref, c.m.unique("bot"), "")
			c.must(err)
			return req{path: fmt.Sprintf("/v1/groups/%d/service-accounts/%s", ref.ID, sa.Username)}
		}},
		{"POST", "/v1/groups/{group}/service-accounts/{user}/token", "UFFFFAFFUA", func(c *cell) req {
			ref, _ := c.teamRef()
			sa, err := c.m.env.Core.Groups.CreateServiceAccount(sys(), ref, c.m.unique("bot"), "")
			c.must(err)
			return req{path: fmt.Sprintf("/v1/groups/%d/service-accounts/%s/token", ref.ID, sa.Username)}
		}},
		{"GET", "/v1/permissions", "UAAAAAAAUA", path("/v1/permissions")},
		{"GET", "/v1/permissions/effective", "UAAAAAAAUA", path("/v1/permissions/effective")},

		// Organisations.
		{"POST", "/v1/organisations", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/organisations", body: map[string]any{"handle": c.m.unique("org"), "name": "Org"}}
		}},
		{"GET", "/v1/organisations", "UAAAAAAFUA", path("/v1/organisations")},
		{"GET", "/v1/organisations/{org}", "UAAAAAAFUA", func(c *cell) req { return req{path: c.orgPath(c.org(false, false), "")} }},
		{"PATCH", "/v1/organisations/{org}", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.orgPath(c.org(false, false), ""), body: map[string]any{"name": "Renamed"}}
		}},
		{"DELETE", "/v1/organisations/{org}", "UFFFFFFFUA", func(c *cell) req { return req{path: c.orgPath(c.org(false, false), "")} }},
		{"POST", "/v1/organisations/{org}/undelete", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.orgPath(c.org(false, true), "/undelete")}
		}},
		{"POST", "/v1/organisations/{org}/archive", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.orgPath(c.org(false, false), "/archive")}
		}},
		{"POST", "/v1/organisations/{org}/unarchive", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.orgPath(c.org(true, false), "/unarchive")}
		}},

		// Applications: the self column owns an unlisted one; a listed one
		// everyone reads, and only its owner changes.
		{"POST", "/v1/applications", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/applications", body: map[string]any{"name": c.m.unique("app")}}
		}},
		{"GET", "/v1/applications", "UAAAAAAFUA", path("/v1/applications")},
		{"GET", "/v1/applications/{app}", "UANNNNNFUA", func(c *cell) req { return req{path: c.app(false, false, "")} }},
		{"PATCH", "/v1/applications/{app}", "UAFFFFFFUA", func(c *cell) req {
			return req{path: c.app(true, false, ""), body: map[string]any{"name": "Renamed"}}
		}},
		{"DELETE", "/v1/applications/{app}", "UANNNNNFUA", func(c *cell) req { return req{path: c.app(false, false, "")} }},
		{"POST", "/v1/applications/{app}/undelete", "UANNNNNFUA", func(c *cell) req {
			return req{path: c.app(false, true, "/undelete")}
		}},

		// Instance settings: administrators only; the current view is
		// anyone's.
		// Scripts: administrators only; a bundle of client scripts, anyone
		// signed in whose token may read.
		{"GET", "/v1/scripts", "UFFFFFFFUA", path("/v1/scripts?kind=server")},
		{"POST", "/v1/scripts", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/scripts", body: map[string]any{"name": c.m.unique("script"), "source": "usher.log(1)"}}
		}},
		{"GET", "/v1/scripts/{name}", "UFFFFFFFUA", func(c *cell) req { return req{path: c.script(usher.ScriptServer, "")} }},
		{"PATCH", "/v1/scripts/{name}", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.script(usher.ScriptServer, ""), body: map[string]any{"enabled": false}}
		}},
		{"DELETE", "/v1/scripts/{name}", "UFFFFFFFUA", func(c *cell) req { return req{path: c.script(usher.ScriptServer, "")} }},
		{"POST", "/v1/scripts/{name}/run", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.script(usher.ScriptServer, "/run"), body: map[string]any{}}
		}},
		{"GET", "/v1/scripts/bundles/{bundle}", "UAAAAAAFUA", func(c *cell) req { return req{path: c.script(usher.ScriptClient, "")} }},

		{"GET", "/v1/settings", "UFFFFFFFUA", path("/v1/settings?prefix=ui.")},
		{"PATCH", "/v1/settings", "UFFFFFFFUA", body("/v1/settings", map[string]any{"values": []map[string]any{{"name": "ui.matrix", "value": 1}}})},
		{"GET", "/v1/settings/current", "AAAAAAAAAA", path("/v1/settings/current")},
		{"GET", "/v1/settings/{name}", "UFFFFFFFUA", func(c *cell) req {
			_, err := c.m.env.Core.Instance.Set(sys(), "ui.matrix", []byte(`"x"`))
			c.must(err)
			return req{path: "/v1/settings/ui.matrix"}
		}},
		{"PUT", "/v1/settings/{name}", "UFFFFFFFUA", body("/v1/settings/ui.matrix", map[string]any{"value": []int{1}})},

		// Plans.
		// Reminders: a caller sees only those assigned to or made by it;
		// another's reminder does not exist for it.
		{"GET", "/v1/reminders", "UAAAAAAFUA", path("/v1/reminders")},
		{"POST", "/v1/reminders", "UAAAAAAFUA", func(c *cell) req {
			return req{path: "/v1/reminders", body: map[string]any{"resource": "user:1", "remind_at": time.Now().Add(time.Hour)}}
		}},
		{"GET", "/v1/reminders/{id}", "UANNNNNFUA", func(c *cell) req { return req{path: c.reminder("")} }},
		{"PATCH", "/v1/reminders/{id}", "UANNNNNFUA", func(c *cell) req {
			return req{path: c.reminder(""), body: map[string]any{"resource": "user:2"}}
		}},
		{"DELETE", "/v1/reminders/{id}", "UANNNNNFUA", func(c *cell) req { return req{path: c.reminder("")} }},
		{"POST", "/v1/reminders/{id}/dismiss", "UANNNNNFUA", func(c *cell) req { return req{path: c.reminder("/dismiss")} }},
		{"POST", "/v1/reminders/{id}/snooze", "UANNNNNFUA", func(c *cell) req {
			return req{path: c.reminder("/snooze"), body: map[string]any{"remind_at": time.Now().Add(time.Hour)}}
		}},
		// Attachments: a file is its owner's (the cell's target here);
		// another's does not exist for a caller.
		{"POST", "/v1/attachments", "UAAAAAAFUA", func(c *cell) req {
			body, ctype := multipartFile(c.t, "file", "notes.txt", []byte("hello"), nil)
			return req{path: "/v1/attachments", body: body, header: map[string]string{"Content-Type": ctype}}
		}},
		{"GET", "/v1/attachments/{id}", "UANNNNNFUA", func(c *cell) req { return req{path: c.attachment("")} }},
		{"DELETE", "/v1/attachments/{id}", "UANNNNNFUA", func(c *cell) req { return req{path: c.attachment("")} }},
		{"GET", "/v1/attachments/{id}/original", "UANNNNNFUA", func(c *cell) req { return req{path: c.attachment("/original")} }},
		{"GET", "/v1/attachments/{id}/preview", "UANNNNNFUA", func(c *cell) req { return req{path: c.attachment("/preview")} }},
		{"GET", "/v1/plans", "UAAAAAAFUA", path("/v1/plans")},
		{"POST", "/v1/plans", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/plans", body: map[string]any{"name": c.m.unique("plan"), "can_create_team": true}}
		}},
		{"GET", "/v1/plans/{plan}", "UAAAAAAFUA", func(c *cell) req { return req{path: c.plan()} }},
		{"PUT", "/v1/plans/{plan}", "UFFFFFFFUA", func(c *cell) req {
			return req{path: c.plan(), body: map[string]any{"can_create_team": true, "project_limit": 5}}
		}},
		{"DELETE", "/v1/plans/{plan}", "UFFFFFFFUA", func(c *cell) req { return req{path: c.plan()} }},

		// Authentication: the public routes answer alike whoever asks.
		{"POST", "/v1/auth/signup", "AAAAAAAAAA", func(c *cell) req {
			name := c.m.unique("signup")
			return req{path: "/v1/auth/signup", body: map[string]any{"username": name, "email": name + "@example.com", "password": matrixPassword}}
		}},
		{"POST", "/v1/auth/confirm", "NNNNNNNNNN", body("/v1/auth/confirm", map[string]any{"code": strings.Repeat("x", 32)})},
		{"POST", "/v1/auth/confirm/resend", "AAAAAAAAAA", func(c *cell) req {
			return req{path: "/v1/auth/confirm/resend", body: map[string]any{"email": c.m.unique("resend") + "@example.com"}}
		}},
		{"POST", "/v1/auth/login", "AAAAAAAAAA", body("/v1/auth/login", map[string]any{"login": "m-self", "password": matrixPassword})},
		{"POST", "/v1/auth/logout", "UAAAAABBUA", func(c *cell) req { c.session(); return req{path: "/v1/auth/logout"} }},
		{"POST", "/v1/auth/password-reset", "AAAAAAAAAA", func(c *cell) req {
			return req{path: "/v1/auth/password-reset", body: map[string]any{"email": c.m.unique("reset") + "@example.com"}}
		}},
		{"POST", "/v1/auth/password-reset/exchange", "NNNNNNNNNN", body("/v1/auth/password-reset/exchange", map[string]any{"token": strings.Repeat("x", 32)})},
		{"POST", "/v1/auth/password-reset/complete", "NNNNNNNNNN", body("/v1/auth/password-reset/complete", map[string]any{"ticket": strings.Repeat("x", 32), "password": matrixPassword})},
		{"POST", "/v1/auth/password", "UAAAAAFFUA", func(c *cell) req {
			return req{path: "/v1/auth/password", body: map[string]any{"current_password": matrixPassword, "new_password": "a different long passphrase"}}
		}},
		{"POST", "/v1/auth/password-check", "AAAAAAAAAA", body("/v1/auth/password-check", map[string]any{"password": "hunter2"})},
		{"GET", "/v1/auth/methods", "AAAAAAAAAA", path("/v1/auth/methods")},
		{"POST", "/v1/auth/jwt", "UAAAAAAAUA", path("/v1/auth/jwt")},
		{"GET", "/v1/auth/jwt/check", "UAAAAAAAUA", func(c *cell) req {
			if c.who.user != nil && c.who.name != "blocked" {
				p, err := c.m.env.Core.Auth.Authenticate(context.Background(), c.who.token)
				c.must(err)
				jwt, _, err := c.m.env.Core.Auth.IssueJWT(usher.WithPrincipal(context.Background(), p))
				c.must(err)
				c.token = jwt
			}
			return req{path: "/v1/auth/jwt/check"}
		}},
		{"POST", "/v1/auth/impersonate", "UFFFFFFFUA", func(c *cell) req {
			return req{path: "/v1/auth/impersonate", body: map[string]any{"user": c.target().Username, "expires_in": 600}}
		}},
		{"GET", "/v1/auth/oauth/{provider}/start", "NNNNNNNNNN", path("/v1/auth/oauth/github/start")},
		{"GET", "/v1/auth/oauth/{provider}/callback", "NNNNNNNNNN", path("/v1/auth/oauth/github/callback?state=x&code=y")},
		{"GET", "/v1/auth/device", "AAAAAAAAAA", path("/v1/auth/device")},
		{"POST", "/v1/auth/device", "NNNNNNNNNN", func(c *cell) req {
			cookie, token := deviceForm(c.t, c.m.api)
			return deviceRequest(url.Values{"user_code": {"ABCD-EFGH"}, "csrf_token": {token}}, map[string]string{"Cookie": cookie})
		}},
		{"POST", "/v1/auth/redeem", "NNNNNNNNNN", body("/v1/auth/redeem", map[string]any{"redeem_token": strings.Repeat("x", 32)})},
		{"POST", "/v1/auth/exchange", "NNNNNNNNNN", body("/v1/auth/exchange", map[string]any{"exchange_code": strings.Repeat("x", 32), "code_verifier": strings.Repeat("v", 43)})},

		// The caller's own account.
		{"GET", "/v1/me", "UAAAAAAAUA", path("/v1/me")},
		{"GET", "/v1/me/sessions", "UAAAAAAFUA", path("/v1/me/sessions")},
		{"DELETE", "/v1/me/sessions", "UAAAAAAFUA", path("/v1/me/sessions")},
		{"DELETE", "/v1/me/sessions/{id}", "UAAAAANFUA", func(c *cell) req {
			id := int64(1 << 40)
			if s := c.session(); s != nil {
				id = s.Token.ID
			}
			return req{path: fmt.Sprintf("/v1/me/sessions/%d", id)}
		}},
		{"GET", "/v1/me/tokens", "UAAAAAAFUA", path("/v1/me/tokens")},
		{"POST", "/v1/me/tokens", "UAAAAAAFUA", body("/v1/me/tokens", map[string]any{"name": "ci", "scopes": []string{"read_api"}})},
		{"DELETE", "/v1/me/tokens/{id}", "UAAAAAAFUA", func(c *cell) req { return req{path: fmt.Sprintf("/v1/me/tokens/%d", c.own())} }},
		// The spare is unscoped: the service account's api token may not
		// rotate it, for that would mint a token wider than itself.
		{"POST", "/v1/me/tokens/{id}/rotate", "UAAAAAFFUA", func(c *cell) req {
			return req{path: fmt.Sprintf("/v1/me/tokens/%d/rotate", c.own())}
		}},
		{"GET", "/.well-known/jwks.json", "AAAAAAAAAA", path("/.well-known/jwks.json")},
		{"GET", "/openapi.json", "AAAAAAAAAA", path("/openapi.json")},
	}
}

// TestAuthorizationMatrix runs every native route as every column and
// checks each outcome. A route without a row fails the test. What a group
// call may reach — a caller with a level in one group acting on another —
// is TestAuthorizationReach's, in matrix_reach_test.go.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	rows := matrixRows()
	routes := map[string]bool{}
	for _, r := range (&native.Handler{}).Routes() {
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
				if who := m.who[col]; who.scopes != nil && c.token == who.token {
					// Minted once the cell is built, which may delete a
					// team of the service account's.
					c.token = m.env.MustToken(t, who.user.ID, usher.TokenServiceAccount, who.scopes...)
				}
				rq.method, rq.token = r.method, c.token
				res := m.api.do(t, rq)
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
