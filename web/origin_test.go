package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"usher"
)

// originServer answers 204 when the Origin check passes and 403 with the
// error's code when it does not.
func originServer(t *testing.T, publicURL string) *httptest.Server {
	t.Helper()
	o := NewOrigin(publicURL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := o.Check(r); err != nil {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(usher.AsError(err).Code))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestOriginCheckedAgainstPublicURLNotHost: an unsafe request that names
// its origin must name the public URL's, whatever Host it was sent to;
// safe methods and requests that name none pass.
func TestOriginCheckedAgainstPublicURLNotHost(t *testing.T) {
	t.Parallel()
	srv := originServer(t, "https://usher.example/some/path/")
	for _, tt := range []struct {
		name, method, host string
		header             map[string]string
		status             int
	}{
		{"same origin", "POST", "", map[string]string{"Origin": "https://usher.example", "Sec-Fetch-Site": "same-origin"}, 204},
		{"same origin, default port written out", "POST", "", map[string]string{"Origin": "https://usher.example:443"}, 204},
		{"same origin, in capitals", "DELETE", "", map[string]string{"Origin": "HTTPS://Usher.Example"}, 204},
		{"the person's own navigation", "POST", "", map[string]string{"Sec-Fetch-Site": "none"}, 204},
		{"no browser headers", "POST", "", nil, 204},
		{"a safe method from anywhere", "GET", "", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 204},
		{"HEAD from anywhere", "HEAD", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 204},
		{"OPTIONS from anywhere", "OPTIONS", "", map[string]string{"Origin": "https://evil.example"}, 204},
		{"foreign origin", "POST", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"Host forged to match a foreign Origin", "POST", "evil.example", map[string]string{"Origin": "http://evil.example"}, 403},
		{"Host forged, Sec-Fetch-Site same-origin, foreign Origin", "PUT", "evil.example", map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"}, 403},
		{"plain HTTP on the public host", "POST", "", map[string]string{"Origin": "http://usher.example"}, 403},
		{"another port", "POST", "", map[string]string{"Origin": "https://usher.example:8443"}, 403},
		{"a sibling site", "PATCH", "", map[string]string{"Origin": "https://a.usher.example", "Sec-Fetch-Site": "same-site"}, 403},
		{"a suffix of the public host", "POST", "", map[string]string{"Origin": "https://usher.example.evil.example"}, 403},
		{"an opaque origin", "POST", "", map[string]string{"Origin": "null"}, 403},
		{"an origin with a path", "POST", "", map[string]string{"Origin": "https://usher.example/x"}, 403},
		{"an origin with credentials", "POST", "", map[string]string{"Origin": "https://u@usher.example"}, 403},
		{"cross-site by Sec-Fetch-Site alone", "POST", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"the public origin, but the browser says cross-site", "POST", "", map[string]string{"Origin": "https://usher.example", "Sec-Fetch-Site": "cross-site"}, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequest(tt.method, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if tt.host != "" {
				r.Host = tt.host
			}
			res, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if tt.status == 403 && tt.method != "HEAD" {
				want = usher.CodeCrossOrigin
			}
			if res.StatusCode != tt.status || string(b) != want {
				t.Fatalf("%d %q, want %d %q", res.StatusCode, b, tt.status, want)
			}
		})
	}
}

// TestOriginWithoutPublicURLRefusesBrowsers: with no usable public URL no
// origin matches, so the check fails closed for browsers.
func TestOriginWithoutPublicURLRefusesBrowsers(t *testing.T) {
	t.Parallel()
	for _, public := range []string{"", "not a url", "ftp://usher.example"} {
		srv := originServer(t, public)
		u, _ := url.Parse(srv.URL)
		r, _ := http.NewRequest("POST", srv.URL, nil)
		r.Header.Set("Origin", "http://"+u.Host)
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("public URL %q: the server's own address as Origin: %d", public, res.StatusCode)
		}
	}
}

// TestFormTokenOfASignedInBrowser: a signed-in browser's token is made
// from its log-in, sets no cookie, and is taken with that log-in alone —
// not with a token cookie of the same value, which a sibling host can
// plant over plain HTTP when the browser holds none of usher's (it ends
// with the browser; the log-in does not), and not after another log-in.
func TestFormTokenOfASignedInBrowser(t *testing.T) {
	t.Parallel()
	f := FormToken{}
	const session, other = "session-secret-of-alice", "session-secret-of-bob"
	w := httptest.NewRecorder()
	token := f.Issue(w, httptest.NewRequest("GET", "/form", nil), false, session)
	if len(w.Result().Cookies()) != 0 || !validFormToken(token) || strings.Contains(token, session) {
		t.Fatalf("issued %q, cookies %v", token, w.Result().Cookies())
	}
	if again := f.Issue(httptest.NewRecorder(), httptest.NewRequest("GET", "/form", nil), true, session); again != token {
		t.Errorf("a second page of the log-in: %q, want %q", again, token)
	}
	planted := strings.Repeat("A", 43)
	anonymous := f.Issue(httptest.NewRecorder(), httptest.NewRequest("GET", "/form", nil), false, "")
	for _, tt := range []struct {
		name, cookie, session, token string
		ok                           bool
	}{
		{"its log-in's", "", session, token, true},
		{"its log-in's beside a token cookie", "usher_form=" + planted, session, token, true},
		{"a planted cookie's, alone", "usher_form=" + planted, session, planted, false},
		{"another log-in's", "", other, token, false},
		{"an anonymous form's, with its cookie", "usher_form=" + anonymous, session, anonymous, false},
		{"none", "", session, "", false},
	} {
		r := httptest.NewRequest("POST", "/form", nil)
		if tt.cookie != "" {
			r.Header.Set("Cookie", tt.cookie)
		}
		if got := f.Verify(r, false, tt.session, tt.token); got != tt.ok {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// TestFormTokenBindsFormToCookie: a form's token is taken only with the
// cookie it was issued with.
func TestFormTokenBindsFormToCookie(t *testing.T) {
	t.Parallel()
	f := FormToken{}
	issue := func(secure bool, cookie *http.Cookie) (string, *http.Cookie) {
		r := httptest.NewRequest("GET", "/form", nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		token := f.Issue(w, r, secure, "")
		cookies := w.Result().Cookies()
		if len(cookies) == 0 {
			return token, nil
		}
		return token, cookies[0]
	}
	plainToken, plain := issue(false, nil)
	secureToken, secure := issue(true, nil)
	otherToken, _ := issue(false, nil)
	if plain == nil || plain.Name != "usher_form" || plain.Path != "/" || !plain.HttpOnly || plain.SameSite != http.SameSiteStrictMode || plain.Secure {
		t.Fatalf("plain cookie %+v", plain)
	}
	if secure == nil || secure.Name != "__Host-usher_form" || secure.Path != "/" || !secure.Secure || secure.Domain != "" {
		t.Fatalf("secure cookie %+v", secure)
	}
	if again, set := issue(false, plain); again != plainToken || set != nil {
		t.Fatalf("a second load of the page: token %q, cookie %+v", again, set)
	}
	for _, tt := range []struct {
		name   string
		secure bool
		cookie *http.Cookie
		token  string
		ok     bool
	}{
		{"its own cookie", false, plain, plainToken, true},
		{"its own __Host- cookie", true, secure, secureToken, true},
		{"no cookie", false, nil, plainToken, false},
		{"no token", false, plain, "", false},
		{"another cookie's token", false, plain, otherToken, false},
		{"the cookie under the other name", true, &http.Cookie{Name: "usher_form", Value: secureToken}, secureToken, false},
		{"a token of another shape, matching the cookie", false, &http.Cookie{Name: "usher_form", Value: "x"}, "x", false},
	} {
		r := httptest.NewRequest("POST", "/form", nil)
		if tt.cookie != nil {
			r.AddCookie(&http.Cookie{Name: tt.cookie.Name, Value: tt.cookie.Value})
		}
		if got := f.Verify(r, tt.secure, "", tt.token); got != tt.ok {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.ok)
		}
	}
}
