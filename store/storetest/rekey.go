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

// RunRekeys runs RunRekey and RunRekeyDomains, each on a new database that
// open makes, unmigrated, with a way to run literal statements on it.
func RunRekeys(t *testing.T, open func(t *testing.T) (RekeyTarget, func(query string) error), now string) {
	for name, run := range map[string]func(*testing.T, RekeyTarget, func(string) error, string){
		"lower-cased keys":     RunRekey,
		"domains beyond ASCII": RunRekeyDomains,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, exec := open(t)
			run(t, db, exec, now)
		})
	}
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

// RunRekeyDomains checks migration 27 on data made before it: an address
// whose domain is beyond ASCII, keyed by its case-folded form before, is
// keyed by the domain's A-label after, so the A-label finds it, claims
// included; one whose new key another account holds keeps its old key; a
// mailed code bound to an old key beyond ASCII is gone, others stay.
// exec and now are as RunRekey's.
func RunRekeyDomains(t *testing.T, s RekeyTarget, exec func(query string) error, now string) {
	ctx := context.Background()
	if _, err := s.MigrateTo(ctx, base, 26); err != nil {
		t.Fatal(err)
	}
	old := func(q string) {
		t.Helper()
		if err := exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Keys as the code before migration 27 wrote them: NFKC_Casefold of the
	// whole address, so λογος and λογοσ shared one.
	for _, u := range [][3]string{
		{"anna", "Anna@Bücher.example", "anna@bücher.example"},
		{"nikos", "nikos@λογος.example", "nikos@λογοσ.example"},
		{"olga", "olga@straße.example", "olga@strasse.example"},
		{"petra", "petra@münchen.example", "petra@münchen.example"},
		{"petra2", "petra@xn--mnchen-3ya.example", "petra@xn--mnchen-3ya.example"},
	} {
		old("INSERT INTO users (uuid, username, username_key, email, email_key, state, kind, created_at, updated_at) " +
			"VALUES ('" + newUUID() + "', '" + u[0] + "', '" + u[0] + "', '" + u[1] + "', '" + u[2] + "', " +
			"'active', 'normal', " + now + ", " + now + ")")
	}
	old("INSERT INTO user_emails (user_id, email, email_key, confirmed_at, created_at) " +
		"SELECT id, 'anna@café.example', 'anna@café.example', " + now + ", " + now + " FROM users WHERE username = 'anna'")
	anna := mustGet(t, s, usher.UserKey{Username: "anna"})
	codes := map[string]string{"anna@bücher.example": "beyond", "anna@example.com": "ascii"}
	for key, hash := range codes {
		c := &usher.Code{Kind: usher.CodeConfirm, Hash: []byte(hash), UserID: anna.ID, EmailKey: key,
			ExpiresAt: base.Add(time.Hour), CreatedAt: base}
		if err := s.CodeCreate(ctx, c); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := s.Migrate(ctx, base); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	nikos, olga := mustGet(t, s, usher.UserKey{Username: "nikos"}), mustGet(t, s, usher.UserKey{Username: "olga"})
	petra2 := mustGet(t, s, usher.UserKey{Username: "petra2"})
	for addr, want := range map[string]int64{
		"anna@xn--bcher-kva.example": anna.ID,  // the A-label finds the U-label's account
		"ANNA@BÜCHER.EXAMPLE":        anna.ID,  // and the U-label still does
		"nikos@λογος.example":        nikos.ID, // final sigma: xn--oxapmbp
		"olga@straße.example":        olga.ID,  // xn--strae-oqa
		"petra@münchen.example":      petra2.ID,
	} {
		if got := mustGet(t, s, usher.UserKey{Email: addr}); got.ID != want {
			t.Errorf("%s is user %d, want %d", addr, got.ID, want)
		}
		if id, err := s.EmailHolder(ctx, usher.EmailKey(addr)); err != nil || id != want {
			t.Errorf("EmailHolder(%s) = %d, %v; want %d", addr, id, err, want)
		}
	}
	// A confirmed secondary address moves its claim.
	if id, err := s.EmailHolder(ctx, "anna@xn--caf-dma.example"); err != nil || id != anna.ID {
		t.Errorf("EmailHolder(anna@café.example) = %d, %v; want %d", id, err, anna.ID)
	}
	_, err := s.EmailHolder(ctx, "anna@café.example")
	wantNotFound(t, err)
	// The domains IDNA tells apart from them are free now.
	for _, addr := range []string{"nikos@λογοσ.example", "olga@strasse.example"} {
		_, err := s.UserGet(ctx, usher.UserKey{Email: addr})
		wantNotFound(t, err)
	}
	// Petra's U-label account kept its old key, which the A-label account's
	// key took: both accounts stay as they were.
	if id, err := s.EmailHolder(ctx, "petra@münchen.example"); err != nil || id == petra2.ID {
		t.Errorf("petra lost her claim: %d, %v", id, err)
	}
	_, err = s.CodeByHash(ctx, usher.CodeConfirm, []byte("beyond"))
	wantNotFound(t, err)
	if c, err := s.CodeByHash(ctx, usher.CodeConfirm, []byte("ascii")); err != nil || c.UserID != anna.ID {
		t.Errorf("the code bound to an ASCII address: %+v, %v", c, err)
	}
}
