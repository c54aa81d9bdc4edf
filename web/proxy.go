package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies whose word on the client is believed:
// the X-Forwarded-For, Forwarded (RFC 7239) and X-Forwarded-Proto headers
// of a request are read only when the peer is one of them. Anyone can
// write those headers; only a proxy usher is told to trust appends what it
// saw. The zero value, and nil, trust none.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads a comma-separated list of CIDR prefixes (a bare
// address stands for itself alone). An empty list trusts none.
func ParseProxies(list string) (*Proxies, error) {
	p := &Proxies{}
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxies: %q is not a CIDR prefix or an address", s)
			}
			prefix = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		}
		if prefix.Addr().Is4In6() {
			prefix = netip.PrefixFrom(prefix.Addr().Unmap(), prefix.Bits()-96)
		}
		p.prefixes = append(p.prefixes, prefix.Masked())
	}
	return p, nil
}

// trusts reports whether addr is one of the proxies.
func (p *Proxies) trusts(addr netip.Addr) bool {
	if p == nil || !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	for _, prefix := range p.prefixes {
		if prefix.Contains(addr) {
			return true
		}
	}
	return false
}

// hop is one address a forwarding header names, with the scheme the
// request came to it by, when said.
type hop struct {
	addr  netip.Addr // invalid when the value is malformed, unknown or obfuscated
	proto string
}

// Client returns the client's address and whether the client reached usher
// over HTTPS. From a trusted proxy the forwarding headers are walked from
// the right, past the trusted proxies each appended, to the first address
// that is not a trusted proxy; a malformed value ends the walk at the
// trusted proxy that passed it on. A request with both X-Forwarded-For and
// Forwarded that name different clients, one of which the client wrote
// itself, is taken to come from the peer.
func (p *Proxies) Client(r *http.Request) (addr string, secure bool) {
	addr, secure, _ = p.client(r)
	return addr, secure
}

// client is Client, and tells whether the address is the client's for
// sure: not when a trusted proxy passed on a malformed hop or headers
// that disagree, where the address is that proxy's, the client unknown;
// nor when a peer usher does not trust sent forwarding headers, as a
// reverse proxy in front of usher does: the address is the proxy's, and
// the client the headers name cannot be believed.
func (p *Proxies) client(r *http.Request) (addr string, secure, sure bool) {
	peer := peerAddr(r.RemoteAddr)
	secure = r.TLS != nil
	if !p.trusts(peer) {
		sure = !forwarded(r.Header)
		if peer.IsValid() {
			return peer.String(), secure, sure
		}
		return r.RemoteAddr, secure, sure
	}
	client, proto, sure := peer, "", true
	xff, hasXFF := r.Header["X-Forwarded-For"]
	fwd, hasFwd := r.Header["Forwarded"]
	if hasXFF {
		var whole bool
		client, _, whole = p.walk(peer, parseForwardedFor(strings.Join(xff, ",")))
		sure = sure && whole
	}
	if hasFwd {
		c, h, whole := p.walk(peer, parseForwarded(strings.Join(fwd, ",")))
		sure = sure && whole
		if hasXFF && c != client {
			c, sure = peer, false
		}
		client, proto = c, h.proto
	}
	if xfp := r.Header.Get("X-Forwarded-Proto"); proto == "" && xfp != "" {
		first, _, _ := strings.Cut(xfp, ",")
		proto = strings.TrimSpace(first)
	}
	if !secure {
		secure = strings.EqualFold(proto, "https")
	}
	return client.String(), secure, sure
}

// forwardingHeaders are the headers reverse proxies add to name the client
// they serve: RFC 7239's, the de facto X-Forwarded-For and nginx's
// X-Real-IP.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}

// forwarded reports whether h holds a header that names a client.
func forwarded(h http.Header) bool {
	for _, name := range forwardingHeaders {
		if _, ok := h[name]; ok {
			return true
		}
	}
	return false
}

// walk returns the client the hops name behind the trusted peer, and the
// hop that named it (the zero hop for the peer itself); whole is false
// when a malformed hop ended the walk at a trusted proxy.
func (p *Proxies) walk(peer netip.Addr, hops []hop) (client netip.Addr, named hop, whole bool) {
	client = peer
	for i := len(hops) - 1; i >= 0 && p.trusts(client); i-- {
		if !hops[i].addr.IsValid() {
			return client, named, false
		}
		client, named = hops[i].addr, hops[i]
	}
	return client, named, true
}

// peerAddr is the address of the connection's other end.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	addr, _ := netip.ParseAddr(remote)
	return addr.Unmap()
}

// parseForwardedFor reads X-Forwarded-For: addresses separated by commas,
// some proxies adding a port.
func parseForwardedFor(v string) []hop {
	var hops []hop
	for _, s := range strings.Split(v, ",") {
		hops = append(hops, hop{addr: parseNode(strings.TrimSpace(s))})
	}
	return hops
}

// parseNode reads an address as forwarding headers write it: "192.0.2.1",
// "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:4711".
// It returns the invalid address for anything else ("unknown", an
// obfuscated name, garbage).
func parseNode(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	addr, err := netip.ParseAddr(s)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// parseForwarded reads a Forwarded header (RFC 7239): elements separated
// by commas, each of pairs separated by semicolons, a value a token or a
// quoted string. An element without a well-formed for= is a malformed hop.
func parseForwarded(v string) []hop {
	var hops []hop
	for _, element := range splitQuoted(v, ',') {
		h, ok := hop{}, true
		seen := map[string]bool{}
		for _, pair := range splitQuoted(element, ';') {
			pair = strings.TrimSpace(pair)
			if pair == "" {
				continue
			}
			name, value, found := strings.Cut(pair, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value, vok := unquote(strings.TrimSpace(value))
			if !found || !vok || seen[name] {
				ok = false
				break
			}
			seen[name] = true
			switch name {
			case "for":
				h.addr = parseNode(value)
			case "proto":
				h.proto = strings.ToLower(value)
			}
		}
		if !ok {
			h = hop{}
		}
		hops = append(hops, h)
	}
	return hops
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, escaped, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unquote returns a Forwarded value: a token as it is, a quoted string
// without its quotes and escapes. It reports false for a malformed one.
func unquote(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if v[0] != '"' {
		return v, isToken(v)
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		if c == '\\' {
			i++
			if i == len(v)-1 {
				return "", false
			}
			c = v[i]
		} else if c == '"' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// isToken reports whether s is an RFC 9110 token: an unquoted Forwarded
// value. An IPv6 address or a port must be quoted.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
