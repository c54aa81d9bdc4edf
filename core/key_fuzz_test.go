package core

import (
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// FuzzParseKey: no authorized_keys line from a client panics the parser,
// and one it accepts is a key of an accepted type and strength, bounded,
// whose normal form parses again to itself with the same fingerprint.
// The seed corpus is testdata/fuzz/FuzzParseKey.
func FuzzParseKey(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHMF+fnyxFoJWdOcn59d/K4pzgCHVcNz5rLi5bw/xBcJ loic@call")
	f.Add("")
	f.Add("ssh-rsa !!!!")
	f.Fuzz(func(t *testing.T, text string) {
		normal, fp, err := parseKey(text)
		if err != nil {
			return
		}
		if len(normal) > maxKeyText {
			t.Fatalf("%q: accepted a normal form of %d bytes", text, len(normal))
		}
		pub, _, _, _, perr := ssh.ParseAuthorizedKey([]byte(normal))
		if perr != nil || !keyTypes[pub.Type()] || checkRSA(pub) != nil || ssh.FingerprintSHA256(pub) != fp {
			t.Fatalf("%q: accepted as %q (%s), which does not hold: %v", text, normal, fp, perr)
		}
		again, fp2, err := parseKey(normal)
		if err != nil || again != normal || fp2 != fp {
			t.Fatalf("%q: normal form %q parses to %q, %s, %v", text, normal, again, fp2, err)
		}
		if strings.ContainsAny(normal, "\n\r") {
			t.Fatalf("%q: normal form %q spans lines", text, normal)
		}
	})
}
