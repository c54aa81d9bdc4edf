// Package password hashes and verifies passwords. New hashes are argon2id in
// the PHC string format; bcrypt and PBKDF2-SHA256 hashes brought by an import
// are verified too, and reported as needing a re-hash. Hashing is
// CPU- and memory-heavy, so a Hasher runs them on a fixed pool of workers,
// each on an OS thread of its own that on Linux runs at a lower priority
// than the rest of the process (see Pool), and queues a bounded number
// more; past that it refuses at once rather than let a log-in flood stall
// everything else.
package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	KeyLen  uint32 // bytes of output
	SaltLen uint32 // bytes of salt
}

// DefaultParams are OWASP's recommended minimum for argon2id: 19 MiB, two
// passes, one thread.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// ErrBusy is returned when the hashing queue is full.
var ErrBusy = errors.New("password: too many hashes in progress")

// ErrClosed is returned for a hash asked of a Hasher after Close.
var ErrClosed = errors.New("password: hasher closed")

// ErrFormat is returned for a stored hash in an unknown or malformed format.
var ErrFormat = errors.New("password: unknown hash format")

// Hash returns the argon2id hash of pw in PHC format.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	p := h.params
	var key []byte
	var kerr error
	if err := h.do(ctx, func() {
		key, kerr = h.key([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}); err != nil {
		return "", err
	}
	if kerr != nil {
		return "", kerr
	}
	return encodeArgon2(p, salt, key), nil
}

// Verify reports whether pw matches the encoded hash, and whether the hash
// should be replaced by a new one (another algorithm or weaker parameters).
//
// A hash not made with the current parameters — an imported bcrypt or
// PBKDF2 hash, an argon2id one from before they were raised — is verified
// beside a derivation at them, which Burn also makes for an unknown
// account, and its answer waits for both: a cheaper hash's quicker "no"
// would tell an account that has not logged in since from no account at
// all. The derivation runs at the same moment as the verification, under
// the same load, as an unknown account's would.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, rehash bool, err error) {
	beside := !h.atParams(encoded)
	if derr := h.do(ctx, func() {
		var berr error
		var burnt <-chan struct{}
		if beside {
			burnt = h.beside(func() { berr = h.burn(pw) })
		}
		ok, rehash, err = h.verify(pw, encoded)
		if beside {
			if <-burnt; err == nil && !ok {
				err = berr
			}
		}
	}); derr != nil {
		return false, false, derr
	}
	return ok, rehash, err
}

// Burn spends the time of one verification against a hash of the current
// parameters, for callers that must not reveal that there was nothing to
// verify (a log-in for an unknown account).
func (h *Hasher) Burn(ctx context.Context, pw string) error {
	var kerr error
	if err := h.do(ctx, func() { kerr = h.burn(pw) }); err != nil {
		return err
	}
	return kerr
}

// burn derives a key of pw at the current parameters, and forgets it.
func (h *Hasher) burn(pw string) error {
	p := h.params
	_, err := h.key([]byte(pw), make([]byte, p.SaltLen), p.Time, p.Memory, p.Threads, p.KeyLen)
	return err
}

// atParams reports whether encoded is an argon2id hash made with the
// current parameters: one whose verification costs what Burn does.
func (h *Hasher) atParams(encoded string) bool {
	p, _, key, err := decodeArgon2(encoded)
	return err == nil && p.Memory == h.params.Memory && p.Time == h.params.Time &&
		p.Threads == h.params.Threads && len(key) == int(h.params.KeyLen)
}

func (h *Hasher) verify(pw, encoded string) (ok, rehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, salt, key, err := decodeArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		got, err := h.key([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
		if err != nil {
			return false, false, err
		}
		ok := subtle.ConstantTimeCompare(got, key) == 1
		weaker := p.Memory < h.params.Memory || p.Time < h.params.Time || len(key) < int(h.params.KeyLen)
		return ok, ok && weaker, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if err := checkBcrypt(encoded); err != nil {
			return false, false, err
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("%w: bcrypt: %v", ErrFormat, err)
		}
		return true, true, nil
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"), strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		iter, salt, key, err := decodePBKDF2(encoded)
		if err != nil {
			return false, false, err
		}
		got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(key))
		if err != nil {
			return false, false, fmt.Errorf("password: pbkdf2: %w", err)
		}
		ok := subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok, nil
	}
	return false, false, ErrFormat
}

// Validate reports whether hashes made with p can be verified: the bounds a
// stored hash's parameters are read within (decodeArgon2). A hash made
// past them could never be verified, and the key process refuses them.
func (p Params) Validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("argon2id passes: %d is not between 1 and %d", p.Time, maxTime)
	case p.Threads < 1:
		return fmt.Errorf("argon2id threads: must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2id memory: %d KiB is not between 8 KiB a thread (%d) and %d", p.Memory, 8*uint32(p.Threads), maxMemory)
	case p.KeyLen < 16 || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2id key length: %d is not between 16 and %d bytes", p.KeyLen, maxKeyLen)
	case p.SaltLen < 8 || p.SaltLen > 1024:
		return fmt.Errorf("argon2id salt length: %d is not between 8 and 1024 bytes", p.SaltLen)
	}
	return nil
}

// Check reports whether encoded is a hash this package can verify, without
// verifying anything; imports use it to refuse unknown formats up front.
// It refuses too an argon2id hash that would cost one log-in attempt more
// than about a second, as a bcrypt cost over maxCost would: more than
// maxImportWork KiB over all passes, or more than maxImportThreads lanes;
// and a PBKDF2 hash of more than maxImportIter iterations over its key's
// blocks.
// Every guess at the account would spend that much of a hashing worker,
// which no one can stop once it has begun. The hashes usher makes itself
// are the operator's choice and are not bounded so: Hasher.Check takes
// those too.
func Check(encoded string) error {
	return check(encoded, maxImportWork, maxImportThreads)
}

// Check is the package's Check, with the bound on an argon2id hash raised
// to what one of h's own costs, when that is more: accounts exported from
// an instance whose parameters are past the bound import into one that
// hashes as it did.
func (h *Hasher) Check(encoded string) error {
	return check(encoded, max(maxImportWork, uint64(h.params.Memory)*uint64(h.params.Time)), max(maxImportThreads, h.params.Threads))
}

// check is Check with an argon2id hash's bounds: its memory over all its
// passes, in KiB, and its lanes.
func check(encoded string, work uint64, threads uint8) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, _, _, err := decodeArgon2(encoded)
		if err == nil && (uint64(p.Memory)*uint64(p.Time) > work || p.Threads > threads) {
			return fmt.Errorf("%w: argon2id: m=%d KiB over t=%d passes and p=%d cost more than one log-in may (m×t ≤ %d, p ≤ %d)",
				ErrFormat, p.Memory, p.Time, p.Threads, work, threads)
		}
		return err
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return checkBcrypt(encoded)
	case strings.HasPrefix(encoded, "$pbkdf2-sha256$"), strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		iter, _, key, err := decodePBKDF2(encoded)
		// PBKDF2 runs its iterations once for each 32 bytes of the key.
		if blocks := (len(key) + sha256.Size - 1) / sha256.Size; err == nil && iter*blocks > maxImportIter {
			return fmt.Errorf("%w: pbkdf2-sha256: %d iterations for each of %d blocks of key cost more than one log-in may (≤ %d in all)",
				ErrFormat, iter, blocks, maxImportIter)
		}
		return err
	}
	return ErrFormat
}

var b64 = base64.RawStdEncoding

func encodeArgon2(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Limits on what a stored hash may ask for, so a hostile import cannot make
// one verification take all the memory or all the time.
const (
	maxMemory = 256 << 10 // KiB: 256 MiB
	maxTime   = 100
	maxKeyLen = 1024
	maxIter   = 10_000_000
	maxCost   = 15 // bcrypt: 2^15 rounds, about a second
	// An imported argon2id hash's memory over all its passes, in KiB
	// (256 MiB once, or 64 MiB three times as RFC 9106's second choice
	// asks: about a second), and its lanes.
	maxImportWork    = 256 << 10
	maxImportThreads = 16
	// An imported PBKDF2-SHA256 hash's iterations over all the blocks
	// of its key: about a second (a million took 0.165 s here). Django
	// asks 1,200,000 of one block, Keycloak 27,500 of two.
	maxImportIter = 6_000_000
)

// checkBcrypt refuses malformed bcrypt hashes and costs over maxCost.
func checkBcrypt(encoded string) error {
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return fmt.Errorf("%w: bcrypt: %v", ErrFormat, err)
	}
	if cost > maxCost {
		return fmt.Errorf("%w: bcrypt: cost %d is over %d", ErrFormat, cost, maxCost)
	}
	return nil
}

// decodeArgon2 parses "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>".
func decodeArgon2(s string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want 5 fields", ErrFormat)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: argon2id: unsupported version %q", ErrFormat, parts[2])
	}
	var m, t, par uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, perr := strconv.ParseUint(v, 10, 32)
		if !ok || perr != nil {
			return p, nil, nil, fmt.Errorf("%w: argon2id: bad parameter %q", ErrFormat, kv)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		default:
			return p, nil, nil, fmt.Errorf("%w: argon2id: unknown parameter %q", ErrFormat, k)
		}
	}
	if m < 8 || m > maxMemory || t < 1 || t > maxTime || par < 1 || par > 255 || m < 8*par {
		return p, nil, nil, fmt.Errorf("%w: argon2id: parameters out of range", ErrFormat)
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, fmt.Errorf("%w: argon2id: bad salt", ErrFormat)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: argon2id: bad key", ErrFormat)
	}
	return Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(par), KeyLen: uint32(len(key)), SaltLen: uint32(len(salt))}, salt, key, nil
}

// decodePBKDF2 parses passlib's "$pbkdf2-sha256$<iter>$<salt>$<key>" (in
// passlib's base64 with "." for "+") and Django's
// "pbkdf2_sha256$<iter>$<salt>$<key>" (a plain-text salt, a base64 key).
func decodePBKDF2(s string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	django := strings.HasPrefix(s, "pbkdf2_sha256$")
	if django {
		parts = append([]string{""}, parts...)
	}
	if len(parts) != 5 || parts[0] != "" {
		return 0, nil, nil, fmt.Errorf("%w: pbkdf2-sha256: want 4 fields", ErrFormat)
	}
	iter, err = strconv.Atoi(parts[2])
	if err != nil || iter < 1 || iter > maxIter {
		return 0, nil, nil, fmt.Errorf("%w: pbkdf2-sha256: bad iteration count", ErrFormat)
	}
	if django {
		salt = []byte(parts[3])
		key, err = base64.StdEncoding.DecodeString(parts[4])
	} else {
		ab64 := strings.NewReplacer(".", "+")
		salt, err = b64.DecodeString(ab64.Replace(parts[3]))
		if err == nil {
			key, err = b64.DecodeString(ab64.Replace(parts[4]))
		}
	}
	if err != nil || len(salt) == 0 || len(key) < 16 || len(key) > maxKeyLen {
		return 0, nil, nil, fmt.Errorf("%w: pbkdf2-sha256: bad salt or key", ErrFormat)
	}
	return iter, salt, key, nil
}
