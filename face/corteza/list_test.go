package corteza_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
)

// listAnswer is a Corteza list answer, or its error.
type listAnswer struct {
	Response struct {
		Filter map[string]any               `json:"filter"`
		Set    []map[string]json.RawMessage `json:"set"`
	} `json:"response"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// list sends GET path as the administrator and decodes the list.
func (b *bundle) list(t *testing.T, path string) listAnswer {
	t.Helper()
	var out listAnswer
	b.do(t, "GET", path, b.adminJWT, nil).decode(t, &out)
	return out
}

// field is one field of each item of the set, as its JSON text unquoted.
func (l listAnswer) field(name string) []string {
	var out []string
	for _, item := range l.Set() {
		var s string
		if json.Unmarshal(item[name], &s) != nil {
			s = string(item[name])
		}
		out = append(out, s)
	}
	return out
}

// Set is the list's set.
func (l listAnswer) Set() []map[string]json.RawMessage { return l.Response.Set }

// TestUserSort: GET /users/ takes Corteza's sort by the columns its
// repository names (id, created_at) as well as by the fields of its
// answers (userID, createdAt), ASC or DESC.
func TestUserSort(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.clock.Add(time.Minute)
	late := b.env.MustCreateUser(t, usher.UserCreate{Username: "late", Email: "late@example.com", Name: "Late"})
	admin, last := strconv.FormatInt(b.admin.ID, 10), strconv.FormatInt(late.ID, 10)
	for _, tt := range []struct {
		sort  string
		first string
		err   string
	}{
		{sort: "id", first: admin},
		{sort: "id DESC", first: last},
		{sort: "id asc", first: admin},
		{sort: "created_at DESC", first: last},
		{sort: "created_at", first: admin},
		{sort: "createdAt DESC", first: last},
		{sort: "userID DESC", first: last},
		{sort: "username DESC", first: admin},
		{sort: "username", first: last},
		{sort: "bogus", err: "invalid sort: bogus"},
	} {
		t.Run(tt.sort, func(t *testing.T) {
			out := b.list(t, "/users/?sort="+url.QueryEscape(tt.sort))
			if tt.err != "" {
				if out.Error == nil || out.Error.Message != tt.err {
					t.Fatalf("error %+v, want %q", out.Error, tt.err)
				}
				return
			}
			if out.Error != nil {
				t.Fatalf("error %q", out.Error.Message)
			}
			if ids := out.field("userID"); len(ids) != 3 || ids[0] != tt.first {
				t.Errorf("users %s, want %s first", strings.Join(ids, ","), tt.first)
			}
		})
	}
}
