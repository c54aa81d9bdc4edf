package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"usher"
)

// TestSessionCookie: set, read and clear agree on name and path, the
// cookie is HttpOnly and SameSite=Lax, and Secure when configured or when
// the request came over HTTPS.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	soon := time.Now().Add(time.Hour)
	tests := []struct {
		name        string
		cookie      SessionCookie
		overHTTPS   bool
		expires     *time.Time
		wantSecure  bool
		wantMaxAge  bool
		wantExpires bool
	}{
		{"plain, until closed", SessionCookie{Name: "s", Path: "/"}, false, nil, false, false, false},
		{"configured secure", SessionCookie{Name: "s", Path: "/api", Secure: true}, false, &soon, true, true, true},
		{"over HTTPS", SessionCookie{Name: "s", Path: "/api"}, true, &soon, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/", nil)
			r = r.WithContext(usher.WithRequest(r.Context(), usher.Request{Secure: tt.overHTTPS}))
			w := httptest.NewRecorder()
			tt.cookie.Set(w, r, "secret", tt.expires)
			set := w.Result().Cookies()
			if len(set) != 1 {
				t.Fatalf("cookies %v", set)
			}
			c := set[0]
			if c.Name != tt.cookie.Name || c.Value != "secret" || c.Path != tt.cookie.Path || !c.HttpOnly ||
				c.SameSite != http.SameSiteLaxMode || c.Secure != tt.wantSecure ||
				(c.MaxAge > 0) != tt.wantMaxAge || !c.Expires.IsZero() != tt.wantExpires {
				t.Fatalf("set %s", w.Header().Get("Set-Cookie"))
			}

			back := httptest.NewRequest("GET", "/", nil)
			if got := tt.cookie.Read(back); got != "" {
				t.Fatalf("read %q without the cookie", got)
			}
			back.AddCookie(c)
			if got := tt.cookie.Read(back); got != "secret" {
				t.Fatalf("read %q", got)
			}

			w = httptest.NewRecorder()
			tt.cookie.Clear(w, r)
			gone := w.Result().Cookies()
			if len(gone) != 1 || gone[0].Name != c.Name || gone[0].Path != c.Path || gone[0].Value != "" ||
				gone[0].MaxAge >= 0 || gone[0].Secure != tt.wantSecure {
				t.Fatalf("clear %s", w.Header().Get("Set-Cookie"))
			}
		})
	}
	// A Host cookie is a __Host- cookie whenever it is Secure, for the whole
	// site; its plain name is not read then, first or not.
	for _, tt := range []struct {
		name      string
		cookie    SessionCookie
		overHTTPS bool
		want      string
	}{
		{"configured secure", SessionCookie{Name: "s", Path: "/", Secure: true, Host: true}, false, "__Host-s"},
		{"over HTTPS", SessionCookie{Name: "s", Path: "/", Host: true}, true, "__Host-s"},
		{"over HTTPS, for a path", SessionCookie{Name: "s", Path: "/v1/auth/", Host: true}, true, "__Host-s"},
		{"plain HTTP", SessionCookie{Name: "s", Path: "/", Host: true}, false, "s"},
		{"plain HTTP, for a path", SessionCookie{Name: "s", Path: "/v1/auth/", Host: true}, false, "s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := usher.WithRequest(context.Background(), usher.Request{Secure: tt.overHTTPS})
			w := httptest.NewRecorder()
			tt.cookie.Set(w, httptest.NewRequest("POST", "/", nil).WithContext(ctx), "mine", nil)
			set := w.Result().Cookies()
			wantPath := tt.cookie.Path
			if tt.want != "s" {
				wantPath = "/" // as the prefix requires
			}
			if len(set) != 1 || set[0].Name != tt.want || set[0].Path != wantPath || set[0].Domain != "" ||
				set[0].Secure != (tt.want != "s") {
				t.Fatalf("set %s", w.Header().Get("Set-Cookie"))
			}
			r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
			r.Header.Set("Cookie", "s=planted; __Host-s=mine")
			if got, want := tt.cookie.Read(r), map[bool]string{true: "mine", false: "planted"}[tt.want != "s"]; got != want {
				t.Fatalf("read %q, want %q", got, want)
			}
			r.Header.Set("Cookie", "s=planted")
			if got := tt.cookie.Read(r); tt.want != "s" && got != "" {
				t.Fatalf("read the planted plain cookie: %q", got)
			}
		})
	}
	// A session about to end is still sent once.
	r := httptest.NewRequest("POST", "/", nil)
	w := httptest.NewRecorder()
	now := time.Now()
	SessionCookie{Name: "s", Path: "/"}.Set(w, r, "v", &now)
	if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge != 1 {
		t.Fatalf("a session ending now: %s", w.Header().Get("Set-Cookie"))
	}
}

// TestOnlyCookie: a cookie is taken only when the request carries its
// name once; twice is one set beside usher's by another host or for a
// longer path, and neither is taken.
func TestOnlyCookie(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, header, want string
	}{
		{"none", "", ""},
		{"another name", "other=x", ""},
		{"once", "session_id=mine; other=x", "mine"},
		{"twice, the planted one first", "session_id=planted; session_id=mine", ""},
		{"twice, the same value", "session_id=mine; session_id=mine", ""},
		{"once and empty", "session_id=", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Cookie", tt.header)
			}
			if got := OnlyCookie(r, "session_id"); got != tt.want {
				t.Errorf("OnlyCookie = %q, want %q", got, tt.want)
			}
			if got := (SessionCookie{Name: "session_id", Path: "/"}).Read(r); got != tt.want {
				t.Errorf("Read = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFormTokenNotShadowed: over plain HTTP the form token's cookie has no
// __Host- prefix, so a sibling host could set one of a value it knows
// beside usher's: a form carrying that value passed, and usher wrote it
// into its own forms. Neither takes a cookie the request carries twice.
func TestFormTokenNotShadowed(t *testing.T) {
	t.Parallel()
	planted, mine := strings.Repeat("A", 43), strings.Repeat("B", 43)
	both := "usher_form=" + planted + "; usher_form=" + mine
	f := FormToken{}
	r := httptest.NewRequest("POST", "/login", nil)
	r.Header.Set("Cookie", both)
	if f.Verify(r, false, "", planted) || f.Verify(r, false, "", mine) {
		t.Error("Verify takes a token cookie the request carries twice")
	}
	r = httptest.NewRequest("GET", "/login", nil)
	r.Header.Set("Cookie", both)
	if got := f.Issue(httptest.NewRecorder(), r, false, ""); got == planted || got == mine {
		t.Errorf("Issue writes %q, a token cookie the request carries twice, into the form", got)
	}
	r = httptest.NewRequest("POST", "/login", nil)
	r.Header.Set("Cookie", "usher_form="+mine)
	if !f.Verify(r, false, "", mine) {
		t.Error("Verify refuses the one token cookie")
	}
}
