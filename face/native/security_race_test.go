package native_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// The moments a log-in is held at, between its checks and its session.
const (
	// holdRead: the log-in has read the hash it verifies, and hashes.
	holdRead = iota + 1
	// holdCommit: the log-in's transaction holds its new session, not
	// committed yet.
	holdCommit
)

// loginHold is a store that holds the next log-in, once armed, at one of
// the moments above until the test releases it, so that a change comes
// between the log-in's checks and its session every time.
type loginHold struct {
	store.Store
	at      atomic.Int32 // the moment to hold at; 0 once held
	reached chan struct{}
	release chan struct{}
}

// arm holds the next log-in at the moment.
func (s *loginHold) arm(moment int32) {
	s.reached, s.release = make(chan struct{}), make(chan struct{})
	s.at.Store(moment)
}

func (s *loginHold) hold(moment int32) {
	if s.at.CompareAndSwap(moment, 0) {
		close(s.reached)
		<-s.release
	}
}

// PasswordGet outside a transaction is the log-in reading the hash it
// verifies.
func (s *loginHold) PasswordGet(ctx context.Context, userID int64) (string, error) {
	hash, err := s.Store.PasswordGet(ctx, userID)
	s.hold(holdRead)
	return hash, err
}

func (s *loginHold) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&holdTx{Tx: tx, s: s}) })
}

type holdTx struct {
	store.Tx
	s *loginHold
}

// TokenCreate in a transaction is the log-in minting its session.
func (tx *holdTx) TokenCreate(ctx context.Context, t *usher.Token) error {
	err := tx.Tx.TokenCreate(ctx, t)
	tx.s.hold(holdCommit)
	return err
}

// TestLoginRacingChangeKeepsNoSession replays, over HTTP on both engines,
// a log-in with the old password (or to an account about to go) that a
// password change — the owner's or an administrator's — a deletion or a
// block overtakes: the change ends every session of the account, and the
// log-in, which checked before it, opened its session after and kept it
// (for 14 days, and past the undelete or the unblock). Held once it read
// the hash, the log-in must be refused; held with its session not yet
// committed, the change must wait for it (the account's row) and end it.
func TestLoginRacingChangeKeepsNoSession(t *testing.T) {
	t.Parallel()
	const old, next = "the old passphrase, leaked", "a wholly new passphrase"
	for _, engine := range []struct {
		name     string
		postgres bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(engine.name, func(t *testing.T) {
			t.Parallel()
			hold := &loginHold{}
			b := setupWith(t, coretest.Options{Postgres: engine.postgres,
				WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
			n := 0
			for _, change := range []struct {
				name string
				// do makes the change as the account's owner (with token) or
				// an administrator, and restore takes back what lets the
				// account sign in again, if anything.
				do, restore func(t *testing.T, id int64, token string) *response
			}{
				{"an administrator sets the password", func(t *testing.T, id int64, _ string) *response {
					return b.api.do(t, req{method: "PUT", path: fmt.Sprintf("/v1/users/%d/password", id), token: b.adminTok,
						body: map[string]any{"password": next}})
				}, nil},
				{"the owner changes the password", func(t *testing.T, _ int64, token string) *response {
					return b.api.do(t, req{method: "POST", path: "/v1/auth/password", token: token,
						body: map[string]any{"current_password": old, "new_password": next}})
				}, nil},
				{"an administrator deletes the account", func(t *testing.T, id int64, _ string) *response {
					return b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", id), token: b.adminTok})
				}, func(t *testing.T, id int64, _ string) *response {
					return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", id), token: b.adminTok})
				}},
				{"an administrator blocks the account", func(t *testing.T, id int64, _ string) *response {
					return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/block", id), token: b.adminTok})
				}, func(t *testing.T, id int64, _ string) *response {
					return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/unblock", id), token: b.adminTok})
				}},
			} {
				for _, moment := range []struct {
					name string
					at   int32
				}{{"while it hashes", holdRead}, {"before it commits", holdCommit}} {
					name := change.name + " " + moment.name
					n++
					u := b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("victim%d", n),
						Email: fmt.Sprintf("victim%d@example.com", n), Password: old, EmailConfirmed: true})
					ownerTok := b.env.MustToken(t, u.ID, usher.TokenPersonal)
					// Seen now, the owner's next request writes nothing to the
					// account's row before its change.
					if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: ownerTok}); res.status != http.StatusOK {
						t.Fatalf("%s: the owner: %d", name, res.status)
					}

					hold.arm(moment.at)
					login := make(chan *response, 1)
					go func() {
						login <- b.api.do(t, req{method: "POST", path: "/v1/auth/login",
							body: map[string]any{"login": u.Username, "password": old}})
					}()
					<-hold.reached
					changed := make(chan *response, 1)
					go func() { changed <- change.do(t, u.ID, ownerTok) }()
					var done *response
					if moment.at == holdRead {
						done = <-changed
					} else {
						// The change waits for the log-in's transaction
						// (the account's row); one that does not has a
						// while to commit first.
						select {
						case done = <-changed:
						case <-time.After(200 * time.Millisecond):
						}
					}
					close(hold.release)
					res := <-login
					if done == nil {
						done = <-changed
					}
					if done.status >= 300 {
						t.Fatalf("%s: the change: %d %s", name, done.status, done.body)
					}
					if change.restore != nil {
						if res := change.restore(t, u.ID, ownerTok); res.status != http.StatusOK {
							t.Fatalf("%s: restoring: %d %s", name, res.status, res.body)
						}
					}
					if moment.at == holdRead && res.status != http.StatusUnauthorized {
						t.Errorf("%s: the log-in overtaken was answered %d %s, want 401", name, res.status, res.body)
					}
					if res.status != http.StatusOK {
						continue
					}
					var s struct{ Token string }
					res.decode(t, &s)
					if me := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token}); me.status != http.StatusUnauthorized {
						t.Errorf("%s: the session of the log-in overtaken works after the change: %d", name, me.status)
					}
				}
			}
		})
	}
}
