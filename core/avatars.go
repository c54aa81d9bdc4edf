package core

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"strconv"

	"usher"
	"usher/store"
)

// Avatars manages users' pictures. An avatar is an attachment of kind
// avatar, owned by its user, its bytes in the blob store; avatars set
// before attachments existed are still read from the avatars table until
// they are replaced or deleted.
type Avatars struct{ *env }

// Limits on avatars.
const (
	maxAvatarBytes = 1 << 20
	maxAvatarSide  = 2048
)

func errAvatarNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeAvatarNotFound, Message: "avatar not found"}
}

// avatarTag is the entity tag of an avatar with the checksum: the first 8
// bytes of its SHA-256, as avatars always had.
func avatarTag(checksum string) string {
	if len(checksum) < 16 {
		return checksum
	}
	return checksum[:16]
}

// Get returns a user's avatar. Avatars are public: anyone may fetch one, so
// a user without one, a deleted user and a name nobody holds get the same
// answer, by the same steps, so that neither it nor its time tells which
// names exist.
//
// Errors: NotFound (no avatar to show), Invalid (a malformed key).
func (a *Avatars) Get(ctx context.Context, key usher.UserKey) (*usher.Avatar, error) {
	if key.Email != "" || key.ExternalID != "" {
		return nil, errAvatarNotFound()
	}
	if err := checkKey(&usher.Principal{Kind: usher.PrincipalSystem}, &key); err != nil {
		return nil, err
	}
	var id int64 // no user has id 0, so no avatar is found for it
	u, err := a.store.UserGet(ctx, key)
	switch {
	case err == nil && !u.Deleted() && fits(u, key):
		id = u.ID
	case err != nil && !errors.Is(err, usher.ErrNotFound):
		return nil, err
	}
	list, err := a.store.AttachmentsOf(ctx, id, usher.AttachmentAvatar)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		// One set before avatars were attachments.
		av, err := a.store.AvatarGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) {
			return nil, errAvatarNotFound()
		}
		return av, err
	}
	at := list[len(list)-1]
	rc, err := a.blobs.Get(ctx, at.BlobKey)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return &usher.Avatar{UserID: id, ContentType: at.ContentType, Data: data, ETag: avatarTag(at.Checksum), UpdatedAt: at.CreatedAt}, nil
}

// Set stores a user's avatar: a PNG, JPEG or GIF of at most 1 MiB and
// 2048 pixels a side, its type judged from its bytes. It replaces the
// user's avatar attachment, whose bytes are removed once the change
// commits.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (not such an
// image), TooLarge, RateLimited (too many images being decoded at once).
func (a *Avatars) Set(ctx context.Context, key usher.UserKey, data []byte) (*usher.Avatar, error) {
	u, err := a.owner(ctx, key, actAvatarWrite)
	if err != nil {
		return nil, err
	}
	if len(data) > maxAvatarBytes {
		return nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeAvatarTooLarge, Message: "the image is over 1 MiB"}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "png" && format != "jpeg" && format != "gif") {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeNotAnImage, Message: "is not a PNG, JPEG or GIF image"})
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeBadSize, Message: "must be 1 to 2048 pixels a side"})
	}
	var scan jpegScan
	if format == "jpeg" {
		switch scan, err = jpegScanBlocks(bytes.NewReader(data), maxJPEGScanBlocks); {
		case err != nil:
			return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeNotAnImage, Message: "is a damaged jpeg image"})
		case scan.blocks > maxJPEGScanBlocks:
			return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeTooLarge,
				Message: "is a JPEG of more scans than an avatar may take to decode"})
		}
	}
	// The header may lie; decoding the whole picture proves it is one.
	// Decoding holds the whole picture — 32 MiB for 2048 pixels a side of
	// 16-bit colour, from a file of a few KiB — so the size its header
	// gives is taken from the budget that previews share, as theirs is.
	release, err := a.holdDecoding(ctx, imageCost(cfg, format, data, scan))
	if err != nil {
		return nil, err
	}
	_, _, err = image.Decode(bytes.NewReader(data))
	release()
	if err != nil {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeNotAnImage, Message: "is a damaged " + format + " image"})
	}
	at, _, err := describe(usher.AttachmentAvatar, u.ID, "avatar."+format, bytes.NewReader(data), maxAvatarBytes)
	if err != nil {
		return nil, err
	}
	at.ContentType = "image/" + format
	av := &usher.Avatar{UserID: u.ID, ContentType: at.ContentType, Data: data, ETag: avatarTag(at.Checksum)}
	err = a.saveAttachment(ctx, at, data, func(tx store.Tx, drop *[]string) error {
		av.UpdatedAt = at.CreatedAt
		if _, err := removeAvatars(ctx, tx, u.ID, at.ID, drop); err != nil {
			return err
		}
		if _, err := tx.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.AvatarETag = av.ETag; return nil }); err != nil {
			return err
		}
		return a.record(ctx, tx, av.UpdatedAt, event{action: "avatar.set", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: map[string]usher.Change{"avatar": {Old: u.AvatarETag, New: av.ETag}},
			meta:    map[string]string{"attachment": strconv.FormatInt(at.ID, 10)}})
	})
	if err != nil {
		return nil, err
	}
	return av, nil
}

// removeAvatars removes within tx the user's avatar attachments but keep
// (0 for all), listing their blobs in drop, and the avatar of the table
// that came before. It reports whether there was one to remove.
func removeAvatars(ctx context.Context, tx store.Tx, userID, keep int64, drop *[]string) (bool, error) {
	list, err := tx.AttachmentsOf(ctx, userID, usher.AttachmentAvatar)
	if err != nil {
		return false, err
	}
	found := false
	for _, old := range list {
		if old.ID == keep {
			continue
		}
		if err := tx.AttachmentDelete(ctx, old.ID); err != nil {
			return false, err
		}
		*drop = append(*drop, blobsOf(old)...)
		found = true
	}
	switch err := tx.AvatarDelete(ctx, userID); {
	case err == nil:
		found = true
	case !errors.Is(err, usher.ErrNotFound):
		return false, err
	}
	return found, nil
}

// clearAvatarTag forgets the user's avatar tag when it is the one of the
// avatar with the checksum, deleted within tx.
func clearAvatarTag(ctx context.Context, tx store.Tx, userID int64, checksum string) error {
	_, err := tx.UserUpdate(ctx, userID, func(u *usher.User) error {
		if u.AvatarETag == avatarTag(checksum) {
			u.AvatarETag = ""
		}
		return nil
	})
	if errors.Is(err, usher.ErrNotFound) {
		return nil
	}
	return err
}

// Delete removes a user's avatar.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Avatars) Delete(ctx context.Context, key usher.UserKey) error {
	u, err := a.owner(ctx, key, actAvatarWrite)
	if err != nil {
		return err
	}
	var drop []string
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		drop = drop[:0]
		// The account's row before its files' (saveAttachment).
		if err := lockUser(ctx, tx, u.ID); err != nil {
			return err
		}
		found, err := removeAvatars(ctx, tx, u.ID, 0, &drop)
		if err != nil {
			return err
		}
		if !found {
			return errAvatarNotFound()
		}
		if _, err := tx.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.AvatarETag = ""; return nil }); err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "avatar.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10)})
	})
	if err != nil {
		return err
	}
	a.dropBlobs(ctx, drop)
	return nil
}
