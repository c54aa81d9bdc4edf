package storetest

import (
	"context"
	"testing"
	"time"

	"usher"
	"usher/store"
)

func testSSHKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	b := mustCreateUser(t, s, newUser("bob", "", ""))
	k := &usher.SSHKey{UserID: a.ID, Title: "laptop", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one", CreatedAt: base}
	if err := s.KeyAdd(ctx, k); err != nil || k.ID == 0 {
		t.Fatalf("KeyAdd: %v", err)
	}
	wantUnique(t, s.KeyAdd(ctx, &usher.SSHKey{UserID: b.ID, Title: "x", Key: "ssh-ed25519 AAAA", Fingerprint: "SHA256:one", CreatedAt: base}), "fingerprint")
	exp := base.Add(time.Hour)
	if err := s.KeyAdd(ctx, &usher.SSHKey{UserID: a.ID, Title: "desktop", Key: "k2", Fingerprint: "SHA256:two", CreatedAt: base, ExpiresAt: &exp, AddedByAdmin: b.ID}); err != nil {
		t.Fatal(err)
	}
	if byAdmin, err := s.KeysAddedByAdmin(ctx, b.ID); err != nil || len(byAdmin) != 1 || byAdmin[0].Title != "desktop" || byAdmin[0].AddedByAdmin != b.ID {
		t.Fatalf("KeysAddedByAdmin: %+v, %v", byAdmin, err)
	}
	if byAdmin, err := s.KeysAddedByAdmin(ctx, a.ID); err != nil || len(byAdmin) != 0 {
		t.Fatalf("KeysAddedByAdmin of one who added none: %+v, %v", byAdmin, err)
	}
	list, _ := s.KeyList(ctx, a.ID)
	if len(list) != 2 || list[0].Title != "laptop" || list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(exp) {
		t.Fatalf("KeyList: %+v", list)
	}
	if got, err := s.KeyGet(ctx, k.ID); err != nil || got.Fingerprint != "SHA256:one" || got.UserID != a.ID {
		t.Fatalf("KeyGet: %+v, %v", got, err)
	}
	// An expiry set, moved and taken off again; the other key keeps its own.
	for _, set := range []*time.Time{&exp, new(base.Add(-time.Minute)), nil} {
		if err := s.KeySetExpiry(ctx, k.ID, set); err != nil {
			t.Fatalf("KeySetExpiry(%v): %v", set, err)
		}
		got, err := s.KeyGet(ctx, k.ID)
		if err != nil || (got.ExpiresAt == nil) != (set == nil) || set != nil && !got.ExpiresAt.Equal(*set) {
			t.Fatalf("after KeySetExpiry(%v): %+v, %v", set, got, err)
		}
	}
	if list, _ := s.KeyList(ctx, a.ID); len(list) != 2 || list[1].ExpiresAt == nil || !list[1].ExpiresAt.Equal(exp) {
		t.Fatalf("the other key after KeySetExpiry: %+v", list)
	}
	wantNotFound(t, s.KeySetExpiry(ctx, k.ID+1000, &exp))
	if err := s.KeyDelete(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.KeyDelete(ctx, k.ID))
	_, err := s.KeyGet(ctx, k.ID)
	wantNotFound(t, err)
}
