package core_test

import (
	"testing"

	"usher"
)

// TestUserTokens: an administrator lists another account's live tokens,
// sessions and revoked ones aside; an account lists its own; others are
// refused, and a missing account is not found.
func TestUserTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	auth := b.env.Core.Auth
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	var ids []int64
	for _, name := range []string{"laptop", "ci"} {
		tok, _, err := auth.CreateToken(as(b.admin), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal, Name: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	if err := auth.RevokeToken(as(b.admin), ids[0]); err != nil {
		t.Fatal(err)
	}
	alice := usher.UserKey{Username: "alice"}
	for _, tt := range []struct {
		name string
		as   *usher.User
		key  usher.UserKey
		fail bool
		kind usher.Kind
	}{
		{"an administrator", b.admin, alice, false, 0},
		{"the owner", b.alice, alice, false, 0},
		{"another user", bob, alice, true, usher.KindForbidden},
		{"no such user", b.admin, usher.UserKey{Username: "nobody"}, true, usher.KindNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := auth.UserTokens(as(tt.as), tt.key)
			if tt.fail {
				wantKind(t, err, tt.kind, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) != 1 || toks[0].ID != ids[1] || toks[0].Name != "ci" {
				t.Fatalf("tokens %+v, want only ci", toks)
			}
		})
	}
}
