package core

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
	"strings"

	"usher"
)

// Token text is "<prefix>_<random base62><6-character base62 checksum>".
// The prefix names the kind; the checksum lets usher (and secret scanners)
// reject mistyped or made-up tokens without a database look-up.
const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	checksumLen = 6
	hintLen     = 4
)

// tokenFormats gives each kind its prefix and the length of its random part.
// 43 base62 characters carry 256 bits. Application keys keep Pterodactyl's
// total length of 48 characters ("ptla_" + 43), so their random part is 37
// characters, about 220 bits.
var tokenFormats = map[usher.TokenKind]struct {
	prefix string
	random int
}{
	usher.TokenSession:        {"uss", 43},
	usher.TokenPersonal:       {"usp", 43},
	usher.TokenServiceAccount: {"usa", 43},
	usher.TokenApplication:    {"ptla", 37},
}

// newSecret makes a new token of the kind: its text, its display hint and
// the hash that is stored.
func newSecret(kind usher.TokenKind) (text, hint string, hash []byte) {
	f := tokenFormats[kind]
	body := f.prefix + "_" + randomBase62(f.random)
	text = body + checksum(body)
	sum := sha256.Sum256([]byte(text))
	return text, text[:len(f.prefix)+1+hintLen], sum[:]
}

// parseSecret returns the kind of a token text and its hash; ok is false for
// a text that is not a well-formed usher token.
func parseSecret(text string) (kind usher.TokenKind, hash []byte, ok bool) {
	prefix, rest, found := strings.Cut(text, "_")
	if !found {
		return "", nil, false
	}
	for k, f := range tokenFormats {
		if f.prefix != prefix || len(rest) != f.random+checksumLen {
			continue
		}
		body := text[:len(text)-checksumLen]
		if strings.Trim(rest, base62) != "" || checksum(body) != text[len(body):] {
			return "", nil, false
		}
		sum := sha256.Sum256([]byte(text))
		return k, sum[:], true
	}
	return "", nil, false
}

// hashCode returns the stored form of a one-time code.
func hashCode(text string) []byte {
	sum := sha256.Sum256([]byte(text))
	return sum[:]
}

// randomBase62 returns n characters drawn uniformly from base62, rejecting
// bytes that would bias the draw.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported systems
		}
		for _, b := range buf {
			if b < 248 { // 248 = 4 × 62
				out = append(out, base62[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// randomIndex returns a uniform random number in [0, n), n ≤ 256.
func randomIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on supported systems
		}
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// checksum is the CRC-32 of s in six base62 digits.
func checksum(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	var b [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		b[i] = base62[v%62]
		v /= 62
	}
	return string(b[:])
}
