package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// RekeyTarget is a store that can stop its migrations at a version.
type RekeyTarget interface {
	store.Store
	MigrateTo(ctx context.Context, now time.Time, last int) ([]int, error)
	Migrate(ctx context.Context, now time.Time) ([]int, error)
}

// RunRekey checks migration 4 on data made before it: addresses whose keys
// were only lower-cased get usher.EmailKey's key, claims included, unless
// another account holds the new key. exec runs a literal statement on the
// same database, to write rows as the code before migration 4 did; now is
// the dialect's literal for the current time.
func RunRekey(t *testing.T, s RekeyTarget, exec func(query string) error, now string) {
	ctx := context.Background()
	if _, err := s.MigrateTo(ctx, base, 3); err != nil {
		t.Fatal(err)
	}
	old := func(q string) {
		t.Helper()
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Keys as the code before migration 4 wrote them: the address
	// lower-cased.
	for _, u := range [][2]string{{"alice", "ｋelvin@example.com"}, {"carol", "Ｃarol@example.com"},
		{"dave", "carol@example.com"}, {"erin", "erin@example.com"}} {
		old("INSERT INTO users (uuid, username, username_key, email, email_key, state, kind, created_at, updated_at) " +
			"VALUES ('" + newUUID() + "', '" + u[0] + "', '" + u[0] + "', '" + u[1] + "', '" + strings.ToLower(u[1]) + "', " +
			"'active', 'normal', " + now + ", " + now + ")")
	}
	old("INSERT INTO user_emails (user_id, email, email_key, confirmed_at, created_at) " +
		"SELECT id, 'ｅrin2@example.com', 'ｅrin2@example.com', " + now + ", " + now + " FROM users WHERE username = 'erin'")

	if _, err := s.Migrate(ctx, base); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	alice, carol := mustGet(t, s, usher.UserKey{Username: "alice"}), mustGet(t, s, usher.UserKey{Username: "carol"})
	dave, erin := mustGet(t, s, usher.UserKey{Username: "dave"}), mustGet(t, s, usher.UserKey{Username: "erin"})
	// Alice's address is found by its plain form now.
	if got := mustGet(t, s, usher.UserKey{Email: "kelvin@example.com"}); got.ID != alice.ID {
		t.Fatalf("kelvin@example.com is user %d, want alice", got.ID)
	}
	if id, err := s.EmailHolder(ctx, "kelvin@example.com"); err != nil || id != alice.ID {
		t.Fatalf("EmailHolder(kelvin) = %d, %v", id, err)
	}
	// Carol's new key is Dave's: both stay as they were.
	if got := mustGet(t, s, usher.UserKey{Email: "carol@example.com"}); got.ID != dave.ID {
		t.Fatalf("carol@example.com is user %d, want dave", got.ID)
	}
	if id, err := s.EmailHolder(ctx, "ｃarol@example.com"); err != nil || id != carol.ID {
		t.Fatalf("carol lost her address: %d, %v", id, err)
	}
	// Erin's confirmed secondary address claims its new key, not the old.
	if id, err := s.EmailHolder(ctx, "erin2@example.com"); err != nil || id != erin.ID {
		t.Fatalf("EmailHolder(erin2) = %d, %v", id, err)
	}
	_, err := s.EmailHolder(ctx, "ｅrin2@example.com")
	wantNotFound(t, err)
}
