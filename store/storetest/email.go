package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// testEmailClaims: an address is unique across every live user's primary
// and secondary addresses, case-insensitively; deleted users hold none.
func testEmailClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	// add adds a confirmed address: only those claim their key.
	add := func(u *usher.User, addr string) (*usher.Email, error) {
		e := &usher.Email{UserID: u.ID, Email: addr, ConfirmedAt: &base, CreatedAt: base}
		return e, s.EmailAdd(ctx, e)
	}
	sec, err := add(a, "alice@work.example")
	if err != nil || sec.ID == 0 {
		t.Fatalf("EmailAdd: %v", err)
	}
	_, err = add(b, "ALICE@work.example")
	wantUnique(t, err, "email")
	_, err = add(b, "Alice@Example.com")
	wantUnique(t, err, "email")
	_, err = add(a, "alice@WORK.example") // the same address twice
	wantUnique(t, err, "email")
	// A primary address may not take another's secondary one.
	err = s.UserCreate(ctx, newUser("carol", "alice@WORK.example", ""), "")
	wantUnique(t, err, "email")
	_, err = s.UserUpdate(ctx, b.ID, func(u *usher.User) error { u.Email = "alice@work.example"; return nil })
	wantUnique(t, err, "email")
	// Taking one's own secondary address as primary is fine, and the old
	// primary is free afterwards.
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Email = "alice@work.example"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := add(b, "alice@example.com"); err != nil {
		t.Fatalf("a freed primary address: %v", err)
	}
	// Deleting the secondary row keeps the claim while it is the primary.
	if err := s.EmailDelete(ctx, sec.ID); err != nil {
		t.Fatal(err)
	}
	_, err = add(b, "alice@work.example")
	wantUnique(t, err, "email")
	// A soft-deleted user frees every address; undeleting it takes them back
	// or fails if one was taken meanwhile.
	second, _ := add(a, "alice@home.example")
	deleted := base.Add(time.Hour)
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = &deleted; return nil }); err != nil {
		t.Fatal(err)
	}
	d := mustCreateUser(t, s, newUser("dave", "alice@work.example", ""))
	_, err = s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil })
	wantUnique(t, err, "email")
	if err := s.UserPurge(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	e := mustCreateUser(t, s, newUser("erin", "", ""))
	if _, err := add(e, "alice@home.example"); err != nil {
		t.Fatalf("a deleted user's secondary address is not free: %v", err)
	}
	_, err = s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil })
	wantUnique(t, err, "email")
	if err := s.UserPurge(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.DeletedAt = nil; return nil }); err != nil {
		t.Fatalf("undelete once the addresses are free: %v", err)
	}
	if _, err := add(b, "alice@home.example"); err == nil {
		t.Fatal("the undeleted user's secondary address was not claimed again")
	}
	list, _ := s.EmailList(ctx, a.ID)
	if len(list) != 1 || list[0].ID != second.ID || list[0].Email != "alice@home.example" {
		t.Fatalf("EmailList: %+v", list)
	}
	wantNotFound(t, s.EmailDelete(ctx, 9999))
}

// testUnconfirmedEmails: an unconfirmed secondary address claims nothing;
// of several accounts holding it, the first to confirm it keeps it, and
// unconfirmed addresses expire.
func testUnconfirmedEmails(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	b := mustCreateUser(t, s, newUser("bob", "bob@example.com", ""))
	pending := func(u *usher.User, addr string, at time.Time) *usher.Email {
		t.Helper()
		e := &usher.Email{UserID: u.ID, Email: addr, CreatedAt: at}
		if err := s.EmailAdd(ctx, e); err != nil {
			t.Fatalf("EmailAdd(%s, %s): %v", u.Username, addr, err)
		}
		return e
	}
	fromA := pending(a, "shared@example.org", base)
	fromB := pending(b, "SHARED@example.org", base.Add(time.Hour))
	_, err := s.EmailHolder(ctx, "shared@example.org")
	wantNotFound(t, err)
	if id, err := s.EmailHolder(ctx, "alice@example.com"); err != nil || id != a.ID {
		t.Fatalf("EmailHolder of a primary address = %d, %v; want %d", id, err, a.ID)
	}
	// UsernamesHeld names the keys live users hold as usernames.
	if held, err := s.UsernamesHeld(ctx, []string{a.Username, "nobody", strings.ToLower(b.Username)}); err != nil ||
		len(held) != 2 || !slices.Contains(held, a.Username) || !slices.Contains(held, strings.ToLower(b.Username)) {
		t.Fatalf("UsernamesHeld = %v, %v; want %s and %s", held, err, a.Username, b.Username)
	}
	if held, err := s.UsernamesHeld(ctx, nil); err != nil || len(held) != 0 {
		t.Fatalf("UsernamesHeld of nothing = %v, %v", held, err)
	}
	// Nor does it keep a new account from taking it as primary.
	c := mustCreateUser(t, s, newUser("carol", "carol@example.com", ""))
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "Shared@Example.org"; return nil }); err != nil {
		t.Fatalf("an unconfirmed secondary address held a primary one: %v", err)
	}
	wantUnique(t, s.EmailConfirm(ctx, fromA.ID, base), "email")
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "carol@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	// Bob confirms first and keeps it; Alice's confirmation then fails.
	if err := s.EmailConfirm(ctx, fromB.ID, base.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EmailGet(ctx, fromB.ID); got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(base.Add(2*time.Hour)) {
		t.Fatalf("EmailConfirm: %+v", got)
	}
	wantUnique(t, s.EmailConfirm(ctx, fromA.ID, base.Add(3*time.Hour)), "email")
	if id, err := s.EmailHolder(ctx, "shared@example.org"); err != nil || id != b.ID {
		t.Fatalf("EmailHolder of a confirmed address = %d, %v; want %d", id, err, b.ID)
	}
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "shared@example.org"; return nil }); err == nil {
		t.Fatal("a confirmed secondary address did not claim its key")
	}
	// Deleting Alice's unconfirmed copy leaves Bob's claim.
	if err := s.EmailDelete(ctx, fromA.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserUpdate(ctx, c.ID, func(u *usher.User) error { u.Email = "shared@example.org"; return nil }); err == nil {
		t.Fatal("deleting an unconfirmed copy freed another account's claim")
	}
	// Unconfirmed addresses added before a time go; confirmed ones stay.
	old := pending(a, "old@example.org", base)
	young := pending(a, "young@example.org", base.Add(5*time.Hour))
	n, err := s.EmailDeleteStale(ctx, base.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("EmailDeleteStale = %d, %v; want 1", n, err)
	}
	_, err = s.EmailGet(ctx, old.ID)
	wantNotFound(t, err)
	for _, id := range []int64{young.ID, fromB.ID} {
		if _, err := s.EmailGet(ctx, id); err != nil {
			t.Fatalf("EmailDeleteStale took %d: %v", id, err)
		}
	}
}
