package core_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// backends runs a test on SQLite and on PostgreSQL (skipped when no server
// is configured, failed under CI=true when it cannot be reached).
func backends(t *testing.T, run func(t *testing.T, pg bool)) {
	for name, pg := range map[string]bool{"sqlite": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, pg)
		})
	}
}

// TestTokenCapHoldsUnderConcurrency: concurrent mints for one account must
// not each see room for one more: the account holds at most the cap.
func TestTokenCapHoldsUnderConcurrency(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		const limit = 5
		env := coretest.New(t, coretest.Options{Postgres: pg, Policy: core.Policy{MaxTokensPerUser: limit}})
		u := env.MustCreateUser(t, usher.UserCreate{Username: "racer"})
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := env.Core.Auth.CreateToken(as(u), usher.TokenCreate{UserID: u.ID})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case usher.ErrorKind(err) != usher.KindConflict:
				t.Errorf("a mint failed otherwise than on the cap: %v", err)
			}
		}
		n, err := env.Store.TokenCount(context.Background(), store.TokenFilter{UserID: u.ID, Kinds: []usher.TokenKind{usher.TokenPersonal}})
		if err != nil || n != limit || ok != limit {
			t.Fatalf("%d mints went through and the account holds %d tokens (%v); the cap is %d", ok, n, err, limit)
		}
	})
}

// TestConcurrentWritesDoNotWedgeThePool: more concurrent changes by
// non-administrators than a pool holds connections, each reading rules
// while its transaction is open, must all finish: a transaction that waits
// for a second connection of its own pool would wait for ever.
func TestConcurrentWritesDoNotWedgeThePool(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		users := make([]*usher.User, 60)
		for i := range users {
			users[i] = env.MustCreateUser(t, usher.UserCreate{Username: "racer" + string(rune('a'+i/26)) + string(rune('a'+i%26))})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, len(users))
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := usher.WithPrincipal(ctx, &usher.Principal{Kind: usher.PrincipalUser, User: u})
				_, _, err := env.Core.Auth.CreateToken(c, usher.TokenCreate{UserID: u.ID})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a concurrent mint failed: %v", err)
			}
		}
	})
}

// TestTokenChangeAndDeleteTakeLocksInOneOrder: a rotation of a user's token
// and the deletion of the user, at once, both change the user's tokens. A
// transaction that locked a token row before the account's row could wait
// for the deletion, which holds the account and waits for the token: on
// PostgreSQL one of the two would fail as a deadlock. Each must end either
// done or refused (the token is gone), never as a fault.
func TestTokenChangeAndDeleteTakeLocksInOneOrder(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Admin: true})
		const rounds = 60
		for i := range rounds {
			u := env.MustCreateUser(t, usher.UserCreate{Username: "holder" + string(rune('a'+i/26)) + string(rune('a'+i%26))})
			tok, _, err := env.Core.Auth.CreateToken(as(u), usher.TokenCreate{UserID: u.ID})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var rotateErr, deleteErr error
			wg.Add(2)
			go func() { defer wg.Done(); _, _, rotateErr = env.Core.Auth.RotateToken(as(u), tok.ID) }()
			go func() { defer wg.Done(); _, deleteErr = env.Core.Users.Delete(as(admin), usher.UserKey{ID: u.ID}) }()
			wg.Wait()
			if deleteErr != nil {
				t.Fatalf("round %d: the deletion failed: %v", i, deleteErr)
			}
			if k := usher.ErrorKind(rotateErr); rotateErr != nil && k != usher.KindNotFound && k != usher.KindUnauthenticated && k != usher.KindForbidden {
				t.Fatalf("round %d: the rotation failed otherwise than as refused: %v", i, rotateErr)
			}
		}

		// A service account's token regenerated while it is deleted.
		if _, err := env.Core.Groups.Create(as(admin), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "crew"}); err != nil {
			t.Fatal(err)
		}
		crew := usher.GroupRef{Kind: usher.GroupTeam, Handle: "crew"}
		for i := range rounds {
			sa, err := env.Core.Groups.CreateServiceAccount(as(admin), crew, "bot"+string(rune('a'+i/26))+string(rune('a'+i%26)), "")
			if err != nil {
				t.Fatal(err)
			}
			key := usher.UserKey{ID: sa.ID}
			if _, _, err := env.Core.Groups.ServiceAccountToken(as(admin), crew, key, false); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var regenErr, deleteErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, _, regenErr = env.Core.Groups.ServiceAccountToken(as(admin), crew, key, true)
			}()
			go func() { defer wg.Done(); deleteErr = env.Core.Groups.DeleteServiceAccount(as(admin), crew, key) }()
			wg.Wait()
			if k := usher.ErrorKind(deleteErr); deleteErr != nil && k != usher.KindNotFound {
				t.Fatalf("round %d: the deletion failed: %v", i, deleteErr)
			}
			if k := usher.ErrorKind(regenErr); regenErr != nil && k != usher.KindNotFound {
				t.Fatalf("round %d: the regeneration failed otherwise than as refused: %v", i, regenErr)
			}
		}
	})
}
