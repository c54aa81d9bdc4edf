package gitlab_test

import (
	"net/http"
	"testing"
)

// TestMalformedPageIs400 proves that a page, page size or keyset position
// the face cannot read is answered with GitLab's 400 naming the parameter,
// on every list, instead of being ignored and the first page served.
func TestMalformedPageIs400(t *testing.T) {
	t.Parallel()
	b := setup(t)
	lists := []string{"/api/v4/users", "/api/v4/user/keys", "/api/v4/user/emails", "/api/v4/users/2/keys"}
	tests := []struct{ name, query, body string }{
		{"non-numeric page", "page=abc", `{"error":"page is invalid"}`},
		{"negative page", "page=-1", `{"error":"page does not have a valid value"}`},
		{"overflowing page", "page=99999999999999999999", `{"error":"page is invalid"}`},
		{"page as an array", "page[]=2", `{"error":"page is invalid"}`},
		{"page as a map", "page[number]=2", `{"error":"page is invalid"}`},
		{"per_page as an array", "per_page[]=5", `{"error":"per_page is invalid"}`},
		{"unknown pagination", "pagination=sideways", `{"error":"pagination does not have a valid value"}`},
		{"keyset cursor", "pagination=keyset&cursor=eyJpZCI6IjEifQ", `{"error":"cursor is invalid"}`},
		{"keyset id_after", "pagination=keyset&id_after=abc", `{"error":"id_after is invalid"}`},
		{"keyset id_before", "pagination=keyset&id_before=5", `{"error":"id_before is invalid"}`},
	}
	for _, list := range lists {
		for _, tt := range tests {
			t.Run(list+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				res := b.do(t, call{method: "GET", path: list + "?" + tt.query, token: b.adminTok})
				res.want(t, "GET "+list+"?"+tt.query, http.StatusBadRequest, tt.body)
			})
		}
	}
	// Keyset without a position is served as the first page, whose links
	// lead on by page number.
	res := b.do(t, call{method: "GET", path: "/api/v4/users?pagination=keyset&per_page=1", token: b.adminTok})
	if res.status != http.StatusOK || res.header.Get("X-Next-Page") != "2" {
		t.Fatalf("keyset first page: %d %s, X-Next-Page %q", res.status, res.body, res.header.Get("X-Next-Page"))
	}
}

// Keys the key policy refuses: the RSA (1024 bits) and DSA examples of
// GitLab's users document.
const (
	shortRSAKey = "ssh-rsa AAAAB3NzaC1yc2EAAAABJQAAAIEAiPWx6WM4lhHNedGfBpPJNPpZ7yKu+dnn1SJejgt4596k6YjzGGphH2TUxwKzxcKDKKezwkpfnxPkSMkuEspGRt/aZZ9wa++Oi7Qkr8prgHc4soW6NUlfDzpvZK2H5E7eQaSeP3SAwGmQKUFHCddNaP0L+hM7zhFNzjFvpaMgJw0="
	dsaKey      = "ssh-dss AAAAB3NzaC1kc3MAAACBAMLrhYgI3atfrSD6KDas1b/3n6R/HP+bLaHHX6oh+L1vg31mdUqK0Ac/NjZoQunavoyzqdPYhFz9zzOezCrZKjuJDS3NRK9rspvjgM0xYR4d47oNZbdZbwkI4cTv/gcMlquRy0OvpfIvJtjtaJWMwTLtM5VhRusRuUlpH99UUVeXAAAAFQCVyX+92hBEjInEKL0v13c/egDCTQAAAIEAvFdWGq0ccOPbw4f/F8LpZqvWDydAcpXHV3thwb7WkFfppvm4SZte0zds1FJ+Hr8Xzzc5zMHe6J4Nlay/rP4ewmIW7iFKNBEYb/yWa+ceLrs+TfR672TaAgO6o7iSRofEq5YLdwgrwkMmIawa21FrZ2D9SPao/IwvENzk/xcHu7YAAACAQFXQH6HQnxOrw4dqf0NqeKy1tfIPxYYUZhPJfo9O0AmBW2S36pD2l14kS89fvz6Y1g8gN/FwFnRncMzlLY/hX70FSc/3hKBSbH6C6j8hwlgFKfizav21eS358JJz93leOakJZnGb8XlWvz1UJbwCsnR2VEY8Dz90uIk1l/UqHkA= loic@call"
)

// TestShortRSAKeyRefused proves that the GitLab face refuses a DSA key and
// an RSA key under 2048 bits with GitLab's own messages for keys its
// restrictions forbid.
func TestShortRSAKeyRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct{ name, key, body string }{
		{"1024-bit RSA", shortRSAKey, `{"message":{"key":["must be at least 2048 bits"]}}`},
		{"DSA", dsaKey, `{"message":{"key":["type is forbidden. Must be RSA, ECDSA, ED25519, ECDSA_SK, or ED25519_SK"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": tt.key}})
			res.want(t, tt.name, http.StatusBadRequest, tt.body)
		})
	}
}
