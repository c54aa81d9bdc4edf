package storetest

import (
	"context"
	"errors"
	"testing"

	"usher"
	"usher/store"
)

func newAttachment(kind usher.AttachmentKind, owner int64, key string) *usher.Attachment {
	return &usher.Attachment{Kind: kind, OwnerID: owner, Name: `a "quoted" name.png`, Size: 1234,
		ContentType: "image/png", Checksum: "abc123", Width: 640, Height: 480, BlobKey: key, CreatedAt: base}
}

func mustAddAttachment(t *testing.T, s store.Store, a *usher.Attachment) *usher.Attachment {
	t.Helper()
	if err := s.AttachmentAdd(context.Background(), a); err != nil || a.ID == 0 {
		t.Fatalf("AttachmentAdd: %v", err)
	}
	return a
}

func testAttachments(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice := mustCreateUser(t, s, newUser("alice", "", ""))
	a1 := mustAddAttachment(t, s, newAttachment(usher.AttachmentGeneral, alice.ID, "a/1"))
	a2 := mustAddAttachment(t, s, newAttachment(usher.AttachmentAvatar, alice.ID, "a/2"))
	a3 := mustAddAttachment(t, s, newAttachment(usher.AttachmentAvatar, alice.ID, "a/3"))
	orphanAt := newAttachment(usher.AttachmentSetting, 0, "a/4")
	orphanAt.Setting = "ui.logo"
	orphan := mustAddAttachment(t, s, orphanAt)

	got, err := s.AttachmentGet(ctx, a1.ID)
	if err != nil || *got != *a1 {
		t.Fatalf("AttachmentGet = %+v, %v; want %+v", got, err, a1)
	}
	if got, _ := s.AttachmentGet(ctx, orphan.ID); got.OwnerID != 0 || got.Kind != usher.AttachmentSetting || got.Setting != "ui.logo" {
		t.Fatalf("an attachment without owner: %+v", got)
	}
	_, err = s.AttachmentGet(ctx, 99999)
	wantNotFound(t, err)

	// A blob key names one attachment.
	if err := s.AttachmentAdd(ctx, newAttachment(usher.AttachmentGeneral, alice.ID, "a/1")); !errors.Is(err, usher.ErrExists) {
		t.Fatalf("a second row for a blob key: %v, want ErrExists", err)
	}
	// An owner that is no user.
	if err := s.AttachmentAdd(ctx, newAttachment(usher.AttachmentGeneral, 99999, "a/9")); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("an unknown owner: %v, want ErrNotFound", err)
	}

	avatars, err := s.AttachmentsOf(ctx, alice.ID, usher.AttachmentAvatar)
	if err != nil || len(avatars) != 2 || avatars[0].ID != a2.ID || avatars[1].ID != a3.ID {
		t.Fatalf("AttachmentsOf = %v, %v", avatars, err)
	}

	// The first preview sticks.
	if err := s.AttachmentSetPreview(ctx, a1.ID, "a/1.preview", "image/png"); err != nil {
		t.Fatalf("AttachmentSetPreview: %v", err)
	}
	wantNotFound(t, s.AttachmentSetPreview(ctx, a1.ID, "a/1.other", "image/jpeg"))
	wantNotFound(t, s.AttachmentSetPreview(ctx, 99999, "x", "image/png"))
	if got, _ := s.AttachmentGet(ctx, a1.ID); got.PreviewKey != "a/1.preview" || got.PreviewType != "image/png" {
		t.Fatalf("preview = %q %q", got.PreviewKey, got.PreviewType)
	}

	if err := s.AttachmentDelete(ctx, a2.ID); err != nil {
		t.Fatalf("AttachmentDelete: %v", err)
	}
	wantNotFound(t, s.AttachmentDelete(ctx, a2.ID))
	_, err = s.AttachmentGet(ctx, a2.ID)
	wantNotFound(t, err)

	// Purging the owner keeps the rows, without an owner, so that their
	// blobs stay named.
	if err := s.UserPurge(ctx, alice.ID); err != nil {
		t.Fatalf("UserPurge: %v", err)
	}
	if got, err := s.AttachmentGet(ctx, a3.ID); err != nil || got.OwnerID != 0 {
		t.Fatalf("after purge: %+v, %v", got, err)
	}
}
