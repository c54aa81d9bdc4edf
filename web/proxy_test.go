package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"

	"usher"
)

// clientServer answers with the client address and whether the request
// came over HTTPS, as the Middleware with proxies describes the request.
func clientServer(t *testing.T, trusted string) *httptest.Server {
	t.Helper()
	proxies, err := ParseProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := usher.RequestFrom(r.Context())
		_, _ = io.WriteString(w, req.Address+" "+strconv.FormatBool(req.Secure))
	}), slog.New(slog.DiscardHandler), nil, proxies))
	t.Cleanup(srv.Close)
	return srv
}

// TestForwardedForHonouredOnlyFromTrustedProxies: the forwarding headers
// name the client only when the peer (here 127.0.0.1) is a trusted proxy;
// the walk from the right skips trusted hops and stops at the first
// untrusted address, never reaching what the client wrote to the left of
// it; malformed values are not believed.
func TestForwardedForHonouredOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	const local = "127.0.0.0/8"
	for _, tt := range []struct {
		name, trusted string
		header        map[string][]string
		want          string
	}{
		{"no proxy trusted", "", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}}, "127.0.0.1 false"},
		{"the peer is not a trusted proxy", "10.0.0.0/8", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=203.0.113.7;proto=https"}}, "127.0.0.1 false"},
		{"a trusted proxy, no header", local, nil, "127.0.0.1 false"},
		{"the proxy appends the client", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7 false"},
		{"the client's own left part is skipped", local, map[string][]string{"X-Forwarded-For": {"198.51.100.1, 203.0.113.7"}}, "203.0.113.7 false"},
		{"trusted hops are skipped", local + ",10.0.0.0/8", map[string][]string{"X-Forwarded-For": {"198.51.100.1, 203.0.113.7, 10.1.2.3, 10.0.0.1"}}, "203.0.113.7 false"},
		{"across repeated headers", local + ",10.0.0.0/8", map[string][]string{"X-Forwarded-For": {"198.51.100.1, 203.0.113.7", "10.0.0.1"}}, "203.0.113.7 false"},
		{"every hop trusted: the farthest", local + ",10.0.0.0/8", map[string][]string{"X-Forwarded-For": {"10.9.9.9, 10.0.0.1"}}, "10.9.9.9 false"},
		{"a port after the address", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7:4711"}}, "203.0.113.7 false"},
		{"IPv6", local, map[string][]string{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7 false"},
		{"a malformed value stops the walk at the trusted proxy", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7, garbage"}}, "127.0.0.1 false"},
		{"a malformed value beyond the client is never read", local, map[string][]string{"X-Forwarded-For": {"garbage, 203.0.113.7"}}, "203.0.113.7 false"},
		{"an empty value", local, map[string][]string{"X-Forwarded-For": {""}}, "127.0.0.1 false"},
		{"Forwarded", local, map[string][]string{"Forwarded": {`for=198.51.100.1, for="203.0.113.7:4711";proto=https;by=10.0.0.1`}}, "203.0.113.7 true"},
		{"Forwarded, IPv6 quoted", local, map[string][]string{"Forwarded": {`For="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17 false"},
		{"Forwarded, a quoted comma", local, map[string][]string{"Forwarded": {`for=203.0.113.7;ext="a,b"`}}, "203.0.113.7 false"},
		{"Forwarded, unknown", local, map[string][]string{"Forwarded": {"for=unknown"}}, "127.0.0.1 false"},
		{"Forwarded, obfuscated", local, map[string][]string{"Forwarded": {"for=_hidden;proto=https"}}, "127.0.0.1 false"},
		{"Forwarded, an unquoted IPv6 with a port", local, map[string][]string{"Forwarded": {"for=[2001:db8::1]:80"}}, "127.0.0.1 false"},
		{"Forwarded, a repeated parameter", local, map[string][]string{"Forwarded": {"for=203.0.113.7;for=198.51.100.1"}}, "127.0.0.1 false"},
		{"both headers agree", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=203.0.113.7"}}, "203.0.113.7 false"},
		{"both headers disagree: one is the client's own", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=198.51.100.1"}}, "127.0.0.1 false"},
		{"X-Forwarded-Proto from a trusted proxy", local, map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "X-Forwarded-Proto": {"https"}}, "203.0.113.7 true"},
		{"X-Forwarded-Proto: the edge's", local, map[string][]string{"X-Forwarded-Proto": {"HTTPS, http"}}, "127.0.0.1 true"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := clientServer(t, tt.trusted)
			r, err := http.NewRequest("GET", srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			res, err := srv.Client().Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 || string(body) != tt.want {
				t.Fatalf("%d %q, want %q", res.StatusCode, body, tt.want)
			}
		})
	}
}

func TestParseProxies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		trusted []string
		not     []string
		err     bool
	}{
		{in: "", not: []string{"127.0.0.1", "::1"}},
		{in: " 10.0.0.0/8 , 192.168.1.1 ,fd00::/8", trusted: []string{"10.255.0.1", "192.168.1.1", "fd12::1", "::ffff:10.0.0.1"}, not: []string{"192.168.1.2", "11.0.0.1", "fe80::1"}},
		{in: "::ffff:10.0.0.0/104", trusted: []string{"10.1.1.1"}, not: []string{"11.1.1.1"}},
		{in: "10.0.0.0/33", err: true},
		{in: "localhost", err: true},
	} {
		p, err := ParseProxies(tt.in)
		if (err != nil) != tt.err {
			t.Fatalf("%q: %v", tt.in, err)
		}
		for _, a := range tt.trusted {
			if !p.trusts(netip.MustParseAddr(a)) {
				t.Errorf("%q does not trust %s", tt.in, a)
			}
		}
		for _, a := range tt.not {
			if p.trusts(netip.MustParseAddr(a)) {
				t.Errorf("%q trusts %s", tt.in, a)
			}
		}
	}
}

// FuzzForwarded: no header makes the parsers panic, and the client found
// is always a valid address: the peer, or one the headers name, never
// past an untrusted hop.
func FuzzForwarded(f *testing.F) {
	f.Add("203.0.113.7, 10.0.0.1", `for=198.51.100.1;proto=https, for="[2001:db8::1]:80"`, "https")
	p, err := ParseProxies("127.0.0.0/8,10.0.0.0/8")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, xff, fwd, proto string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1234"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if fwd != "" {
			r.Header.Set("Forwarded", fwd)
		}
		r.Header.Set("X-Forwarded-Proto", proto)
		addr, _ := p.Client(r)
		a, err := netip.ParseAddr(addr)
		if err != nil {
			t.Fatalf("client %q is not an address", addr)
		}
		if addr != "127.0.0.1" && !reachable(p, a, parseForwardedFor(xff)) && !reachable(p, a, parseForwarded(fwd)) {
			t.Fatalf("client %s is not reached through trusted hops of %q or %q", addr, xff, fwd)
		}
		// The untrusted peer's headers are never read.
		r.RemoteAddr = "192.0.2.1:1234"
		if addr, _ := p.Client(r); addr != "192.0.2.1" {
			t.Fatalf("an untrusted peer's headers were believed: %s", addr)
		}
	})
}

// reachable reports whether a is one of hops with only trusted, well-formed
// hops to its right.
func reachable(p *Proxies, a netip.Addr, hops []hop) bool {
	for i := len(hops) - 1; i >= 0; i-- {
		if hops[i].addr == a {
			return true
		}
		if !hops[i].addr.IsValid() || !p.trusts(hops[i].addr) {
			return false
		}
	}
	return false
}
