package core

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif"  // registers GIF for avatars
	_ "image/jpeg" // registers JPEG for avatars
	_ "image/png"  // registers PNG for avatars
	"strconv"

	"usher"
	"usher/store"
)

// Avatars manages users' pictures.
type Avatars struct{ *env }

// Limits on avatars.
const (
	maxAvatarBytes = 1 << 20
	maxAvatarSide  = 2048
)

func errAvatarNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeAvatarNotFound, Message: "avatar not found"}
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
	case err == nil && !u.Deleted():
		id = u.ID
	case err != nil && !errors.Is(err, usher.ErrNotFound):
		return nil, err
	}
	av, err := a.store.AvatarGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errAvatarNotFound()
	}
	return av, err
}

// Set stores a user's avatar: a PNG, JPEG or GIF of at most 1 MiB and
// 2048 pixels a side, its type judged from its bytes.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (not such an
// image), TooLarge.
func (a *Avatars) Set(ctx context.Context, key usher.UserKey, data []byte) (*usher.Avatar, error) {
	u, err := a.owner(ctx, key, actAvatarWrite)
	if err != nil {
		return nil, err
	}
	if len(data) > maxAvatarBytes {
		return nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeAvatarTooLarge, Message: "the image is over 1 MiB"}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeNotAnImage, Message: "is not a PNG, JPEG or GIF image"})
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeBadSize, Message: "must be 1 to 2048 pixels a side"})
	}
	// The header may lie; decoding the whole picture proves it is one.
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return nil, usher.FieldErrors(usher.FieldError{Field: "avatar", Code: usher.CodeNotAnImage, Message: "is a damaged " + format + " image"})
	}
	sum := sha256.Sum256(data)
	av := &usher.Avatar{UserID: u.ID, ContentType: "image/" + format, Data: data,
		ETag: hex.EncodeToString(sum[:8]), UpdatedAt: a.now()}
	err = a.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AvatarPut(ctx, av); err != nil {
			return err
		}
		if _, err := tx.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.AvatarETag = av.ETag; return nil }); err != nil {
			return err
		}
		return a.record(ctx, tx, av.UpdatedAt, event{action: "avatar.set", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			changes: map[string]usher.Change{"avatar": {Old: u.AvatarETag, New: av.ETag}}})
	})
	if err != nil {
		return nil, err
	}
	return av, nil
}

// Delete removes a user's avatar.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (a *Avatars) Delete(ctx context.Context, key usher.UserKey) error {
	u, err := a.owner(ctx, key, actAvatarWrite)
	if err != nil {
		return err
	}
	return a.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.AvatarDelete(ctx, u.ID); err != nil {
			if errors.Is(err, usher.ErrNotFound) {
				return errAvatarNotFound()
			}
			return err
		}
		if _, err := tx.UserUpdate(ctx, u.ID, func(u *usher.User) error { u.AvatarETag = ""; return nil }); err != nil {
			return err
		}
		return a.record(ctx, tx, a.now(), event{action: "avatar.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10)})
	})
}
