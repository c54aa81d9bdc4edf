package core

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF for avatars
	_ "image/jpeg" // registers JPEG for avatars
	_ "image/png"  // registers PNG for avatars
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"usher"
	"usher/store"
)

// owner finds a live user for an action on what belongs to them. Users are
// public, so whether one exists is no secret; what belongs to them is
// decided by authorize.
func (e *env) owner(ctx context.Context, key usher.UserKey, act action) (*usher.User, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, errUnauthenticated()
	}
	u, err := findUser(ctx, e.store, p, key, liveOnly)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, act, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Keys manages users' SSH public keys.
type Keys struct{ *env }

// errKeyNotFound is the answer for a key that does not exist or is not the
// user's.
func errKeyNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeSSHKeyNotFound, Message: "SSH key not found"}
}

// Limits on SSH keys.
const (
	// maxKeyText bounds a whole authorized_keys line: a 16384-bit RSA key
	// with a full comment is under 3 KiB.
	maxKeyText = 8 << 10
	// maxKeyComment bounds the comment after the key, in characters, as
	// GitLab bounds a key's title.
	maxKeyComment = 255
	// minRSABits is NIST's floor for RSA (SP 800-131A) and GitLab's default
	// restriction; maxRSABits is OpenSSH's ceiling.
	minRSABits = 2048
	maxRSABits = 16384
)

// keyTypes are the key types accepted. DSA (ssh-dss) is not one: its keys
// are 1024 bits, too few, and OpenSSH has dropped it. Certificates are not
// keys to add either.
var keyTypes = map[string]bool{
	ssh.KeyAlgoRSA: true, ssh.KeyAlgoED25519: true,
	ssh.KeyAlgoECDSA256: true, ssh.KeyAlgoECDSA384: true, ssh.KeyAlgoECDSA521: true,
	ssh.KeyAlgoSKECDSA256: true, ssh.KeyAlgoSKED25519: true,
}

// keyError is a problem with the key field.
func keyError(code, message string) error {
	return usher.FieldErrors(usher.FieldError{Field: "key", Code: code, Message: message})
}

// parseKey checks an authorized_keys line and returns it normalised and its
// SHA256 fingerprint. The key must be of an accepted type and strength and
// its comment short, printable text.
func parseKey(text string) (normal, fingerprint string, err error) {
	text = strings.TrimSpace(text)
	if len(text) > maxKeyText {
		return "", "", keyError(usher.CodeTooLong, "is longer than "+strconv.Itoa(maxKeyText)+" bytes")
	}
	pub, comment, options, rest, perr := ssh.ParseAuthorizedKey([]byte(text))
	switch {
	case text == "":
		return "", "", keyError(usher.CodeRequired, "is required")
	case perr != nil:
		return "", "", keyError(usher.CodeInvalid, "is not a valid SSH public key")
	case len(options) > 0:
		return "", "", keyError(usher.CodeInvalid, "must not carry authorized_keys options")
	case len(bytes.TrimSpace(rest)) > 0:
		return "", "", keyError(usher.CodeInvalid, "must be one key")
	case !keyTypes[pub.Type()]:
		// GitLab's words for a key type its settings forbid.
		return "", "", keyError(usher.CodeUnsupportedType, "type is forbidden. Must be RSA, ECDSA, ED25519, ECDSA_SK, or ED25519_SK")
	}
	if err := checkRSA(pub); err != nil {
		return "", "", err
	}
	var c checker
	if c.name("key", comment, maxKeyComment, false); len(c.errs) > 0 {
		return "", "", keyError(usher.CodeInvalidComment, "has a comment that "+c.errs[0].Message)
	}
	normal = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		normal += " " + comment
	}
	return normal, ssh.FingerprintSHA256(pub), nil
}

// checkRSA refuses an RSA key of fewer than 2048 bits, in GitLab's words,
// or of more than 16384.
func checkRSA(pub ssh.PublicKey) error {
	ck, ok := pub.(ssh.CryptoPublicKey)
	if !ok {
		return nil
	}
	rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
	if !ok {
		return nil
	}
	switch bits := rk.N.BitLen(); {
	case bits < minRSABits:
		return keyError(usher.CodeWeakKey, fmt.Sprintf("must be at least %d bits", minRSABits))
	case bits > maxRSABits:
		return keyError(usher.CodeTooLarge, fmt.Sprintf("must be at most %d bits", maxRSABits))
	}
	return nil
}

// Add adds an SSH key to a user. A key (by fingerprint) belongs to one user
// only.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a malformed
// key, a missing title, an expiry in the past), Conflict (the key is taken;
// the field errors name fingerprint and key).
func (k *Keys) Add(ctx context.Context, key usher.UserKey, title, text string, expires *time.Time) (*usher.SSHKey, error) {
	u, err := k.owner(ctx, key, actKeyWrite)
	if err != nil {
		return nil, err
	}
	var c checker
	c.name("title", title, maxProfile, true)
	normal, fp, kerr := parseKey(text)
	if kerr != nil {
		c.errs = append(c.errs, usher.AsError(kerr).Fields...)
	}
	now := k.now()
	if expires != nil && !expires.After(now) {
		c.add("expires_at", usher.CodeInPast, "must be in the future")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	sk := &usher.SSHKey{UserID: u.ID, Title: title, Key: normal, Fingerprint: fp, CreatedAt: now}
	if expires != nil {
		t := expires.UTC().Truncate(time.Microsecond)
		sk.ExpiresAt = &t
	}
	err = k.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.KeyAdd(ctx, sk); err != nil {
			return err
		}
		return k.record(ctx, tx, now, event{action: "ssh_key.add", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"key_id": strconv.FormatInt(sk.ID, 10), "fingerprint": fp, "title": title}})
	})
	if errors.Is(err, usher.ErrExists) {
		return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeSSHKeyTaken, Message: "the key has already been taken",
			Fields: []usher.FieldError{{Field: "fingerprint", Code: usher.CodeTaken, Message: "has already been taken"},
				{Field: "key", Code: usher.CodeTaken, Message: "has already been taken"}}}
	}
	if err != nil {
		return nil, err
	}
	return sk, nil
}

// List returns a user's SSH keys.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (k *Keys) List(ctx context.Context, key usher.UserKey) ([]*usher.SSHKey, error) {
	u, err := k.owner(ctx, key, actKeyRead)
	if err != nil {
		return nil, err
	}
	return k.store.KeyList(ctx, u.ID)
}

// Get returns one of a user's SSH keys.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (k *Keys) Get(ctx context.Context, key usher.UserKey, id int64) (*usher.SSHKey, error) {
	u, err := k.owner(ctx, key, actKeyRead)
	if err != nil {
		return nil, err
	}
	sk, err := k.store.KeyGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && sk.UserID != u.ID) {
		return nil, errKeyNotFound()
	}
	return sk, err
}

// Delete deletes one of a user's SSH keys.
//
// Errors: Unauthenticated, Forbidden, NotFound (the user, or the key).
func (k *Keys) Delete(ctx context.Context, key usher.UserKey, id int64) error {
	u, err := k.owner(ctx, key, actKeyWrite)
	if err != nil {
		return err
	}
	return k.store.InTx(ctx, func(tx store.Tx) error {
		sk, err := tx.KeyGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && sk.UserID != u.ID) {
			return errKeyNotFound()
		}
		if err != nil {
			return err
		}
		if err := tx.KeyDelete(ctx, id); err != nil {
			return err
		}
		return k.record(ctx, tx, k.now(), event{action: "ssh_key.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"key_id": strconv.FormatInt(id, 10), "fingerprint": sk.Fingerprint}})
	})
}

// Emails manages users' secondary e-mail addresses.
type Emails struct{ *env }

func errEmailNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeEmailNotFound, Message: "e-mail address not found"}
}

// Add adds a secondary address to a user. One added by an administrator
// for someone else, or with skipConfirmation by an administrator, is
// confirmed at once; otherwise a confirmation code is mailed to it. A
// confirmed address is unique across the primary and confirmed secondary
// addresses of all users; an unconfirmed one reserves nothing, and expires
// unconfirmed after the policy's ConfirmTTL.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable, Conflict
// (the address is confirmed by another account, or is the user's already).
func (m *Emails) Add(ctx context.Context, key usher.UserKey, addr string, skipConfirmation bool) (*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailWrite)
	if err != nil {
		return nil, err
	}
	var c checker
	c.email("email", addr, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	if usher.EmailKey(addr) == usher.EmailKey(u.Email) {
		return nil, &usher.Error{Kind: usher.KindConflict, Code: usher.CodeEmailTaken, Message: "email is the user's primary address",
			Fields: []usher.FieldError{{Field: "email", Code: usher.CodeTaken, Message: "is the user's primary address"}}}
	}
	p := usher.PrincipalFrom(ctx)
	now := m.now()
	e := &usher.Email{UserID: u.ID, Email: addr, CreatedAt: now}
	confirm := !(p.IsAdmin() && (skipConfirmation || !self(p, u)))
	if confirm {
		if err := m.addressMail(ctx, addr); err != nil {
			return nil, err
		}
	}
	if !confirm {
		e.ConfirmedAt = &now
	}
	err = m.store.InTx(ctx, func(tx store.Tx) error {
		// An address another account holds (as its primary, or confirmed)
		// is refused at once, as GitLab does; one merely added elsewhere
		// is not held by anyone.
		holder, err := tx.EmailHolder(ctx, usher.EmailKey(addr))
		if err == nil && holder != u.ID {
			return &usher.UniqueError{Field: "email"}
		}
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return err
		}
		if err := tx.EmailAdd(ctx, e); err != nil {
			return err
		}
		if confirm {
			code, _, err := m.issueCode(ctx, tx, usher.CodeConfirm, u.ID, addr, m.policy.ConfirmTTL, "email:"+strconv.FormatInt(e.ID, 10))
			if err != nil {
				return err
			}
			body := "Hello " + u.Username + ",\n\nconfirm that this address is yours with this code:\n\n    " + code + "\n\n" +
				"Send it with POST " + m.policy.PublicURL + "/v1/auth/confirm-email {\"code\": \"...\"}.\n"
			if err := m.queueMail(ctx, tx, "confirm_email", addr, "Confirm your e-mail address", body); err != nil {
				return err
			}
		}
		return m.record(ctx, tx, now, event{action: "email.add", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"email": addr, "email_id": strconv.FormatInt(e.ID, 10)}})
	})
	if err != nil {
		return nil, userWriteError(err)
	}
	if confirm {
		m.mailQueued()
	}
	return e, nil
}

// List returns a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (m *Emails) List(ctx context.Context, key usher.UserKey) ([]*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailRead)
	if err != nil {
		return nil, err
	}
	return m.store.EmailList(ctx, u.ID)
}

// Get returns one of a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (m *Emails) Get(ctx context.Context, key usher.UserKey, id int64) (*usher.Email, error) {
	u, err := m.owner(ctx, key, actEmailRead)
	if err != nil {
		return nil, err
	}
	e, err := m.store.EmailGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) || (err == nil && e.UserID != u.ID) {
		return nil, errEmailNotFound()
	}
	return e, err
}

// Delete removes one of a user's secondary addresses.
//
// Errors: Unauthenticated, Forbidden, NotFound (the user, or the address).
func (m *Emails) Delete(ctx context.Context, key usher.UserKey, id int64) error {
	u, err := m.owner(ctx, key, actEmailWrite)
	if err != nil {
		return err
	}
	return m.store.InTx(ctx, func(tx store.Tx) error {
		e, err := tx.EmailGet(ctx, id)
		if errors.Is(err, usher.ErrNotFound) || (err == nil && e.UserID != u.ID) {
			return errEmailNotFound()
		}
		if err != nil {
			return err
		}
		if err := tx.EmailDelete(ctx, id); err != nil {
			return err
		}
		return m.record(ctx, tx, m.now(), event{action: "email.delete", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10),
			meta: map[string]string{"email": e.Email, "email_id": strconv.FormatInt(id, 10)}})
	})
}

// Confirm confirms a secondary address with the code mailed to it. Only
// then does the address become the account's alone: of several accounts
// that added it, the first to confirm it keeps it, and the others' codes
// are refused.
//
// Errors: NotFound (an unknown, used or expired code), Conflict (another
// account confirmed the address first), Invalid.
func (m *Emails) Confirm(ctx context.Context, code string) (*usher.Email, error) {
	if code == "" {
		return nil, invalid("code", "is required")
	}
	var e *usher.Email
	err := m.store.InTx(ctx, func(tx store.Tx) error {
		c, err := m.useCode(ctx, tx, usher.CodeConfirm, code)
		if err != nil {
			return err
		}
		idText, ok := strings.CutPrefix(c.Data, "email:")
		id, perr := strconv.ParseInt(idText, 10, 64)
		if !ok || perr != nil {
			return errCodeNotFound(usher.CodeConfirm)
		}
		if e, err = tx.EmailGet(ctx, id); err != nil || e.UserID != c.UserID || !codeProves(c, e.Email) {
			return errCodeNotFound(usher.CodeConfirm)
		}
		// A deleted account proves nothing: its address would be marked
		// confirmed without a claim, and taken back at undelete.
		if owner, err := tx.UserGet(ctx, usher.UserKey{ID: e.UserID}); err != nil || owner.Deleted() {
			return errCodeNotFound(usher.CodeConfirm)
		}
		now := m.now()
		if err := tx.EmailConfirm(ctx, id, now); err != nil {
			return errAddressTaken(err)
		}
		e.ConfirmedAt = &now
		return m.record(ctx, tx, now, event{action: "email.confirm", resourceType: "user",
			resourceID: strconv.FormatInt(e.UserID, 10), meta: map[string]string{"email": e.Email}})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Settings manages users' settings: keys with JSON values.
type Settings struct{ *env }

// Limits on settings.
const (
	maxSettings     = 200
	maxSettingValue = 16 << 10
)

var settingKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// Get returns a user's settings.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Settings) Get(ctx context.Context, key usher.UserKey) ([]usher.Setting, error) {
	u, err := s.owner(ctx, key, actSettingsRead)
	if err != nil {
		return nil, err
	}
	return s.store.SettingList(ctx, u.ID)
}

// Update changes the settings named in values and leaves the others alone;
// a nil value removes its setting. It returns every setting afterwards.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a bad key, a
// value that is not JSON or is over 16 KiB, more than 200 settings in the
// request or afterwards).
func (s *Settings) Update(ctx context.Context, key usher.UserKey, values map[string]json.RawMessage) ([]usher.Setting, error) {
	u, err := s.owner(ctx, key, actSettingsWrite)
	if err != nil {
		return nil, err
	}
	if len(values) > maxSettings {
		return nil, usher.FieldErrors(usher.FieldError{Field: "settings", Code: usher.CodeTooMany,
			Message: "a request changes at most " + strconv.Itoa(maxSettings) + " settings"})
	}
	var c checker
	for k, v := range values {
		switch {
		case !settingKeyRE.MatchString(k):
			c.add(k, usher.CodeInvalidKey, "setting keys are 1 to 100 letters, digits and _ . : -")
		case v != nil && len(v) > maxSettingValue:
			c.add(k, usher.CodeTooLong, "is over %d bytes", maxSettingValue)
		case v != nil && !json.Valid(v):
			c.add(k, usher.CodeInvalid, "is not JSON")
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var out []usher.Setting
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		changes := map[string]usher.Change{}
		for k, v := range values {
			if v == nil || string(v) == "null" {
				if err := tx.SettingDelete(ctx, u.ID, k); err != nil {
					return err
				}
				changes[k] = usher.Change{New: nil}
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, v); err != nil {
				return err
			}
			if err := tx.SettingPut(ctx, u.ID, usher.Setting{Key: k, Value: compact.Bytes(), UpdatedAt: now}); err != nil {
				return err
			}
			changes[k] = usher.Change{New: json.RawMessage(compact.Bytes())}
		}
		var err error
		if out, err = tx.SettingList(ctx, u.ID); err != nil {
			return err
		}
		if len(out) > maxSettings {
			return usher.FieldErrors(usher.FieldError{Field: "settings", Code: usher.CodeTooMany, Message: "a user has at most " + strconv.Itoa(maxSettings) + " settings"})
		}
		return s.record(ctx, tx, now, event{action: "settings.update", resourceType: "user", resourceID: strconv.FormatInt(u.ID, 10), changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

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
