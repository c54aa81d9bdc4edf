package core_test

import (
	"testing"

	"usher"
	"usher/core"
)

// TestDevice: a device is its browser and system families and its
// network, so a browser's update or a new address in the same network is
// the same device, and another network or browser is another.
func TestDevice(t *testing.T) {
	t.Parallel()
	const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
	tests := []struct {
		name, ua, addr    string
		wantName, wantNet string
	}{
		{"a browser", firefox, "192.0.2.10", "Firefox (Linux)", "192.0.2.0/24"},
		{"its update, another address of the network", "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
			"192.0.2.99", "Firefox (Linux)", "192.0.2.0/24"},
		{"with a port", firefox, "192.0.2.10:5555", "Firefox (Linux)", "192.0.2.0/24"},
		{"IPv6", firefox, "2001:db8:1:2::7", "Firefox (Linux)", "2001:db8:1::/48"},
		{"IPv4 in IPv6", firefox, "::ffff:198.51.100.7", "Firefox (Linux)", "198.51.100.0/24"},
		{"not a browser", "pat-cli/2.1 (+https://example.com)", "198.51.100.7", "pat-cli", "198.51.100.0/24"},
		{"no address, no agent", "", "", "", ""},
		{"words for a product", "Okta SSO check - ignore. Help: it-desk.co", "198.51.100.7", "", "198.51.100.0/24"},
		{"a domain for a product", "it-desk.co/1.0", "198.51.100.7", "", "198.51.100.0/24"},
		{"text turned around", "\u202eoc.ksed-ti ta pleh", "198.51.100.7", "", "198.51.100.0/24"},
		{"a product with - and _", "python-requests/2.31.0", "198.51.100.7", "python-requests", "198.51.100.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, network := core.Device(usher.Request{UserAgent: tt.ua, Address: tt.addr})
			if name != tt.wantName || network != tt.wantNet {
				t.Errorf("device = %q, %q; want %q, %q", name, network, tt.wantName, tt.wantNet)
			}
		})
	}
}
