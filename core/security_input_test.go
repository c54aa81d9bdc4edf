package core_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// formatCharacters are the invisible characters the review named, and
// other format (Cf) characters: bidirectional embeddings, overrides,
// isolates and marks, zero-width spaces, joiners, word joiner, invisible
// operators, the byte-order mark, the soft hyphen and a tag character.
var formatCharacters = []rune{
	0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
	0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064,
	0xFEFF, 0x061C, 0x00AD, 0x180E, 0xE0041,
}

// TestFormatCharacterRefusedInEveryName proves, for each character, that
// the core refuses it in a username and a display name with the field
// error format_character, whichever face sends it.
func TestFormatCharacterRefusedInEveryName(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, r := range formatCharacters {
		t.Run(fmt.Sprintf("U+%04X", r), func(t *testing.T) {
			t.Parallel()
			for _, in := range []usher.UserCreate{
				{Username: "evil" + string(r) + "root"},
				{Username: fmt.Sprintf("u%x", r), DisplayName: "root" + string(r)},
			} {
				_, err := b.users.Create(as(b.admin), in)
				wantKind(t, err, usher.KindUnprocessable, "validation_failed")
				if f := usher.AsError(err).Fields; len(f) != 1 || f[0].Code != "format_character" {
					t.Fatalf("%+q: %+v, want one format_character", in.Username+in.DisplayName, f)
				}
			}
		})
	}
}

// TestKeyCommentAndTypePolicy proves at the core that the SSH key policy
// holds for imports as for additions: a DSA key, a short RSA key and an
// over-long comment are refused.
func TestKeyCommentAndTypePolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'c'
	}
	tests := []struct{ name, key, code string }{
		{"DSA", coretest.DSAKey, "unsupported_type"},
		{"1024-bit RSA", coretest.ShortRSAKey, "weak_key"},
		{"long comment", coretest.Ed25519Key + " " + string(long), "invalid_comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.env.Core.Keys.Add(as(b.alice), usher.UserKey{ID: b.alice.ID}, "t", tt.key, nil)
			wantKind(t, err, usher.KindUnprocessable, "validation_failed")
			if f := usher.AsError(err).Fields; len(f) != 1 || f[0].Field != "key" || f[0].Code != tt.code {
				t.Fatalf("fields %+v, want key %s", f, tt.code)
			}
			res, err := b.users.Import(as(b.admin), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "imp" + fmt.Sprint(len(tt.name))},
				SSHKeys: []usher.ImportKey{{Title: "t", Key: tt.key}}}})
			if err != nil || len(res) != 1 || res[0].Err == nil {
				t.Fatalf("import of %s: %+v, %v", tt.name, res, err)
			}
		})
	}
}

// TestJSONThatOneBackendRefuses: a JSON value holding U+0000 or half a
// surrogate pair is valid JSON that PostgreSQL's jsonb refuses and SQLite
// keeps. Every JSON value a client sends is refused alike on both, as
// invalid input, never as a fault (it was a 500 on PostgreSQL: meta, the
// audit of a setting's change).
func TestJSONThatOneBackendRefuses(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
		c := env.Core
		for _, bad := range []string{`{"a":"\u0000"}`, `{"a":"\ud800"}`, `{"\u0000":1}`} {
			raw := json.RawMessage(bad)
			config := bad
			soon := time.Now().Add(time.Hour)
			for name, call := range map[string]func() error{
				"meta": func() error {
					_, err := c.Users.Update(as(alice), usher.UserKey{ID: alice.ID}, usher.UserUpdate{Meta: &raw})
					return err
				},
				"a user's setting": func() error {
					_, err := c.Settings.Update(as(alice), usher.UserKey{ID: alice.ID}, map[string]json.RawMessage{"theme": raw})
					return err
				},
				"an instance setting": func() error {
					_, err := c.Instance.Set(as(admin), "ui.brand", raw)
					return err
				},
				"a reminder's payload": func() error {
					_, err := c.Reminders.Create(as(alice), usher.ReminderCreate{Resource: "user:1", Payload: raw, RemindAt: &soon})
					return err
				},
				"an application's config": func() error {
					_, err := c.Apps.Create(as(admin), usher.ApplicationCreate{Name: "app", Unify: usher.ApplicationUnify{Config: config}})
					return err
				},
			} {
				if err := call(); usher.ErrorKind(err) != usher.KindUnprocessable {
					t.Errorf("%s %s: %v, want 422", name, bad, err)
				}
			}
		}
	})
}

// TestTimesBeforeTheYear10000: a token's, a key's and a reminder's time
// must come before the year 10000. The account page's days field made a
// token expiring in the year 301,000, which the store keeps as
// microseconds since 1970 that wrap round into the past: the page showed
// the new token's secret, and the token never worked.
func TestTimesBeforeTheYear10000(t *testing.T) {
	t.Parallel()
	b := setup(t)
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHMF+fnyxFoJWdOcn59d/K4pzgCHVcNz5rLi5bw/xBcJ loic@call"
	for _, at := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now().AddDate(0, 0, 110_000_000),
	} {
		for name, create := range map[string]func() error{
			"token": func() error {
				_, _, err := b.env.Core.Auth.CreateToken(as(b.alice), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal,
					Name: "ci", Scopes: []string{usher.ScopeReadAPI}, ExpiresAt: &at})
				return err
			},
			"key": func() error {
				_, err := b.env.Core.Keys.Add(as(b.alice), usher.UserKey{ID: b.alice.ID}, "t", key, &at)
				return err
			},
			"reminder": func() error {
				_, err := b.env.Core.Reminders.Create(as(b.alice), usher.ReminderCreate{Resource: "invoice:1", RemindAt: &at})
				return err
			},
		} {
			err := create()
			wantKind(t, err, usher.KindUnprocessable, "validation_failed")
			if f := usher.AsError(err).Fields; len(f) != 1 || f[0].Code != usher.CodeOutOfRange {
				t.Errorf("a %s at %v: %+v, want one out_of_range", name, at.Year(), f)
			}
		}
	}
	last := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	tok, _, err := b.env.Core.Auth.CreateToken(as(b.alice), usher.TokenCreate{UserID: b.alice.ID, Kind: usher.TokenPersonal,
		Name: "ci", Scopes: []string{usher.ScopeReadAPI}, ExpiresAt: &last})
	if err != nil || !tok.ExpiresAt.Equal(last) {
		t.Fatalf("a token to the last second of 9999: %+v, %v", tok, err)
	}
}
