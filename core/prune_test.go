package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// TestEndedTokensPruned: housekeeping deletes sessions and tokens once
// they have been revoked or expired for longer than KeepEnded, and nothing
// live, on both engines.
func TestEndedTokensPruned(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		_, tr := mailServer(t)
		c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		env := coretest.New(t, coretest.Options{Postgres: pg, Now: c.Now, Transport: tr,
			Policy: core.Policy{SessionTTL: 2 * time.Hour, KeepEnded: time.Hour}})
		u := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com", Password: alicePassword})
		ctx := from("192.0.2.1")
		login := func() *usher.Session {
			s, err := env.Core.Auth.Login(ctx, "alice", alicePassword)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		loggedOut, kept := login(), login()
		p, err := env.Core.Auth.Authenticate(ctx, loggedOut.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Core.Auth.Logout(usher.WithPrincipal(ctx, p)); err != nil {
			t.Fatal(err)
		}
		forever, _, err := env.Core.Auth.CreateToken(as(u), usher.TokenCreate{UserID: u.ID, Name: "forever"})
		if err != nil {
			t.Fatal(err)
		}

		exists := func(id int64) bool {
			_, err := env.Store.TokenGet(context.Background(), id)
			if err != nil && !errors.Is(err, usher.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		// housekeep runs the outbox until the token is gone, or for 5 s;
		// with no token, for 200 ms: rounds every 10 ms.
		housekeep := func(id int64) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); env.Core.Outbox.Run(ctx, 10*time.Millisecond) }()
			if id == 0 {
				time.Sleep(200 * time.Millisecond)
			}
			for deadline := time.Now().Add(5 * time.Second); id != 0 && exists(id) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-done
		}

		// Logged out 59 minutes ago: kept for another minute.
		c.Add(59 * time.Minute)
		housekeep(0)
		if !exists(loggedOut.Token.ID) {
			t.Fatal("a session logged out 59 minutes ago was deleted; KeepEnded is an hour")
		}
		// Logged out 61 minutes ago: deleted; the live session and the
		// token stay, and still authenticate.
		c.Add(2 * time.Minute)
		housekeep(loggedOut.Token.ID)
		if exists(loggedOut.Token.ID) {
			t.Fatal("a session logged out 61 minutes ago was kept")
		}
		if !exists(kept.Token.ID) || !exists(forever.ID) {
			t.Fatal("a live session or token was deleted")
		}
		if _, err := env.Core.Auth.Authenticate(ctx, kept.Secret); err != nil {
			t.Fatalf("the live session: %v", err)
		}
		if _, err := env.Core.Auth.Authenticate(ctx, loggedOut.Secret); err == nil {
			t.Fatal("the deleted session authenticated")
		}
		// The other session expired (2 h) 61 minutes ago: deleted; the token
		// that never expires stays.
		c.Add(2 * time.Hour)
		housekeep(kept.Token.ID)
		if exists(kept.Token.ID) {
			t.Fatal("a session expired 61 minutes ago was kept")
		}
		if !exists(forever.ID) {
			t.Fatal("a token that never expires was deleted")
		}
	})
}
