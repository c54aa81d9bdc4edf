// Package storetest is the conformance suite of the store contract. Every
// backend runs it from its own tests:
//
//	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//
// The open function returns a migrated, empty store that the test owns.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/store"
)

// Run runs every conformance case against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"UserRoundTrip", testUserRoundTrip},
		{"UserAwkwardText", testUserAwkwardText},
		{"UserLookups", testUserLookups},
		{"UserUniqueCaseInsensitive", testUserUnique},
		{"UserDeletedFreesNames", testUserDeletedFreesNames},
		{"OtherAdministrator", testOtherAdministrator},
		{"UserUpdate", testUserUpdate},
		{"UserHandleUnique", testUserHandleUnique},
		{"UserOrganisationMeta", testUserOrganisationMeta},
		{"UserWithoutUsername", testUserWithoutUsername},
		{"UserUpdateConflict", testUserUpdateConflict},
		{"UserCredentialsSince", testUserCredentialsSince},
		{"UserListFilters", testUserListFilters},
		{"UserSeen", testUserSeen},
		{"UserListSearch", testUserListSearch},
		{"UserListBrief", testUserListBrief},
		{"UserListContains", testUserListContains},
		{"UserListKinds", testUserListKinds},
		{"UserConflictFields", testUserConflictFields},
		{"UserListKeyset", testUserListKeyset},
		{"UserListSortedSearchMany", testUserListSortedSearchMany},
		{"UserListUncommon", testUserListUncommon},
		{"ListOffset", testListOffset},
		{"ListTotal", testListTotal},
		{"UserListCounted", testUserListCounted},
		{"UserListOffsetAndTotal", testUserListOffsetAndTotal},
		{"AnalyzeKeepsResults", testAnalyzeKeepsResults},
		{"UserCreateMany", testUserCreateMany},
		{"UserCreateManyMatchesCreate", testUserCreateManyMatchesCreate},
		{"UserFind", testUserFind},
		{"Load", testLoad},
		{"LoadClaims", testLoadClaims},
		{"InLoadTx", testInLoadTx},
		{"InLoadTxTurns", testInLoadTxTurns},
		{"LoadPurge", testLoadPurge},
		{"Changes", testChanges},
		{"Ready", testReady},
		{"UserPurgeCascades", testUserPurgeCascades},
		{"Identities", testIdentities},
		{"IdentitiesListed", testIdentitiesListed},
		{"Passwords", testPasswords},
		{"Tokens", testTokens},
		{"Audit", testAudit},
		{"Stats", testStats},
		{"Backlog", testBacklog},
		{"TxRollback", testTxRollback},
		{"Codes", testCodes},
		{"CodeUsedOnce", testCodeUsedOnce},
		{"Outbox", testOutbox},
		{"PruneEnded", testPruneEnded},
		{"KnownDevices", testKnownDevices},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Throttles", testThrottles},
		{"SigningKeys", testSigningKeys},
		{"EmailClaims", testEmailClaims},
		{"UnconfirmedEmails", testUnconfirmedEmails},
		{"SSHKeys", testSSHKeys},
		{"Groups", testGroups},
		{"Memberships", testMemberships},
		{"MembershipsOf", testMembershipsOf},
		{"OwnedServiceAccountCount", testOwnedServiceAccountCount},
		{"DeletedTeams", testDeletedTeams},
		{"Rules", testRules},
		{"Plans", testPlans},
		{"Organisations", testOrganisations},
		{"Applications", testApplications},
		{"ListSorted", testListSorted},
		{"OrganisationQuery", testOrganisationQuery},
		{"SettingsAndAvatars", testSettingsAndAvatars},
		{"Attachments", testAttachments},
		{"Reminders", testReminders},
		{"ReminderClaims", testReminderClaims},
		{"ReminderConcurrentClaims", testReminderConcurrentClaims},
		{"Scripts", testScripts},
		{"ScriptRunClaims", testScriptRunClaims},
		{"ScriptRunConcurrentClaims", testScriptRunConcurrentClaims},
		{"InstanceSettings", testInstanceSettings},
		{"ConcurrentUniqueCreates", testConcurrentUniqueCreates},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t))
		})
	}
}

// base is a fixed time with microsecond precision, the precision of both
// backends.
var base = time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC)

var uuidSeq struct {
	sync.Mutex
	n int
}

func newUUID() string {
	uuidSeq.Lock()
	defer uuidSeq.Unlock()
	uuidSeq.n++
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", uuidSeq.n)
}

// newUser returns a user ready to insert.
func newUser(username, email, name string) *usher.User {
	return &usher.User{
		UUID: newUUID(), Username: username, Email: email, Name: name,
		State: usher.StateActive, Kind: usher.KindNormal, GitLab: usher.GitLabProfile{CanCreateGroup: true,
			ThemeID: 1, ColorSchemeID: 1}, Language: "en",
		CreatedAt: base, UpdatedAt: base,
	}
}

func mustCreateUser(t *testing.T, s store.Store, u *usher.User) *usher.User {
	t.Helper()
	if err := s.UserCreate(context.Background(), u, ""); err != nil {
		t.Fatalf("UserCreate(%s): %v", u.Username, err)
	}
	return u
}

func mustGet(t *testing.T, s store.Store, key usher.UserKey) *usher.User {
	t.Helper()
	u, err := s.UserGet(context.Background(), key)
	if err != nil {
		t.Fatalf("UserGet(%+v): %v", key, err)
	}
	return u
}

func wantUnique(t *testing.T, err error, field string) {
	t.Helper()
	var ue *usher.UniqueError
	if !errors.As(err, &ue) || !errors.Is(err, usher.ErrExists) {
		t.Fatalf("err = %v, want a UniqueError on %s", err, field)
	}
	if ue.Field != field {
		t.Fatalf("UniqueError.Field = %q, want %q", ue.Field, field)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func ptr[T any](v T) *T { return &v }

// testChanges: the count of changes grows with each committed write, in a
// transaction or not, and not with a rolled-back one, nor with the
// bookkeeping no cache holds: a token's touch, a sign-in's times, a new
// token or audit event, the throttles, or a transaction of only those.
func testChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	tok := &usher.Token{Kind: usher.TokenPersonal, UserID: a.ID, Hint: "usp_x", Hash: []byte("h1"), CreatedAt: base}
	if err := s.TokenCreate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name  string
		write func() error
		grows bool
	}{
		{"revoke outside a transaction", func() error {
			_, err := s.TokenRevoke(ctx, store.TokenFilter{ID: tok.ID}, base)
			return err
		}, true},
		{"update in a transaction", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "Alice"; return nil })
				return err
			})
		}, true},
		{"rolled back", func() error {
			err := s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.Name = "Not Alice"; return nil }); err != nil {
					return err
				}
				return errors.New("roll back")
			})
			if err == nil {
				return errors.New("the transaction committed")
			}
			return nil
		}, false},
		{"touch", func() error { return s.TokenTouch(ctx, tok.ID, base.Add(time.Hour), base) }, false},
		{"sign-in", func() error {
			before, err := s.UserGet(ctx, usher.UserKey{ID: a.ID})
			if err != nil {
				return err
			}
			u, err := s.UserSignIn(ctx, a.ID, base.Add(2*time.Hour))
			switch {
			case err != nil:
			case u.CurrentSignInAt == nil || !u.CurrentSignInAt.Equal(base.Add(2*time.Hour)):
				err = fmt.Errorf("the sign-in returned current_sign_in_at %v", u.CurrentSignInAt)
			case u.Version != before.Version:
				err = fmt.Errorf("the sign-in moved the version from %d to %d", before.Version, u.Version)
			}
			return err
		}, false},
		{"new token", func() error {
			return s.TokenCreate(ctx, &usher.Token{Kind: usher.TokenSession, UserID: a.ID, Hint: "uss_x", Hash: []byte("h2"), CreatedAt: base})
		}, false},
		{"audit event", func() error {
			return s.AuditAppend(ctx, &usher.AuditEvent{At: base, ActorKind: usher.PrincipalUser, Action: "auth.login", ResourceType: "user"})
		}, false},
		{"throttle", func() error {
			if _, err := s.ThrottleFail(ctx, "user:alice", base, base.Add(-time.Hour), base.Add(time.Hour)); err != nil {
				return err
			}
			if err := s.ThrottleLock(ctx, "user:alice", base.Add(time.Minute), base.Add(time.Hour)); err != nil {
				return err
			}
			if err := s.ThrottleForgive(ctx, "user:alice"); err != nil {
				return err
			}
			return s.ThrottleClear(ctx, "user:alice")
		}, false},
		{"a log-in's transaction: sign-in, session, audit", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.UserSignIn(ctx, a.ID, base.Add(3*time.Hour)); err != nil {
					return err
				}
				if _, err := tx.TokenList(ctx, store.TokenFilter{UserID: a.ID}); err != nil {
					return err
				}
				if err := tx.TokenCreate(ctx, &usher.Token{Kind: usher.TokenSession, UserID: a.ID, Hint: "uss_y", Hash: []byte("h3"), CreatedAt: base}); err != nil {
					return err
				}
				return tx.AuditAppend(ctx, &usher.AuditEvent{At: base, ActorKind: usher.PrincipalUser, Action: "auth.login", ResourceType: "user"})
			})
		}, false},
		{"a counted write among uncounted ones in a transaction", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.UserSignIn(ctx, a.ID, base.Add(4*time.Hour)); err != nil {
					return err
				}
				_, err := tx.TokenRevoke(ctx, store.TokenFilter{UserID: a.ID}, base)
				return err
			})
		}, true},
		{"block in a transaction with its audit event", func() error {
			return s.InTx(ctx, func(tx store.Tx) error {
				if _, err := tx.UserUpdate(ctx, a.ID, func(u *usher.User) error { u.State = usher.StateBlocked; return nil }); err != nil {
					return err
				}
				return tx.AuditAppend(ctx, &usher.AuditEvent{At: base, ActorKind: usher.PrincipalUser, Action: "user.block", ResourceType: "user"})
			})
		}, true},
		{"seen", func() error { return s.UserSeen(ctx, a.ID, base.Add(time.Hour), base) }, false},
		{"readiness check", func() error { return s.Ready(ctx) }, false},
		// A mail is no row a cache holds; a log-in from a new device
		// queues one, and every replica sends some.
		{"a mail queued, sent, failed and given up", func() error {
			ids := make([]int64, 3)
			for i := range ids {
				m := &usher.Mail{Kind: "k", To: "a@example.com", Subject: "s", Body: "b", CreatedAt: base, NextAttemptAt: base}
				if err := s.OutboxAdd(ctx, m); err != nil {
					return err
				}
				ids[i] = m.ID
			}
			if err := s.OutboxSent(ctx, ids[0], base); err != nil {
				return err
			}
			if err := s.OutboxFailed(ctx, ids[1], 1, base.Add(time.Minute), "451"); err != nil {
				return err
			}
			return s.OutboxDrop(ctx, ids[2])
		}, false},
		// The background rounds: every replica claims every few seconds,
		// and a claim's lease is no row a cache holds.
		{"background claims with nothing due", func() error {
			if _, err := s.OutboxClaim(ctx, base, base.Add(time.Minute), 10); err != nil {
				return err
			}
			if _, err := s.ReminderClaim(ctx, base, base.Add(time.Minute), "c", 10); err != nil {
				return err
			}
			_, err := s.ScriptRunClaim(ctx, base, base.Add(time.Minute), "c", 10)
			return err
		}, false},
		{"housekeeping with nothing to delete", func() error {
			if _, err := s.EmailDeleteStale(ctx, base.Add(-time.Hour)); err != nil {
				return err
			}
			if _, err := s.CodeDeleteExpired(ctx, base.Add(-time.Hour)); err != nil {
				return err
			}
			_, err := s.ThrottlePrune(ctx, base.Add(-time.Hour), base)
			return err
		}, false},
	}
	for _, st := range steps {
		before := s.Changes()
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if grew := s.Changes() > before; grew != st.grows {
			t.Errorf("%s: the count grew: %v, want %v", st.name, grew, st.grows)
		}
	}
}

// testReady: a migrated store that takes writes is ready, again and again
// and from several callers at once, and the check's write is no change
// that Changes counts or a reader sees.
func testReady(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustCreateUser(t, s, newUser("alice", "alice@example.com", ""))
	before := s.Changes()
	errs := make(chan error, 4)
	for range 4 {
		go func() { errs <- s.Ready(ctx) }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("Ready: %v", err)
		}
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("Ready again: %v", err)
	}
	if after := s.Changes(); after != before {
		t.Errorf("Ready counted as %d changes", after-before)
	}
	if n, err := s.UserCount(ctx); err != nil || n != 1 {
		t.Errorf("users after Ready: %d, %v", n, err)
	}
}

// testAnalyzeKeepsResults: refreshing the statistics works and changes no
// answer.
func testAnalyzeKeepsResults(t *testing.T, s store.Store) {
	seed(t, s)
	f := usher.UserFilter{Query: "example.com", SearchEmail: true, Deleted: usher.Include, Suspended: usher.Include}
	before := fmt.Sprint(usernames(list(t, s, f)))
	if err := s.Analyze(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprint(usernames(list(t, s, f))); after != before || before != "[alice carol eve]" {
		t.Fatalf("search before analyze %s, after %s", before, after)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		u := newUser("alice", "", "")
		if err := tx.UserCreate(ctx, u, "hash"); err != nil {
			return err
		}
		if err := tx.AuditAppend(ctx, &usher.AuditEvent{At: base, Action: "user.create", ResourceType: "user", ResourceID: "1"}); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.UserGet(ctx, usher.UserKey{Username: "alice"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	users, _ := s.UserCount(ctx)
	events, _ := s.AuditCount(ctx)
	if users != 0 || events != 0 {
		t.Fatalf("after rollback: %d users, %d events", users, events)
	}
	// A unique violation inside a transaction fails the transaction cleanly.
	mustCreateUser(t, s, newUser("bob", "", ""))
	err = s.InTx(ctx, func(tx store.Tx) error { return tx.UserCreate(ctx, newUser("BOB", "", ""), "") })
	wantUnique(t, err, "username")
}
