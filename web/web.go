// Package web is the HTTP plumbing the faces share: handlers that return
// errors, request ids, body limits, access logs, metrics, JSON decoding
// that names the offending field, the media types a body may have, the
// 404/405 fallback under a face's prefix, session cookies, and the origin
// and CSRF checks. It holds no rules.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"golang.org/x/net/idna"

	"usher"
)

// MaxBody is the largest request body accepted; larger ones are refused
// with KindTooLarge.
const MaxBody = 1 << 20

// Handler is an HTTP handler that returns its error instead of writing it.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter writes an error in a face's own format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Adapt turns h into an http.Handler whose errors are written by writeErr.
func Adapt(h Handler, writeErr ErrorWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeErr(w, r, err)
		}
	})
}

// LogError logs err if it is an internal fault; other kinds are the
// caller's doing and are not logged as errors. Faces call it from their
// ErrorWriter.
func LogError(log *slog.Logger, r *http.Request, err error) {
	if gone := r.Context().Err(); gone != nil && errors.Is(err, gone) {
		return // the client left: nothing failed
	}
	if usher.ErrorKind(err) == usher.KindInternal {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path,
			"request_id", usher.RequestFrom(r.Context()).ID, "err", err)
	}
}

// recorder remembers the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Metrics counts requests by route pattern, method and status and times them.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "usher_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "usher_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// privateAnswer is the Cache-Control of every answer whose handler sets
// none.
const privateAnswer = "max-age=0, private, must-revalidate"

// strictTransport is the Strict-Transport-Security of every answer given
// over HTTPS: a year, as browsers' preload lists ask at the least.
const strictTransport = "max-age=31536000"

// Middleware wraps the whole server: it gives every request an id, puts the
// request's description into its context, limits the body, recovers from
// panics, logs the request and counts it, and marks every answer to a
// request that came over HTTPS Strict-Transport-Security. The request's
// client address and whether it came over HTTPS are the peer's, or what
// proxies, when the peer is one of them, say of the client; nil proxies
// trusts none.
//
// The log line of a request names its method, route, status, size,
// duration in milliseconds (duration_ms), client address, request id and,
// once a face has checked its credential, its account (user_id). A
// request answered 5xx is logged at level ERROR; any other, a client's
// mistake included, at INFO.
func Middleware(next http.Handler, log *slog.Logger, m *Metrics, proxies *Proxies) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		// An answer is the caller's own unless its handler says otherwise
		// (an avatar, the OpenAPI description): a shared cache or
		// CDN in front of usher must not keep it for the next caller of
		// the same URL — GET /api/v4/user with another PRIVATE-TOKEN, a
		// header no cache knows for a credential — and a browser asks
		// again each time, with the answer's ETag where it has one.
		// GitLab's API answers alike.
		w.Header().Set("Cache-Control", privateAnswer)
		addr, secure, sure := proxies.client(r)
		if secure {
			// Reached over HTTPS: the browser is to use nothing else for
			// this host, so that a later http:// visit or link cannot be
			// downgraded on the way (SSL stripping). Subdomains are left
			// to their own servers.
			w.Header().Set("Strict-Transport-Security", strictTransport)
		}
		ctx := usher.WithRequest(r.Context(), usher.Request{
			ID: id, Address: addr, UserAgent: r.UserAgent(), Secure: secure,
			Languages: r.Header.Get("Accept-Language"),
		})
		ctx, userID := usher.WithPrincipalNote(ctx)
		if !sure {
			ctx = context.WithValue(ctx, clientUnknownKey{}, true)
		}
		if r.Body != nil {
			// An upload's handler may read past MaxBody (UploadBody).
			ctx = context.WithValue(ctx, rawBodyKey{}, r.Body)
			r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		}
		r = r.WithContext(ctx)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					http.Error(rec, "internal error", http.StatusInternalServerError)
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			if m != nil {
				method := metricMethod(r.Method)
				m.requests.WithLabelValues(route, method, strconv.Itoa(rec.status)).Inc()
				m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
			}
			level := slog.LevelInfo
			if rec.status >= 500 {
				level = slog.LevelError
			}
			// The record goes to the handler straight: Logger.LogAttrs
			// would walk the stack for a source line no handler of usher's
			// prints, at every request.
			h := log.Handler()
			if !h.Enabled(ctx, level) {
				return
			}
			line := slog.NewRecord(time.Now(), level, "request", 0)
			line.AddAttrs(
				slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("client", addr), slog.String("request_id", id))
			if uid := userID(); uid != 0 {
				line.AddAttrs(slog.Int64("user_id", uid))
			}
			_ = h.Handle(ctx, line)
		}()
		next.ServeHTTP(rec, r)
	})
}

// metricMethod is a request's method as a metric label: a method HTTP
// defines, or "other", so that a caller who invents methods cannot grow
// the metrics without bound.
func metricMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "other"
}

// validRequestID accepts a caller's request id if it is short and plain.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// BearerToken returns the token of an "Authorization: Bearer" header, or "".
// The scheme is matched case-insensitively.
func BearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// Ops serves the operational endpoints: liveness, readiness and metrics.
type Ops struct {
	// Ready reports whether the service can answer: the database takes
	// writes. Its error goes to the log whole; the 503's body says only
	// its Public() reason, when it has one, since /readyz answers anyone
	// and the whole error may name the database's path or server.
	Ready   func(ctx context.Context) error
	Metrics http.Handler
	Log     *slog.Logger
}

// Mount registers /healthz, /readyz and, when Metrics is set, /metrics.
func (o *Ops) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := o.Ready(ctx); err != nil {
			o.Log.WarnContext(ctx, "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			reason := "the database is not ready"
			var pe interface{ Public() string }
			if errors.As(err, &pe) {
				reason = pe.Public()
			}
			_, _ = w.Write([]byte("not ready: " + reason + " (the log has the details)\n"))
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics)
	}
}

// BearerOnly serves next only to requests whose "Authorization: Bearer"
// header carries token, compared in constant time; others are answered
// 401. An empty token lets every request through.
func BearerOnly(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(BearerToken(r)))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "a bearer token is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// PrivateOnly serves next only to clients on this machine or a private
// network (loopback, RFC 1918 and IPv6 unique local addresses), as
// Middleware describes the client, through trusted proxies; others are
// answered 404, as if there were nothing. It is for what must not reach
// the internet but is served on the API's listener, such as metrics whose
// counters move with what the core does for a request: a mail sent after
// a reset request says that an account has the address. A request whose
// client a trusted proxy left unknown (a malformed hop, or X-Forwarded-For
// and Forwarded that disagree, one of which the client wrote) is 404: the
// address Middleware gives it is the proxy's, private as proxies are. So
// is one with forwarding headers from a peer usher does not trust: a
// reverse proxy it was not told of, whose own address, private too, would
// otherwise let the internet through.
//
// The request must name usher as only its own networks can (privateHost,
// with public the host of usher's public URL): else a page of another
// site, opened by someone on those networks, points its own name at
// usher's private address (DNS rebinding) and reads the answer through
// their browser, which sends the page's name as the Host.
func PrivateOnly(next http.Handler, public string) http.Handler {
	// A client sends a name beyond ASCII as its A-label (xn--…).
	if ascii, err := idna.Lookup.ToASCII(public); err == nil {
		public = ascii
	}
	public = strings.ToLower(strings.TrimSuffix(public, "."))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		unknown, _ := r.Context().Value(clientUnknownKey{}).(bool)
		addr, err := netip.ParseAddr(usher.RequestFrom(r.Context()).Address)
		if addr = addr.Unmap(); unknown || err != nil || !(addr.IsLoopback() || addr.IsPrivate()) || !privateHost(r.Host, public) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// privateHost reports whether host, a request's Host with or without its
// port, is a name no site of the internet can give itself: an address,
// public (the host name of usher's public URL, as an A-label in lower
// case), a name of one label (a
// machine or container on the local network), or one under a domain set
// aside for private networks, which public DNS never answers for:
// localhost and .local (RFC 6761, RFC 6762), home.arpa (RFC 8375),
// .internal (reserved by ICANN in 2024) and Kubernetes' service names
// (.svc, and .svc.cluster.local under .local).
func privateHost(host, public string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	switch {
	case name == "":
		return false
	case name == public || !strings.Contains(name, "."):
		return true
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	for _, suffix := range []string{".localhost", ".local", ".home.arpa", ".internal", ".svc"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// clientUnknownKey marks a request whose client a trusted proxy left
// unknown (Proxies.client), for PrivateOnly.
type clientUnknownKey struct{}

// rawBodyKey keeps a request's body as it came, before MaxBody limits it.
type rawBodyKey struct{}

// UploadBody lets a handler that takes files read a body of up to limit
// bytes rather than MaxBody; reading more is a *http.MaxBytesError. A body
// whose Content-Length is over limit fails so at its first read, and none
// of it is read: a file that cannot be taken is not copied into memory and
// temporary files first. It must be called before the body is read.
func UploadBody(w http.ResponseWriter, r *http.Request, limit int64) {
	body := r.Body
	if raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser); ok {
		body = raw
	}
	switch {
	case body == nil:
	case r.ContentLength > limit:
		r.Body = declaredTooLarge{body, limit}
	default:
		r.Body = http.MaxBytesReader(w, body, limit)
	}
}

// declaredTooLarge is a body that said it is longer than limit: every read
// fails as reading past the limit does, without reading the client's bytes.
type declaredTooLarge struct {
	io.Closer
	limit int64
}

func (b declaredTooLarge) Read([]byte) (int, error) {
	return 0, &http.MaxBytesError{Limit: b.limit}
}

// IsTooLarge reports whether err came from reading a body over MaxBody.
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
