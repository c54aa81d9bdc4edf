package core

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"usher"
	"usher/store"
)

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
// only; a user holds at most maxKeysPerUser.
//
// Errors: Unauthenticated, Forbidden, NotFound, Unprocessable (a malformed
// key, a missing title, an expiry in the past), Conflict (the key is taken;
// the field errors name fingerprint and key; limit_reached).
func (k *Keys) Add(ctx context.Context, key usher.UserKey, title, text string, expires *time.Time) (*usher.SSHKey, error) {
	u, err := k.owner(ctx, key, actKeyWrite)
	if err != nil {
		return nil, err
	}
	var c checker
	if strings.TrimSpace(title) == "" {
		title = "" // white space alone is no title, as GitLab's presence rule has it
	}
	c.name("title", title, maxProfile, true)
	normal, fp, kerr := parseKey(text)
	if kerr != nil {
		c.errs = append(c.errs, usher.AsError(kerr).Fields...)
	}
	now := k.now()
	c.future("expires_at", expires, now)
	if err := c.err(); err != nil {
		return nil, err
	}
	if expires, err = k.keyExpiry(ctx, usher.PrincipalFrom(ctx), u, expires); err != nil {
		return nil, err
	}
	sk := &usher.SSHKey{UserID: u.ID, Title: title, Key: normal, Fingerprint: fp, CreatedAt: now}
	if expires != nil {
		t := expires.UTC().Truncate(time.Microsecond)
		sk.ExpiresAt = &t
	}
	err = k.store.InTx(ctx, func(tx store.Tx) error {
		// An acting administrator's row before the account's, the order a
		// demotion takes them in (its own, then the accounts' whose keys
		// it ends: endAdminMints).
		if admin := actingAdmin(usher.PrincipalFrom(ctx), u); admin != 0 && u.Kind == usher.KindServiceAccount {
			if err := lockUser(ctx, tx, admin); err != nil {
				return err
			}
		}
		// The account read again under its row (lockLive): a deletion
		// since ended its keys, and one added after it would outlive it.
		if err := lockLive(ctx, tx, u.ID); err != nil {
			return err
		}
		if err := checkKeyRoom(ctx, tx, u.ID); err != nil {
			return err
		}
		by, err := stillCredential(ctx, tx, usher.PrincipalFrom(ctx), now)
		if err != nil {
			return err
		}
		if sk.AddedByAdmin, err = addingAdmin(ctx, tx, usher.PrincipalFrom(ctx), u); err != nil {
			return err
		}
		// A key added with a token an administrator minted on their
		// rights alone answers to them as the token does.
		if sk.AddedByAdmin == 0 {
			sk.AddedByAdmin = by.admin
		}
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

// actingAdmin returns the administrator p acts for on u's account — p
// itself on another's, or the administrator acting as u — or 0.
func actingAdmin(p *usher.Principal, u *usher.User) int64 {
	switch {
	case p.Impersonator != nil:
		return p.Impersonator.ID
	case p.IsAdmin() && !self(p, u):
		return p.UserID()
	}
	return 0
}

// ownsTeamOf reports whether the user owns a team the account is in.
func ownsTeamOf(ctx context.Context, tx store.Tx, userID, accountID int64) (bool, error) {
	teams, err := tx.UserGroups(ctx, accountID, usher.GroupTeam)
	if err != nil {
		return false, err
	}
	for _, t := range teams {
		m, err := tx.MembershipGet(ctx, t.GroupID, userID)
		if err != nil && !errors.Is(err, usher.ErrNotFound) {
			return false, err
		}
		if m != nil && m.Level == usher.LevelOwner {
			return true, nil
		}
	}
	return false, nil
}

// addingAdmin returns the administrator on whose rights alone p gives the
// service account u an SSH key — p itself, or the administrator acting as
// u — when they own no team u is in; else 0. Such a key answers to them,
// as a token they mint for it does (ServiceAccountToken), and goes when
// they stop being an administrator (endAdminMints).
func addingAdmin(ctx context.Context, tx store.Tx, p *usher.Principal, u *usher.User) (int64, error) {
	if u.Kind != usher.KindServiceAccount {
		return 0, nil
	}
	admin := actingAdmin(p, u)
	if admin == 0 {
		return 0, nil
	}
	if owner, err := ownsTeamOf(ctx, tx, admin, u.ID); owner || err != nil {
		return 0, err
	}
	// The rights are read again under the row a demotion holds: one that
	// came first has ended what the administrator added, and this key
	// would come after it.
	if err := lockUser(ctx, tx, admin); err != nil {
		return 0, err
	}
	if cur, err := tx.UserGet(ctx, usher.UserKey{ID: admin}); err != nil || !cur.Admin {
		if err == nil || errors.Is(err, usher.ErrNotFound) {
			err = errForbidden("only an administrator adds a key to a service account of a team they do not own")
		}
		return 0, err
	}
	return admin, nil
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
