package storetest

import (
	"context"
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
// same database, to write keys as they were before.
func RunRekey(t *testing.T, s RekeyTarget, exec func(query string) error) {
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
	// Keys as migration 3's code wrote them: the address lower-cased.
	alice := mustCreateUser(t, s, newUser("alice", "ｋelvin@example.com", ""))
	old("UPDATE users SET email_key = 'ｋelvin@example.com' WHERE username = 'alice'")
	carol := mustCreateUser(t, s, newUser("carol", "Ｃarol@example.com", ""))
	old("UPDATE users SET email_key = 'ｃarol@example.com' WHERE username = 'carol'")
	dave := mustCreateUser(t, s, newUser("dave", "carol@example.com", ""))
	erin := mustCreateUser(t, s, newUser("erin", "erin@example.com", ""))
	if err := s.EmailAdd(ctx, &usher.Email{UserID: erin.ID, Email: "ｅrin2@example.com", ConfirmedAt: &base, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	old("UPDATE user_emails SET email_key = 'ｅrin2@example.com' WHERE email = 'ｅrin2@example.com'")
	old("UPDATE email_claims SET email_key = 'ｅrin2@example.com' WHERE email_key = 'erin2@example.com'")

	if _, err := s.Migrate(ctx, base); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
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
