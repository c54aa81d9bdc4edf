package pterodactyl_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
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

// TestIncludeAsArray: Pterodactyl's ApplicationApiController reads
// include as an array or a comma list ($input = is_array($input) ? $input :
// explode(',', $input)), so include[]=servers includes the servers.
func TestIncludeAsArray(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{fmt.Sprintf("/api/application/users/%d", b.admin.ID), "/api/application/users"} {
		res := b.do(t, req{method: "GET", path: p + "?include[]=servers"})
		if res.status != 200 || !strings.Contains(string(res.body), `"relationships"`) {
			t.Errorf("GET %s?include[]=servers: %d %.200s, want the servers relationship (as ?include=servers gives)", p, res.status, res.body)
		}
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

// TestIncludeIndexedArray: PHP parses include[0]=servers (what PHP's own
// http_build_query(['include' => ['servers']]) writes) into the same array
// as include[]=servers, which ApplicationApiController reads
// (is_array($input) ? $input : explode(',', $input)); the face reads only
// the "include[]" key and leaves the servers out.
func TestIncludeIndexedArray(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{"/api/application/users/" + strconv.FormatInt(b.admin.ID, 10), "/api/application/users"} {
		for _, q := range []string{"?include[0]=servers", "?include%5B0%5D=servers"} {
			res := b.do(t, req{method: "GET", path: p + q})
			if res.status != 200 || !strings.Contains(string(res.body), `"relationships"`) {
				t.Errorf("GET %s%s: %d, relationships=%v; want the servers relationship, as include[]=servers gives (PHP reads include[0]= as the array [\"servers\"])",
					p, q, res.status, strings.Contains(string(res.body), `"relationships"`))
			}
		}
	}
}

// TestIncludeLastValueWins: PHP's query parsing lets a later include=...
// replace an earlier include[]=... ("include[]=servers&include=bogus" gives
// include = "bogus", refused as ?include=bogus is), as the face itself says a repeated parameter counts
// with its last value. The face lets include[] win whatever its place.
func TestIncludeLastValueWins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	res := b.do(t, req{method: "GET", path: p + "?include[]=servers&include=bogus"})
	if res.status != http.StatusBadRequest {
		t.Errorf("GET %s?include[]=servers&include=bogus: %d %.150s; want 400 InvalidIncludeQuery, as ?include=bogus (PHP: include is \"bogus\", the last value)", p, res.status, res.body)
	}

}

// TestIncludeRepeatedIndex: PHP's parse_str assigns include[0] twice,
// so "include[0]=bogus&include[0]=servers" is the array ["servers"] (the
// later element replaces the earlier one at the same index) and the panel
// includes the servers; phpList appends both and refuses "bogus".
func TestIncludeRepeatedIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	res := b.do(t, req{method: "GET", path: p + "?include[0]=bogus&include[0]=servers"})
	if res.status != 200 || !strings.Contains(string(res.body), `"relationships"`) {
		t.Errorf("GET %s?include[0]=bogus&include[0]=servers: %d %.200s; want 200 with the servers relationship (PHP: include = [0 => \"servers\"])", p, res.status, res.body)
	}
}

// TestIncludeLeadingSpaceKey: PHP drops leading spaces of a variable
// name (php_register_variable_ex), so "+include=servers" is include=servers.
func TestIncludeLeadingSpaceKey(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	res := b.do(t, req{method: "GET", path: p + "?+include=servers"})
	if res.status != 200 || !strings.Contains(string(res.body), `"relationships"`) {
		t.Errorf("GET %s?+include=servers: %d, relationships=%v; want the servers relationship (PHP strips the leading space of the name)", p, res.status, strings.Contains(string(res.body), `"relationships"`))
	}
}

// TestIncludeTrailingAfterBracket: PHP ignores what follows the
// closing "]" of a name when it is not another "[": "include[]x=bogus" is
// include[] = "servers".
func TestIncludeTrailingAfterBracket(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	res := b.do(t, req{method: "GET", path: p + "?include[]x=servers"})
	if res.status != 200 || !strings.Contains(string(res.body), `"relationships"`) {
		t.Errorf("GET %s?include[]x=servers: %d, relationships=%v; want the servers relationship (PHP reads the name as include[])", p, res.status, strings.Contains(string(res.body), `"relationships"`))
	}
}

// TestIncludeBadEscape: PHP's urldecode keeps an invalid escape as it
// is, so "include=bogus%zz" asks for the include "bogus%zz", which the face
// refuses as any unknown include; phpList drops the pair and answers 200.
func TestIncludeBadEscape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	res := b.do(t, req{method: "GET", path: p + "?include=bogus%zz"})
	if res.status != http.StatusBadRequest {
		t.Errorf("GET %s?include=bogus%%zz: %d %.150s; want 400 InvalidIncludeQuery (PHP: include is \"bogus%%zz\")", p, res.status, res.body)
	}
}

// TestIncludeNonCanonicalIndex: PHP makes an array key an integer
// only for a canonical decimal ("1", not "01", "+1" or "-0"); any other
// index is a string key and leaves the next free index alone. So
// "include[01]=servers&include[]=bogus&include[2]=servers" is PHP's
// ["01"=>"servers", 0=>"bogus", 2=>"servers"]: bogus is asked for and the
// panel refuses it. phpList read "01" with strconv.Atoi as 1 (round 42), gave the
// include[] index 2, and the later include[2] overwrites bogus.
func TestIncludeNonCanonicalIndex(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	for _, q := range []string{
		"?include[01]=servers&include[]=bogus&include[2]=servers",
		"?include[%2B1]=servers&include[]=bogus&include[2]=servers",
	} {
		res := b.do(t, req{method: "GET", path: p + q})
		if res.status != http.StatusBadRequest {
			t.Errorf("GET %s: %d %.120s; want 400 InvalidIncludeQuery (PHP: the include[] element bogus is at index 0, not overwritten by include[2])", q, res.status, res.body)
		}
	}
}

// TestIncludeNameWithNUL: PHP's php_register_variable_ex takes the
// decoded name as a C string (strlen), so "include%00x=bogus" is
// include=bogus, which the panel refuses; phpList compared the whole name
// and ignored it (round 42).
func TestIncludeNameWithNUL(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	q := "?include%00x=bogus"
	res := b.do(t, req{method: "GET", path: p + q})
	if res.status != http.StatusBadRequest {
		t.Errorf("GET %s: %d %.120s; want 400 InvalidIncludeQuery (PHP reads the name up to its NUL: include=bogus)", q, res.status, res.body)
	}
}

// TestIncludeIndexOverflow: after include[9223372036854775807] PHP
// has no next free index (zend_hash_next_index_insert fails) and
// include[] is dropped: the array is ["servers"]. phpList's next index
// overflowed to a negative one and added bogus (round 42).
func TestIncludeIndexOverflow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p := "/api/application/users/" + strconv.FormatInt(b.admin.ID, 10)
	q := "?include[9223372036854775807]=servers&include[]=bogus"
	res := b.do(t, req{method: "GET", path: p + q})
	if res.status != http.StatusOK {
		t.Errorf("GET %s: %d %.160s; want 200 (PHP drops the include[] after the largest index)", q, res.status, res.body)
	}
}
