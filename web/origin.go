package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"usher"
)

// Origin decides whether a browser's request comes from usher's own pages:
// from the origin of the public URL, where usher is reached from outside.
// It is what stands between a session cookie, or a form usher serves, and
// the pages of other sites that make a browser send them.
//
// The Host header is not consulted: a request whose Host an attacker
// chose (DNS rebinding points their name at usher) carries their Origin
// and their Host alike, and would pass a check that compares the two.
type Origin struct {
	// origin is the public URL's scheme://host[:port], lower-cased, without
	// a default port; empty when no public URL is configured, and then no
	// browser origin matches.
	origin string
}

// NewOrigin returns the check for the public URL publicURL. Without a
// usable public URL every request that names its origin is refused.
func NewOrigin(publicURL string) *Origin {
	return &Origin{origin: normalOrigin(publicURL, false)}
}

// normalOrigin returns the serialised origin of a URL, or "" when it has
// none: scheme and host in lower case, a default port dropped. With bare,
// the URL must be an origin itself, as an Origin header is: no path, query
// or fragment.
func normalOrigin(raw string, bare bool) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return ""
	}
	if bare && (u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "") {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}

// Check returns nil when r may act on the browser's behalf: its method is
// safe (GET, HEAD, OPTIONS), or its Origin, when sent, is the public URL's
// and its Sec-Fetch-Site, when sent, says the same origin or the person
// themselves. A request with neither header comes from no browser that
// sends them all: a program, or a browser too old to, which the forms
// usher serves meet with a token (see FormToken). Otherwise it returns a
// KindForbidden error with code cross_origin.
func (o *Origin) Check(r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	return o.CheckChange(r)
}

// CheckChange is Check for a request that changes something whatever its
// method says, such as a dialect's log-out by GET: its Origin and
// Sec-Fetch-Site, when sent, must say usher's own pages or the person
// themselves (a link another site shows is cross-site).
func (o *Origin) CheckChange(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCrossOrigin()
	}
	if values := r.Header.Values("Origin"); len(values) > 0 {
		if len(values) != 1 || o.origin == "" || normalOrigin(values[0], true) != o.origin {
			return errCrossOrigin()
		}
	}
	return nil
}

// CheckNavigation refuses a page a browser was sent to (a GET) from
// anywhere but usher's own pages: its Sec-Fetch-Site must be same-origin,
// or, from a browser that sends no such header, its Referer an address of
// usher's origin. A link on another site, in a mail or a chat, or typed
// (cross-site, same-site, none), and a request with neither header, are
// refused: what such a start makes must be the page's own.
func (o *Origin) CheckNavigation(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		if site != "same-origin" {
			return errCrossOrigin()
		}
		return nil
	}
	if ref := r.Header.Get("Referer"); ref == "" || o.origin == "" || normalOrigin(ref, false) != o.origin {
		return errCrossOrigin()
	}
	return nil
}

func errCrossOrigin() error {
	return &usher.Error{Kind: usher.KindForbidden, Code: usher.CodeCrossOrigin,
		Message: "the request did not come from this site's own pages"}
}

// FormToken is a form's CSRF token bound to a cookie (the double-submit
// pattern): the page that shows the form sets a random value in a cookie
// and writes the same value into the form, and the form's post must bring
// both. Another site can make a browser post a form but cannot read the
// cookie or the page to learn the value, and cannot set the cookie: it is
// HttpOnly and SameSite=Strict, and over HTTPS its name has the __Host-
// prefix, which a browser accepts only from this host, over HTTPS, for
// every path. No server key is involved, so any replica checks a form
// another served. It backs up the Origin check for browsers that do not
// send Origin. Every form of the site shares the one cookie, for every
// path, over plain HTTP too: a second of the same name for a narrower path
// was sent beside it, and two are refused (OnlyCookie).
//
// A browser with a log-in's cookie gets no token cookie but a token made
// from the log-in's secret, which no other host learns. Over plain HTTP a
// sibling host can set the token cookie for the parent domain, and a
// browser that has none of usher's (the cookie ends with the browser, a
// log-in outlives it) sends that one alone; a token made from the log-in
// is one that host cannot plant, and it changes with each log-in, so the
// next person to use a shared browser does not hold the last one's.
type FormToken struct{}

// formTokenBytes is the token's random length.
const formTokenBytes = 32

// cookieName is the token cookie's name for a request served securely or
// not.
func (f FormToken) cookieName(secure bool) string {
	if secure {
		return "__Host-usher_form"
	}
	return "usher_form"
}

// Issue returns the token to write into the form: for a browser with a
// log-in, session (its cookie's secret, and whatever else the face binds
// its forms to), one made from it; else the cookie's, setting the cookie
// when the browser has none yet. A browser keeps one token for every tab.
// secure says whether usher is reached over HTTPS.
func (f FormToken) Issue(w http.ResponseWriter, r *http.Request, secure bool, session string) string {
	if session != "" {
		return sessionFormToken(session)
	}
	name := f.cookieName(secure)
	if v := OnlyCookie(r, name); validFormToken(v) {
		return v
	}
	var b [formTokenBytes]byte
	_, _ = rand.Read(b[:])
	token := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: name, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure})
	return token
}

// Verify reports whether the form value token is the one Issue gives the
// request: made from session when there is one, else the request's
// cookie's.
func (f FormToken) Verify(r *http.Request, secure bool, session, token string) bool {
	var v string
	if session != "" {
		v = sessionFormToken(session)
	} else {
		// A token cookie a sibling host planted beside usher's, over
		// plain HTTP where the name has no __Host- prefix, is no one's
		// (OnlyCookie).
		v = OnlyCookie(r, f.cookieName(secure))
	}
	if !validFormToken(v) || !validFormToken(token) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(v), []byte(token)) == 1
}

// sessionFormToken is the form token of a browser with the log-in
// session: its digest, of the shape of a random one, from which the secret cannot
// be read back.
func sessionFormToken(session string) string {
	sum := sha256.Sum256([]byte("usher form token\x00" + session))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// validFormToken reports whether s has the shape of a token Issue makes.
func validFormToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == formTokenBytes
}
