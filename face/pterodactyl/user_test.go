package pterodactyl_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// newUser is a create body with every required field.
func newUser(name string) map[string]any {
	return map[string]any{"email": name + "@example.com", "username": name, "first_name": "First", "last_name": "Last"}
}

func (b *bundle) mustCreate(t *testing.T, body map[string]any) userBody {
	t.Helper()
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	if res.status != http.StatusCreated {
		t.Fatalf("create %v: %d %s", body, res.status, res.body)
	}
	var u userBody
	res.decode(t, &u)
	return u
}

// TestItemJSON pins the exact representation of a user: the attributes in
// Pterodactyl's order, their types, a null external id, the time format,
// meta.resource after a create, and the servers relation.
func TestItemJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: map[string]any{
		"email": "example@example.com", "username": "test-user", "first_name": "test", "last_name": "user",
		"root_admin": true, "password": "correct horse battery staple",
	}})
	b.golden(t, "user_created", res)
	var u userBody
	res.decode(t, &u)
	if want := fmt.Sprintf("%s/api/application/users/%d", b.srv.URL, u.Attributes.ID); u.Meta == nil || u.Meta.Resource != want {
		t.Fatalf("meta.resource: %s", res.body)
	}
	// The password works, and the response never shows it.
	if strings.Contains(string(res.body), "horse") {
		t.Fatal("the response shows the password")
	}
	if _, err := b.env.Core.Auth.Login(coretest.System(), "test-user", "correct horse battery staple"); err != nil {
		t.Fatalf("log in with the password given: %v", err)
	}
	b.tick(time.Second)
	path := fmt.Sprintf("/api/application/users/%d", u.Attributes.ID)
	res = b.do(t, req{method: "PATCH", path: path, body: map[string]any{
		"email": "example@example.com", "username": "test-user", "first_name": "test", "last_name": "user",
		"external_id": "billing-42", "language": "de",
	}})
	b.golden(t, "user_updated", res)
	b.golden(t, "user_get", b.do(t, req{method: "GET", path: path}))
	b.golden(t, "user_get_include_servers", b.do(t, req{method: "GET", path: path + "?include=servers"}))
	b.golden(t, "user_get_external", b.do(t, req{method: "GET", path: "/api/application/users/external/billing-42"}))
}

// TestListJSON pins the exact representation of lists: the pagination
// meta, links as {} on a single page and as full URLs otherwise.
func TestListJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.golden(t, "list_one_page", b.do(t, req{method: "GET", path: "/api/application/users"}))
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		b.mustCreate(t, newUser(name))
	}
	for page := 1; page <= 4; page++ {
		res := b.do(t, req{method: "GET", path: fmt.Sprintf("/api/application/users?per_page=2&page=%d", page)})
		b.golden(t, fmt.Sprintf("list_page_%d", page), res)
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	all := []int64{b.admin.ID}
	for i := range 11 {
		all = append(all, b.mustCreate(t, newUser(fmt.Sprintf("user%02d", i))).Attributes.ID)
	}
	// Walking the next links visits every user once, in order.
	var seen []int64
	next := "/api/application/users?per_page=5&sort=id"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("the links do not end")
		}
		l := b.list(t, strings.TrimPrefix(next, "/api/application/users"))
		p := l.Meta.Pagination
		if p.Total != 12 || p.PerPage != 5 || p.TotalPages != 3 || p.Count != len(l.Data) {
			t.Fatalf("page %d: %+v", pages+1, p)
		}
		seen = append(seen, l.ids()...)
		next = ""
		if n, ok := p.Links["next"]; ok {
			u, err := url.Parse(n)
			if err != nil || u.Scheme+"://"+u.Host != b.srv.URL || u.Query().Get("per_page") != "5" || u.Query().Get("sort") != "id" {
				t.Fatalf("next link %q", n)
			}
			next = u.RequestURI()
		}
	}
	if !slices.Equal(seen, all) {
		t.Fatalf("pages held %v, want %v", seen, all)
	}
	// The default page holds 50.
	if p := b.list(t, "").Meta.Pagination; p.PerPage != 50 || p.Count != 12 || p.TotalPages != 1 || len(p.Links) != 0 {
		t.Fatalf("default page: %+v", p)
	}
	// Past the last page: empty, with a link back.
	l := b.list(t, "?per_page=5&page=9")
	if p := l.Meta.Pagination; len(l.Data) != 0 || p.CurrentPage != 9 || p.TotalPages != 3 || p.Links["previous"] == "" || p.Links["next"] != "" {
		t.Fatalf("page 9: %+v", p)
	}
	// The largest per_page is the core's largest page size.
	l = b.list(t, "?per_page=2147483647")
	if p := l.Meta.Pagination; len(l.Data) != 12 || p.TotalPages != 1 || p.PerPage != 1000 {
		t.Fatalf("largest page: %+v", p)
	}
	// A filter that matches nothing is one empty page.
	if p := b.list(t, "?filter[username]=nobody").Meta.Pagination; p.Total != 0 || p.TotalPages != 1 || p.Count != 0 {
		t.Fatalf("no match: %+v", p)
	}
	// A partial filter of the username or the address takes at least
	// three characters, as every face's search does.
	for _, q := range []string{"?filter[username]=no", "?filter[email]=n"} {
		res := b.do(t, req{method: "GET", path: "/api/application/users" + q})
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "at least 3 characters") {
			t.Errorf("%s: %d %s; want 400 saying at least 3 characters", q, res.status, res.body)
		}
	}
}

// TestPageSizeCap: the core caps a page (here at 3) and says so; the list
// reports the size that applied and counts pages in it, so that no user is
// skipped.
func TestPageSizeCap(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{policy: core.Policy{MaxPageSize: 3}})
	all := []int64{b.admin.ID}
	for i := range 7 {
		all = append(all, b.mustCreate(t, newUser(fmt.Sprintf("user%d", i))).Attributes.ID)
	}
	for _, query := range []string{"?per_page=5&", "?"} {
		var seen []int64
		for page := 1; page <= 3; page++ {
			l := b.list(t, fmt.Sprintf("%spage=%d", query, page))
			p := l.Meta.Pagination
			if p.PerPage != 3 || p.Total != 8 || p.TotalPages != 3 || p.CurrentPage != page {
				t.Fatalf("%s page %d: %+v", query, page, p)
			}
			next := p.Links["next"]
			if (page < 3) != (next != "") {
				t.Fatalf("%s page %d: links %v", query, page, p.Links)
			}
			if next != "" && query != "?" && !strings.Contains(next, "per_page=3") {
				t.Fatalf("%s page %d: next link %q does not carry the size that applied", query, page, next)
			}
			seen = append(seen, l.ids()...)
		}
		if !slices.Equal(seen, all) {
			t.Fatalf("%s: pages held %v, want %v", query, seen, all)
		}
	}
}

// TestBaseURL: with the server's public URL configured, meta.resource and
// the pagination links are built on it whatever Host header a request
// carries, so a forged Host never reaches a URL a cache may store.
func TestBaseURL(t *testing.T) {
	t.Parallel()
	b := setupWith(t, options{baseURL: "https://panel.example.com/"})
	forged := map[string]string{"Host": "evil.example"}
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: newUser("alice"), header: forged})
	var u userBody
	res.decode(t, &u)
	want := fmt.Sprintf("https://panel.example.com/api/application/users/%d", u.Attributes.ID)
	if res.status != http.StatusCreated || u.Meta == nil || u.Meta.Resource != want {
		t.Fatalf("create with a forged Host: %d %s", res.status, res.body)
	}
	b.mustCreate(t, newUser("bob"))
	res = b.do(t, req{method: "GET", path: "/api/application/users?per_page=1&page=2", header: forged})
	var l listBody
	res.decode(t, &l)
	links := l.Meta.Pagination.Links
	if res.status != http.StatusOK ||
		links["previous"] != "https://panel.example.com/api/application/users?page=1&per_page=1" ||
		links["next"] != "https://panel.example.com/api/application/users?page=3&per_page=1" {
		t.Fatalf("list with a forged Host: %d %s", res.status, res.body)
	}
	if strings.Contains(string(res.body), "evil.example") {
		t.Fatalf("the forged host is in the answer: %s", res.body)
	}
}

func TestFiltersAndSorts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.mustCreate(t, map[string]any{"email": "Alice@Example.com", "username": "Alice", "first_name": "A", "last_name": "L", "external_id": "ext-1"})
	bob := b.mustCreate(t, newUser("bob"))
	suspended := b.mustCreate(t, newUser("sleepy"))
	if _, err := b.env.Core.Users.Suspend(coretest.System(), usher.UserKey{ID: suspended.Attributes.ID}); err != nil {
		t.Fatal(err)
	}
	deleted := b.mustCreate(t, newUser("gone"))
	if res := b.do(t, req{method: "DELETE", path: fmt.Sprintf("/api/application/users/%d", deleted.Attributes.ID)}); res.status != 200 {
		t.Fatalf("delete: %d", res.status)
	}
	a, root, bb, s := alice.Attributes.ID, b.admin.ID, bob.Attributes.ID, suspended.Attributes.ID
	uuids := map[int64]string{a: alice.Attributes.UUID, bb: bob.Attributes.UUID, s: suspended.Attributes.UUID, root: b.admin.UUID}
	byUUID := []int64{a, root, bb, s}
	slices.SortFunc(byUUID, func(x, y int64) int { return strings.Compare(uuids[x], uuids[y]) })
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{root, a, bb, s}},
		{"?filter[email]=alice@example.COM", []int64{a}},
		{"?filter[username]=ALICE", []int64{a}},
		{"?filter[uuid]=" + strings.ToUpper(alice.Attributes.UUID), []int64{a}},
		{"?filter[external_id]=ext-1", []int64{a}},
		{"?filter[username]=sleepy", []int64{s}},
		{"?filter[username]=gone", nil},
		{"?filter[email]=", []int64{root, a, bb, s}},
		{"?filter[email]=bob@example.com&filter[username]=alice", nil},
		// Pterodactyl's filters are partial: a substring, in any case.
		{"?filter[username]=LIC", []int64{a}},
		{"?filter[username]=LEE", []int64{s}},
		{"?filter[email]=EXAMPLE.com", []int64{root, a, bb, s}},
		{"?filter[email]=@example.com&filter[username]=bob", []int64{bb}},
		{"?filter[uuid]=" + strings.ToUpper(alice.Attributes.UUID[9:23]), []int64{a}},
		{"?filter[uuid]=nope", nil},
		{"?filter[external_id]=EXT", []int64{a}},
		// The UUID and the external id take a substring of any length:
		// billing systems number their clients.
		{"?filter[external_id]=1", []int64{a}},
		{"?filter[external_id]=-1", []int64{a}},
		{"?filter[external_id]=2", nil},
		{"?filter[uuid]=" + alice.Attributes.UUID[35:], matching(uuids, alice.Attributes.UUID[35:])},
		// The wildcards of SQL's LIKE are characters like any other.
		{"?filter[username]=%25%25%25", nil},
		{"?filter[username]=___", nil},
		{"?filter[external_id]=ext_1", nil},
		{"?sort=id", []int64{root, a, bb, s}},
		{"?sort=-id", []int64{s, bb, a, root}},
		{"?sort=uuid", byUUID},
		{"?sort=-uuid", []int64{byUUID[3], byUUID[2], byUUID[1], byUUID[0]}},
		{"?sort=-id,uuid", []int64{s, bb, a, root}},
		{"?include=servers&sort=-id&filter[username]=bob", []int64{bb}},
	}
	for _, tt := range tests {
		if got := b.list(t, tt.query).ids(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}

// matching returns the ids whose UUID holds part, in id order.
func matching(uuids map[int64]string, part string) []int64 {
	var ids []int64
	for id, u := range uuids {
		if strings.Contains(u, part) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// TestBadQueries: an unknown filter, sort or include is refused as
// spatie/laravel-query-builder refuses it, a bad page number as Laravel's
// validator would, and a filter value as the core refuses it.
func TestBadQueries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name, path string
		status     int
		code       string
		rules      []string
		golden     string
	}{
		{"unknown filter", "/api/application/users?filter[password]=x", 400, "InvalidFilterQuery", nil, "error_filter"},
		{"unknown filters", "/api/application/users?filter[name]=x&filter[root_admin]=1", 400, "InvalidFilterQuery", nil, ""},
		{"sort by password", "/api/application/users?sort=password", 400, "InvalidSortQuery", nil, "error_sort"},
		{"sort descending by password", "/api/application/users?sort=-password", 400, "InvalidSortQuery", nil, ""},
		{"sort by username", "/api/application/users?sort=id,username", 400, "InvalidSortQuery", nil, ""},
		{"unknown include", "/api/application/users?include=servers,nodes", 400, "InvalidIncludeQuery", nil, "error_include"},
		{"unknown include on an item", "/api/application/users/1?include=location", 400, "InvalidIncludeQuery", nil, ""},
		{"unknown filter given twice", "/api/application/users?filter[name]=x&filter[name]=y", 400, "InvalidFilterQuery", nil, ""},
		{"unknown sort after a known one", "/api/application/users?sort=id&sort=name", 400, "InvalidSortQuery", nil, ""},
		{"per_page=0", "/api/application/users?per_page=0", 422, "ValidationException", []string{"per_page:min"}, "error_per_page"},
		{"per_page=-1", "/api/application/users?per_page=-1", 422, "ValidationException", []string{"per_page:min"}, ""},
		{"per_page=abc", "/api/application/users?per_page=abc", 422, "ValidationException", []string{"per_page:integer"}, ""},
		{"per_page=1.5", "/api/application/users?per_page=1.5", 422, "ValidationException", []string{"per_page:integer"}, ""},
		{"per_page too large", "/api/application/users?per_page=99999999999999999999", 422, "ValidationException", []string{"per_page:max"}, ""},
		{"page=0 and per_page=x", "/api/application/users?page=0&per_page=x", 422, "ValidationException", []string{"page:min", "per_page:integer"}, ""},
		{"page=abc", "/api/application/users?page=abc", 422, "ValidationException", []string{"page:integer"}, ""},
		{"filter too long", "/api/application/users?filter[username]=" + strings.Repeat("a", 300), 400, "BadRequestHttpException", nil, ""},
		// The core reads no page that starts past row 100,000.
		{"page too deep", "/api/application/users?per_page=100&page=1001", 400, "BadRequestHttpException", nil, ""},
		{"largest page", "/api/application/users?per_page=2147483647&page=2147483647", 400, "BadRequestHttpException", nil, ""},
	}
	for _, tt := range tests {
		res := b.do(t, req{method: "GET", path: tt.path})
		if res.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		e := res.errs(t)
		if e.Errors[0].Code != tt.code || !slices.Equal(e.rules(), tt.rules) {
			t.Errorf("%s: %s", tt.name, res.body)
		}
		if tt.golden != "" {
			b.golden(t, tt.golden, res)
		}
	}
}

// TestIgnoredQueries: as in Laravel, a parameter an endpoint does not read
// is ignored, and a repeated one counts with its last value, as PHP parses
// a query string.
func TestIgnoredQueries(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.mustCreate(t, newUser("alice"))
	bob := b.mustCreate(t, newUser("bob"))
	root, a, bb := b.admin.ID, alice.Attributes.ID, bob.Attributes.ID
	all := []int64{root, a, bb}
	tests := []struct {
		query         string
		want          []int64
		page, perPage int
	}{
		{"?q=alice&search=bob", all, 1, 50},
		{"?filter=alice", all, 1, 50},
		{"?filter[username]=alice&filter[username]=bob", []int64{bb}, 1, 50},
		{"?sort=-id&sort=id", all, 1, 50},
		{"?include=nodes&include=servers", all, 1, 50},
		{"?per_page=1&per_page=2&page=1&page=2", []int64{bb}, 2, 2},
	}
	for _, tt := range tests {
		l := b.list(t, tt.query)
		if p := l.Meta.Pagination; !slices.Equal(l.ids(), tt.want) || p.CurrentPage != tt.page || p.PerPage != tt.perPage {
			t.Errorf("%s: %v %+v, want %v", tt.query, l.ids(), p, tt.want)
		}
	}
	// An item's endpoints read no filter, sort or page: those are ignored.
	path := fmt.Sprintf("/api/application/users/%d", a)
	for _, rq := range []req{
		{method: "GET", path: path + "?page=1&filter[password]=x&sort=name"},
		{method: "PATCH", path: path + "?force=1&sort=name", body: newUser("alice")},
	} {
		res := b.do(t, rq)
		var u userBody
		res.decode(t, &u)
		if res.status != http.StatusOK || u.Attributes.ID != a || u.Attributes.Username != "alice" {
			t.Errorf("%s %s: %d %s", rq.method, rq.path, res.status, res.body)
		}
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreate(t, map[string]any{
		"email": "  Mixed@Example.com ", "username": "Mixed.Case", "first_name": " Ann ", "last_name": "Lee",
		"external_id": "", "password": nil, "language": "pt-BR", "root_admin": "0",
	})
	a := u.Attributes
	// Strings are trimmed and "" is null, as Laravel's input middleware has
	// it; the username keeps its case.
	if a.Email != "Mixed@Example.com" || a.Username != "Mixed.Case" || a.FirstName != "Ann" || a.ExternalID != nil ||
		a.Language != "pt-BR" || a.RootAdmin || a.TwoFactor || a.UUID == "" || a.CreatedAt != "2022-09-15T17:33:34+00:00" {
		t.Fatalf("created: %+v", a)
	}
	got, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: a.ID})
	if err != nil || got.Name != "Ann Lee" || got.State != usher.StateActive {
		t.Fatalf("stored: %+v %v", got, err)
	}
	// Fields the endpoint does not take are ignored, as Laravel ignores
	// them: billing modules send their own.
	extra := newUser("extra")
	for k, v := range map[string]any{"id": 9999, "uuid": "00000000-0000-0000-0000-000000000000", "admin": true,
		"2fa": true, "name_first": "x", "billing_plan": map[string]any{"id": 3}} {
		extra[k] = v
	}
	if u := b.mustCreate(t, extra).Attributes; u.ID == 9999 || u.UUID == "00000000-0000-0000-0000-000000000000" ||
		u.RootAdmin || u.TwoFactor || u.FirstName != "First" {
		t.Fatalf("created with extra fields: %+v", u)
	}
	// The language defaults to en; root_admin takes 1 and true.
	for i, admin := range []any{1, true, "1"} {
		body := newUser(fmt.Sprintf("admin%d", i))
		body["root_admin"] = admin
		if u := b.mustCreate(t, body); !u.Attributes.RootAdmin || u.Attributes.Language != "en" {
			t.Fatalf("root_admin %v: %+v", admin, u.Attributes)
		}
	}
}

// TestCreateRefused: every refusal is Pterodactyl's error body, and a
// refused create writes nothing.
func TestCreateRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.mustCreate(t, map[string]any{"email": "taken@example.com", "username": "taken", "first_name": "T", "last_name": "T", "external_id": "ext-taken"})
	with := func(changes map[string]any) map[string]any {
		body := newUser("fresh")
		for k, v := range changes {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	long := strings.Repeat("a", 300)
	tests := []struct {
		name   string
		body   any
		status int
		rules  []string
		golden string
	}{
		{"empty body", "", 422, []string{"email:required", "username:required", "first_name:required", "last_name:required"}, "error_422_required"},
		{"empty object", map[string]any{}, 422, []string{"email:required", "username:required", "first_name:required", "last_name:required"}, ""},
		{"no email", with(map[string]any{"email": nil}), 422, []string{"email:required"}, ""},
		{"blank first name", with(map[string]any{"first_name": "   "}), 422, []string{"first_name:required"}, ""},
		{"null last name", with(map[string]any{"last_name": rawJSON("null")}), 422, []string{"last_name:required"}, ""},
		{"invalid e-mail", with(map[string]any{"email": "not-an-address"}), 422, []string{"email:email"}, "error_422_email"},
		{"overlong username", with(map[string]any{"username": long}), 422, []string{"username:between"}, ""},
		{"overlong first name", with(map[string]any{"first_name": long}), 422, []string{"first_name:between"}, ""},
		{"overlong external id", with(map[string]any{"external_id": long}), 422, []string{"external_id:max"}, ""},
		{"username with a space", with(map[string]any{"username": "two words"}), 422, []string{"username:p_username"}, ""},
		{"bad language", with(map[string]any{"language": "!!"}), 422, []string{"language:in"}, ""},
		{"null language", with(map[string]any{"language": rawJSON("null")}), 422, []string{"language:string"}, ""},
		{"short password", with(map[string]any{"password": "abc"}), 422, []string{"password:min"}, ""},
		{"taken username", with(map[string]any{"username": "TAKEN"}), 422, []string{"username:unique"}, "error_422_unique"},
		{"taken e-mail", with(map[string]any{"email": "Taken@Example.com"}), 422, []string{"email:unique"}, ""},
		{"taken external id", with(map[string]any{"external_id": "ext-taken"}), 422, []string{"external_id:unique"}, ""},
		{"taken username and e-mail", with(map[string]any{"username": "Taken", "email": "TAKEN@example.com"}), 422,
			[]string{"username:unique", "email:unique"}, "error_422_unique_two"},
		{"taken username, e-mail and external id", with(map[string]any{"username": "taken", "email": "taken@example.com", "external_id": "ext-taken"}), 422,
			[]string{"username:unique", "email:unique", "external_id:unique"}, ""},
		{"number as a name", with(map[string]any{"first_name": 5}), 422, []string{"first_name:string"}, ""},
		{"string as root_admin", with(map[string]any{"root_admin": "yes"}), 422, []string{"root_admin:boolean"}, ""},
		{"2 as root_admin", with(map[string]any{"root_admin": 2}), 422, []string{"root_admin:boolean"}, ""},
		{"unknown fields beside a problem", with(map[string]any{"name_first": "x", "email": nil}), 422, []string{"email:required"}, ""},
		{"several problems", map[string]any{"email": 1, "username": "u", "root_admin": "x"}, 422,
			[]string{"email:string", "first_name:required", "last_name:required", "root_admin:boolean"}, ""},
		{"malformed JSON", `{"email": "a@example.com",`, 400, nil, "error_400_json"},
		{"JSON array", `[1, 2]`, 422, []string{"email:required", "username:required", "first_name:required", "last_name:required"}, ""},
		{"JSON string", `"email"`, 422, []string{"email:required", "username:required", "first_name:required", "last_name:required"}, ""},
		{"form body", "email=a@example.com", 415, nil, ""},
	}
	for _, tt := range tests {
		users, events := b.env.Counts(t)
		rq := req{method: "POST", path: "/api/application/users", body: tt.body}
		if tt.name == "form body" {
			rq.header = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		}
		res := b.do(t, rq)
		if res.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		e := res.errs(t)
		if !slices.Equal(e.rules(), tt.rules) {
			t.Errorf("%s: rules %v, want %v: %s", tt.name, e.rules(), tt.rules, res.body)
		}
		if tt.status == 400 && e.Errors[0].Code != "BadRequestHttpException" ||
			tt.status == 415 && e.Errors[0].Code != "UnsupportedMediaTypeHttpException" {
			t.Errorf("%s: %s", tt.name, res.body)
		}
		if tt.golden != "" {
			b.golden(t, tt.golden, res)
		}
		if u, ev := b.env.Counts(t); u != users || ev != events {
			t.Errorf("%s: a refused create wrote something", tt.name)
		}
	}
}

// rawJSON is a raw JSON value in a request body.
type rawJSON string

// MarshalJSON returns the value as it is.
func (j rawJSON) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func TestUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreate(t, map[string]any{"email": "ann@example.com", "username": "ann", "first_name": "Ann", "last_name": "Lee", "external_id": "ext-ann"})
	other := b.mustCreate(t, newUser("other"))
	path := fmt.Sprintf("/api/application/users/%d", u.Attributes.ID)
	full := func(changes map[string]any) map[string]any {
		body := map[string]any{"email": "ann@example.com", "username": "ann", "first_name": "Ann", "last_name": "Lee"}
		for k, v := range changes {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	// Unchanged values are no conflict with the user itself, in any case.
	res := b.do(t, req{method: "PATCH", path: path, body: full(map[string]any{"username": "ANN", "email": "Ann@Example.com"})})
	var got userBody
	res.decode(t, &got)
	if res.status != 200 || got.Attributes.Username != "ANN" || got.Attributes.ExternalID == nil || *got.Attributes.ExternalID != "ext-ann" {
		t.Fatalf("update to its own names: %d %s", res.status, res.body)
	}
	b.tick(time.Minute)
	res = b.do(t, req{method: "PATCH", path: path, body: full(map[string]any{
		"username": "annie", "first_name": "Annie", "external_id": rawJSON("null"), "root_admin": true, "language": "fr",
		"password": "another long passphrase",
	})})
	res.decode(t, &got)
	a := got.Attributes
	if res.status != 200 || a.Username != "annie" || a.FirstName != "Annie" || a.ExternalID != nil || !a.RootAdmin ||
		a.Language != "fr" || a.UpdatedAt != "2022-09-15T17:34:34+00:00" || a.CreatedAt != "2022-09-15T17:33:34+00:00" {
		t.Fatalf("update: %d %s", res.status, res.body)
	}
	if _, err := b.env.Core.Auth.Login(coretest.System(), "annie", "another long passphrase"); err != nil {
		t.Fatalf("log in with the new password: %v", err)
	}
	// Absent optional fields are left alone; unknown ones are ignored.
	res = b.do(t, req{method: "PATCH", path: path, body: full(map[string]any{"username": "annie", "2fa": false, "server_limit": 4})})
	res.decode(t, &got)
	if res.status != 200 || !got.Attributes.RootAdmin || got.Attributes.Language != "fr" {
		t.Fatalf("update without optional fields: %d %s", res.status, res.body)
	}
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		rules  []string
	}{
		{"without first_name", path, full(map[string]any{"first_name": nil}), 422, []string{"first_name:required"}},
		{"only the e-mail", path, map[string]any{"email": "new@example.com"}, 422, []string{"username:required", "first_name:required", "last_name:required"}},
		{"another's username", path, full(map[string]any{"username": "Other"}), 422, []string{"username:unique"}},
		{"another's e-mail", path, full(map[string]any{"email": "other@example.com"}), 422, []string{"email:unique"}},
		{"invalid e-mail", path, full(map[string]any{"email": "@"}), 422, []string{"email:email"}},
		{"unknown user", "/api/application/users/99999", full(nil), 404, nil},
		{"not an id", "/api/application/users/ann", full(nil), 404, nil},
		{"malformed JSON", path, "{", 400, nil},
	}
	for _, tt := range tests {
		users, events := b.env.Counts(t)
		res := b.do(t, req{method: "PATCH", path: tt.path, body: tt.body})
		if res.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		if e := res.errs(t); !slices.Equal(e.rules(), tt.rules) {
			t.Errorf("%s: rules %v, want %v", tt.name, e.rules(), tt.rules)
		}
		if u, ev := b.env.Counts(t); u != users || ev != events {
			t.Errorf("%s: a refused update wrote something", tt.name)
		}
	}
	if o, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: other.Attributes.ID}); err != nil || o.Username != "other" {
		t.Fatalf("the other user changed: %+v %v", o, err)
	}
}

func TestGetAndDelete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.mustCreate(t, map[string]any{"email": "e@example.com", "username": "ext", "first_name": "E", "last_name": "X", "external_id": "billing/42 x"})
	path := fmt.Sprintf("/api/application/users/%d", u.Attributes.ID)
	var got userBody
	for _, p := range []string{path, "/api/application/users/external/" + url.PathEscape("billing/42 x")} {
		res := b.do(t, req{method: "GET", path: p})
		res.decode(t, &got)
		if res.status != 200 || got.Attributes.ID != u.Attributes.ID {
			t.Fatalf("GET %s: %d %s", p, res.status, res.body)
		}
	}
	for _, p := range []string{"/api/application/users/99999", "/api/application/users/0", "/api/application/users/-1",
		"/api/application/users/abc", "/api/application/users/99999999999999999999", "/api/application/users/external/nobody"} {
		res := b.do(t, req{method: "GET", path: p})
		if e := res.errs(t); res.status != 404 || e.Errors[0].Code != "NotFoundHttpException" {
			t.Errorf("GET %s: %d %s", p, res.status, res.body)
		}
		if p == "/api/application/users/99999" {
			b.golden(t, "error_404", res)
		}
	}
	// The documentation answers a delete with 200 (Pterodactyl itself with 204), and
	// no body; a query string is ignored.
	res := b.do(t, req{method: "DELETE", path: path + "?force=1"})
	if res.status != http.StatusOK || len(res.body) != 0 {
		t.Fatalf("DELETE: %d %q", res.status, res.body)
	}
	for _, rq := range []req{
		{method: "GET", path: path},
		{method: "GET", path: "/api/application/users/external/" + url.PathEscape("billing/42 x")},
		{method: "DELETE", path: path},
		{method: "PATCH", path: path, body: newUser("ext")},
	} {
		if res := b.do(t, rq); res.status != 404 {
			t.Errorf("%s %s after delete: %d %s", rq.method, rq.path, res.status, res.body)
		}
	}
	if ids := b.list(t, "").ids(); !slices.Equal(ids, []int64{b.admin.ID}) {
		t.Fatalf("the list after delete: %v", ids)
	}
	// The deleted user's names are free again.
	b.mustCreate(t, map[string]any{"email": "e@example.com", "username": "ext", "first_name": "E", "last_name": "X", "external_id": "billing/42 x"})
}

// TestDeleteLastTeamOwner: the core refuses to delete the only owner of a
// team, and the face answers as Pterodactyl refuses to delete a user with
// servers: a 400 DisplayException. Nothing changes.
func TestDeleteLastTeamOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.mustCreate(t, newUser("owner"))
	p, err := b.env.Core.Auth.Authenticate(context.Background(), b.env.MustToken(t, owner.Attributes.ID, usher.TokenPersonal))
	if err != nil {
		t.Fatal(err)
	}
	team, err := b.env.Core.Groups.Create(usher.WithPrincipal(context.Background(), p),
		usher.GroupCreate{Kind: usher.GroupTeam, Handle: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/application/users/%d", owner.Attributes.ID)
	users, events := b.env.Counts(t)
	res := b.do(t, req{method: "DELETE", path: path})
	const want = `{"errors":[{"code":"DisplayException","status":"400","detail":"Cannot delete a user who is the ` +
		`last owner of a team. Transfer ownership of their teams or delete those teams before continuing."}]}` + "\n"
	if res.status != http.StatusBadRequest || string(res.body) != want {
		t.Fatalf("DELETE the last owner: %d %s", res.status, res.body)
	}
	if u, e := b.env.Counts(t); u != users || e != events {
		t.Fatal("a refused delete wrote something")
	}
	if res := b.do(t, req{method: "GET", path: path}); res.status != http.StatusOK {
		t.Fatalf("GET after a refused delete: %d %s", res.status, res.body)
	}
	// Once the team is gone, so can the user be.
	if _, err := b.env.Core.Groups.Delete(coretest.System(), usher.GroupRef{ID: team.ID}); err != nil {
		t.Fatal(err)
	}
	if res := b.do(t, req{method: "DELETE", path: path}); res.status != http.StatusOK || len(res.body) != 0 {
		t.Fatalf("DELETE after the team: %d %q", res.status, res.body)
	}
}

// TestServiceAccountsAreNoUsers: Pterodactyl has users only, so a service
// account is neither listed nor found by id or external id, for reading,
// changing or deleting alike: each is answered as a user that does not
// exist. Bots are users.
func TestServiceAccountsAreNoUsers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	svc := b.env.MustCreateUser(t, usher.UserCreate{Username: "ci-runner", Email: "ci@example.com",
		ExternalID: "svc-1", Kind: usher.KindServiceAccount})
	bot := b.env.MustCreateUser(t, usher.UserCreate{Username: "ci-bot", Email: "bot@example.com", Kind: usher.KindBot})
	svcPath := fmt.Sprintf("/api/application/users/%d", svc.ID)
	tests := []struct {
		name   string
		rq     req
		status int
		golden string
		ids    []int64
	}{
		{"listed: people and bots", req{method: "GET", path: "/api/application/users"}, 200, "", []int64{b.admin.ID, bot.ID}},
		{"filtered by its username", req{method: "GET", path: "/api/application/users?filter[username]=ci-"}, 200, "", []int64{bot.ID}},
		{"filtered by its external id", req{method: "GET", path: "/api/application/users?filter[external_id]=svc"}, 200, "", nil},
		{"GET by id", req{method: "GET", path: svcPath}, 404, "error_404", nil},
		{"GET by external id", req{method: "GET", path: "/api/application/users/external/svc-1"}, 404, "error_404", nil},
		{"PATCH", req{method: "PATCH", path: svcPath, body: newUser("renamed")}, 404, "error_404", nil},
		{"DELETE", req{method: "DELETE", path: svcPath}, 404, "error_404", nil},
		{"GET a bot", req{method: "GET", path: fmt.Sprintf("/api/application/users/%d", bot.ID)}, 200, "", []int64{bot.ID}},
	}
	for _, tt := range tests {
		res := b.do(t, tt.rq)
		if res.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
			continue
		}
		switch {
		case tt.golden != "":
			b.golden(t, tt.golden, res)
		case strings.Contains(tt.rq.path, "/users?") || strings.HasSuffix(tt.rq.path, "/users"):
			var l listBody
			res.decode(t, &l)
			if !slices.Equal(l.ids(), tt.ids) || l.Meta.Pagination.Total != len(tt.ids) {
				t.Errorf("%s: %s", tt.name, res.body)
			}
		default:
			var u userBody
			res.decode(t, &u)
			if u.Attributes.ID != tt.ids[0] || u.Attributes.Username != "ci-bot" {
				t.Errorf("%s: %s", tt.name, res.body)
			}
		}
	}
	// The service account is as it was.
	if u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: svc.ID}); err != nil || u.Deleted() || u.Username != "ci-runner" {
		t.Fatalf("the service account changed: %+v %v", u, err)
	}
}

// TestNextLinkKeepsWhatPHPRead: the list reads its query as PHP's
// parse_str does, where "filter[username];" and "filter[username]%" are
// filter[username], but its links were rebuilt from Go's parsing, which
// drops a pair with a ";" or a "%" that starts no escape: the next link
// of a filtered or sorted list lost the filter or the sort, and following
// it listed other users (round 49).
func TestNextLinkKeepsWhatPHPRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"match1", "match2", "match3", "other1", "other2"} {
		b.mustCreate(t, newUser(name))
	}
	for _, tc := range []struct{ query, want string }{
		{"?per_page=1&filter[username];=match", "match2"},
		{"?per_page=1&filter[username]%=match", "match2"},
		{"?per_page=1&sort[]%=-id", "other1"},
	} {
		first := b.list(t, tc.query)
		if first.Meta.Pagination.Total == 0 || len(first.Data) != 1 {
			t.Fatalf("%s: %+v", tc.query, first.Meta.Pagination)
		}
		next := first.Meta.Pagination.Links["next"]
		u, err := url.Parse(next)
		if err != nil || next == "" {
			t.Fatalf("%s: next link %q", tc.query, next)
		}
		res := b.do(t, req{method: "GET", path: u.RequestURI()})
		var l listBody
		res.decode(t, &l)
		got := ""
		if len(l.Data) == 1 {
			got = l.Data[0].Attributes.Username
		}
		if res.status != http.StatusOK || l.Meta.Pagination.Total != first.Meta.Pagination.Total || got != tc.want {
			t.Errorf("%s: next link %s lists %q of %d users (%d); want %q of %d, the same list's second page",
				tc.query, strings.TrimPrefix(next, b.srv.URL), got, l.Meta.Pagination.Total, res.status, tc.want, first.Meta.Pagination.Total)
		}
	}
}

// TestQueryPastMaxInputVarsUnread: PHP reads no pair of a query past its
// max_input_vars (1,000 as it ships), so a filter after 1,000 other pairs
// is no filter to the panel, which lists every user; usher read them all
// and filtered (round 49).
func TestQueryPastMaxInputVarsUnread(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{"match1", "other1"} {
		b.mustCreate(t, newUser(name))
	}
	for _, tc := range []struct {
		name  string
		query string
		total int
	}{
		{"a filter past 1,000 pairs", "?" + strings.Repeat("x=1&", 1000) + "filter[username]=match", 3},
		{"a filter at the 1,000th", "?" + strings.Repeat("x=1&", 999) + "filter[username]=match", 1},
		{"empty pairs count for nothing", "?" + strings.Repeat("&", 1500) + "filter[username]=match", 1},
	} {
		if p := b.list(t, tc.query).Meta.Pagination; p.Total != tc.total {
			t.Errorf("%s: total %d; want %d", tc.name, p.Total, tc.total)
		}
	}
}
