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
