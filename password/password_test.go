package password

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// fast are cheap parameters for tests; the defaults are exercised once.
var fast = Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestHashVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(DefaultParams, Pool{Queue: 4})
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the default parameters", enc)
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse", enc); !ok || rehash || err != nil {
		t.Fatalf("Verify(right) = %v, %v, %v", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "correct horsf", enc); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v", ok, err)
	}
	again, _ := h.Hash(ctx, "correct horse")
	if again == enc {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyImported(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(DefaultParams, Pool{Queue: 4})
	bc, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	weak := NewHasher(fast, Pool{Workers: 1})
	weakHash, _ := weak.Hash(ctx, "correct horse")
	tests := []struct {
		name    string
		encoded string
	}{
		{"bcrypt", string(bc)},
		// Made by Python's hashlib.pbkdf2_hmac, in passlib's and Django's formats.
		{"passlib pbkdf2", "$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0MTIzNA$w7/Z.TtKe2706ziYqntGWEpywycBhHRgtLIN.hknDGQ"},
		{"django pbkdf2", "pbkdf2_sha256$1000$seasalt$mQnueSakb748zqBAC1tmWVZsZbi2zPGZarEzTGdfmso="},
		{"argon2id with weaker parameters", weakHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := Check(tt.encoded); err != nil {
				t.Fatalf("Check: %v", err)
			}
			ok, rehash, err := h.Verify(ctx, "correct horse", tt.encoded)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify(right) = %v, %v, %v; want a match that needs a re-hash", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(ctx, "wrong", tt.encoded)
			if ok || rehash || err != nil {
				t.Fatalf("Verify(wrong) = %v, %v, %v", ok, rehash, err)
			}
		})
	}
}

func TestBadHashes(t *testing.T) {
	t.Parallel()
	h := NewHasher(fast, Pool{Workers: 1})
	for _, enc := range []string{
		"", "plain", "$md5$abc", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43),
		"$argon2id$v=19$m=64,t=1,x=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43),
		"$2b$04$short", "$pbkdf2-sha256$0$c2FsdA$" + strings.Repeat("A", 43),
		"$pbkdf2-sha256$99999999999$c2FsdA$" + strings.Repeat("A", 43), "pbkdf2_sha256$10$salt$!!!",
	} {
		if err := Check(enc); !errors.Is(err, ErrFormat) {
			t.Errorf("Check(%q) = %v, want ErrFormat", enc, err)
		}
		if ok, _, err := h.Verify(context.Background(), "x", enc); ok || !errors.Is(err, ErrFormat) {
			t.Errorf("Verify(%q) = %v, %v; want ErrFormat", enc, ok, err)
		}
	}
}

// TestCheckBoundsImportedWork: an imported argon2id hash costs one log-in
// attempt at most about a second of a hashing worker; one of 256 MiB over
// 100 passes made each wrong guess at the account hold a worker for
// minutes. usher's own hashes verify whatever the operator chose.
func TestCheckBoundsImportedWork(t *testing.T) {
	t.Parallel()
	key := "$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)
	for _, tt := range []struct {
		params string
		ok     bool
	}{
		{"m=262144,t=100,p=1", false},
		{"m=262144,t=2,p=1", false},
		{"m=65536,t=5,p=1", false},
		{"m=65536,t=1,p=17", false},
		{"m=262144,t=1,p=1", true},
		{"m=65536,t=3,p=4", true}, // RFC 9106's second recommendation
		{"m=19456,t=2,p=1", true}, // OWASP's, usher's default
		{"m=7168,t=5,p=1", true},  // Keycloak's default
	} {
		err := Check("$argon2id$v=19$" + tt.params + key)
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v, want accepted: %v", tt.params, err, tt.ok)
		}
		if !tt.ok && !errors.Is(err, ErrFormat) {
			t.Errorf("Check(%s) = %v, want ErrFormat", tt.params, err)
		}
	}
}

// TestCheckBoundsImportedPBKDF2: an imported PBKDF2-SHA256 hash costs one
// log-in attempt at most about a second too. PBKDF2 runs its iterations
// once for each 32 bytes of the key: 10,000,000 iterations of a key of
// 1,024 bytes held a hashing worker for about a minute at every wrong
// guess (a reviewer measured 54–61 s), the iteration bound alone passing
// it.
func TestCheckBoundsImportedPBKDF2(t *testing.T) {
	t.Parallel()
	salt := "c2FsdHNhbHRzYWx0MTIzNA"
	key := func(n int) string { return b64.EncodeToString(make([]byte, n)) }
	for _, tt := range []struct {
		name, hash string
		ok         bool
	}{
		{"ten million of 32 blocks", "$pbkdf2-sha256$10000000$" + salt + "$" + key(1024), false},
		{"ten million of one block", "$pbkdf2-sha256$10000000$" + salt + "$" + key(32), false},
		{"three million of 64 bytes", "$pbkdf2-sha256$3000001$" + salt + "$" + key(64), false},
		{"six million of one block", "$pbkdf2-sha256$6000000$" + salt + "$" + key(32), true},
		{"Django's 1,200,000", "pbkdf2_sha256$1200000$seasalt$" + base64.StdEncoding.EncodeToString(make([]byte, 32)), true},
		{"Keycloak's 27,500 of 64 bytes", "$pbkdf2-sha256$27500$" + salt + "$" + key(64), true},
	} {
		err := Check(tt.hash)
		if (err == nil) != tt.ok || (!tt.ok && !errors.Is(err, ErrFormat)) {
			t.Errorf("Check(%s) = %v, want accepted: %v", tt.name, err, tt.ok)
		}
	}
}

// FuzzCheck feeds arbitrary stored hashes to the parsers: they must never
// panic, and whatever Check accepts Verify must handle.
func FuzzCheck(f *testing.F) {
	h := NewHasher(fast, Pool{Workers: 1})
	enc, _ := h.Hash(context.Background(), "seed")
	for _, s := range []string{enc, "$2b$04$abcdefghijklmnopqrstuu5WxA0p9WRrLpNHbZHgJi7/nYgPxTQZK",
		"$pbkdf2-sha256$1000$c2FsdA$w7/Z.TtKe2706ziYqntGWEpywycBhHRgtLIN.hknDGQ", "pbkdf2_sha256$1$s$AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Check(s) != nil {
			return
		}
		// Keep the fuzzer fast: only verify cheap argon2 parameters.
		if p, _, _, err := decodeArgon2(s); err == nil && (p.Memory > 1024 || p.Time > 2) {
			return
		}
		if iter, _, _, err := decodePBKDF2(s); err == nil && iter > 10000 {
			return
		}
		if _, _, err := h.Verify(context.Background(), "x", s); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("Verify(%q): %v", s, err)
		}
	})
}

// TestForeignHashDerivesAtTheParameters: a hash not made with the
// parameters is verified beside a derivation at them, as Burn makes for an
// unknown account (face/native's TestLoginTiming measures the times over
// HTTP); a hash made with them is verified alone.
func TestForeignHashDerivesAtTheParameters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var mu sync.Mutex
	var derived []uint32 // the memory of each derivation
	h := NewHasher(fast, Pool{Key: func(pw, salt []byte, time, memory uint32, threads uint8, keyLen uint32) ([]byte, error) {
		mu.Lock()
		derived = append(derived, memory)
		mu.Unlock()
		return idKey(pw, salt, time, memory, threads, keyLen)
	}})
	cheap, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	weaker := fast
	weaker.Memory /= 2
	weak, err := NewHasher(weaker, Pool{}).Hash(ctx, "right")
	if err != nil {
		t.Fatal(err)
	}
	at, err := h.Hash(ctx, "right")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, hash string
		want       []uint32
	}{
		{"bcrypt", string(cheap), []uint32{fast.Memory}},
		{"weaker argon2id", weak, []uint32{weaker.Memory, fast.Memory}},
		{"argon2id at the parameters", at, []uint32{fast.Memory}},
	} {
		for _, pw := range []string{"right", "wrong"} {
			mu.Lock()
			derived = nil
			mu.Unlock()
			ok, _, err := h.Verify(ctx, pw, tc.hash)
			if err != nil || ok != (pw == "right") {
				t.Fatalf("%s, %s password: %v, %v", tc.name, pw, ok, err)
			}
			mu.Lock()
			got := slices.Sorted(slices.Values(derived))
			mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%s, %s password: derived at %v KiB, want %v", tc.name, pw, got, tc.want)
			}
		}
	}
}
