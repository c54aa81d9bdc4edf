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

// TestAddressDeleteReadsTheAccountUnderItsRow: Emails.Delete read the
// account under its row lock, but used the account read before its
// transaction for the rest (round 40): an account made an administrator
// before the deletion's transaction began was checked as the plain
// account it had been, and a scoped token freed an administrator's
// confirmed address; and an address of an account deleted before it began
// was deleted, which an undelete would have given back. Run one after the
// other, each is refused; at once, the deletion refuses it as well.
func TestAddressDeleteReadsTheAccountUnderItsRow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		scopes    []string
		meanwhile func(env *coretest.Env, admin, alice *usher.User) error
		want      usher.Kind
	}{
		{"made an administrator", []string{usher.ScopeAPI}, func(env *coretest.Env, admin, alice *usher.User) error {
			yes := true
			_, err := env.Core.Users.Update(as(admin), usher.UserKey{ID: alice.ID}, usher.UserUpdate{Admin: &yes})
			return err
		}, usher.KindForbidden},
		{"deleted", nil, func(env *coretest.Env, admin, alice *usher.User) error {
			_, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: alice.ID})
			return err
		}, usher.KindNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			backends(t, func(t *testing.T, pg bool) {
				env := coretest.New(t, coretest.Options{Postgres: pg, WrapStore: func(s store.Store) store.Store { return &txStartStore{s} }})
				admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
				alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", EmailConfirmed: true})
				var ids []int64
				for _, addr := range []string{"alice.one@example.com", "alice.two@example.com"} {
					e, err := env.Core.Emails.Add(as(admin), usher.UserKey{ID: alice.ID}, addr, true)
					if err != nil {
						t.Fatal(err)
					}
					ids = append(ids, e.ID)
				}
				caller := as(admin)
				if tt.scopes != nil {
					caller = as(alice, tt.scopes...)
				}
				g := newGate()
				deleted := make(chan error, 1)
				go func() {
					deleted <- env.Core.Emails.Delete(context.WithValue(caller, txStartKey{}, g), usher.UserKey{ID: alice.ID}, ids[0])
				}()
				<-g.reached
				err := tt.meanwhile(env, admin, alice)
				close(g.release)
				raced := <-deleted
				if err != nil {
					t.Fatal(err)
				}
				if after := env.Core.Emails.Delete(caller, usher.UserKey{ID: alice.ID}, ids[1]); usher.ErrorKind(after) != tt.want {
					t.Fatalf("the same deletion after it: %v, want %s", after, tt.want)
				}
				list, err := env.Store.EmailList(context.Background(), alice.ID)
				if err != nil {
					t.Fatal(err)
				}
				if usher.ErrorKind(raced) != tt.want || len(list) != 2 {
					t.Errorf("the deletion whose transaction began after the account was %s: %v, %d addresses left; want %s and both kept", tt.name, raced, len(list), tt.want)
				}
			})
		})
	}
}
