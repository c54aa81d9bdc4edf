package core_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/store"
)

// TestSecondaryAddressOfAnAccountDeletedMeanwhile: Emails.Add read the
// account outside its transaction (owner), then held its row but did not
// read it again: a deletion committed between, which ended the account's
// codes, was not seen, and the address was added to the deleted account
// and its confirmation code mailed once the account was restored (round
// 34, on PostgreSQL). It reads the account again under the row
// (lockLive): 404.
func TestSecondaryAddressOfAnAccountDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	srv, tr := mailServer(t)
	var mu sync.Mutex
	skew := time.Duration(0)
	env := coretest.New(t, coretest.Options{Postgres: true, Transport: tr,
		Now:       func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) },
		WrapStore: func(s store.Store) store.Store { return &liveReadStore{s} }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	pat := env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	g := newGate()
	done := make(chan error, 1)
	go func() {
		_, err := env.Core.Emails.Add(context.WithValue(as(admin), liveReadKey{}, g), usher.UserKey{ID: pat.ID}, "pat2@example.com", false)
		done <- err
	}()
	<-g.reached
	if _, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		close(g.release)
		t.Fatal(err)
	}
	close(g.release)
	err := <-done
	if _, _, derr := env.Core.Outbox.DeliverDue(context.Background(), 10); derr != nil {
		t.Fatal(derr)
	}
	mailed := 0
	for _, m := range srv.Messages() {
		if slices.Contains(m.To, "pat2@example.com") {
			mailed++
		}
	}
	if usher.ErrorKind(err) != usher.KindNotFound || mailed != 0 {
		t.Errorf("an address added to an account deleted meanwhile: %v, %d mailed; want 404, none", err, mailed)
	}
	// The deletion ended the account's codes; this one, issued after it,
	// waits in the outbox and is mailed once the account is undeleted.
	if _, err := env.Core.Users.Undelete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	skew = 15 * time.Minute // past the outbox's retry of the held mail
	mu.Unlock()
	if _, _, derr := env.Core.Outbox.DeliverDue(context.Background(), 10); derr != nil {
		t.Fatal(derr)
	}
	if list, err := env.Core.Emails.List(as(admin), usher.UserKey{ID: pat.ID}); err != nil || len(list) != 0 {
		t.Errorf("after the undeletion pat holds %d secondary addresses, %v; want none", len(list), err)
	}
	var code []string
	for _, m := range srv.Messages() {
		if slices.Contains(m.To, "pat2@example.com") {
			code = mailedCode.FindStringSubmatch(m.Body)
		}
	}
	if code != nil {
		e, cerr := env.Core.Emails.Confirm(context.Background(), code[1])
		t.Errorf("after the undeletion, the code issued after the deletion was mailed and confirms: %v %v", e != nil && e.ConfirmedAt != nil, cerr)
	}
}

// TestKeyAddedToAccountDeletedMeanwhile: an administrator's Keys.Add read
// the account outside its transaction; a deletion committed, ending its
// keys; the add then held the row but did not read the account again, so
// the key landed on the deleted account and survived its undeletion (round
// 35). It reads the account again under the row (lockLive): 404.
func TestKeyAddedToAccountDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Postgres: true,
		WrapStore: func(s store.Store) store.Store { return &liveReadStore{s} }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	pat := env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	g := newGate()
	done := make(chan error, 1)
	go func() {
		_, err := env.Core.Keys.Add(context.WithValue(as(admin), liveReadKey{}, g), usher.UserKey{ID: pat.ID}, "k", coretest.Ed25519Key, nil)
		done <- err
	}()
	<-g.reached
	if _, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		close(g.release)
		t.Fatal(err)
	}
	close(g.release)
	err := <-done
	if usher.ErrorKind(err) != usher.KindNotFound {
		t.Errorf("Keys.Add to an account deleted meanwhile: %v; want 404", err)
	}
	if _, err := env.Core.Users.Undelete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		t.Fatal(err)
	}
	keys, lerr := env.Core.Keys.List(as(admin), usher.UserKey{ID: pat.ID})
	if lerr != nil {
		t.Fatal(lerr)
	}
	if len(keys) != 0 {
		t.Errorf("after the undeletion pat holds %d SSH keys (%s), added after the deletion ended its keys; want none", len(keys), keys[0].Fingerprint)
	}
}

// TestImpersonationOfAccountDeletedMeanwhile: Auth.Impersonate read the
// account outside any transaction and dated its JWT when it signed it: a
// deletion committed between (which sets CredentialsSince, ending every
// credential of the account made before it) came before that date, and
// the JWT worked once the account was restored (round 35). The JWT is
// dated before the read: the deletion ends it too.
func TestImpersonationOfAccountDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	skew := time.Duration(0)
	env := coretest.New(t, coretest.Options{Postgres: true,
		Now:       func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) },
		WrapStore: func(s store.Store) store.Store { return &liveReadStore{s} }})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	pat := env.MustCreateUser(t, usher.UserCreate{Username: "pat", Email: "pat@example.com", EmailConfirmed: true})
	_, text, err := env.Core.Auth.CreateToken(as(admin), usher.TokenCreate{UserID: admin.ID, Name: "sudo"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.Core.Auth.Authenticate(context.Background(), text)
	if err != nil {
		t.Fatal(err)
	}
	actx := usher.WithPrincipal(context.Background(), p)
	g := newGate()
	type res struct {
		raw string
		err error
	}
	done := make(chan res, 1)
	go func() {
		raw, _, _, err := env.Core.Auth.Impersonate(context.WithValue(actx, liveReadKey{}, g), usher.UserKey{ID: pat.ID}, 0)
		done <- res{raw, err}
	}()
	<-g.reached
	if _, err := env.Core.Users.Delete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		close(g.release)
		t.Fatal(err)
	}
	mu.Lock()
	skew = 2 * time.Second // the impersonation signs a second or more after the deletion
	mu.Unlock()
	close(g.release)
	r := <-done
	if _, err := env.Core.Users.Undelete(as(admin), usher.UserKey{ID: pat.ID}); err != nil {
		t.Fatal(err)
	}
	if r.raw != "" {
		if ip, _, err := env.Core.Auth.CheckJWT(context.Background(), r.raw); err == nil && ip.UserID() == pat.ID {
			t.Errorf("after the undeletion, the impersonation JWT signed while pat was deleted works: acts as user %d", ip.UserID())
		}
	}
}

type liveReadKey struct{}

// liveReadStore pauses, once, a read outside any transaction (the
// store's own UserGet) of a context carrying a gate, after it read.
type liveReadStore struct{ store.Store }

func (s *liveReadStore) UserGet(ctx context.Context, key usher.UserKey) (*usher.User, error) {
	u, err := s.Store.UserGet(ctx, key)
	if g, ok := ctx.Value(liveReadKey{}).(*gate); ok {
		g.hold()
	}
	return u, err
}
