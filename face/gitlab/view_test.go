package gitlab_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// readExample reads one of the examples of GitLab's documentation from testdata.
func readExample(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// sameShape fails unless got has exactly the keys of the documentation's example,
// each with the example's JSON type (null where it shows null), and array
// elements of the same shape.
func sameShape(t *testing.T, what string, got, example map[string]any) {
	t.Helper()
	var gotKeys, exampleKeys []string
	for k := range got {
		gotKeys = append(gotKeys, k)
	}
	for k := range example {
		exampleKeys = append(exampleKeys, k)
	}
	sort.Strings(gotKeys)
	sort.Strings(exampleKeys)
	if strings.Join(gotKeys, ",") != strings.Join(exampleKeys, ",") {
		t.Fatalf("%s: keys\n got  %v\n doc  %v", what, gotKeys, exampleKeys)
	}
	for k, sv := range example {
		gv := got[k]
		if jsonType(gv) != jsonType(sv) {
			t.Errorf("%s: %s is %s (%v), the documentation shows %s (%v)", what, k, jsonType(gv), gv, jsonType(sv), sv)
			continue
		}
		if sa, ok := sv.([]any); ok && len(sa) > 0 {
			ga := gv.([]any)
			if len(ga) == 0 {
				t.Errorf("%s: %s is empty; the documentation shows elements", what, k)
				continue
			}
			for i := range ga {
				sameShape(t, fmt.Sprintf("%s.%s[%d]", what, k, i), ga[i].(map[string]any), sa[0].(map[string]any))
			}
		}
	}
}

// pngImage is a small valid PNG.
func pngImage(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestViews checks the face's representations against the documentation's
// examples (the same keys with the same JSON types, null where the documentation
// shows null) and, byte for byte, against golden files made with a fixed
// clock. The users mirror the documentation's: John Smith has signed in twice and
// has three identities; Jack Smith signed in once (so last_sign_in_at is
// null and current_sign_in_at is not) and is blocked. Both have avatars
// and neither a bio nor a location.
func TestViews(t *testing.T) {
	t.Parallel()
	clock := time.Date(2012, 5, 23, 8, 0, 58, 0, time.UTC)
	b := setupWith(t, options{core: coretest.Options{Now: func() time.Time { return clock }}})
	john := b.env.MustCreateUser(t, usher.UserCreate{Username: "john_smith", Email: "john@example.com", Name: "John Smith",
		Password: password, EmailConfirmed: true, Identities: []usher.Identity{
			{Provider: "github", ExternUID: "2435223452345"}, {Provider: "bitbucket", ExternUID: "john_smith"},
			{Provider: "google_oauth2", ExternUID: "8776128412476123468721346"}}})
	jack := b.env.MustCreateUser(t, usher.UserCreate{Username: "jack_smith", Email: "jack@example.com", Name: "Jack Smith",
		Password: password, EmailConfirmed: true})
	for _, login := range []string{"john_smith", "john_smith", "jack_smith"} {
		if _, err := b.env.Core.Auth.Login(system(), login, password); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*usher.User{john, jack} {
		if _, err := b.env.Core.Avatars.Set(system(), usher.UserKey{ID: u.ID}, pngImage(t)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.env.Core.Users.Block(system(), usher.UserKey{ID: jack.ID}); err != nil {
		t.Fatal(err)
	}
	johnTok := b.env.MustToken(t, john.ID, usher.TokenPersonal)
	if _, err := b.env.Core.Keys.Add(system(), usher.UserKey{ID: john.ID}, "Public key", coretest.RSAKey, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Emails.Add(system(), usher.UserKey{ID: john.ID}, "email@example.com", true); err != nil {
		t.Fatal(err)
	}

	get := func(path, token string) []byte {
		t.Helper()
		res := b.do(t, call{method: "GET", path: path, token: token})
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		return res.body
	}
	first := func(body []byte) map[string]any {
		t.Helper()
		var list []map[string]any
		if err := json.Unmarshal(body, &list); err != nil || len(list) != 1 {
			t.Fatalf("want one element: %s", body)
		}
		return list[0]
	}
	object := func(body []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bodies := map[string][]byte{
		"list_for_user":  get("/api/v4/users?username=john_smith", b.userTok),
		"list_for_admin": get("/api/v4/users?username=jack_smith", b.adminTok),
		"user_for_user":  get(fmt.Sprintf("/api/v4/users/%d", john.ID), b.userTok),
		"user_for_admin": get(fmt.Sprintf("/api/v4/users/%d", jack.ID), b.adminTok),
		"current_user":   get("/api/v4/user", johnTok),
		"keys":           get("/api/v4/user/keys", johnTok),
		"emails":         get("/api/v4/user/emails", johnTok),
	}
	sameShape(t, "list for a user", first(bodies["list_for_user"]), readExample(t, "gitlab_list_user.json"))
	sameShape(t, "list for an admin", first(bodies["list_for_admin"]), readExample(t, "gitlab_admin_user.json"))
	sameShape(t, "user for a user", object(bodies["user_for_user"]), readExample(t, "gitlab_user.json"))
	sameShape(t, "user for an admin", object(bodies["user_for_admin"]), readExample(t, "gitlab_admin_user.json"))
	current := readExample(t, "gitlab_current_user.json")
	// Tokens are stored only as hashes: there is no private_token to show.
	delete(current, "private_token")
	sameShape(t, "current user", object(bodies["current_user"]), current)
	key := readExample(t, "gitlab_key.json")
	// The documentation's key predates expiry; GitLab v4 shows expires_at, null for
	// a key that does not expire, as this one.
	key["expires_at"] = nil
	sameShape(t, "key", first(bodies["keys"]), key)
	sameShape(t, "email", first(bodies["emails"]), readExample(t, "gitlab_email.json"))

	// A few values the shapes do not show.
	jackView := object(bodies["user_for_admin"])
	avatar, _ := jackView["avatar_url"].(string)
	if jackView["state"] != "blocked" || jackView["web_url"] != fmt.Sprintf("%s/api/v4/users/%d", baseURL, jack.ID) ||
		!strings.HasPrefix(avatar, fmt.Sprintf("%s/v1/users/%d/avatar?v=", baseURL, jack.ID)) ||
		jackView["created_at"] != "2012-05-23T08:00:58.000Z" {
		t.Fatalf("jack: %s", bodies["user_for_admin"])
	}
	if strings.Contains(string(bodies["current_user"]), "private_token") {
		t.Fatal("the current user shows a private_token")
	}

	// The exact bodies, with the fixed clock.
	var golden bytes.Buffer
	names := make([]string, 0, len(bodies))
	for name := range bodies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, bytes.TrimSpace(bodies[name]), "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&golden, "# %s\n%s\n\n", name, pretty.Bytes())
	}
	path := filepath.Join("testdata", "views.golden")
	if *update {
		if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(golden.Bytes(), want) {
		t.Fatalf("bodies differ from %s (run with -update to rewrite it):\n%s", path, golden.Bytes())
	}
}
