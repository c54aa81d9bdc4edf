package core_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// The tests in this file hold one transaction at a chosen store call while
// another call runs, on both engines: the races they replay are
// PostgreSQL's (READ COMMITTED, rows locked one at a time); SQLite's one
// writer orders them.

// gateStore holds the first transactional call of an armed method on an
// armed id until released, so that another call comes between one
// transaction's check and its write.
type gateStore struct {
	store.Store
	mu      sync.Mutex
	method  string
	id      int64
	after   bool
	reached chan struct{}
	release chan struct{}
}

func (s *gateStore) arm(method string, id int64, after bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.id, s.after = method, id, after
	s.reached, s.release = make(chan struct{}), make(chan struct{})
}

func (s *gateStore) at(method string, id int64, after bool) {
	s.mu.Lock()
	hit := s.method == method && s.id == id && s.after == after
	var reached, release chan struct{}
	if hit {
		s.method = ""
		reached, release = s.reached, s.release
	}
	s.mu.Unlock()
	if hit {
		close(reached)
		<-release
	}
}

func (s *gateStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&gateTx{Tx: tx, s: s}) })
}

type gateTx struct {
	store.Tx
	s *gateStore
}

func (t *gateTx) UserUpdate(ctx context.Context, id int64, fn func(u *usher.User) error) (*usher.User, error) {
	t.s.at("UserUpdate", id, false)
	return t.Tx.UserUpdate(ctx, id, fn)
}

func (t *gateTx) SoleOwnerTeams(ctx context.Context, id int64) ([]*usher.Group, error) {
	g, err := t.Tx.SoleOwnerTeams(ctx, id)
	t.s.at("SoleOwnerTeams", id, true)
	return g, err
}

func raceEnv(t *testing.T, pg bool) (*coretest.Env, *gateStore) {
	g := &gateStore{}
	env := coretest.New(t, coretest.Options{Postgres: pg, WrapStore: func(s store.Store) store.Store { g.Store = s; return g }})
	return env, g
}

// overtake runs first until it reaches the gate, then second; it releases
// the gate once second is done or, where second waits for first (SQLite's
// one writer, a row lock), after a while.
func overtake(g *gateStore, first, second func() error) (error, error) {
	firstErr, secondErr := make(chan error, 1), make(chan error, 1)
	go func() { firstErr <- first() }()
	select {
	case <-g.reached:
	case err := <-firstErr:
		go func() { secondErr <- second() }()
		return err, <-secondErr
	}
	go func() { secondErr <- second() }()
	var e2 error
	got := false
	select {
	case e2 = <-secondErr:
		got = true
	case <-time.After(500 * time.Millisecond):
	}
	close(g.release)
	e1 := <-firstErr
	if !got {
		e2 = <-secondErr
	}
	return e1, e2
}

// TestServiceAccountTokenRacingOwnerLeaving: an owner mints a
// token for the team's service account while a co-owner removes them (or an
// administrator blocks or deletes them, or deletes the team): the mint read
// the owner's membership before the other change committed and minted after
// it revoked the service account's tokens.
func TestServiceAccountTokenRacingOwnerLeaving(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env, g := raceEnv(t, pg)
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		for i, change := range []string{"removed by co-owner", "blocked", "deleted", "team deleted"} {
			o := env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("owner%d", i)})
			co := env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("coowner%d", i)})
			team, err := env.Core.Groups.Create(as(o), usher.GroupCreate{Kind: usher.GroupTeam, Handle: fmt.Sprintf("team%d", i)})
			if err != nil {
				t.Fatal(err)
			}
			ref := usher.GroupRef{ID: team.ID}
			if _, err := env.Core.Groups.AddMember(as(o), ref, usher.UserKey{ID: co.ID}, usher.LevelOwner); err != nil {
				t.Fatal(err)
			}
			sa, err := env.Core.Groups.CreateServiceAccount(as(o), ref, fmt.Sprintf("bot%d", i), "bot")
			if err != nil {
				t.Fatal(err)
			}
			var text string
			g.arm("UserUpdate", sa.ID, false) // the mint's lockUser, after its checks
			mintErr, changeErr := overtake(g, func() error {
				var err error
				_, text, err = env.Core.Groups.ServiceAccountToken(as(o), ref, usher.UserKey{ID: sa.ID}, false)
				return err
			}, func() error {
				var err error
				switch change {
				case "removed by co-owner":
					err = env.Core.Groups.RemoveMember(as(co), ref, usher.UserKey{ID: o.ID})
				case "blocked":
					_, err = env.Core.Users.Block(as(admin), usher.UserKey{ID: o.ID})
				case "deleted":
					_, err = env.Core.Users.Delete(as(admin), usher.UserKey{ID: o.ID})
				case "team deleted":
					_, err = env.Core.Groups.Delete(as(admin), ref)
				}
				return err
			})
			if changeErr != nil {
				t.Fatalf("%s: the change: %v", change, changeErr)
			}
			if mintErr != nil {
				t.Logf("%s: the mint was refused: %v", change, mintErr)
				continue
			}
			p, err := env.Core.Auth.Authenticate(context.Background(), text)
			if err == nil {
				t.Errorf("%s: the service account's token minted by the owner racing the change works after it (principal %s)", change, p.User.Username)
			}
		}
	})
}

// TestOwnersRemovingEachOtherKeepOne: two owners of a team each
// remove the other at once; each transaction counted two owners.
func TestOwnersRemovingEachOtherKeepOne(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env, g := raceEnv(t, pg)
		a := env.MustCreateUser(t, usher.UserCreate{Username: "alice"})
		b := env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
		team, err := env.Core.Groups.Create(as(a), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "shared"})
		if err != nil {
			t.Fatal(err)
		}
		ref := usher.GroupRef{ID: team.ID}
		if _, err := env.Core.Groups.AddMember(as(a), ref, usher.UserKey{ID: b.ID}, usher.LevelOwner); err != nil {
			t.Fatal(err)
		}
		g.arm("SoleOwnerTeams", b.ID, true) // alice's removal of bob, after its last-owner check
		e1, e2 := overtake(g, func() error {
			return env.Core.Groups.RemoveMember(as(a), ref, usher.UserKey{ID: b.ID})
		}, func() error {
			return env.Core.Groups.RemoveMember(as(b), ref, usher.UserKey{ID: a.ID})
		})
		t.Logf("alice removes bob: %v; bob removes alice: %v", e1, e2)
		page, err := env.Store.GroupMembers(context.Background(), team.ID, true, usher.PageRequest{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		owners := 0
		for _, m := range page.Items {
			if m.Level == usher.LevelOwner {
				owners++
			}
		}
		if owners == 0 {
			t.Errorf("the team has no owner left (%d members)", len(page.Items))
		}
	})
}

// TestTokenRacingDeletion: a user mints a token for themself
// while an administrator deletes the account; the mint checked the account
// live before the deletion committed and minted after it revoked every
// token. After an undelete the token works.
func TestTokenRacingDeletion(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env, g := raceEnv(t, pg)
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		u := env.MustCreateUser(t, usher.UserCreate{Username: "leaver"})
		var text string
		g.arm("UserUpdate", u.ID, false) // the mint's checkTokenRoom lock
		mintErr, delErr := overtake(g, func() error {
			var err error
			_, text, err = env.Core.Auth.CreateToken(as(u), usher.TokenCreate{UserID: u.ID})
			return err
		}, func() error {
			_, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: u.ID})
			return err
		})
		if delErr != nil {
			t.Fatal(delErr)
		}
		if mintErr != nil {
			t.Logf("the mint was refused: %v", mintErr)
			return
		}
		if _, err := env.Core.Users.Undelete(as(admin), usher.UserKey{ID: u.ID}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Core.Auth.Authenticate(context.Background(), text); err == nil {
			t.Errorf("a token minted racing the account's deletion works after the undelete")
		}
	})
}
