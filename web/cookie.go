package web

import (
	"net/http"
	"time"

	"usher"
)

// ImpersonationCookie is the cookie the pages keep an administrator's
// impersonation in (its JWT), beside the administrator's session. A
// log-in through any face in the browser ends what it holds.
func ImpersonationCookie(secure bool) SessionCookie {
	return SessionCookie{Name: "usher_impersonation", Path: "/", Secure: secure, Host: true}
}

// SessionCookie is a cookie a face keeps a credential in, such as its
// session: HttpOnly, so that no page script reads it, SameSite=Lax, so
// that other sites' pages send it only when the browser navigates to
// usher, and Secure whenever usher is reached over HTTPS. Each face names
// its own and says where it is sent.
type SessionCookie struct {
	Name string
	// Path is where the browser sends the cookie.
	Path string
	// Secure marks the cookie Secure on every request, as when the public
	// URL is https; without it, only on requests known to have come over
	// HTTPS, directly or through a trusted proxy.
	Secure bool
	// Host names the cookie with the __Host- prefix whenever it is Secure.
	// A browser keeps such a cookie only from usher's own host, for the
	// whole site and without a Domain, so a cookie of the name that a
	// sibling host sets for the parent domain (sent first, for a longer
	// Path) cannot stand in for it: no one signs another's browser in to
	// their own account by planting their session or a log-in's binding.
	// The prefixed cookie's Path is "/", as the prefix requires. Over
	// plain HTTP, where browsers refuse the prefix, it is Name at Path.
	Host bool
}

// Set gives the browser the cookie with value, to be kept until expires:
// nil keeps it until the browser closes.
func (c SessionCookie) Set(w http.ResponseWriter, r *http.Request, value string, expires *time.Time) {
	ck := c.cookie(r, value)
	if expires != nil {
		ck.Expires = *expires
		// Max-Age, which browsers prefer, counts from now; a value that
		// expires within the second is still sent once.
		ck.MaxAge = max(1, int(time.Until(*expires).Seconds()))
	}
	http.SetCookie(w, ck)
}

// Read returns the cookie's value in r, or "" when r has none, or has it
// more than once (OnlyCookie).
func (c SessionCookie) Read(r *http.Request) string {
	return OnlyCookie(r, c.name(r))
}

// OnlyCookie returns the value of the cookie named name in r, or "" when r
// carries none, or several: a second one of the name is one a sibling host
// set for the parent domain, or set for a longer path, beside the one
// usher set — browsers send both, the longer path first — and taking
// either could sign the browser in as whoever planted it. A cookie with the
// __Host- prefix cannot be planted so; a name without it can.
func OnlyCookie(r *http.Request, name string) string {
	value, n := "", 0
	for _, ck := range r.CookiesNamed(name) {
		value, n = ck.Value, n+1
	}
	if n != 1 {
		return ""
	}
	return value
}

// Clear has the browser remove the cookie.
func (c SessionCookie) Clear(w http.ResponseWriter, r *http.Request) {
	ck := c.cookie(r, "")
	ck.MaxAge = -1
	http.SetCookie(w, ck)
}

// cookie is the cookie with value and the attributes every use shares.
func (c SessionCookie) cookie(r *http.Request, value string) *http.Cookie {
	path := c.Path
	if c.Host && c.secure(r) {
		path = "/"
	}
	return &http.Cookie{Name: c.name(r), Value: value, Path: path, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: c.secure(r)}
}

// secure reports whether the cookie is Secure on r.
func (c SessionCookie) secure(r *http.Request) bool {
	return c.Secure || usher.RequestFrom(r.Context()).Secure
}

// name is the cookie's name on r (see Host).
func (c SessionCookie) name(r *http.Request) string {
	if c.Host && c.secure(r) {
		return "__Host-" + c.Name
	}
	return c.Name
}
