package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
)

type body struct {
	Name  Optional[string]            `json:"name"`
	Count *int                        `json:"count"`
	Tags  []string                    `json:"tags"`
	Meta  Optional[map[string]string] `json:"meta"`
}

func TestUnmarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in    string
		code, field string
	}{
		{"ok", `{"name":"a","count":1}`, "", ""},
		{"empty", `   `, "empty_body", ""},
		{"syntax", `{"name":`, "malformed_json", ""},
		{"array", `[1]`, "malformed_json", ""},
		{"null", ` null `, "malformed_json", ""},
		{"unknown field", `{"nmae":"a"}`, "unknown_field", "nmae"},
		{"wrong type", `{"count":"one"}`, "wrong_type", "count"},
		{"wrong type in optional", `{"name":5}`, "wrong_type", "name"},
		{"wrong element type", `{"tags":[1]}`, "wrong_type", "tags"},
		{"trailing garbage", `{"name":"a"} x`, "malformed_json", ""},
	}
	for _, tt := range tests {
		var b body
		err := Unmarshal([]byte(tt.in), &b)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		e := usher.AsError(err)
		if e.Kind != usher.KindInvalid || e.Code != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
		if tt.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != tt.field) {
			t.Errorf("%s: fields %v, want %s", tt.name, e.Fields, tt.field)
		}
	}
	var b body
	if err := Unmarshal([]byte(`{"name":null,"meta":{"k":"v"}}`), &b); err != nil {
		t.Fatal(err)
	}
	if !b.Name.Set || !b.Name.Null || *b.Name.Ptr() != "" || b.Meta.Ptr() == nil || (*b.Meta.Ptr())["k"] != "v" {
		t.Fatalf("optional fields: %+v", b)
	}
	// A key given twice is the last one's, as for a plain field: before,
	// {"name":"x","name":null} set "x", and two objects were merged.
	var twice body
	if err := Unmarshal([]byte(`{"name":"x","name":null,"meta":{"a":"1"},"meta":{"b":"2"}}`), &twice); err != nil {
		t.Fatal(err)
	}
	if !twice.Name.Null || *twice.Name.Ptr() != "" || len(twice.Meta.Value) != 1 || twice.Meta.Value["b"] != "2" {
		t.Errorf("keys given twice: name %+v, meta %v; want null and {b:2}", twice.Name, twice.Meta.Value)
	}
	var absent body
	_ = Unmarshal([]byte(`{}`), &absent)
	if absent.Name.Ptr() != nil {
		t.Fatal("an absent field is set")
	}
}

// TestDecodeOptionalJSON: a body that may be left out is left out by no
// bytes, white space or null (a client's encoding of no options); any
// other body is decoded as DecodeJSON decodes it.
func TestDecodeOptionalJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, in, contentType string
		code, got             string
	}{
		{"no body, of another type", "", "application/x-www-form-urlencoded", "", ""},
		{"white space", " \n", "application/json", "", ""},
		{"null", "null", "application/json", "", ""},
		{"an object", `{"name":"a"}`, "application/json", "", "a"},
		{"an array", `[]`, "application/json", "malformed_json", ""},
		{"malformed", `{"name":`, "application/json", "malformed_json", ""},
		{"an unknown field", `{"nmae":"a"}`, "application/json", "unknown_field", ""},
		{"a body of another type", `name=a`, "application/x-www-form-urlencoded", "unsupported_media_type", ""},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
		r.Header.Set("Content-Type", tt.contentType)
		var b body
		code := ""
		if err := DecodeOptionalJSON(r, &b); err != nil {
			code = usher.AsError(err).Code
		}
		if code != tt.code || b.Name.Value != tt.got {
			t.Errorf("%s: code %q, name %q; want %q, %q", tt.name, code, b.Name.Value, tt.code, tt.got)
		}
	}
}

func TestDecodeJSONLimits(t *testing.T) {
	t.Parallel()
	big := `{"name":"` + strings.Repeat("a", MaxBody) + `"}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(big))
	var b body
	if err := DecodeJSON(r, &b); usher.ErrorKind(err) != usher.KindTooLarge {
		t.Fatalf("a body over the limit: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/merge-patch+json; charset=utf-8")
	if err := DecodeJSON(r, &b); err != nil {
		t.Fatalf("a +json media type: %v", err)
	}
	r.Header.Set("Content-Type", "text/plain")
	if err := DecodeJSON(r, &b); usher.AsError(err).Code != usher.CodeUnsupportedMediaType || Status(err) != 415 {
		t.Fatalf("text/plain: %v", err)
	}
}

// TestDecodeJSONNamesTheRequestsField: a wrong type in a field of a struct
// embedded in the request's is named as the request names it; Go's
// decoder puts the embedded type's name in the path, and Escape's plan
// writes answered "planJSON.project_limit" (round 45).
func TestDecodeJSONNamesTheRequestsField(t *testing.T) {
	t.Parallel()
	type limits struct {
		ProjectLimit int `json:"project_limit"`
		Nested       struct {
			Depth int `json:"depth"`
		} `json:"nested"`
	}
	type request struct {
		limits
		Default *bool `json:"default"`
	}
	for in, want := range map[string]string{
		`{"project_limit": 1.5}`:                   "project_limit",
		`{"project_limit": "x"}`:                   "project_limit",
		`{"nested": {"depth": "deep"}}`:            "nested.depth",
		`{"default": 3}`:                           "default",
		`{"project_limit": 100000000000000000000}`: "project_limit",
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(in))
		var req request
		err := DecodeJSON(r, &req)
		e := usher.AsError(err)
		if len(e.Fields) != 1 || e.Fields[0].Field != want {
			t.Errorf("%s: %v (fields %+v); want the field %q", in, err, e.Fields, want)
		}
	}
}

// TestMediaType: a body is taken as one of the types an endpoint accepts,
// or as its first when it names none; any other is unsupported_media_type.
func TestMediaType(t *testing.T) {
	t.Parallel()
	json, jsonOrForm := []string{MediaJSON}, []string{MediaJSON, MediaForm, MediaMultipart}
	tests := []struct {
		name        string
		contentType string
		body        bool
		accept      []string
		want        string // "" for refused
	}{
		{"JSON", "application/json", true, json, MediaJSON},
		{"JSON with charset", "application/json; charset=utf-8", true, json, MediaJSON},
		{"a +json type", "application/merge-patch+json", true, json, MediaJSON},
		{"upper case", "Application/JSON", true, json, MediaJSON},
		{"no type", "", true, json, MediaJSON},
		{"no body, any type", "text/plain", false, json, MediaJSON},
		{"text to JSON", "text/plain", true, json, ""},
		{"form to JSON", "application/x-www-form-urlencoded", true, json, ""},
		{"multipart to JSON", "multipart/form-data; boundary=x", true, json, ""},
		{"unparsable type", "json;;", true, json, ""},
		{"form where forms go", "application/x-www-form-urlencoded", true, jsonOrForm, MediaForm},
		{"multipart where forms go", "multipart/form-data; boundary=x", true, jsonOrForm, MediaMultipart},
		{"no type where forms go", "", true, jsonOrForm, MediaJSON},
		{"XML where forms go", "application/xml", true, jsonOrForm, ""},
		{"JSON to a form", "application/json", true, []string{MediaForm}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader
			if tt.body {
				body = strings.NewReader("x")
			}
			r := httptest.NewRequest("POST", "/", body)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got, err := MediaType(r, tt.accept...)
			if got != tt.want {
				t.Fatalf("%q, %v; want %q", got, err, tt.want)
			}
			if tt.want == "" && (usher.ErrorKind(err) != usher.KindInvalid || usher.AsError(err).Code != usher.CodeUnsupportedMediaType) {
				t.Fatalf("refused with %v", err)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest("GET", "/?limit=5&flag=true&when=2024-01-02T03:04:05Z&mode=b&extra=1", nil)
	q := NewQuery(r)
	if q.Int("limit", 1, 1, 10) != 5 || !*q.Bool("flag") || q.Time("when").Year() != 2024 || q.Enum("mode", "a", "a", "b") != "b" {
		t.Fatal("values read wrong")
	}
	if err := q.Err(); usher.AsError(err).Code != "unknown_parameter" || usher.AsError(err).Fields[0].Field != "extra" {
		t.Fatalf("unknown parameter: %v", err)
	}
	for _, tt := range []struct{ url, code string }{
		{"/?limit=0", "out_of_range"}, {"/?limit=x", "not_an_integer"}, {"/?flag=maybe", "not_a_boolean"},
		{"/?when=today", "not_a_time"}, {"/?mode=c", "invalid_value"}, {"/?limit=1&limit=2", "repeated_parameter"},
	} {
		q := NewQuery(httptest.NewRequest("GET", tt.url, nil))
		q.Int("limit", 1, 1, 10)
		q.Bool("flag")
		q.Time("when")
		q.Enum("mode", "a", "a", "b")
		if err := q.Err(); usher.AsError(err).Code != tt.code {
			t.Errorf("%s: %v, want %s", tt.url, err, tt.code)
		}
	}
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Bearer abc": "abc", "bearer abc": "abc", "BEARER  abc ": "abc", "Basic abc": "", "Bearer": "", "": "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", in)
		if got := BearerToken(r); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("GET /ok", Adapt(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.WriteString(w, usher.RequestFrom(r.Context()).ID)
		return nil
	}, nil))
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.Handle("GET /fail", Adapt(func(w http.ResponseWriter, r *http.Request) error { return errors.New("x") },
		func(w http.ResponseWriter, r *http.Request, err error) { http.Error(w, "failed", 500) }))
	srv := httptest.NewServer(Middleware(mux, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()), nil))
	defer srv.Close()
	get := func(path, id string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/ok", "abc-123")
	if res.Header.Get("X-Request-ID") != "abc-123" || body != "abc-123" {
		t.Fatalf("a caller's request id is not kept: %q %q", res.Header.Get("X-Request-ID"), body)
	}
	res, body = get("/ok", "bad id with spaces")
	if id := res.Header.Get("X-Request-ID"); id == "bad id with spaces" || len(id) != 24 || body != id {
		t.Fatalf("a bad request id is kept: %q", id)
	}
	if res, _ := get("/panic", ""); res.StatusCode != 500 {
		t.Fatalf("a panic answers %d", res.StatusCode)
	}
	if res, body := get("/fail", ""); res.StatusCode != 500 || !strings.Contains(body, "failed") {
		t.Fatalf("an error answers %d %q", res.StatusCode, body)
	}
}

// FuzzUnmarshal: no input makes the decoder panic, and whatever it accepts
// is a JSON object.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"a"}`, `{"count":1,"tags":["x"]}`, `[`, `null`, `{"meta":{"a":"b"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b body
		err := Unmarshal(data, &b)
		if err != nil && usher.ErrorKind(err) != usher.KindInvalid {
			t.Fatalf("error of kind %s: %v", usher.ErrorKind(err), err)
		}
		if trimmed := bytes.TrimSpace(data); err == nil && (len(trimmed) == 0 || trimmed[0] != '{') {
			t.Fatalf("%q accepted, which is no JSON object", data)
		}
	})
}

func TestRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "1", time.Millisecond: "1", time.Second: "1", 1500 * time.Millisecond: "2", time.Minute: "60"} {
		if got := RetryAfter(d); got != want {
			t.Errorf("RetryAfter(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	r := httptest.NewRequest("GET", "http://usher.test:8080/x", nil)
	if got := BaseURL(r, "https://id.example.com/"); got != "https://id.example.com" {
		t.Errorf("configured: %s", got)
	}
	if got := BaseURL(r, ""); got != "http://usher.test:8080" {
		t.Errorf("from the request: %s", got)
	}
}

// TestMiddlewareLog: each request's log line carries its duration in
// milliseconds, the client address a trusted proxy names, the request id
// and the account a face found; a client's mistake is logged at INFO, a
// server's fault at ERROR.
func TestMiddlewareLog(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	// As a face does: the credential names account 7, then the handler
	// answers.
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		usher.WithPrincipal(r.Context(), &usher.Principal{Kind: usher.PrincipalUser, User: &usher.User{ID: 7}})
		http.Error(w, "no such user", http.StatusNotFound)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	})
	proxies, err := ParseProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(Middleware(mux, log, nil, proxies))
	defer srv.Close()
	for _, tt := range []struct {
		name, path, id string
		status         int
		want           map[string]any // fields of the log line; nil: absent
	}{
		{"a 4xx with an account", "/users/42", "req-4xx", 404, map[string]any{
			"level": "INFO", "status": 404.0, "route": "GET /users/{id}", "client": "203.0.113.9",
			"request_id": "req-4xx", "user_id": 7.0}},
		{"a 5xx without one", "/broken", "req-5xx", 500, map[string]any{
			"level": "ERROR", "status": 500.0, "route": "GET /broken", "client": "203.0.113.9",
			"request_id": "req-5xx", "user_id": nil}},
		{"unmatched", "/nowhere", "req-404", 404, map[string]any{
			"level": "INFO", "route": "unmatched", "request_id": "req-404"}},
	} {
		logs.Reset()
		req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		req.Header.Set("X-Request-ID", tt.id)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.status || res.Header.Get("X-Request-ID") != tt.id {
			t.Fatalf("%s: %d %q", tt.name, res.StatusCode, res.Header.Get("X-Request-ID"))
		}
		var line map[string]any
		if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
			t.Fatalf("%s: the log is not one JSON line: %v\n%s", tt.name, err, logs.String())
		}
		for k, v := range tt.want {
			if got, ok := line[k]; got != v || (v == nil && ok) {
				t.Errorf("%s: %s = %v, want %v\n%s", tt.name, k, got, v, logs.String())
			}
		}
		if ms, ok := line["duration_ms"].(float64); !ok || ms <= 0 {
			t.Errorf("%s: duration_ms = %v", tt.name, line["duration_ms"])
		}
	}
}

// lockedBuffer is a log's buffer that the server's goroutines and the test
// share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// TestBearerOnly: with a token, only requests that carry it pass, the
// scheme matched in any case; without one, every request passes.
func TestBearerOnly(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "metrics") })
	for _, tt := range []struct {
		name, token, header string
		status              int
	}{
		{"the token", "s3cret", "Bearer s3cret", 200},
		{"the scheme in lower case", "s3cret", "bearer s3cret", 200},
		{"no header", "s3cret", "", 401},
		{"a wrong token", "s3cret", "Bearer s3cre", 401},
		{"another scheme", "s3cret", "Basic s3cret", 401},
		{"no token configured", "", "", 200},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		w := httptest.NewRecorder()
		BearerOnly(tt.token, ok).ServeHTTP(w, r)
		body := w.Body.String()
		if w.Code != tt.status || (tt.status == 200) != (body == "metrics") {
			t.Errorf("%s: %d %q, want %d", tt.name, w.Code, body, tt.status)
		}
		if tt.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: a 401 without WWW-Authenticate", tt.name)
		}
	}
}

// TestPrivateOnly: what PrivateOnly guards is served to clients on this
// machine or a private network, as Middleware names the client, and is
// 404 to the internet, whatever address such a client writes into
// X-Forwarded-For to the left of its own, and to whoever comes through a
// proxy usher does not trust.
func TestPrivateOnly(t *testing.T) {
	t.Parallel()
	proxies, err := ParseProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "metrics") })
	handler := Middleware(PrivateOnly(ok, "usher.example"), slog.New(slog.DiscardHandler), nil, proxies)
	for _, tt := range []struct {
		name, forwarded string
		status          int
	}{
		{"this machine", "", 200},
		{"this machine over IPv6", "::1", 200},
		{"RFC 1918", "192.168.1.20", 200},
		{"IPv6 unique local", "fd00::7", 200},
		{"the internet", "203.0.113.7", 404},
		{"the internet over IPv6", "2001:db8::1", 404},
		{"the internet naming a private address", "10.0.0.5, 203.0.113.7", 404},
		{"carrier-grade NAT", "100.64.0.1", 404},
		// The proxy names the client in X-Forwarded-For; the client wrote
		// a Forwarded of its own, or garbage, which leaves the client
		// unknown: the request is taken to come from the proxy, which is
		// no reason to serve it.
		{"the internet with a Forwarded of its own", "203.0.113.7|for=198.51.100.1", 404},
		{"the internet with a Forwarded naming a private address", "203.0.113.7|for=10.0.0.5", 404},
		{"garbage the proxy passed on", "unknown", 404},
		{"a Forwarded the proxy wrote", "|for=10.0.0.5", 200},
		// From a peer usher does not trust, forwarding headers say that a
		// proxy usher was not told of is in front of it: the peer's
		// private address is the proxy's, the client unknown.
		{"behind an untrusted proxy, X-Forwarded-For", "203.0.113.7|||10.0.0.9", 404},
		{"behind an untrusted proxy, Forwarded", "|for=203.0.113.7||10.0.0.9", 404},
		{"behind an untrusted proxy, X-Real-IP", "||203.0.113.7|10.0.0.9", 404},
		{"behind an untrusted proxy naming a private client", "10.0.0.5|||10.0.0.9", 404},
		{"a private client of its own", "|||10.0.0.9", 200},
	} {
		r := httptest.NewRequest("GET", "http://usher.example/metrics", nil)
		r.RemoteAddr = "127.0.0.1:4321"
		// forwarded is X-Forwarded-For|Forwarded|X-Real-IP|peer.
		parts := strings.Split(tt.forwarded+"|||", "|")
		if parts[3] != "" {
			r.RemoteAddr = parts[3] + ":4321"
		}
		for i, name := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP"} {
			if parts[i] != "" {
				r.Header.Set(name, parts[i])
			}
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if body := w.Body.String(); w.Code != tt.status || (tt.status == 200) != (body == "metrics") {
			t.Errorf("%s: %d %q, want %d", tt.name, w.Code, body, tt.status)
		}
	}
}

// TestPrivateOnlyHost replays DNS rebinding: a page of another site,
// opened by someone on usher's network, points its own name at usher's
// private address, and their browser asks for /metrics from a private
// address naming the page's host, then hands the page the answer. Only a
// Host no site of the internet can give itself is served: an address,
// the public URL's host, one label, or a domain set aside for private
// networks.
func TestPrivateOnlyHost(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "metrics") })
	handler := Middleware(PrivateOnly(ok, "usher.example"), slog.New(slog.DiscardHandler), nil, nil)
	for _, tt := range []struct {
		host   string
		status int
	}{
		{"usher.example", 200},
		{"USHER.example:8080", 200},
		{"usher.example.", 200},
		{"10.0.0.9:8080", 200},
		{"127.0.0.1", 200},
		{"[::1]:8080", 200},
		{"[fd00::7]", 200},
		{"localhost:8080", 200},
		{"usher", 200},
		{"usher:8080", 200},
		{"usher.monitoring.svc:8080", 200},
		{"usher.monitoring.svc.cluster.local", 200},
		{"metrics.corp.internal", 200},
		{"nas.home.arpa", 200},
		{"attacker.example", 404},
		{"attacker.example:8080", 404},
		{"usher.example.attacker.example", 404},
		{"usher.local.attacker.example", 404},
		{"attacker.example.", 404},
		{"", 404},
	} {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Host = tt.host
		r.RemoteAddr = "10.0.0.5:4321"
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("Host %q from a private client: %d, want %d", tt.host, w.Code, tt.status)
		}
	}
	// A public URL beyond ASCII is named by its A-label, as clients send
	// it.
	unicode := Middleware(PrivateOnly(ok, "üsher.example"), slog.New(slog.DiscardHandler), nil, nil)
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Host, r.RemoteAddr = "xn--sher-zra.example:9090", "10.0.0.5:4321"
	w := httptest.NewRecorder()
	if unicode.ServeHTTP(w, r); w.Code != http.StatusOK {
		t.Errorf("Host %q for the public URL üsher.example: %d, want 200", r.Host, w.Code)
	}
}

// TestMetricsMethodBounded: a caller who invents request methods cannot
// grow the metrics without bound; a method HTTP does not define is
// counted as "other".
func TestMetricsMethodBounded(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) {})
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(Middleware(mux, slog.New(slog.DiscardHandler), NewMetrics(reg), nil))
	defer srv.Close()
	for i := range 20 {
		for _, method := range []string{"GET", "X" + strconv.Itoa(i)} {
			req, _ := http.NewRequest(method, srv.URL+"/ok", nil)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if want := map[bool]int{true: 200, false: 405}[method == "GET"]; res.StatusCode != want {
				t.Fatalf("%s /ok answers %d, want %d", method, res.StatusCode, want)
			}
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		methods := map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					methods[l.GetValue()] = true
				}
			}
		}
		if len(methods) != 2 || !methods["GET"] || !methods["other"] {
			t.Errorf("%s has methods %v, want GET and other", f.GetName(), methods)
		}
	}
}
