package gitlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestTokenOrderAsGitLab: GitLab finds a token as
// extract_personal_access_token does — params[:private_token].presence,
// then the PRIVATE-TOKEN header, then Doorkeeper's access_token
// parameter, Bearer header and bearer_token parameter — with Rails'
// parameters (the query's over the body's, and a GET's JSON body too),
// Ruby's presence (white space alone is none) and a header sent twice
// joined by Puma into no token. usher read the header first, the body
// over the query, no GET's JSON body, no bearer_token, a blank parameter
// as a token and the first of two headers: each acted as another user
// than GitLab, or as none (round 56).
func TestTokenOrderAsGitLab(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	for name, tc := range map[string]struct {
		c    call
		want string // the user acted as
	}{
		"private_token over PRIVATE-TOKEN": {call{method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(b.userTok), token: b.adminTok}, "plain"},
		"access_token over Bearer":         {call{method: "GET", path: "/api/v4/user?access_token=" + url.QueryEscape(b.userTok), header: bearer(b.adminTok)}, "plain"},
		"the query's over the form's": {call{method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(b.userTok),
			body: "private_token=" + url.QueryEscape(b.adminTok), contentType: "application/x-www-form-urlencoded"}, "plain"},
		"a GET's JSON body":                 {call{method: "GET", path: "/api/v4/user", body: map[string]any{"private_token": b.userTok}, header: bearer(b.adminTok)}, "plain"},
		"bearer_token":                      {call{method: "GET", path: "/api/v4/user?bearer_token=" + url.QueryEscape(b.userTok)}, "plain"},
		"a blank private_token":             {call{method: "GET", path: "/api/v4/user?private_token=%20%09", header: bearer(b.adminTok)}, "root"},
		"a JSON false private_token":        {call{method: "GET", path: "/api/v4/user", body: map[string]any{"private_token": false}, header: bearer(b.adminTok)}, "root"},
		"an empty JSON array private_token": {call{method: "GET", path: "/api/v4/user", body: map[string]any{"private_token": []any{}}, header: bearer(b.adminTok)}, "root"},
	} {
		res := b.do(t, tc.c)
		var u struct{ Username string }
		_ = json.Unmarshal(res.body, &u)
		if res.status != http.StatusOK || u.Username != tc.want {
			t.Errorf("%s: %d as %q %.80s; want 200 as %s", name, res.status, u.Username, bytes.TrimSpace(res.body), tc.want)
		}
	}
	// Refused as GitLab refuses them: 401.
	for name, c := range map[string]call{
		"a JSON array private_token": {method: "GET", path: "/api/v4/user", body: map[string]any{"private_token": []any{b.userTok}}, header: bearer(b.adminTok)},
		"a JSON number access_token": {method: "GET", path: "/api/v4/user", body: map[string]any{"access_token": 7}},
	} {
		b.do(t, c).want(t, name, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
	}
	for _, hs := range [][]string{
		{"PRIVATE-TOKEN: " + b.adminTok, "PRIVATE-TOKEN: " + b.userTok},
		{"Authorization: Bearer " + b.adminTok, "Authorization: Bearer " + b.userTok},
	} {
		if status, body := rawGet(t, b, "/api/v4/user", hs...); status != http.StatusUnauthorized {
			t.Errorf("GET /user with a token header sent twice: %d %.80s; want 401 (Puma joins them: no token)", status, body)
		}
	}
}

// TestSudoJSONOtherThanTextOrDigits: a JSON number that is no whole
// number in digits (2.0, 2e0) is an id to GitLab (UserFinder takes any
// Numeric, find_by_id casts it), and true raises in its UserFinder (500):
// usher read each as a username, "2.0" or "true", and acted as that user
// (round 56). Each is refused, 400 sudo is invalid.
func TestSudoJSONOtherThanTextOrDigits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, name := range []string{fmt.Sprintf("%d.0", b.user.ID), fmt.Sprintf("%de0", b.user.ID), "true"} {
		b.env.MustCreateUser(t, usher.UserCreate{Username: name, Email: name + "@example.com", Name: "Other"})
	}
	for _, raw := range []string{fmt.Sprintf("%d.0", b.user.ID), fmt.Sprintf("%de0", b.user.ID), "true"} {
		body := fmt.Sprintf(`{"sudo": %s, "title": "k", "key": %q}`, raw, coretest.NewSSHKey(t))
		b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.adminTok, body: body, contentType: "application/json"}).
			want(t, "POST /user/keys as root with sudo "+raw, http.StatusBadRequest, `{"error":"sudo is invalid"}`)
	}
	keys, err := b.env.Core.Keys.List(coretest.System(), usher.UserKey{})
	if err == nil && len(keys) != 0 {
		t.Errorf("keys made: %d", len(keys))
	}
}

// TestTokenAsItStands: GitLab trims no token — Ruby's presence only
// drops a blank one, Doorkeeper's Bearer is what follows "Bearer " — and
// reads no token from a body Rails does not parse as JSON (one that names
// no type, a "+json" type it has no parser for). usher trimmed parameters
// and headers (a no-break space too), took a header of a no-break space
// alone for none, and read a GET's body of either kind: each acted as a
// user where GitLab refuses, or as another (round 57).
func TestTokenAsItStands(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bearer := map[string]string{"Authorization": "Bearer " + b.adminTok}
	for name, c := range map[string]call{
		"private_token after a space":              {method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(" "+b.userTok)},
		"private_token before a tab, and a header": {method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape(b.userTok+"\t"), token: b.adminTok},
		"access_token after a space":               {method: "GET", path: "/api/v4/user?access_token=" + url.QueryEscape(" "+b.userTok)},
		"private_token after a no-break space":     {method: "GET", path: "/api/v4/user?private_token=" + url.QueryEscape("\u00a0"+b.userTok)},
		"Bearer and two spaces":                    {method: "GET", path: "/api/v4/user", header: map[string]string{"Authorization": "Bearer  " + b.userTok}},
	} {
		b.do(t, c).want(t, name, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
	}
	for _, hs := range [][]string{
		{"PRIVATE-TOKEN: \u00a0" + b.userTok, "Authorization: Bearer " + b.adminTok},
		{"PRIVATE-TOKEN: \u00a0", "Authorization: Bearer " + b.adminTok},
		{"Authorization: Bearer \u00a0" + b.userTok},
	} {
		if status, body := rawGet(t, b, "/api/v4/user", hs...); status != http.StatusUnauthorized {
			t.Errorf("GET /user with %q: %d %.80s; want 401", hs, status, body)
		}
	}
	for name, c := range map[string]call{
		"a GET's body of no type":      {method: "GET", path: "/api/v4/user", body: `{"private_token":"` + b.userTok + `"}`, header: bearer},
		"a GET's body of a +json type": {method: "GET", path: "/api/v4/user", body: `{"private_token":"` + b.userTok + `"}`, contentType: "application/vnd.api+json", header: bearer},
	} {
		res := b.do(t, c)
		var u struct{ Username string }
		_ = json.Unmarshal(res.body, &u)
		if res.status != http.StatusOK || u.Username != "root" {
			t.Errorf("%s: %d as %q; want 200 as root, the Bearer header's", name, res.status, u.Username)
		}
	}
}
