package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// BaseURL is where usher is reached from outside, without a trailing
// slash: the configured public URL, or else the scheme and host the
// request came to. Faces that write absolute links use it; with no public
// URL configured those links follow the Host header the client sent.
func BaseURL(r *http.Request, configured string) string {
	if configured != "" {
		return strings.TrimSuffix(configured, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// AllowedMethods returns which of methods known serves r's path with, for
// the Allow header of a 405: known holds a face's patterns with any
// handler. It returns nothing when the path is not served at all.
func AllowedMethods(known *http.ServeMux, r *http.Request, methods ...string) []string {
	var allowed []string
	for _, m := range methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := known.Handler(probe); pattern != "" {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// RetryAfter is the value of a Retry-After header for a wait of d: whole
// seconds, rounded up, at least one.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
