package corteza_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
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

// TestImpersonateExpire: POST /auth/impersonate makes its JWT live expire
// seconds, under 24 hours, as Corteza's documentation says.
func TestImpersonateExpire(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tt := range []struct {
		name   string
		expire any
		life   time.Duration // 0: an error
		err    string
	}{
		{name: "two minutes", expire: 120, life: 2 * time.Minute},
		{name: "as text", expire: "600", life: 10 * time.Minute},
		{name: "none", expire: nil, life: time.Hour},
		{name: "two days", expire: 2 * 86400, err: "must be between"},
		{name: "negative", expire: -5, err: "must be between"},
		// 2^64 ns and 61 s: wrapped round, it was a JWT of a minute.
		{name: "past the longest duration", expire: "18446744134", err: "must be between"},
		{name: "not a number", expire: "soon", err: `invalid expire: "soon"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"userID": strconv.FormatInt(b.user.ID, 10)}
			if tt.expire != nil {
				body["expire"] = tt.expire
			}
			res := b.do(t, "POST", "/auth/impersonate", b.adminJWT, body)
			if tt.err != "" {
				if m := res.errMessage(t); !strings.Contains(m, tt.err) {
					t.Fatalf("error %q, want %q: %s", m, tt.err, res.body)
				}
				return
			}
			var out struct {
				Response struct {
					JWT string `json:"jwt"`
				} `json:"response"`
			}
			res.decode(t, &out)
			parts := strings.Split(out.Response.JWT, ".")
			if len(parts) != 3 {
				t.Fatalf("no JWT: %s", res.body)
			}
			var claims struct {
				Exp int64 `json:"exp"`
			}
			decodeSegment(t, parts[1], &claims)
			if life := time.Unix(claims.Exp, 0).Sub(b.clock.Now()); life < tt.life-5*time.Second || life > tt.life+5*time.Second {
				t.Errorf("the JWT lives %s, want %s", life, tt.life)
			}
		})
	}
}

// TestActionLogFilter: GET /actionlog/ finds events by the resource its
// answers write ("user:42") and by Corteza's names ("system:user",
// "system:role:42"), and its to includes the instant it names, as
// Corteza's does.
func TestActionLogFilter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var created struct {
		Response struct {
			UserID string `json:"userID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/users/", b.adminJWT, map[string]any{"email": "new@example.com", "name": "New"}).decode(t, &created)
	var role struct {
		Response struct {
			RoleID string `json:"roleID"`
		} `json:"response"`
	}
	b.do(t, "POST", "/roles/", b.adminJWT, map[string]any{"name": "Editors", "handle": "editors"}).decode(t, &role)
	uid, rid := created.Response.UserID, role.Response.RoleID
	if uid == "" || rid == "" {
		t.Fatalf("user %q, role %q", uid, rid)
	}
	all := b.list(t, "/actionlog/?resource=user:"+uid)
	if len(all.Set()) == 0 {
		t.Fatalf("no event of user:%s: %+v", uid, all)
	}
	var at string
	_ = json.Unmarshal(all.Set()[0]["timestamp"], &at)
	for _, tt := range []struct {
		name, query string
		resource    string // every event's resource has this prefix
	}{
		{name: "as listed", query: "resource=user:" + uid, resource: "user:" + uid},
		{name: "Corteza's instance", query: "resource=system:user:" + uid, resource: "user:" + uid},
		{name: "Corteza's type", query: "resource=system:user", resource: "user:"},
		{name: "type", query: "resource=user", resource: "user:"},
		{name: "Corteza's role", query: "resource=system:role:" + rid, resource: "group:" + rid},
		{name: "to the instant", query: "resource=user:" + uid + "&to=" + url.QueryEscape(at), resource: "user:" + uid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := b.list(t, "/actionlog/?"+tt.query)
			got := out.field("resource")
			if out.Error != nil || len(got) == 0 || out.Response.Filter["count"] != float64(len(got)) {
				t.Fatalf("%s: %+v", tt.query, out)
			}
			for _, r := range got {
				if !strings.HasPrefix(r, tt.resource) {
					t.Errorf("resource %q, want %q", r, tt.resource)
				}
			}
		})
	}
}

// TestReminderScheduled: GET /reminder/ keeps the reminders from
// scheduledFrom up to scheduledUntil, both included, as Corteza's
// documentation says.
func TestReminderScheduled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := b.clock.Now().Add(time.Hour).Truncate(time.Second)
	res := b.do(t, "POST", "/reminder/", b.adminJWT, map[string]any{"resource": "system:user:" + strconv.FormatInt(b.user.ID, 10),
		"assignedTo": strconv.FormatInt(b.admin.ID, 10), "payload": map[string]any{}, "remindAt": at.Format(time.RFC3339)})
	if m := res.errMessage(t); m != "" {
		t.Fatal(m)
	}
	q := func(name string, t time.Time) string { return name + "=" + url.QueryEscape(t.Format(time.RFC3339)) }
	for _, tt := range []struct {
		name, query string
		want        int
	}{
		{name: "until the instant", query: q("scheduledUntil", at), want: 1},
		{name: "from the instant", query: q("scheduledFrom", at), want: 1},
		{name: "from and until the instant", query: q("scheduledFrom", at) + "&" + q("scheduledUntil", at), want: 1},
		{name: "until before", query: q("scheduledUntil", at.Add(-time.Second)), want: 0},
		{name: "from after", query: q("scheduledFrom", at.Add(time.Second)), want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := b.list(t, "/reminder/?"+tt.query)
			if out.Error != nil || len(out.Set()) != tt.want || out.Response.Filter["count"] != float64(tt.want) {
				t.Errorf("%s: %+v, want %d", tt.query, out, tt.want)
			}
		})
	}
}

// TestSettingOwner: a setting asked for or set with a user's ownerID is
// not the instance's: GET answers null, as Corteza does for a user with
// no value of their own, and POST is refused rather than change the
// instance's value.
func TestSettingOwner(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if m := b.do(t, "PATCH", "/settings/", b.adminJWT, map[string]any{"values": []map[string]any{{"name": "ui.logo", "value": "x"}}}).errMessage(t); m != "" {
		t.Fatal(m)
	}
	uid := strconv.FormatInt(b.user.ID, 10)
	form := func(owner string) upload {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if owner != "" {
			_ = w.WriteField("ownerID", owner)
		}
		f, err := w.CreateFormFile("upload", "logo.png")
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return upload{w.FormDataContentType(), buf.Bytes()}
	}
	for _, tt := range []struct {
		name, method, path string
		body               any
		want, err          string // the answer's response, or its error
	}{
		{name: "get the instance's", method: "GET", path: "/settings/ui.logo?ownerID=0", want: `"x"`},
		{name: "get a user's", method: "GET", path: "/settings/ui.logo?ownerID=" + uid, want: "null"},
		{name: "get a bad owner", method: "GET", path: "/settings/ui.logo?ownerID=me", err: `invalid ownerID: "me"`},
		{name: "set a user's", method: "POST", path: "/settings/ui.logo", body: form(uid), err: "ownerID: usher keeps no settings owned by a user"},
		{name: "set a user's by the query", method: "POST", path: "/settings/ui.logo?ownerID=" + uid, body: form(""), err: "ownerID: usher keeps no settings owned by a user"},
		{name: "unchanged", method: "GET", path: "/settings/ui.logo", want: `"x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.call(t, tt.method, tt.path, b.adminJWT, tt.body)
			var out struct {
				Response json.RawMessage `json:"response"`
			}
			res.decode(t, &out)
			if m := res.errMessage(t); m != tt.err {
				t.Fatalf("error %q, want %q", m, tt.err)
			}
			if tt.err != "" {
				return
			}
			var value struct {
				Value json.RawMessage `json:"value"`
			}
			got := string(out.Response)
			if got != "null" {
				_ = json.Unmarshal(out.Response, &value)
				got = string(value.Value)
			}
			if got != tt.want {
				t.Errorf("%s: %s, want %s", tt.path, res.body, tt.want)
			}
		})
	}
}

// TestDeletedOnlyRefusedToNonAdmins: Corteza's deleted=2 (deleted users
// only) from a user who is no administrator listed the live users, the
// filter echoed as asked; it is refused now, and an administrator's
// answer holds the deleted users alone.
func TestDeletedOnlyRefusedToNonAdmins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gone := b.env.MustCreateUser(t, usher.UserCreate{Username: "gone", Email: "gone@example.com"})
	if _, err := b.env.Core.Users.Delete(coretest.System(), usher.UserKey{ID: gone.ID}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, b.do(t, "GET", "/users/?deleted=2", b.userJWT, nil), "only administrators list deleted users")
	if ids := b.list(t, "/users/?deleted=2").field("userID"); len(ids) != 1 || ids[0] != strconv.FormatInt(gone.ID, 10) {
		t.Errorf("an administrator's deleted users: %v, want %d alone", ids, gone.ID)
	}
}
