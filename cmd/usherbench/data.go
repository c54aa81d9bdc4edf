package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// benchPassword is the password of the generated users that have one, and
// the bench administrator's: long enough to pass usher's strength check.
const benchPassword = "correct-horse-battery-staple-bench-7"

// The argon2id parameters usher hashes new passwords with by default, so
// that a log-in verifies at the cost a real one has and rehashes nothing.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// genUser is one generated user, as an import line carries it.
type genUser struct {
	Username       string `json:"username"`
	Email          string `json:"email"`
	EmailConfirmed bool   `json:"email_confirmed"`
	Name           string `json:"name"`
	PasswordHash   string `json:"password_hash,omitempty"`
	ExternalID     string `json:"external_id"`
	State          string `json:"state"`
}

// dataset is the users a run fills usher with and the search queries it
// asks, all from one seed so that two runs see the same data.
type dataset struct {
	users   []genUser
	logins  []string // usernames whose hash is argon2id of benchPassword
	queries []string // 3–5 character substrings of names and e-mail addresses
}

// generate makes n users with realistic names and unique usernames and
// addresses, and a pool of search queries cut from them. Hashing is what
// makes a real hash slow to produce, so the users share a few: of every
// eight, six have one of two argon2id hashes of benchPassword, one a
// bcrypt hash of it (as users imported from another system do; a log-in
// would rehash it, so the log-in scenarios leave them alone), and one no
// password at all.
func generate(n int, seed uint64) (*dataset, error) {
	rng := rand.New(rand.NewPCG(seed, 0x75736865))
	bc, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	argon := [2]string{argonHash(benchPassword, rng), argonHash(benchPassword, rng)}
	d := &dataset{users: make([]genUser, n)}
	for i := range d.users {
		f := firstNames[rng.IntN(len(firstNames))]
		l := lastNames[rng.IntN(len(lastNames))]
		username := makeUsername(asciiLower(f), asciiLower(l), i, rng)
		u := genUser{
			Username:       username,
			Email:          username + "@" + domains[rng.IntN(len(domains))],
			EmailConfirmed: true,
			Name:           f + " " + l,
			ExternalID:     fmt.Sprintf("emp-%d", i),
			State:          "active",
		}
		switch i % 8 {
		case 6:
			u.PasswordHash = string(bc)
		case 7:
		default:
			u.PasswordHash = argon[i%2]
			d.logins = append(d.logins, username)
		}
		d.users[i] = u
	}
	d.queries = make([]string, min(1000, 10*n))
	for i := range d.queries {
		u := d.users[rng.IntN(n)]
		field := u.Name
		if rng.IntN(2) == 0 {
			field = u.Email
		}
		d.queries[i] = substring(field, 3+rng.IntN(3), rng)
	}
	return d, nil
}

// makeUsername spells user i's username in one of the ways organisations
// do; the number keeps it unique.
func makeUsername(first, last string, i int, rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return fmt.Sprintf("%s.%s%d", first, last, i)
	case 1:
		return fmt.Sprintf("%c%s%d", first[0], last, i)
	case 2:
		return fmt.Sprintf("%s_%s%d", first, last[:min(3, len(last))], i)
	default:
		return fmt.Sprintf("%s%d", first, i)
	}
}

// substring cuts a random run of k characters (fewer if s is shorter) out
// of s.
func substring(s string, k int, rng *rand.Rand) string {
	runes := []rune(s)
	k = min(k, len(runes))
	at := rng.IntN(len(runes) - k + 1)
	return string(runes[at : at+k])
}

// argonHash hashes pw with argon2id at usher's default parameters, in the
// PHC string format usher import reads.
func argonHash(pw string, rng *rand.Rand) string {
	salt := make([]byte, argonSaltLen)
	for i := range salt {
		salt[i] = byte(rng.Uint32())
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// writeNDJSON writes the users to path, one JSON object a line, in the
// format usher import reads.
func (d *dataset) writeNDJSON(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range d.users {
		if err := enc.Encode(&d.users[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// asciiLower folds a name into username characters: lower case, accents
// spelled out or dropped, anything else left out.
func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r < utf8.RuneSelf:
		default:
			if a, ok := folds[r]; ok {
				b.WriteString(a)
			}
		}
	}
	return b.String()
}
