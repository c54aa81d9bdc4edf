package gitlab_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
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

// TestShortRSAKeyRefused proves that the GitLab face refuses a DSA key and
// an RSA key under 2048 bits with GitLab's own messages for keys its
// restrictions forbid.
func TestShortRSAKeyRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct{ name, key, body string }{
		{"1024-bit RSA", coretest.ShortRSAKey, `{"message":{"key":["must be at least 2048 bits"]}}`},
		{"DSA", coretest.DSAKey, `{"message":{"key":["type is forbidden. Must be RSA, ECDSA, ED25519, ECDSA_SK, or ED25519_SK"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: b.userTok, body: map[string]any{"title": "t", "key": tt.key}})
			res.want(t, tt.name, http.StatusBadRequest, tt.body)
		})
	}
}

// TestAddressVouchedForOnlyWhenAsked replays two ways an address came to
// count as proved without its owner proving it, through GitLab's POST
// /users/:id/emails. skip_confirmation=true from anyone but an
// administrator was answered 201 and ignored, where the same on POST
// /users is 403; and an administrator's address for someone else was
// confirmed at once whatever skip_confirmation said, where GitLab mails a
// confirmation unless asked not to — so an administrator's sync job that
// relied on GitLab's confirmation vouched for addresses no one proved,
// which then received resets and could be made primary.
func TestAddressVouchedForOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	b := setup(t)
	emails := fmt.Sprintf("/api/v4/users/%d/emails", b.user.ID)
	if res := b.do(t, call{method: "POST", path: emails, token: b.userTok,
		body: map[string]any{"email": "plain@home.example", "skip_confirmation": true}}); res.status != http.StatusForbidden {
		t.Fatalf("a user's own skip_confirmation: %d %s", res.status, res.body)
	}
	for _, tc := range []struct {
		addr      string
		skip      any
		confirmed bool
	}{
		{"plain@one.example", nil, false},
		{"plain@two.example", false, false},
		{"plain@three.example", "true", true},
	} {
		body := map[string]any{"email": tc.addr}
		if tc.skip != nil {
			body["skip_confirmation"] = tc.skip
		}
		var e struct{ ID int64 }
		res := b.do(t, call{method: "POST", path: emails, token: b.adminTok, body: body})
		res.decode(t, &e)
		if res.status != http.StatusCreated {
			t.Fatalf("an administrator adds %s: %d %s", tc.addr, res.status, res.body)
		}
		stored, err := b.env.Core.Emails.Get(system(), usher.UserKey{ID: b.user.ID}, e.ID)
		if err != nil || (stored.ConfirmedAt != nil) != tc.confirmed {
			t.Errorf("%s with skip_confirmation %v: confirmed %v, want %v (%v)", tc.addr, tc.skip, stored.ConfirmedAt != nil, tc.confirmed, err)
		}
	}
}

// TestSudoKeepsItsCredentialsBound replays an administrator's expiring
// token, or a JWT, which makes no administrator itself (403
// lifetime_exceeds_credential), sent with GitLab's Sudo header naming an
// administrator — themselves or another: the principal Sudo made carried
// the token's scopes but not its expiry, so the same request made an
// administrator, new or from a plain user, whose password the caller
// chose. The principal acts with the administrator's credential now, and
// is bounded by it.
func TestSudoKeepsItsCredentialsBound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	exp := time.Now().Add(time.Hour)
	_, short, err := b.env.Core.Auth.CreateToken(coretest.System(), usher.TokenCreate{UserID: b.admin.ID, Name: "short", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	p, err := b.env.Core.Auth.Authenticate(coretest.System(), b.adminTok)
	if err != nil {
		t.Fatal(err)
	}
	jwt, _, err := b.env.Core.Auth.IssueJWT(usher.WithPrincipal(coretest.System(), p))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range []struct{ name, credential, sudo string }{
		{"an expiring token, Sudo naming its administrator", short, "root"},
		{"an expiring token, Sudo naming it by id", short, strconv.FormatInt(b.admin.ID, 10)},
		{"a JWT, Sudo naming its administrator", jwt, "root"},
	} {
		n++
		name := fmt.Sprintf("madeadmin%d", n)
		res := b.do(t, call{method: "POST", path: "/api/v4/users", token: c.credential, header: map[string]string{"Sudo": c.sudo},
			body: map[string]any{"username": name, "email": name + "@example.com", "name": name, "password": "a long and winding passphrase",
				"admin": true, "skip_confirmation": true}})
		if res.status != http.StatusForbidden || !strings.Contains(string(res.body), "expires") {
			t.Errorf("%s makes an administrator: %d %s, want 403", c.name, res.status, res.body)
		}
		res = b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: c.credential,
			header: map[string]string{"Sudo": c.sudo}, body: map[string]any{"admin": true}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s makes a plain user an administrator: %d %s, want 403", c.name, res.status, res.body)
		}
	}
	// The administrator's own unbounded token still may, through Sudo too.
	res := b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", b.user.ID), token: b.adminTok,
		header: map[string]string{"Sudo": "root"}, body: map[string]any{"admin": true}})
	if res.status != http.StatusOK {
		t.Fatalf("an unbounded token with Sudo: %d %s", res.status, res.body)
	}
}

// TestRaiseEndsWhatAnOwnerAddedToAServiceAccount: a team's owner mints
// its service account a token while the account has the defaults and,
// with it, adds an SSH key of their own to the account. An administrator
// then raises the account's project limit: the token is revoked, and the
// key, which kept acting as the raised account over SSH (GitLab's
// push-to-create counts against projects_limit), is deleted with it.
func TestRaiseEndsWhatAnOwnerAddedToAServiceAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, sa, tok := b.env.MustOwnedServiceAccount(t, b.user, "ci", "ci-bot")
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJwH+61vpKqPCTldyRMI0G8gNVBk4yffDCXlY+DOY+/G owner"
	b.do(t, call{method: "POST", path: "/api/v4/user/keys", token: tok, body: map[string]any{"title": "owner's", "key": key}}).
		want(t, "the owner's key on the service account", http.StatusCreated, "")
	b.do(t, call{method: "PUT", path: fmt.Sprintf("/api/v4/users/%d", sa.ID), token: b.adminTok, body: map[string]any{"projects_limit": 200000}}).
		want(t, "raise", http.StatusOK, "")
	b.do(t, call{method: "GET", path: "/api/v4/user", token: tok}).want(t, "the owner's token after the raise", http.StatusUnauthorized, "")
	res := b.do(t, call{method: "GET", path: fmt.Sprintf("/api/v4/users/%d/keys", sa.ID), token: b.adminTok})
	res.want(t, "keys", http.StatusOK, "")
	if strings.TrimSpace(string(res.body)) != "[]" {
		t.Errorf("the key added with the owner's token outlives the raise: %s", res.body)
	}
}
