package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// emailReadKey carries a *gate that an emailReadStore's transaction holds
// at its first read of an address.
type emailReadKey struct{}

type emailReadStore struct{ store.Store }

func (s *emailReadStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&emailReadTx{tx}) })
}

type emailReadTx struct{ store.Tx }

func (t *emailReadTx) EmailGet(ctx context.Context, id int64) (*usher.Email, error) {
	if g, ok := ctx.Value(emailReadKey{}).(*gate); ok {
		g.hold()
	}
	return t.Tx.EmailGet(ctx, id)
}

// TestDeleteOfNamedSecondaryRacingRename: an account deleted its
// confirmed secondary address at the moment it renamed itself to it (round
// 40). The deletion read the account, and its old username, before its
// transaction and held no row of it, so on PostgreSQL both committed: the
// account was named by an address no longer its own. The deletion now
// holds the account's row and reads the username under it.
func TestDeleteOfNamedSecondaryRacingRename(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg, WrapStore: func(s store.Store) store.Store { return &emailReadStore{s} }})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
		const second = "alice.second@example.com"
		e, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, second, true)
		if err != nil {
			t.Fatal(err)
		}
		g := newGate()
		deleted := make(chan error, 1)
		go func() {
			deleted <- env.Core.Emails.Delete(context.WithValue(as(alice), emailReadKey{}, g), usher.UserKey{ID: alice.ID}, e.ID)
		}()
		<-g.reached
		renamed := make(chan error, 1)
		go func() {
			name := second
			_, err := env.Core.Users.Update(as(alice), usher.UserKey{ID: alice.ID}, usher.UserUpdate{Username: &name})
			renamed <- err
		}()
		// The rename commits first where nothing holds it back.
		var renameErr error
		done := false
		select {
		case renameErr = <-renamed:
			done = true
		case <-time.After(500 * time.Millisecond):
		}
		close(g.release)
		deleteErr := <-deleted
		if !done {
			renameErr = <-renamed
		}
		t.Logf("the deletion: %v; the rename: %v", deleteErr, renameErr)
		u, err := env.Store.UserGet(context.Background(), usher.UserKey{ID: alice.ID})
		if err != nil {
			t.Fatal(err)
		}
		list, err := env.Store.EmailList(context.Background(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		own := !strings.Contains(u.Username, "@") || usher.EmailKey(u.Username) == usher.EmailKey(u.Email)
		for _, a := range list {
			own = own || a.ConfirmedAt != nil && usher.EmailKey(a.Email) == usher.EmailKey(u.Username)
		}
		if !own {
			t.Errorf("username %q names an address that is not the account's (primary %q, %d secondary): the rename and the deletion both committed",
				u.Username, u.Email, len(list))
		}
	})
}

// txStartKey carries a *gate that a txStartStore holds before it begins a
// transaction.
type txStartKey struct{}

type txStartStore struct{ store.Store }

func (s *txStartStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if g, ok := ctx.Value(txStartKey{}).(*gate); ok {
		g.hold()
	}
	return s.Store.InTx(ctx, fn)
}

// TestAddressDeleteBoundReadsTheAccountUnderItsRow: Emails.Delete read the
// account under its row lock, but its bound check was given the account
// read before the transaction (round 40): an account made an administrator
// before the deletion's transaction began was checked as the plain
// account it had been, and a scoped token freed an administrator's
// confirmed address, which it may not when the two run one after the
// other. The check is of the account read under the row.
func TestAddressDeleteBoundReadsTheAccountUnderItsRow(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg, WrapStore: func(s store.Store) store.Store { return &txStartStore{s} }})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
		e1, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, "alice.one@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, "alice.two@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		scoped := as(alice, usher.ScopeAPI)
		g := newGate()
		deleted := make(chan error, 1)
		go func() {
			deleted <- env.Core.Emails.Delete(context.WithValue(scoped, txStartKey{}, g), usher.UserKey{ID: alice.ID}, e1.ID)
		}()
		<-g.reached
		yes := true
		if _, err := env.Core.Users.Update(as(admin), usher.UserKey{ID: alice.ID}, usher.UserUpdate{Admin: &yes}); err != nil {
			close(g.release)
			<-deleted
			t.Fatal(err)
		}
		close(g.release)
		raced := <-deleted
		// The same deletion, run after the promotion with nothing at once.
		after := env.Core.Emails.Delete(scoped, usher.UserKey{ID: alice.ID}, e2.ID)
		if usher.ErrorKind(after) != usher.KindForbidden {
			t.Fatalf("baseline: a scoped token deleting an administrator's confirmed address: %v, want Forbidden", after)
		}
		if raced == nil {
			t.Errorf("Emails.Delete by a scoped token, its transaction begun after the account became an administrator: nil, want Forbidden as the same call made afterwards (%v): checkAddressBound is given the account read before the transaction, not the one held", after)
		}
	})
}

// TestAddressDeleteOfAnAccountDeletedMeanwhile: a request that found the
// account live deleted a confirmed secondary address of the account
// deleted before its transaction began, which an undelete would have
// given back (round 40); run after the deletion it is refused. The
// deletion reads the account under its row and refuses a deleted one
// (NotFound), as Add and MakePrimary do.
func TestAddressDeleteOfAnAccountDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg, WrapStore: func(s store.Store) store.Store { return &txStartStore{s} }})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
		e1, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, "alice.one@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, "alice.two@example.com", true)
		if err != nil {
			t.Fatal(err)
		}
		g := newGate()
		deleted := make(chan error, 1)
		go func() {
			deleted <- env.Core.Emails.Delete(context.WithValue(as(admin), txStartKey{}, g), usher.UserKey{ID: alice.ID}, e1.ID)
		}()
		<-g.reached
		if _, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: alice.ID}); err != nil {
			close(g.release)
			<-deleted
			t.Fatal(err)
		}
		close(g.release)
		raced := <-deleted
		// The same deletion, run after the account's with nothing at once.
		if after := env.Core.Emails.Delete(as(admin), usher.UserKey{ID: alice.ID}, e2.ID); usher.ErrorKind(after) != usher.KindNotFound {
			t.Fatalf("baseline: Emails.Delete of a deleted account's address: %v, want NotFound", after)
		}
		list, err := env.Store.EmailList(context.Background(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if raced == nil || len(list) != 2 {
			t.Errorf("Emails.Delete, its transaction begun after the account's deletion: %v, %d secondary addresses left; want NotFound and the address kept for an undelete (lockLive, as Emails.Add and MakePrimary hold the row)", raced, len(list))
		}
	})
}
