package pterodactyl_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"usher"
)

// TestBodyNotUTF8IsMalformed: PHP's json_decode refuses a body with
// bytes that are not UTF-8 (JSON_ERROR_UTF8), so Pterodactyl's IsValidJson
// middleware answers 400 "The JSON data passed in the request appears to be
// malformed: ...". Go's decoder took it, and the user was stored with
// U+FFFD for each bad byte (201); a lone surrogate escape likewise.
func TestBodyNotUTF8IsMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	users, events := b.env.Counts(t)
	body := "{\"email\":\"u8@example.com\",\"username\":\"utf8user\",\"first_name\":\"Ann\xff\xfe\",\"last_name\":\"Lee\"}"
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	if res.status != http.StatusBadRequest {
		t.Errorf("POST with a first_name of bytes 0xff 0xfe (not UTF-8): %d %s, want 400 BadRequestHttpException (PHP json_decode fails: Malformed UTF-8)", res.status, res.body)
	}
	// A lone surrogate escape is refused alike (JSON_ERROR_UTF16).
	body = `{"email":"u16@example.com","username":"utf16user","first_name":"Ann\ud800","last_name":"Lee"}`
	res = b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	if res.status != http.StatusBadRequest {
		t.Errorf("POST with a first_name holding a lone surrogate \\ud800: %d %s, want 400 BadRequestHttpException (PHP json_decode fails: Single unpaired UTF-16 surrogate)", res.status, res.body)
	}
	if u, e := b.env.Counts(t); u != users || e != events {
		t.Errorf("a body that is not valid UTF-8/UTF-16 created a user")
	}
	// A surrogate pair is one character, taken as PHP takes it; so are
	// containers nested just short of the depth.
	body = `{"email":"pair@example.com","username":"pairuser","first_name":"Ann \ud83d\ude00","last_name":"Lee","extra":` +
		strings.Repeat("[", 510) + strings.Repeat("]", 510) + `}`
	res = b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	if res.status != http.StatusCreated || !strings.Contains(string(res.body), "Ann 😀") {
		t.Errorf("POST with a surrogate pair, nested 511 deep: %d %.300s, want 201", res.status, res.body)
	}
}

// TestBodyTooDeepIsMalformed: IsValidJson decodes with depth 512 and
// JSON_THROW_ON_ERROR, so a body nested deeper is a 400 "Maximum stack
// depth exceeded", even in a field the endpoint ignores.
func TestBodyTooDeepIsMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := `{"email":"deep@example.com","username":"deepuser","first_name":"D","last_name":"P","extra":` +
		strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	if res.status != http.StatusBadRequest {
		t.Errorf("POST with JSON nested 601 levels deep: %d %.300s, want 400 BadRequestHttpException (PHP json_decode depth 512: Maximum stack depth exceeded)", res.status, res.body)
	}
}

// TestRootAdminStringIsTrimmed: Laravel's global TrimStrings middleware
// trims every string of the JSON body but passwords before validation
// (app/Http/Kernel.php $middleware), so "root_admin": " 1 " reaches the
// boolean rule as "1" and is accepted, as the face accepts " Ann " as Ann.
func TestRootAdminStringIsTrimmed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body := newUser("trimmed")
	body["root_admin"] = " 1 "
	res := b.do(t, req{method: "POST", path: "/api/application/users", body: body})
	var u userBody
	if res.status == http.StatusCreated {
		res.decode(t, &u)
	}
	if res.status != http.StatusCreated || !u.Attributes.RootAdmin {
		t.Errorf(`POST with "root_admin": " 1 ": %d %.250s, want 201 with root_admin true (TrimStrings makes it "1")`, res.status, res.body)
	}
}

// TestWhitespaceBodyIsMalformed: the panel's IsValidJson middleware runs
// json_decode on any non-empty JSON body (! empty($request->getContent())),
// and json_decode("  ") fails with "Syntax error", so a body of white space
// alone is a 400 BadRequestHttpException, not a validation 422.
func TestWhitespaceBodyIsMalformed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, body := range []string{" ", "\n", "\r\n\t "} {
		res := b.do(t, req{method: "POST", path: "/api/application/users", body: body,
			header: map[string]string{"Content-Type": "application/json"}})
		if res.status != http.StatusBadRequest || !strings.Contains(string(res.body), "Syntax error") {
			t.Errorf("POST /api/application/users with body %q: %d %.200s, want 400 BadRequestHttpException \"...malformed: Syntax error\" (PHP json_decode(%q) fails; the body is not empty())", body, res.status, res.body, body)
		}
	}
}

// TestIncludeAsPHPReadsIt: the panel reads include as a comma list or as
// PHP's array (ApplicationApiController: is_array($input) ? $input :
// explode(',', $input)), from a query string PHP's parse_str and
// urldecode read. Each row failed before rounds 39 to 42 made the face
// read it so: include[]=servers and include[0]=servers (what PHP's
// http_build_query writes) were ignored; a later plain include= did not
// replace an array before it; an index given twice kept both values;
// spaces before a name, text after its ], a % that starts no escape, a
// NUL in the name, an index PHP keeps as text ("01", "+1") and an index
// past the largest were each read otherwise than PHP reads them.
func TestIncludeAsPHPReadsIt(t *testing.T) {
	t.Parallel()
	b := setup(t)
	one := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	const included, none, refused = "included", "none", "refused"
	for _, tt := range []struct{ query, want string }{
		{"include=servers", included},
		{"include[]=servers", included},
		{"include[0]=servers", included},
		{"include%5B0%5D=servers", included},
		{"include[]=servers&include=bogus", refused},
		{"include=bogus&include[]=servers", included},
		{"include[0]=bogus&include[0]=servers", included},
		{"+include=servers", included},
		{"include[]x=servers", included},
		{"include[=servers", none},
		{"include=bogus%zz", refused},
		{"include%00x=bogus", refused},
		{"include[01]=servers&include[]=bogus&include[2]=servers", refused},
		{"include[%2B1]=servers&include[]=bogus&include[2]=servers", refused},
		{"include[9223372036854775807]=servers&include[]=bogus", included},
		// "[", one white space and "]" is PHP's [] (round 43).
		{"include[%20]=bogus&include[0]=servers", included},
		{"include[%09]=bogus&include[0]=servers", included},
	} {
		for _, path := range []string{one, "/api/application/users"} {
			res := b.do(t, req{method: "GET", path: path + "?" + tt.query})
			got := none
			switch {
			case res.status == http.StatusBadRequest && strings.Contains(string(res.body), "InvalidIncludeQuery"):
				got = refused
			case res.status != http.StatusOK:
				got = fmt.Sprintf("%d %.120s", res.status, res.body)
			case strings.Contains(string(res.body), `"relationships"`):
				got = included
			}
			if got != tt.want {
				t.Errorf("GET %s?%s: %s, want %s", path, tt.query, got, tt.want)
			}
		}
	}
}

// TestListParametersAsPHPReadsThem: past TestIncludeAsPHPReadsIt, page,
// per_page, sort and filter were read by Go's url parsing, which keeps a
// name PHP changes (spaces before it, "." or a space in it, a "[" with no
// "]", a NUL) and drops a pair PHP keeps (a "%" that starts no escape, a
// ";"): per.page=1 was no page size, %20sort=-id no sort, filter[username]=roo%
// no filter, and every user was listed (round 43). Each is read as the
// panel reads it now.
func TestListParametersAsPHPReadsThem(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := b.mustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", FirstName: "A", LastName: "L"})
	bob := b.mustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com", FirstName: "B", LastName: "O"})
	ascending := []int64{b.admin.ID, alice.ID, bob.ID}
	descending := []int64{bob.ID, alice.ID, b.admin.ID}
	for _, tt := range []struct {
		query   string
		perPage int
		ids     []int64
	}{
		{"per.page=1", 1, ascending[:1]},
		{"per+page=1", 1, ascending[:1]},
		{"per[page=1", 1, ascending[:1]},
		{"%20per_page=1", 1, ascending[:1]},
		{"%20sort=-id", 50, descending},
		{"+sort=-id", 50, descending},
		{"sort%00x=-id", 50, descending},
		{"sort[]=-id", 50, descending},
		{"%20filter[username]=bob", 50, []int64{bob.ID}},
		{"filter[username]=roo%", 50, nil},
		{"filter[username]=root;", 50, nil},
	} {
		l := b.list(t, "?"+tt.query)
		if l.Meta.Pagination.PerPage != tt.perPage || !slices.Equal(l.ids(), tt.ids) {
			t.Errorf("GET /users?%s: per_page %d, ids %v; want %d, %v", tt.query, l.Meta.Pagination.PerPage, l.ids(), tt.perPage, tt.ids)
		}
	}
	// A space after "[" is kept unless "]" follows it: the filter " username".
	for _, q := range []string{"sort=-id&sort=bogus%", "filter[bogus%]=x", "sort=-id&sort=bogus;", "filter[%20username]=bob"} {
		if res := b.do(t, req{method: "GET", path: "/api/application/users?" + q}); res.status != http.StatusBadRequest {
			t.Errorf("GET /users?%s: %d %.120s; want 400, the unknown sort or filter PHP reads", q, res.status, res.body)
		}
	}
}
