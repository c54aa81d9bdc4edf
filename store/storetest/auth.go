package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	c := &usher.Code{Kind: usher.CodeConfirm, Hash: []byte("c1"), UserID: a.ID, Data: "sealed",
		EmailKey: "alice@example.com", ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, c); err != nil || c.ID == 0 {
		t.Fatalf("CodeCreate: %v", err)
	}
	wantUnique(t, s.CodeCreate(ctx, &usher.Code{Kind: usher.CodeReset, Hash: []byte("c1"), ExpiresAt: base, CreatedAt: base}), "hash")
	got, err := s.CodeByHash(ctx, usher.CodeConfirm, []byte("c1"))
	if err != nil || got.ID != c.ID || got.UserID != a.ID || got.Data != "sealed" || got.EmailKey != c.EmailKey || !got.ExpiresAt.Equal(c.ExpiresAt) || got.UsedAt != nil {
		t.Fatalf("CodeByHash: %+v, %v", got, err)
	}
	_, err = s.CodeByHash(ctx, usher.CodeReset, []byte("c1"))
	wantNotFound(t, err)
	// Used once; a second use, or a use after expiry, finds nothing.
	if err := s.CodeUse(ctx, c.ID, base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.CodeUse(ctx, c.ID, base.Add(2*time.Minute)))
	late := &usher.Code{Kind: usher.CodeReset, Hash: []byte("c2"), ExpiresAt: base.Add(time.Minute), CreatedAt: base}
	if err := s.CodeCreate(ctx, late); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.CodeUse(ctx, late.ID, base.Add(time.Hour)))
	// A code learns its account later.
	redeem := &usher.Code{Kind: usher.CodeRedeem, Hash: []byte("c3"), ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, redeem); err != nil {
		t.Fatal(err)
	}
	if err := s.CodeSetUser(ctx, redeem.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.CodeByHash(ctx, usher.CodeRedeem, []byte("c3")); got.UserID != a.ID {
		t.Fatalf("CodeSetUser: %+v", got)
	}
	wantNotFound(t, s.CodeSetUser(ctx, c.ID, a.ID)) // used already
	// Deleting a user's unused codes of a kind.
	fresh := &usher.Code{Kind: usher.CodeConfirm, Hash: []byte("c4"), UserID: a.ID, ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.CodeDeleteUser(ctx, a.ID, usher.CodeConfirm); err != nil {
		t.Fatal(err)
	}
	_, err = s.CodeByHash(ctx, usher.CodeConfirm, []byte("c4"))
	wantNotFound(t, err)
	if _, err := s.CodeByHash(ctx, usher.CodeConfirm, []byte("c1")); err != nil {
		t.Fatalf("a used code was deleted with the unused ones: %v", err)
	}
	// Deleting the unused codes sent to one address, of some kinds.
	sent := map[string]*usher.Code{}
	for _, k := range []struct {
		hash, key string
		kind      usher.CodeKind
	}{{"old-confirm", "old@example.com", usher.CodeConfirm}, {"old-reset", "old@example.com", usher.CodeReset},
		{"old-device", "old@example.com", usher.CodeDevice}, {"new-confirm", "new@example.com", usher.CodeConfirm}} {
		sc := &usher.Code{Kind: k.kind, Hash: []byte(k.hash), UserID: a.ID, EmailKey: k.key,
			ExpiresAt: base.Add(time.Hour), CreatedAt: base}
		if err := s.CodeCreate(ctx, sc); err != nil {
			t.Fatal(err)
		}
		sent[k.hash] = sc
	}
	if err := s.CodeDeleteAddress(ctx, a.ID, "old@example.com", usher.CodeConfirm, usher.CodeReset); err != nil {
		t.Fatal(err)
	}
	for hash, gone := range map[string]bool{"old-confirm": true, "old-reset": true, "old-device": false, "new-confirm": false} {
		_, err := s.CodeByHash(ctx, sent[hash].Kind, []byte(hash))
		if gone != errors.Is(err, usher.ErrNotFound) {
			t.Errorf("CodeDeleteAddress: %s gone = %v, want %v", hash, !gone, gone)
		}
	}
	n, err := s.CodeDeleteExpired(ctx, base.Add(30*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("CodeDeleteExpired = %d, %v; want 1", n, err)
	}
}

func testCodeUsedOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := &usher.Code{Kind: usher.CodeReset, Hash: []byte("once"), ExpiresAt: base.Add(time.Hour), CreatedAt: base}
	if err := s.CodeCreate(ctx, c); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CodeUse(ctx, c.ID, base) })
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, usher.ErrNotFound) {
				t.Errorf("CodeUse: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent uses succeeded, want 1", wins.Load())
	}
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, kind := range []string{"confirm", "reset", "later"} {
		m := &usher.Mail{Kind: kind, To: kind + "@example.com", Lang: "de", Subject: "s " + kind, Body: "body " + kind,
			CreatedAt: base, NextAttemptAt: base.Add(time.Duration(i) * time.Minute), UserID: int64(i) * 7}
		if kind == "later" {
			m.NextAttemptAt = base.Add(time.Hour)
		}
		if err := s.OutboxAdd(ctx, m); err != nil || m.ID == 0 {
			t.Fatalf("OutboxAdd: %v", err)
		}
	}
	lease := base.Add(5 * time.Minute)
	got, err := s.OutboxClaim(ctx, base.Add(2*time.Minute), lease, 10)
	if err != nil || len(got) != 2 || got[0].Kind != "confirm" || got[1].Kind != "reset" || got[0].Body != "body confirm" || got[0].To != "confirm@example.com" || got[0].Lang != "de" ||
		got[0].UserID != 0 || got[1].UserID != 7 {
		t.Fatalf("first claim: %v, %v", got, err)
	}
	// Claimed mails are not due again until the lease ends.
	if again, _ := s.OutboxClaim(ctx, base.Add(3*time.Minute), lease, 10); len(again) != 0 {
		t.Fatalf("claimed twice: %v", again)
	}
	if err := s.OutboxSent(ctx, got[0].ID, base.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxFailed(ctx, got[1].ID, 1, base.Add(10*time.Minute), "451 try later"); err != nil {
		t.Fatal(err)
	}
	sent, err := s.OutboxGet(ctx, got[0].ID)
	if err != nil || sent.SentAt == nil || sent.Body != "" || sent.Attempts != 1 {
		t.Fatalf("sent mail: %+v, %v (the body must be wiped)", sent, err)
	}
	failed, _ := s.OutboxGet(ctx, got[1].ID)
	if failed.SentAt != nil || failed.Attempts != 1 || failed.LastError != "451 try later" || failed.Body != "body reset" {
		t.Fatalf("failed mail: %+v", failed)
	}
	due, _ := s.OutboxClaim(ctx, base.Add(2*time.Hour), base.Add(3*time.Hour), 10)
	if len(due) != 2 || due[0].Kind != "reset" || due[1].Kind != "later" {
		t.Fatalf("retry claim: %v", due)
	}
	// A mail given up is gone, body and all, and claimed no more.
	if err := s.OutboxDrop(ctx, due[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.OutboxGet(ctx, due[0].ID)
	wantNotFound(t, err)
	wantNotFound(t, s.OutboxDrop(ctx, due[0].ID))
	if due, _ := s.OutboxClaim(ctx, base.Add(4*time.Hour), base.Add(5*time.Hour), 10); len(due) != 1 || due[0].Kind != "later" {
		t.Fatalf("claim after a drop: %v", due)
	}
	_, err = s.OutboxGet(ctx, 9999)
	wantNotFound(t, err)
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 40
	for i := range n {
		if err := s.OutboxAdd(ctx, &usher.Mail{Kind: "k", To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Body: "b",
			CreatedAt: base, NextAttemptAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := s.OutboxClaim(ctx, base, base.Add(time.Hour), 3)
				if err != nil {
					t.Errorf("OutboxClaim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d mails claimed, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Fatalf("mail %d claimed %d times", id, times)
		}
	}
}

func testThrottles(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, err := s.ThrottleGet(ctx, "addr:192.0.2.1")
	wantNotFound(t, err)
	window := 15 * time.Minute
	var th *usher.Throttle
	for i := 1; i <= 3; i++ {
		now := base.Add(time.Duration(i) * time.Minute)
		th, err = s.ThrottleFail(ctx, "addr:192.0.2.1", now, now.Add(-window), time.Time{})
		if err != nil || th.Failures != i || !th.WindowStart.Equal(base.Add(time.Minute)) {
			t.Fatalf("failure %d: %+v, %v", i, th, err)
		}
	}
	until := base.Add(time.Hour)
	if err := s.ThrottleLock(ctx, "addr:192.0.2.1", until, until.Add(window)); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.LockedUntil == nil || !th.LockedUntil.Equal(until) || th.Failures != 3 {
		t.Fatalf("locked throttle: %+v", th)
	}
	// While the lock holds, nobody locks the key again; once it has
	// ended, the first to ask does, and the next finds it locked.
	if err := s.ThrottleRelock(ctx, "addr:192.0.2.1", until.Add(-time.Second), until.Add(time.Hour)); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("relock during the lock: %v, want ErrNotFound", err)
	}
	if err := s.ThrottleRelock(ctx, "addr:192.0.2.1", until, until.Add(time.Minute)); err != nil {
		t.Fatalf("relock at the lock's end: %v", err)
	}
	if err := s.ThrottleRelock(ctx, "addr:192.0.2.1", until, until.Add(2*time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("a second relock at the lock's end: %v, want ErrNotFound", err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.LockedUntil == nil || !th.LockedUntil.Equal(until.Add(time.Minute)) {
		t.Fatalf("relocked throttle: %+v", th)
	}
	if err := s.ThrottleRelock(ctx, "addr:192.0.2.9", until, until.Add(time.Minute)); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("relock of a key with no throttle: %v, want ErrNotFound", err)
	}
	// The lock an attempt took ends when the attempt succeeds, unless a
	// failure has locked the key since, for longer or shorter.
	for _, other := range []time.Duration{30 * time.Second, 2 * time.Minute} {
		if err := s.ThrottleUnlock(ctx, "addr:192.0.2.1", until.Add(other), until.Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
		if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); !th.LockedUntil.Equal(until.Add(time.Minute)) {
			t.Fatalf("a lock other than the one unlocked: %+v", th)
		}
	}
	if err := s.ThrottleUnlock(ctx, "addr:192.0.2.1", until.Add(time.Minute), until.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); !th.LockedUntil.Equal(until.Add(10 * time.Second)) {
		t.Fatalf("unlocked: %+v", th)
	}
	if err := s.ThrottleLock(ctx, "addr:192.0.2.1", until.Add(time.Minute), until.Add(time.Minute+window)); err != nil {
		t.Fatal(err)
	}
	until = until.Add(time.Minute)
	// A failure after the window, but while the key is remembered after
	// its lock, goes on counting: the locks of a key locked lately go on
	// growing.
	soon := until.Add(10 * time.Minute)
	if th, _ = s.ThrottleFail(ctx, "addr:192.0.2.1", soon, soon.Add(-window), time.Time{}); th.Failures != 4 || !th.WindowStart.Equal(base.Add(time.Minute)) {
		t.Fatalf("a failure soon after the lock: %+v", th)
	}
	// However long after the window and the lock's end, while it is
	// remembered.
	if err := s.ThrottleLock(ctx, "addr:192.0.2.1", until, until.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ThrottlePrune(ctx, until.Add(23*time.Hour), until.Add(23*time.Hour)); err != nil || n != 0 {
		t.Fatalf("ThrottlePrune of a key remembered: %d, %v", n, err)
	}
	long := until.Add(23 * time.Hour)
	if th, _ = s.ThrottleFail(ctx, "addr:192.0.2.1", long, long.Add(-window), time.Time{}); th.Failures != 5 || !th.WindowStart.Equal(base.Add(time.Minute)) {
		t.Fatalf("a failure long after the lock, remembered: %+v", th)
	}
	// A failure after the window and once the key is remembered no longer
	// starts counting again.
	later := until.Add(25 * time.Hour)
	if th, _ = s.ThrottleFail(ctx, "addr:192.0.2.1", later, later.Add(-window), time.Time{}); th.Failures != 1 || !th.WindowStart.Equal(later) || th.LockedUntil != nil {
		t.Fatalf("new window: %+v", th)
	}
	if err := s.ThrottleForgive(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.Failures != 0 {
		t.Fatalf("after forgiving: %+v", th)
	}
	if err := s.ThrottleForgive(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if th, _ = s.ThrottleGet(ctx, "addr:192.0.2.1"); th.Failures != 0 {
		t.Fatalf("failures went below zero: %+v", th)
	}
	if err := s.ThrottleClear(ctx, "addr:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.ThrottleGet(ctx, "addr:192.0.2.1")
	wantNotFound(t, err)
	// Pruning keeps what still counts or still locks.
	for _, k := range []string{"old", "locked", "recent"} {
		at := base
		if k == "recent" {
			at = base.Add(time.Hour)
		}
		if _, err := s.ThrottleFail(ctx, k, at, at.Add(-window), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ThrottleLock(ctx, "locked", base.Add(2*time.Hour), base.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ThrottlePrune(ctx, base.Add(30*time.Minute), base.Add(45*time.Minute)); err != nil || n != 1 {
		t.Fatalf("ThrottlePrune = %d, %v; want 1", n, err)
	}
	_, err = s.ThrottleGet(ctx, "old")
	wantNotFound(t, err)
	// A key whose failures are remembered goes on counting past its
	// window, locked or not, until the last failure's remember time.
	for i, at := range []time.Duration{0, time.Hour, 3 * time.Hour} {
		now := base.Add(at)
		if th, err := s.ThrottleFail(ctx, "login:kim", now, now.Add(-window), now.Add(150*time.Minute)); err != nil || th.Failures != i+1 {
			t.Fatalf("a remembered failure %d: %+v, %v", i+1, th, err)
		}
	}
	if _, err := s.ThrottlePrune(ctx, base.Add(4*time.Hour), base.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if th, err := s.ThrottleGet(ctx, "login:kim"); err != nil || th.Failures != 3 {
		t.Fatalf("a key remembered, pruned: %+v, %v", th, err)
	}
	now := base.Add(6 * time.Hour)
	if th, err := s.ThrottleFail(ctx, "login:kim", now, now.Add(-window), time.Time{}); err != nil || th.Failures != 1 || th.LockedUntil != nil {
		t.Fatalf("a failure once no longer remembered: %+v, %v", th, err)
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, id := range []string{"k1", "k2"} {
		k := &usher.SigningKey{ID: id, Algorithm: "EdDSA", Private: "sealed-" + id, Public: []byte{byte(i), 0, 255},
			CreatedAt: base.Add(time.Duration(i) * time.Hour), Lifetime: time.Duration(i) * 90 * time.Minute}
		if err := s.SigningKeyAdd(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	// A lifetime is only ever raised, in whole seconds rounded up.
	for _, d := range []time.Duration{time.Hour, 10 * time.Minute, 2*time.Hour + time.Millisecond} {
		if err := s.SigningKeyLifetime(ctx, "k2", d); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SigningKeyLifetime(ctx, "nobody", time.Hour); err != nil {
		t.Fatalf("SigningKeyLifetime of an unknown key: %v", err)
	}
	if err := s.SigningKeyRetire(ctx, "k1", base.Add(2*time.Hour), base.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.SigningKeyRetire(ctx, "k1", base.Add(3*time.Hour), base.Add(5*time.Hour)))
	keys, err := s.SigningKeyList(ctx)
	if err != nil || len(keys) != 2 || keys[0].ID != "k1" || keys[0].RetiredAt == nil || keys[1].RetiredAt != nil ||
		keys[1].Private != "sealed-k2" || string(keys[1].Public) != string([]byte{1, 0, 255}) {
		t.Fatalf("SigningKeyList: %+v, %v", keys, err)
	}
	if keys[0].VerifyUntil == nil || !keys[0].VerifyUntil.Equal(base.Add(4*time.Hour)) || keys[1].VerifyUntil != nil ||
		keys[0].Lifetime != 0 || keys[1].Lifetime != 2*time.Hour+time.Second {
		t.Fatalf("SigningKeyList: verify-until %v, %v; lifetimes %v, %v", keys[0].VerifyUntil, keys[1].VerifyUntil, keys[0].Lifetime, keys[1].Lifetime)
	}
	if err := s.SigningKeyDelete(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.SigningKeyDelete(ctx, "k1"))
	keys, err = s.SigningKeyList(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != "k2" {
		t.Fatalf("SigningKeyList after delete: %+v, %v", keys, err)
	}
}

// testKnownDevices: a device is unknown until put, then known with its
// latest sign-in; devices are counted per user, and go with the user.
func testKnownDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("dev-a", "", ""))
	b := mustCreateUser(t, s, newUser("dev-b", "", ""))
	if _, err := s.KnownDeviceGet(ctx, a.ID, "h1"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if n, err := s.KnownDeviceCount(ctx, a.ID); err != nil || n != 0 {
		t.Fatalf("count before: %d, %v", n, err)
	}
	for _, at := range []time.Time{base, base.Add(time.Hour)} {
		if err := s.KnownDevicePut(ctx, a.ID, "h1", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KnownDevicePut(ctx, a.ID, "h2", base); err != nil {
		t.Fatal(err)
	}
	if at, err := s.KnownDeviceGet(ctx, a.ID, "h1"); err != nil || !at.Equal(base.Add(time.Hour)) {
		t.Fatalf("KnownDeviceGet = %v, %v; want the latest sign-in", at, err)
	}
	if _, err := s.KnownDeviceGet(ctx, b.ID, "h1"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("another user's device: %v", err)
	}
	if n, err := s.KnownDeviceCount(ctx, a.ID); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
	if n, _ := s.KnownDeviceCount(ctx, b.ID); n != 0 {
		t.Fatalf("b's count = %d", n)
	}
	// Trimming forgets the devices seen before the time and all but the
	// ones seen last, of one user only.
	for i := range 4 {
		if err := s.KnownDevicePut(ctx, a.ID, fmt.Sprintf("t%d", i), base.Add(time.Duration(2+i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.KnownDevicePut(ctx, b.ID, "old", base); err != nil {
		t.Fatal(err)
	}
	// a: h2 (base), h1 (base+1h), t0..t3 (base+2h..5h).
	if n, err := s.KnownDeviceTrim(ctx, a.ID, base.Add(30*time.Minute), 3); err != nil || n != 3 {
		t.Fatalf("KnownDeviceTrim = %d, %v; want 3 (h2 by its age, h1 and t0 past the count)", n, err)
	}
	for _, h := range []string{"t1", "t2", "t3"} {
		if _, err := s.KnownDeviceGet(ctx, a.ID, h); err != nil {
			t.Fatalf("device %s after the trim: %v", h, err)
		}
	}
	if n, _ := s.KnownDeviceCount(ctx, a.ID); n != 3 {
		t.Fatalf("count after the trim = %d, want 3", n)
	}
	if n, _ := s.KnownDeviceCount(ctx, b.ID); n != 1 {
		t.Fatalf("another user's devices after the trim: %d, want 1", n)
	}
}
