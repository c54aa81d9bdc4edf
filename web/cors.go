package web

import (
	"fmt"
	"net/http"
	"strings"
)

// CORS lets the pages of other origins, those an operator names, call
// usher from a browser (Cross-Origin Resource Sharing). A request from a
// named origin gets the headers that let its page read the answer, with
// credentials; a preflight from one is answered here. A request from any
// other origin gets no CORS header at all, so its page reads nothing.
//
// CORS decides what a browser lets a page read; it does not let a cookie
// change anything: a face's origin check (Origin) still refuses a change
// a session cookie carries from another origin. Other origins' pages
// send a bearer token.
type CORS struct {
	origins map[string]bool
}

// corsMaxAge is how long a browser may keep a preflight's answer.
const corsMaxAge = "600"

// NewCORS returns the policy for the comma-separated origins list, each a
// scheme://host[:port]. It refuses an entry that is not an origin, such as
// "*" or a URL with a path: credentials are allowed only for origins
// named one by one.
func NewCORS(list string) (*CORS, error) {
	c := &CORS{origins: make(map[string]bool)}
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		o := normalOrigin(raw, true)
		if o == "" {
			return nil, fmt.Errorf("allowed origin %q is not scheme://host[:port]", raw)
		}
		c.origins[o] = true
	}
	return c, nil
}

// Wrap answers preflights from the allowed origins and marks the answers
// to their requests readable; nil or empty CORS returns next unchanged.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	if c == nil || len(c.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		if origin == "" || !c.origins[normalOrigin(origin, true)] {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match, If-None-Match, X-Request-ID")
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", "Link, Location, ETag, Retry-After, X-Request-ID, X-Total-Count")
		next.ServeHTTP(w, r)
	})
}
