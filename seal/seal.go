// Package seal encrypts small secrets at rest — pending mail bodies, signing
// keys — with AES-256-GCM under a key kept outside the database, so that a
// copy of the database alone reveals none of them.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key in bytes.
const KeySize = 32

// prefix marks the format of a sealed string, so that it can change.
const prefix = "s1."

// ErrOpen is returned for a sealed string that is malformed, was sealed
// under another key, or was altered.
var ErrOpen = errors.New("seal: cannot open: wrong key or altered data")

// Box seals and opens secrets under one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: the key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext. The result is printable text.
func (b *Box) Seal(plaintext []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	out := b.aead.Seal(nonce, nonce, plaintext, []byte(prefix))
	return prefix + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts what Seal made.
func (b *Box) Open(sealed string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, ErrOpen
	}
	data, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, ErrOpen
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(prefix))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ParseKey decodes a key written as standard or URL-safe base64.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("seal: the key must be %d bytes in base64", KeySize)
}

// NewKey returns a random key in base64.
func NewKey() string {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.StdEncoding.EncodeToString(key)
}

// LoadOrCreateKey reads the key in the file at path, creating the file with
// a new random key (readable by its owner only) when it does not exist.
// The key is written to a file of its own first and then linked at path,
// so a process that starts at the same moment reads either no file or the
// whole key, never the empty file another is still writing.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read key file: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	return key, nil
}

// createKey writes a new key to a temporary file beside path and links it
// at path; when another process linked its key there first, it reads that.
func createKey(path string) ([]byte, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("seal: create key file: %w", err)
	}
	defer os.Remove(f.Name())
	key := NewKey()
	_, err = f.WriteString(key + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("seal: write key file: %w", err)
	}
	switch err := os.Link(f.Name(), path); {
	case errors.Is(err, os.ErrExist):
		return LoadOrCreateKey(path)
	case err != nil:
		// A file system without hard links: create the file in place, which
		// one process alone can do, though another may find it still empty.
		out, cerr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(cerr, os.ErrExist) {
			return LoadOrCreateKey(path)
		}
		if cerr != nil {
			return nil, fmt.Errorf("seal: create key file: %w", errors.Join(err, cerr))
		}
		_, werr := out.WriteString(key + "\n")
		if cerr := out.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("seal: write key file: %w", werr)
		}
	}
	return ParseKey(key)
}
