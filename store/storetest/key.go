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
	if err := s.KeyDelete(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.KeyDelete(ctx, k.ID))
	_, err := s.KeyGet(ctx, k.ID)
	wantNotFound(t, err)
}
