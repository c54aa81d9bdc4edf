package native_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// engines runs a test on SQLite and on PostgreSQL (skipped when no server
// is configured, failed under CI=true when it cannot be reached).
func engines(t *testing.T, run func(t *testing.T, postgres bool)) {
	for name, postgres := range map[string]bool{"sqlite": false, "postgres": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run(t, postgres)
		})
	}
}

// The moments a log-in is held at, between its checks and its session.
const (
	// holdRead: the log-in has read the hash it verifies, and hashes.
	holdRead = iota + 1
	// holdCommit: the log-in's transaction holds its new session, not
	// committed yet.
	holdCommit
	// holdAccount: the log-in reads the account outside a transaction,
	// as an exchange does once its code is checked, before its session.
	holdAccount
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

// UserGet outside a transaction is, for an exchange log-in, its read of
// the account before it opens the session.
func (s *loginHold) UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	u, err := s.Store.UserGet(ctx, key)
	s.hold(holdAccount)
	return u, err
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
	engines(t, func(t *testing.T, postgres bool) {
		hold := &loginHold{}
		b := setupWith(t, coretest.Options{Postgres: postgres,
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

// TestExchangeRacingEndOfSessionsKeepsNoSession replays, over HTTP on
// both engines, an external log-in's exchange code traded (Corteza's
// /auth/exchange) at the moment the account is taken back: an
// administrator sets its password, or its owner ends every session. Each
// ends the sessions yet to be opened too, the exchange codes among them.
// Held between its check of the code and its session, the exchange must
// be refused: it used its code up in a transaction of its own, so a
// change there found no code to end, and the session opened after it
// lived on. Held with its session not yet committed, the change must wait
// for it and end it: ending every session deleted the codes before it
// took the account's row, which the exchange held while it waited for
// its code's, and on PostgreSQL one of the two failed as a deadlock — the
// owner's, with a 500, every session left.
func TestExchangeRacingEndOfSessionsKeepsNoSession(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &loginHold{}
		c := newExchangeClient(t, coretest.Options{Postgres: postgres,
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		b := c.b
		session := func(t *testing.T) string {
			t.Helper()
			res := c.exchange(t, c.login(t), c.verifier)
			var s struct{ Token string }
			res.decode(t, &s)
			if res.status != http.StatusOK || s.Token == "" {
				t.Fatalf("an exchange: %d %s", res.status, res.body)
			}
			return s.Token
		}
		session(t) // grace's first log-in makes her account
		grace, err := b.env.Store.UserGet(context.Background(), usher.UserKey{Username: "grace"})
		if err != nil {
			t.Fatal(err)
		}
		for _, change := range []struct {
			name string
			do   func(owner string) *response
		}{
			{"an administrator sets the password", func(string) *response {
				return b.api.do(t, req{method: "PUT", path: fmt.Sprintf("/v1/users/%d/password", grace.ID), token: b.adminTok,
					body: map[string]any{"password": "a wholly new passphrase"}, unchecked: true})
			}},
			{"the owner ends every session", func(owner string) *response {
				return b.api.do(t, req{method: "DELETE", path: "/v1/me/sessions", token: owner, unchecked: true})
			}},
		} {
			for _, moment := range []struct {
				name string
				at   int32
			}{{"after its code's check", holdAccount}, {"before its session commits", holdCommit}} {
				name := change.name + " " + moment.name
				owner := session(t)
				// Seen now, the owner's next request writes nothing to the
				// account's row before its transaction.
				if res := b.api.do(t, req{method: "GET", path: "/v1/me", token: owner}); res.status != http.StatusOK {
					t.Fatalf("%s: the owner: %d", name, res.status)
				}
				code := c.login(t)
				hold.arm(moment.at)
				exchanged := make(chan *response, 1)
				go func() {
					exchanged <- b.api.do(t, req{method: "POST", path: "/v1/auth/exchange", unchecked: true,
						body: map[string]any{"exchange_code": code, "code_verifier": c.verifier}})
				}()
				<-hold.reached
				changed := make(chan *response, 1)
				go func() { changed <- change.do(owner) }()
				var done *response
				if moment.at == holdAccount {
					done = <-changed
				} else {
					// The change waits for the exchange's transaction (the
					// account's row); one that does not has a while to
					// commit first.
					select {
					case done = <-changed:
					case <-time.After(300 * time.Millisecond):
					}
				}
				close(hold.release)
				res := <-exchanged
				if done == nil {
					done = <-changed
				}
				if done.status >= 300 {
					t.Errorf("%s: the change: %d %s", name, done.status, done.body)
				}
				if moment.at == holdAccount && (res.status != http.StatusNotFound || res.problem(t).Code != usher.CodeExchangeNotFound) {
					t.Errorf("%s: the exchange overtaken was answered %d %s, want 404 %s", name, res.status, res.body, usher.CodeExchangeNotFound)
				}
				if res.status != http.StatusOK {
					continue
				}
				var s struct{ Token string }
				res.decode(t, &s)
				if me := b.api.do(t, req{method: "GET", path: "/v1/me", token: s.Token}); me.status != http.StatusUnauthorized {
					t.Errorf("%s: the exchange's session works after the change: %d", name, me.status)
				}
			}
		}
	})
}

// credentialHold is a store that holds the next transaction of a request
// made with one credential, once armed, before it begins: for a test to
// make a change between the request's authentication and its write.
type credentialHold struct {
	store.Store
	id      atomic.Int64 // the credential whose next transaction is held; 0 once held
	reached chan struct{}
	release chan struct{}
}

func (s *credentialHold) arm(credential int64) {
	s.reached, s.release = make(chan struct{}), make(chan struct{})
	s.id.Store(credential)
}

func (s *credentialHold) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if p := usher.PrincipalFrom(ctx); p != nil && p.Token != nil && s.id.CompareAndSwap(p.Token.ID, 0) {
		close(s.reached)
		<-s.release
	}
	return s.Store.InTx(ctx, fn)
}

// resetTicket asks for a reset of addr's password, waits for the mails to
// number mails, finds the reset's among them and exchanges its token for
// the ticket that completes the reset.
func (b *mailBundle) resetTicket(t *testing.T, addr string, mails int) string {
	t.Helper()
	b.call(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": addr}}, http.StatusAccepted, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	msgs, err := b.smtp.Wait(ctx, mails)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	code := ""
	for _, m := range msgs {
		if slices.Contains(m.To, addr) && strings.Contains(m.Subject, "Reset") {
			code = secretRE.FindStringSubmatch(m.Body)[1]
		}
	}
	var ticket struct {
		Ticket string `json:"ticket"`
	}
	b.call(t, req{method: "POST", path: "/v1/auth/password-reset/exchange", body: map[string]any{"token": code}}, http.StatusOK, &ticket)
	return ticket.Ticket
}

// TestMintRacingResetKeepsNothing replays, on both engines, whoever signed
// up with someone else's address (where pending accounts may sign in)
// minting a token (their own, or one of a service account of a team they
// made), adding an SSH key or writing a reminder with their session while
// the address's owner completes a reset: the reset ends the sessions and
// the hand-over ends what was made before the proof, but a write
// authenticated before the reset and committed after it made, with the
// ended session, what the hand-over never saw — a token that kept the
// account. Held between its authentication and its transaction, the write
// must now be refused, and nothing it could have made may work: a
// service-account token minted before the proof, which the hand-over left
// alone, neither.
func TestMintRacingResetKeepsNothing(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &credentialHold{}
		b := setupMailWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true, AllowUnconfirmedSignIn: true},
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		mails := 0
		// works reports whether a token minted in answer res works.
		works := func(res *response) int {
			if res.status != http.StatusCreated {
				return 0
			}
			var tok tokenBody
			res.decode(t, &tok)
			if b.api.do(t, req{method: "GET", path: "/v1/me", token: tok.Token}).status == http.StatusOK {
				return 1
			}
			return 0
		}
		var crew int64
		var early *response // a service-account token minted before the reset
		for _, write := range []struct {
			name string
			// prepare, when set, runs with the session before the reset.
			prepare func(session, user string)
			do      func(session, user string) *response
			// kept is how many of what it made the account holds, and
			// work, after the reset.
			kept func(user string, res *response) int
		}{
			{"a token", nil, func(session, _ string) *response {
				return b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: session, body: map[string]any{"name": "kept"}})
			}, func(_ string, res *response) int { return works(res) }},
			{"a service-account token", func(session, user string) {
				var team groupBody
				b.call(t, req{method: "POST", path: "/v1/groups", token: session, body: map[string]any{"kind": "team", "handle": user + "-crew"}},
					http.StatusCreated, &team)
				crew = team.ID
				b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", crew), token: session,
					body: map[string]any{"username": user + "-bot"}}, http.StatusCreated, nil)
				early = b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/%s-bot/token", crew, user), token: session})
			}, func(session, user string) *response {
				return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/%s-bot/token", crew, user), token: session})
			}, func(_ string, res *response) int { return works(early) + works(res) }},
			{"an SSH key", nil, func(session, user string) *response {
				return b.api.do(t, req{method: "POST", path: "/v1/users/" + user + "/keys", token: session,
					body: map[string]any{"title": "kept", "key": coretest.NewSSHKey(t)}})
			}, func(user string, _ *response) int {
				var list struct{ Items []map[string]any }
				b.call(t, req{method: "GET", path: "/v1/users/" + user + "/keys", token: b.adminTok}, http.StatusOK, &list)
				return len(list.Items)
			}},
			{"a reminder", nil, func(session, _ string) *response {
				return b.api.do(t, req{method: "POST", path: "/v1/reminders", token: session,
					body: map[string]any{"resource": "user:1", "remind_at": time.Now().Add(time.Hour)}})
			}, func(_ string, res *response) int {
				if res.status != http.StatusCreated {
					return 0
				}
				var r struct {
					ID int64 `json:"id"`
				}
				res.decode(t, &r)
				if b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/reminders/%d", r.ID), token: b.adminTok}).status == http.StatusOK {
					return 1
				}
				return 0
			}},
		} {
			user := "squatter-" + strings.ReplaceAll(write.name, " ", "-")
			addr := user + "@victim.example"
			b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
				"username": user, "email": addr, "password": "the squatter's passphrase"}}, http.StatusCreated, nil)
			mails++
			session := b.mustLogin(t, addr, "the squatter's passphrase")
			var sessions struct {
				Items []struct {
					ID int64 `json:"id"`
				} `json:"items"`
			}
			b.call(t, req{method: "GET", path: "/v1/me/sessions", token: session}, http.StatusOK, &sessions)
			if len(sessions.Items) != 1 {
				t.Fatalf("%s: sessions %+v", write.name, sessions.Items)
			}
			if write.prepare != nil {
				write.prepare(session, user)
			}
			mails++
			ticket := b.resetTicket(t, addr, mails)

			hold.arm(sessions.Items[0].ID)
			answer := make(chan *response, 1)
			go func() { answer <- write.do(session, user) }()
			<-hold.reached
			b.call(t, req{method: "POST", path: "/v1/auth/password-reset/complete",
				body: map[string]any{"ticket": ticket, "password": "the owner's own new passphrase"}}, http.StatusNoContent, nil)
			close(hold.release)
			res := <-answer
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s with the session the reset ended: %d %s, want 401", write.name, res.status, res.body)
			}
			if n := write.kept(user, res); n != 0 {
				t.Errorf("%s: the account holds %d after the owner's reset, want none", write.name, n)
			}
		}
	})
}

// TestAddressRacingTakeBackKeepsNoCode replays, over HTTP on both engines,
// a thief with a stolen session asking for an address of theirs — a
// secondary one (`POST /v1/users/{user}/emails`) or a change of the
// account's (`PATCH /v1/users/{user}`) — or making one they proved before
// the account's primary (`POST /v1/users/{user}/emails/{id}/primary`), at
// the moment the owner takes the account back, with a new password or by
// ending every session. The take-back ends the codes of addresses waiting
// to be proved, but a request authenticated before it and committed after
// it kept its code, which then confirmed the thief's address, and a
// primary address made so took the account's password resets: past the
// recovery, either way. Held between its authentication and its
// transaction, the request must be refused, and leave the account waiting
// for no address of the thief's and its own address its own.
func TestAddressRacingTakeBackKeepsNoCode(t *testing.T) {
	t.Parallel()
	const pass, next = "the owner's passphrase", "the owner's new passphrase"
	engines(t, func(t *testing.T, postgres bool) {
		hold := &credentialHold{}
		b := setupMailWith(t, coretest.Options{Postgres: postgres,
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		n := 0
		for _, write := range []struct {
			name string
			// do makes the request with the stolen session, for an address
			// of the thief's; proved, the address is the account's
			// confirmed secondary one before.
			do     func(user, stolen, thief string, proved int64) *response
			proved bool
		}{
			{"a secondary address", func(user, stolen, thief string, _ int64) *response {
				return b.api.do(t, req{method: "POST", path: "/v1/users/" + user + "/emails", token: stolen, body: map[string]any{"email": thief}})
			}, false},
			{"a change of address", func(user, stolen, thief string, _ int64) *response {
				return b.api.do(t, req{method: "PATCH", path: "/v1/users/" + user, token: stolen, body: map[string]any{"email": thief}})
			}, false},
			{"a proved address made primary", func(user, stolen, _ string, proved int64) *response {
				return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%s/emails/%d/primary", user, proved), token: stolen})
			}, true},
		} {
			for _, takeBack := range []struct {
				name string
				do   func(token string) *response
			}{
				{"a new password", func(token string) *response {
					return b.api.do(t, req{method: "POST", path: "/v1/auth/password", token: token,
						body: map[string]any{"current_password": pass, "new_password": next}})
				}},
				{"every session ended", func(token string) *response {
					return b.api.do(t, req{method: "DELETE", path: "/v1/me/sessions", token: token})
				}},
			} {
				n++
				name := write.name + " against " + takeBack.name
				user, thief := fmt.Sprintf("owner%d", n), fmt.Sprintf("thief%d@evil.example", n)
				u := b.env.MustCreateUser(t, usher.UserCreate{Username: user, Email: user + "@corp.example",
					Password: pass, EmailConfirmed: true})
				ownerTok := b.env.MustToken(t, u.ID, usher.TokenPersonal)
				stolen := b.mustLogin(t, user, pass)
				var sessions struct {
					Items []struct {
						ID int64 `json:"id"`
					} `json:"items"`
				}
				b.call(t, req{method: "GET", path: "/v1/me/sessions", token: stolen}, http.StatusOK, &sessions)
				if len(sessions.Items) != 1 {
					t.Fatalf("%s: sessions %+v", name, sessions.Items)
				}
				// The thief's address proved before the take-back, which
				// leaves a confirmed address to its account: here an
				// administrator vouches for it, as its code would have.
				var proved struct{ ID int64 }
				if write.proved {
					b.call(t, req{method: "POST", path: "/v1/users/" + user + "/emails", token: b.adminTok,
						body: map[string]any{"email": thief, "skip_confirmation": true}}, http.StatusCreated, &proved)
				}
				hold.arm(sessions.Items[0].ID)
				answer := make(chan *response, 1)
				go func() { answer <- write.do(user, stolen, thief, proved.ID) }()
				<-hold.reached
				if res := takeBack.do(ownerTok); res.status >= 300 {
					t.Fatalf("%s: the take-back: %d %s", name, res.status, res.body)
				}
				close(hold.release)
				if res := <-answer; res.status != http.StatusUnauthorized {
					t.Errorf("%s: the thief's request, authenticated before the take-back, was answered %d %s, want 401",
						name, res.status, res.body)
				}
				var account struct {
					Email       string `json:"email"`
					Unconfirmed string `json:"unconfirmed_email"`
				}
				b.call(t, req{method: "GET", path: "/v1/users/" + user, token: b.adminTok}, http.StatusOK, &account)
				var emails struct{ Items []struct{ Email string } }
				b.call(t, req{method: "GET", path: "/v1/users/" + user + "/emails", token: b.adminTok}, http.StatusOK, &emails)
				if account.Email != u.Email || account.Unconfirmed != "" || len(emails.Items) != map[bool]int{false: 0, true: 1}[write.proved] {
					t.Errorf("%s: after the take-back the account's address is %q, it waits for %q and has the addresses %+v", name,
						account.Email, account.Unconfirmed, emails.Items)
				}
			}
		}
	})
}

// handOverHold is a store that holds, once armed, the transaction that
// revokes service-account tokens made before a time — a reset's hand-over
// — once its work is done and before it commits.
type handOverHold struct {
	store.Store
	armed   atomic.Bool
	reached chan struct{}
	release chan struct{}
}

func (s *handOverHold) arm() {
	s.reached, s.release = make(chan struct{}), make(chan struct{})
	s.armed.Store(true)
}

func (s *handOverHold) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		spy := &handOverSpy{Tx: tx}
		err := fn(spy)
		if err == nil && spy.handedOver && s.armed.CompareAndSwap(true, false) {
			close(s.reached)
			<-s.release
		}
		return err
	})
}

type handOverSpy struct {
	store.Tx
	handedOver bool
}

func (t *handOverSpy) TokenRevoke(ctx context.Context, f store.TokenFilter, at time.Time) (int, error) {
	if !f.CreatedBefore.IsZero() && slices.Contains(f.Kinds, usher.TokenServiceAccount) {
		t.handedOver = true
	}
	return t.Tx.TokenRevoke(ctx, f, at)
}

// TestServiceAccountWritesWaitForHandOver replays, on both engines, a
// squatter who made a team and minted its service account a token before
// the address's owner reset the password, and who adds the account an SSH
// key and mints a token with that token while the reset's hand-over runs:
// the hand-over held none of the accounts' rows, so on PostgreSQL both
// writes went through beside it, dated after the proof, and outlived it.
// The hand-over holds the accounts' rows now; the writes wait for it and
// find their credential revoked.
func TestServiceAccountWritesWaitForHandOver(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &handOverHold{}
		b := setupMailWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true, AllowUnconfirmedSignIn: true},
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		const addr = "squatter@victim.example"
		b.call(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
			"username": "squatter", "email": addr, "password": "the squatter's passphrase"}}, http.StatusCreated, nil)
		session := b.mustLogin(t, addr, "the squatter's passphrase")
		var team groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: session, body: map[string]any{"kind": "team", "handle": "crew"}},
			http.StatusCreated, &team)
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: session,
			body: map[string]any{"username": "crew-bot"}}, http.StatusCreated, nil)
		var early tokenBody
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/crew-bot/token", team.ID), token: session},
			http.StatusCreated, &early)
		b.call(t, req{method: "GET", path: "/v1/me", token: early.Token}, http.StatusOK, nil)

		ticket := b.resetTicket(t, addr, 2)

		hold.arm()
		reset := make(chan *response, 1)
		go func() {
			reset <- b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset/complete",
				body: map[string]any{"ticket": ticket, "password": "the owner's own new passphrase"}})
		}()
		<-hold.reached
		key, minted := make(chan *response, 1), make(chan *response, 1)
		go func() {
			key <- b.api.do(t, req{method: "POST", path: "/v1/users/crew-bot/keys", token: early.Token,
				body: map[string]any{"title": "kept", "key": coretest.NewSSHKey(t)}})
		}()
		go func() {
			minted <- b.api.do(t, req{method: "POST", path: "/v1/me/tokens", token: early.Token, body: map[string]any{"name": "kept"}})
		}()
		time.Sleep(300 * time.Millisecond) // the writes reach the rows the hand-over holds
		close(hold.release)
		if res := <-reset; res.status != http.StatusNoContent {
			t.Fatalf("the reset: %d %s", res.status, res.body)
		}
		for name, res := range map[string]*response{"an SSH key": <-key, "a token": <-minted} {
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s with the service-account token the hand-over revoked: %d %s, want 401", name, res.status, res.body)
			}
		}
		var keys struct{ Items []any }
		b.call(t, req{method: "GET", path: "/v1/users/crew-bot/keys", token: b.adminTok}, http.StatusOK, &keys)
		if len(keys.Items) != 0 {
			t.Errorf("the service account holds %d SSH keys after the hand-over", len(keys.Items))
		}
	})
}

// TestCoOwnerResetKeepsOthersTokens: a reset's hand-over ends the
// service-account tokens made in the account's teams before its address
// was proved, and once ended those an owner minted before the account
// even existed, when the account was made a co-owner since: another
// owner's automation stopped at a colleague's reset. It ends only what was
// made since the account joined the team now.
func TestCoOwnerResetKeepsOthersTokens(t *testing.T) {
	t.Parallel()
	clock := &lockClock{t: time.Now()}
	b := setupMailWith(t, coretest.Options{Now: clock.Now, Policy: core.Policy{SignupEnabled: true}})
	var team groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok, body: map[string]any{"kind": "team", "handle": "crew"}},
		http.StatusCreated, &team)
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts", team.ID), token: b.userTok,
		body: map[string]any{"username": "crew-bot"}}, http.StatusCreated, nil)
	var tok tokenBody
	b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/service-accounts/crew-bot/token", team.ID), token: b.userTok},
		http.StatusCreated, &tok)
	clock.Add(time.Minute)
	const addr = "coowner@example.com"
	co := b.env.MustCreateUser(t, usher.UserCreate{Username: "coowner", Email: addr, Password: matrixPassword, EmailConfirmed: true})
	b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", team.ID, co.ID), token: b.userTok,
		body: map[string]any{"level": "owner"}}, http.StatusOK, nil)
	ticket := b.resetTicket(t, addr, 1)
	b.call(t, req{method: "POST", path: "/v1/auth/password-reset/complete",
		body: map[string]any{"ticket": ticket, "password": "the co-owner's own new passphrase"}}, http.StatusNoContent, nil)
	b.call(t, req{method: "GET", path: "/v1/me", token: tok.Token}, http.StatusOK, nil)
}

// readHold is a store that holds, once armed, the next read of the user
// named outside a transaction — a request's look-up of its target, after
// its caller's credential was checked — until the test releases it.
type readHold struct {
	store.Store
	name    atomic.Pointer[string]
	reached chan struct{}
	release chan struct{}
}

func (s *readHold) arm(username string) {
	s.reached, s.release = make(chan struct{}), make(chan struct{})
	s.name.Store(&username)
}

func (s *readHold) UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	if n := s.name.Load(); n != nil && key.Username == *n && s.name.CompareAndSwap(n, nil) {
		close(s.reached)
		<-s.release
	}
	return s.Store.UserGet(ctx, key)
}

// TestKeyAddRacingDemotionKeepsNothing replays, on both engines, an
// administrator who owns no part of a team adding its service account an
// SSH key while another administrator demotes them: the key's request
// checked the administrator's rights when it came in, the demotion ended
// what they had added (endAdminMints) and committed, and the key was
// added after it, on rights already gone, and kept working. The key's
// transaction reads the rights again under the administrator's row, which
// the demotion holds, and is refused.
func TestKeyAddRacingDemotionKeepsNothing(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &readHold{}
		b := setupWith(t, coretest.Options{Postgres: postgres,
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		_, ownerTok := b.mustPrincipal(t, "owner", false)
		ex, exTok := b.mustPrincipal(t, "exadmin", true)
		b.mustTeamAccount(t, ownerTok, "crew", "crew-bot")

		hold.arm("crew-bot")
		added := make(chan *response, 1)
		go func() {
			added <- b.api.do(t, req{method: "POST", path: "/v1/users/crew-bot/keys", token: exTok,
				body: map[string]any{"title": "kept", "key": coretest.NewSSHKey(t)}})
		}()
		<-hold.reached
		b.call(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", ex.ID), token: b.adminTok, body: map[string]any{"admin": false}}, http.StatusOK, nil)
		close(hold.release)
		if res := <-added; res.status != http.StatusForbidden {
			t.Errorf("the key added on rights the demotion ended: %d %s, want 403", res.status, res.body)
		}
		var keys struct{ Items []any }
		b.call(t, req{method: "GET", path: "/v1/users/crew-bot/keys", token: b.adminTok}, http.StatusOK, &keys)
		if len(keys.Items) != 0 {
			t.Errorf("the service account holds %d SSH keys after the demotion", len(keys.Items))
		}
	})
}

// TestConcurrentResetRequestsLeaveOneToken: "only the latest request's
// mail resets" (docs/auth.md) held one request at a time. Five requests
// for one address at once (the address's allowance) each deleted the
// tokens committed before them and added their own, and on PostgreSQL
// none saw the others' uncommitted tokens: two or three of the five
// mails' tokens exchanged for a ticket. The requests now take the
// account's row in turn, as a reset's use and a password's change do.
func TestConcurrentResetRequestsLeaveOneToken(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupMailWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true}})
		mails := 0
		b.signUpConfirmed(t, &mails, "dana", "dana@corp.example")
		const n = 5
		start := make(chan struct{})
		done := make(chan int, n)
		for range n {
			go func() {
				<-start
				done <- b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": "dana@corp.example"}}).status
			}()
		}
		close(start)
		for range n {
			if status := <-done; status != http.StatusAccepted {
				t.Fatalf("a reset request answered %d, want 202", status)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		msgs, err := b.smtp.Wait(ctx, mails+n)
		if err != nil {
			t.Fatal(err)
		}
		live := 0
		for _, m := range msgs[mails:] {
			if !slices.Contains(m.To, "dana@corp.example") || !strings.Contains(m.Subject, "Reset") {
				t.Fatalf("an unexpected mail: %q to %v", m.Subject, m.To)
			}
			token := secretRE.FindStringSubmatch(m.Body)
			if token == nil {
				t.Fatalf("no token in the reset mail:\n%s", m.Body)
			}
			res := b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset/exchange", body: map[string]any{"token": token[1]}})
			switch res.status {
			case http.StatusOK:
				live++
			case http.StatusNotFound:
				if !strings.Contains(string(res.body), "reset_not_found") {
					t.Errorf("an ended token: %d %s", res.status, res.body)
				}
			default:
				t.Errorf("exchange: %d %s", res.status, res.body)
			}
		}
		if live != 1 {
			t.Fatalf("%d of the %d reset mails' tokens exchanged for a ticket, want the latest request's alone", live, n)
		}
	})
}

// TestUsernameAndAddressRaceNamesOneAccount: one text names one account,
// as a username or as an address (docs/auth.md), and the check held one
// request at a time. A plain user renamed (now by an administrator, since
// no one else gives an account an address not its own) to an address while
// an administrator made another account with that address, at once,
// both succeeded on PostgreSQL in about half the rounds: no unique index
// compares a username with an address, and neither transaction saw the
// other's row. The text is now held first (UserNamesLock).
func TestUsernameAndAddressRaceNamesOneAccount(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		me := fmt.Sprintf("/v1/users/%d", b.user.ID)
		both := 0
		const rounds = 30
		for i := range rounds {
			addr := fmt.Sprintf("bob%d@corp.example", i)
			start := make(chan struct{})
			created, renamed := make(chan int, 1), make(chan int, 1)
			go func() {
				<-start
				created <- b.api.do(t, req{method: "POST", path: "/v1/users", token: b.adminTok,
					body: map[string]any{"username": fmt.Sprintf("bob%d", i), "email": addr, "name": "Bob"}}).status
			}()
			go func() {
				<-start
				renamed <- b.api.do(t, req{method: "PATCH", path: me, token: b.adminTok, body: map[string]any{"username": addr}}).status
			}()
			close(start)
			c, r := <-created, <-renamed
			switch {
			case c == http.StatusCreated && r == http.StatusOK:
				both++
			case c != http.StatusCreated && c != http.StatusConflict, r != http.StatusOK && r != http.StatusConflict:
				t.Fatalf("round %d: the creation answered %d, the rename %d; want 201 or 409 each", i, c, r)
			case c != http.StatusCreated && r != http.StatusOK:
				t.Fatalf("round %d: both refused (%d, %d): one of them should have the text", i, c, r)
			}
			if r == http.StatusOK {
				b.call(t, req{method: "PATCH", path: me, token: b.userTok, body: map[string]any{"username": fmt.Sprintf("plain%d", i)}}, http.StatusOK, nil)
			}
		}
		if both > 0 {
			t.Errorf("%d of %d rounds: a username and another account's address are one text", both, rounds)
		}
	})
}

// TestOrganisationDeletionRacingAFill: "an organisation that still holds
// live groups (archived ones too) or users cannot be deleted (409)"
// (docs/access.md). A team made in an organisation, a team moved into it,
// or a user moved into it, at the moment an administrator deleted it: on
// PostgreSQL both succeeded in 11 to 28 rounds of 30, a live team or user
// left in a deleted organisation. The deletion now reads the organisation
// for update, and what is put in holds it (OrgHold).
func TestOrganisationDeletionRacingAFill(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		n := 0
		for _, fill := range []struct {
			name string
			// prepare runs before the race; fill puts something live in org.
			prepare func(i int) int64
			fill    func(i int, id, org int64) *response
			// live reports whether what fill put there is live in org.
			live func(id, org int64, res *response) bool
		}{
			{"a team made in it", func(int) int64 { return 0 }, func(i int, _, org int64) *response {
				return b.api.do(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
					body: map[string]any{"kind": "team", "handle": fmt.Sprintf("made%d", i), "organisation_id": org}})
			}, func(_, org int64, res *response) bool {
				if res.status != http.StatusCreated {
					return false
				}
				var g groupBody
				res.decode(t, &g)
				return b.groupIn(t, g.ID, org)
			}},
			{"a team moved into it", func(i int) int64 {
				var g groupBody
				b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
					body: map[string]any{"kind": "team", "handle": fmt.Sprintf("moved%d", i)}}, http.StatusCreated, &g)
				return g.ID
			}, func(_ int, id, org int64) *response {
				return b.api.do(t, req{method: "POST", path: fmt.Sprintf("/v1/groups/%d/move", id), token: b.userTok,
					body: map[string]any{"organisation_id": org}})
			}, func(id, org int64, res *response) bool { return res.status == http.StatusOK && b.groupIn(t, id, org) }},
			{"a user moved into it", func(i int) int64 {
				u := b.env.MustCreateUser(t, usher.UserCreate{Username: fmt.Sprintf("mover%d", i),
					Email: fmt.Sprintf("mover%d@example.com", i), Password: matrixPassword, EmailConfirmed: true})
				return u.ID
			}, func(_ int, id, org int64) *response {
				return b.api.do(t, req{method: "PATCH", path: fmt.Sprintf("/v1/users/%d", id), token: b.adminTok,
					body: map[string]any{"organisation_id": org}})
			}, func(id, org int64, res *response) bool {
				var u struct {
					OrganisationID *int64  `json:"organisation_id"`
					DeletedAt      *string `json:"deleted_at"`
				}
				b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/users/%d", id), token: b.adminTok}, http.StatusOK, &u)
				return res.status == http.StatusOK && u.OrganisationID != nil && *u.OrganisationID == org && u.DeletedAt == nil
			}},
		} {
			both := 0
			const rounds = 30
			for range rounds {
				n++
				i := n
				id := fill.prepare(i)
				var org struct{ ID int64 }
				b.call(t, req{method: "POST", path: "/v1/organisations", token: b.adminTok,
					body: map[string]any{"handle": fmt.Sprintf("org%d", i)}}, http.StatusCreated, &org)
				start := make(chan struct{})
				filled, deleted := make(chan *response, 1), make(chan *response, 1)
				go func() { <-start; filled <- fill.fill(i, id, org.ID) }()
				go func() {
					<-start
					deleted <- b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/organisations/%d", org.ID), token: b.adminTok})
				}()
				close(start)
				f, d := <-filled, <-deleted
				if d.status >= 300 {
					continue
				}
				var o struct {
					DeletedAt *string `json:"deleted_at"`
				}
				b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/organisations/%d", org.ID), token: b.adminTok}, http.StatusOK, &o)
				if o.DeletedAt != nil && fill.live(id, org.ID, f) {
					both++
				}
			}
			if both > 0 {
				t.Errorf("%s: %d of %d rounds left it live in the organisation deleted at once", fill.name, both, rounds)
			}
		}
	})
}

// groupIn reports whether group id is live (not deleted) in organisation org,
// as an administrator reads it.
func (b *bundle) groupIn(t *testing.T, id, org int64) bool {
	var g struct {
		OrganisationID *int64  `json:"organisation_id"`
		DeletedAt      *string `json:"deleted_at"`
	}
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/groups/%d", id), token: b.adminTok}, http.StatusOK, &g)
	return g.OrganisationID != nil && *g.OrganisationID == org && g.DeletedAt == nil
}

// TestServiceAccountRemovalsKeepATeam: a service account "leaves its team
// only by being deleted (409 conflict on a removal that would leave it in
// no team)" (docs/access.md). An administrator put a team's service
// account in a second team and took it out of both at once: on PostgreSQL
// both removals succeeded in about two rounds of three, the account left
// live in no team with its token working, out of every owner's reach. The
// removal now holds the account's row after the team's.
func TestServiceAccountRemovalsKeepATeam(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		none := 0
		const rounds = 30
		for i := range rounds {
			bot := fmt.Sprintf("bot%d", i)
			home := b.mustTeamAccount(t, b.userTok, fmt.Sprintf("home%d", i), bot)
			var other groupBody
			b.call(t, req{method: "POST", path: "/v1/groups", token: b.userTok,
				body: map[string]any{"kind": "team", "handle": fmt.Sprintf("other%d", i)}}, http.StatusCreated, &other)
			b.call(t, req{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%s", other.ID, bot), token: b.adminTok,
				body: map[string]any{"level": "write"}}, http.StatusOK, nil)
			tok := b.mustServiceAccountToken(t, home.ID, bot, b.userTok)
			start := make(chan struct{})
			out := make(chan int, 2)
			for _, team := range []int64{home.ID, other.ID} {
				go func() {
					<-start
					out <- b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/groups/%d/members/%s", team, bot), token: b.adminTok}).status
				}()
			}
			close(start)
			s1, s2 := <-out, <-out
			var groups struct{ Items []any }
			b.call(t, req{method: "GET", path: "/v1/users/" + bot + "/groups", token: b.adminTok}, http.StatusOK, &groups)
			var acct struct {
				DeletedAt *string `json:"deleted_at"`
			}
			b.call(t, req{method: "GET", path: "/v1/users/" + bot, token: b.adminTok}, http.StatusOK, &acct)
			me := b.api.do(t, req{method: "GET", path: "/v1/me", token: tok}).status
			if len(groups.Items) == 0 && acct.DeletedAt == nil {
				none++
				t.Logf("round %d: its token minted before answers /v1/me %d", i, me)
				if none == 1 {
					t.Logf("round %d: removals answered %d and %d; the service account is in no group", i, s1, s2)
				}
			}
		}
		if none > 0 {
			t.Errorf("%d of %d rounds: a live service account was left in no team", none, rounds)
		}
	})
}

// TestConfirmedChangeRacingACreationOfItsAddress: a user confirming the
// address they asked to change to (POST /v1/auth/confirm) at the moment
// another account is made with it (an administrator's POST /v1/users, a
// sign-up): one wins and the other is refused 409. When the texts were
// first held (UserNamesLock), the confirmation wrote the address to its
// row before it held it, and the creation, holding it, waited for that
// row: each waited for the other until PostgreSQL ended one, a 500 after
// its deadlock timeout, in 11 to 17 rounds of 40. The confirmation now
// holds the address before it writes it.
func TestConfirmedChangeRacingACreationOfItsAddress(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupMailWith(t, coretest.Options{Postgres: postgres,
			Policy: core.Policy{SignupEnabled: true, FailureWindow: time.Millisecond}})
		codeTo := func(addr string) string {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				msgs := b.smtp.Messages()
				for i := len(msgs) - 1; i >= 0; i-- {
					if found := secretRE.FindStringSubmatch(msgs[i].Body); found != nil && slices.Contains(msgs[i].To, addr) {
						return found[1]
					}
				}
			}
			t.Fatalf("no mail with a code to %s", addr)
			return ""
		}
		me := fmt.Sprintf("/v1/users/%d", b.user.ID)
		const rounds = 30
		for i := range rounds {
			addr := fmt.Sprintf("carol%d@corp.example", i)
			b.call(t, req{method: "PATCH", path: me, token: b.userTok, body: map[string]any{"email": addr}}, http.StatusOK, nil)
			code := codeTo(addr)
			create := req{method: "POST", path: "/v1/users", token: b.adminTok,
				body: map[string]any{"username": fmt.Sprintf("carol%d", i), "email": addr, "name": "Carol"}}
			if i%2 == 1 {
				create = req{method: "POST", path: "/v1/auth/signup",
					body: map[string]any{"username": fmt.Sprintf("carol%d", i), "email": addr, "password": "carol's own passphrase"}}
			}
			start := make(chan struct{})
			confirmed, created := make(chan *response, 1), make(chan *response, 1)
			go func() {
				<-start
				confirmed <- b.api.do(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}})
			}()
			go func() { <-start; created <- b.api.do(t, create) }()
			close(start)
			c, r := <-confirmed, <-created
			if !(c.status == http.StatusOK && r.status == http.StatusConflict) && !(c.status == http.StatusConflict && r.status == http.StatusCreated) {
				t.Fatalf("round %d (%s): the confirmation answered %d %s, the creation %d %s; want one success and one 409",
					i, create.path, c.status, c.body, r.status, r.body)
			}
			if c.status == http.StatusOK {
				b.call(t, req{method: "PATCH", path: me, token: b.adminTok, body: map[string]any{"email": fmt.Sprintf("plain%d@example.com", i)}}, http.StatusOK, nil)
			}
		}
	})
}

// TestResetTokenNotIssuedAfterDeletion: a reset request reads the
// account by its address outside its transaction; an administrator
// deletes the account (ending its mailed codes) before the request's
// transaction issues the token; the token, issued after the deletion,
// was mailed and, once the account was restored, traded for a ticket and a
// password of the holder's choosing (round 33). The request now holds the
// account's row and reads it again (readAgain): no token is issued.
func TestResetTokenNotIssuedAfterDeletion(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &loginHold{}
		b := setupMailWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true, MailRetryBase: 50 * time.Millisecond, MailRetryMax: 100 * time.Millisecond},
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		mails := 0
		const addr = "erin@corp.example"
		b.signUpConfirmed(t, &mails, "erin", addr)
		erin, err := b.env.Store.UserGet(context.Background(), usher.UserKey{Username: "erin"})
		if err != nil {
			t.Fatal(err)
		}
		hold.arm(holdAccount)
		done := make(chan *response, 1)
		go func() {
			done <- b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset", body: map[string]any{"email": addr}, unchecked: true})
		}()
		select {
		case <-hold.reached:
		case <-time.After(10 * time.Second):
			t.Fatal("the reset request never read the account")
		}
		b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", erin.ID), token: b.adminTok}, http.StatusOK, nil)
		close(hold.release)
		res := <-done
		if res.status != http.StatusAccepted {
			t.Fatalf("the reset request: %d %s, want 202 as for any address", res.status, res.body)
		}
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", erin.ID), token: b.adminTok}, http.StatusOK, nil)
		// The mail, were it queued, goes out once the account is back.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := b.smtp.Wait(ctx, mails+1); err != nil {
			return // none came: no token was issued
		}
		_, token := b.nextMail(t, mails+1, addr)
		var ticket struct{ Ticket string }
		r := b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset/exchange", body: map[string]any{"token": token}, unchecked: true})
		if r.status == http.StatusOK {
			r.decode(t, &ticket)
			c := b.api.do(t, req{method: "POST", path: "/v1/auth/password-reset/complete", unchecked: true,
				body: map[string]any{"ticket": ticket.Ticket, "password": "chosen by the mail's holder"}})
			l := b.api.do(t, req{method: "POST", path: "/v1/auth/login", unchecked: true,
				body: map[string]any{"login": "erin", "password": "chosen by the mail's holder"}})
			t.Errorf("a reset token issued after the account's deletion traded after its restoration: exchange %d, complete %d, log-in with the password it set %d", r.status, c.status, l.status)
		}
	})
}

// TestConfirmationCodeNotIssuedAfterDeletion: a resend of the
// confirmation reads the pending account by its address outside its
// transaction; an administrator deletes the account, ending its mailed
// codes; the resend's transaction then issued a confirmation code for the
// deleted account, which, once the account was restored, confirmed it
// (round 33). It now reads the account again holding its row.
func TestConfirmationCodeNotIssuedAfterDeletion(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		hold := &loginHold{}
		b := setupMailWith(t, coretest.Options{Postgres: postgres, Policy: core.Policy{SignupEnabled: true, MailRetryBase: 50 * time.Millisecond, MailRetryMax: 100 * time.Millisecond},
			WrapStore: func(s store.Store) store.Store { hold.Store = s; return hold }})
		const addr = "frank@corp.example"
		res := b.api.do(t, req{method: "POST", path: "/v1/auth/signup", body: map[string]any{
			"username": "frank", "email": addr, "password": "a passphrase of frank"}})
		if res.status != http.StatusCreated {
			t.Fatalf("signup: %d %s", res.status, res.body)
		}
		b.nextMail(t, 1, addr) // the sign-up's own code, not used
		frank, err := b.env.Store.UserGet(context.Background(), usher.UserKey{Username: "frank"})
		if err != nil {
			t.Fatal(err)
		}
		hold.arm(holdAccount)
		done := make(chan *response, 1)
		go func() {
			done <- b.api.do(t, req{method: "POST", path: "/v1/auth/confirm/resend", body: map[string]any{"email": addr}, unchecked: true})
		}()
		select {
		case <-hold.reached:
		case <-time.After(10 * time.Second):
			t.Fatal("the resend never read the account")
		}
		b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d", frank.ID), token: b.adminTok}, http.StatusOK, nil)
		close(hold.release)
		res = <-done
		if res.status != http.StatusAccepted {
			t.Fatalf("the resend: %d %s, want 202 as for any address", res.status, res.body)
		}
		b.call(t, req{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", frank.ID), token: b.adminTok}, http.StatusOK, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := b.smtp.Wait(ctx, 2); err != nil {
			return // none came: no code was issued
		}
		_, code := b.nextMail(t, 2, addr)
		c := b.api.do(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}, unchecked: true})
		if c.status == http.StatusOK {
			t.Errorf("a confirmation code issued after the account's deletion confirmed it once restored: POST /v1/auth/confirm %d %s", c.status, c.body)
		}
	})
}

// TestRestoreRacingAMemberIntoAFullTeam restores a deleted service
// account of a team holding 99 at the moment an administrator adds
// another team's account to it: the restore counted the team's accounts
// without holding the team, which the addition held, and on PostgreSQL
// both counted 99 and the team held 101 (noticed after round 46's fix,
// replayed in round 49). A restore holds the account's teams first.
func TestRestoreRacingAMemberIntoAFullTeam(t *testing.T) {
	t.Parallel()
	b := setupWith(t, coretest.Options{Postgres: true})
	as := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.admin})
	var other groupBody
	b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok, body: map[string]any{"kind": "team", "handle": "other"}}, http.StatusCreated, &other)
	for round := range 8 {
		var team groupBody
		b.call(t, req{method: "POST", path: "/v1/groups", token: b.adminTok,
			body: map[string]any{"kind": "team", "handle": fmt.Sprintf("full%d", round)}}, http.StatusCreated, &team)
		var gone int64
		for i := range 100 {
			sa, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: team.ID}, fmt.Sprintf("bot%d-%d", round, i), "")
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				gone = sa.ID
			}
		}
		if _, err := b.env.Core.Users.Delete(as, usher.UserKey{ID: gone}); err != nil {
			t.Fatal(err)
		}
		extra, err := b.env.Core.Groups.CreateServiceAccount(as, usher.GroupRef{ID: other.ID}, fmt.Sprintf("extra%d", round), "")
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		answers := make(chan *response, 2)
		for _, rq := range []req{
			{method: "POST", path: fmt.Sprintf("/v1/users/%d/undelete", gone), token: b.adminTok},
			{method: "PUT", path: fmt.Sprintf("/v1/groups/%d/members/%d", team.ID, extra.ID), token: b.adminTok, body: map[string]any{"level": "write"}},
		} {
			go func() {
				<-start
				answers <- b.api.do(t, rq)
			}()
		}
		close(start)
		done := 0
		for range 2 {
			switch res := <-answers; {
			case res.status < 300:
				done++
			case res.status != http.StatusConflict || res.problem(t).Code != "limit_reached":
				t.Fatalf("round %d: %d %s; want success or 409 limit_reached", round, res.status, res.body)
			}
		}
		page, err := b.env.Core.Groups.ServiceAccounts(as, usher.GroupRef{ID: team.ID}, usher.PageRequest{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if done != 1 || len(page.Items) != 100 {
			t.Fatalf("round %d: a restore and an addition at once into a team with room for one: %d done, the team holds %d; want 1 and 100",
				round, done, len(page.Items))
		}
	}
}
