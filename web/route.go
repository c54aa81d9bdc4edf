package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"usher"
)

// Status returns the status HTTP gives a refusal of web's own that no
// kind's status describes: 405 for method_not_allowed, 415 for
// unsupported_media_type. It returns 0 for every other error, whose status
// is its kind's in the face's table.
func Status(err error) int {
	var e *usher.Error
	if !errors.As(err, &e) || e.Kind != usher.KindInvalid {
		return 0
	}
	switch e.Code {
	case usher.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case usher.CodeUnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	}
	return 0
}

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

// methodOrder is the order an Allow header lists methods in.
var methodOrder = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// Fallback returns the handler a face mounts at its path prefix for the
// requests none of its routes took. routes are the face's patterns,
// "METHOD /path", as its Mount registers them. A path no route has is
// answered with a KindNotFound error of code route_not_found; a path that
// routes have with other methods with a KindInvalid error of code
// method_not_allowed, after setting the Allow header to the methods those
// routes serve (HEAD wherever GET, as http.ServeMux serves it). writeErr,
// the face's error writer, writes either in the face's own body; one that
// words the methods reads them from the Allow header.
func Fallback(routes []string, writeErr ErrorWriter) http.Handler {
	known := http.NewServeMux()
	var methods []string
	add := func(m string) {
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	for _, p := range routes {
		known.Handle(p, http.NotFoundHandler())
		method, _, _ := strings.Cut(p, " ")
		add(method)
		if method == http.MethodGet {
			add(http.MethodHead)
		}
	}
	slices.SortStableFunc(methods, func(a, b string) int { return methodRank(a) - methodRank(b) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowed := allowedMethods(known, r, methods)
		if len(allowed) == 0 {
			writeErr(w, r, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeRouteNotFound,
				Message: "no endpoint has this path"})
			return
		}
		allow := strings.Join(allowed, ", ")
		w.Header().Set("Allow", allow)
		writeErr(w, r, &usher.Error{Kind: usher.KindInvalid, Code: usher.CodeMethodNotAllowed,
			Message: "the path is served with " + allow + " only"})
	})
}

// methodRank is a method's place in methodOrder; others come after, in
// the order the routes name them.
func methodRank(m string) int {
	if i := slices.Index(methodOrder, m); i >= 0 {
		return i
	}
	return len(methodOrder)
}

// allowedMethods returns which of methods known serves r's path with.
func allowedMethods(known *http.ServeMux, r *http.Request, methods []string) []string {
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
