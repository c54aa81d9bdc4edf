package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"usher/seal"
	"usher/store/sqlite"
)

// TestKeysCommands: keys rotate makes a new current key and keeps the old
// one verifying for the longest JWT lifetime (its own flags' or the
// recorded one's), keys list shows it, keys
// prune keeps it while it may verify, and jwt is the commands' other name.
func TestKeysCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.db.key")
	common := []string{"--database", db, "--secret-key-file", key}
	mustRun(t, append([]string{"migrate"}, common...)...)
	runSteps(t, []step{
		{name: "no key before the first", args: []string{"keys", "list"}, stdout: "KID"},
		{name: "rotate makes the first", args: []string{"keys", "rotate"}, stdout: "signing key rotated"},
		{name: "rotate again", args: []string{"jwt", "rotate", "--impersonation-ttl", "2h"}, stdout: "signing key rotated"},
		{name: "prune keeps what may verify", args: []string{"keys", "prune"}, stdout: "0 signing key(s) pruned"},
		{name: "keys alone", args: []string{"keys"}, code: 2, stderr: "usage: usher keys COMMAND"},
		{name: "an argument", args: []string{"keys", "rotate", "now"}, code: 2, stderr: "usage: usher keys rotate [flags]"},
		{name: "a bad lifetime", args: []string{"keys", "prune", "--jwt-ttl", "soon"}, code: 2, stderr: "invalid argument"},
	}, common...)
	// The secret key file the first command made is its owner's only.
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v, %v", st, err)
	}
	// The rotation stored how long the retired key verifies, by its own
	// lifetimes: a list with others shows the same.
	var keys []keyRow
	jsonOut(t, &keys, append([]string{"keys", "list", "-o", "json", "--impersonation-ttl", "5m"}, common...)...)
	if len(keys) != 2 || keys[0].State != "retired" || keys[1].State != "current" || keys[0].VerifiesUntil == nil ||
		!keys[0].VerifiesUntil.Equal(keys[0].RetiredAt.Add(2*time.Hour+30*time.Second)) || keys[1].VerifiesUntil != nil {
		t.Fatalf("keys list: %+v", keys)
	}
	// The configuration file gives keys the server's lifetimes.
	file := writeFile(t, "usher.yaml", "impersonation-ttl: 3h\njwt-ttl: 5m\n")
	mustRun(t, append([]string{"keys", "rotate", "--config", file}, common...)...)
	jsonOut(t, &keys, append([]string{"keys", "list", "-o", "json"}, common...)...)
	if len(keys) != 3 || !keys[1].VerifiesUntil.Equal(keys[1].RetiredAt.Add(3*time.Hour+30*time.Second)) {
		t.Fatalf("keys list after a rotation with the file: %+v", keys)
	}
	out := mustRun(t, append([]string{"keys", "list"}, common...)...)
	if !strings.Contains(out, keys[0].ID+"  EdDSA") || !strings.Contains(out, "current") || !strings.Contains(out, "retired") {
		t.Fatalf("keys list table:\n%s", out)
	}
	// Another secret key cannot add keys the others cannot open.
	code, _, errOut := runExit(t, "", "keys", "rotate", "--database", db, "--secret-key-file", filepath.Join(dir, "other.key"))
	if code != 1 || !strings.Contains(errOut, "cannot be opened") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("rotate with another secret key: %d %q", code, errOut)
	}
}

// TestKeysNeedExistingDatabase: a keys command pointed at a database that
// does not exist (a forgotten --database) exits 1 and creates nothing,
// rather than rotating or listing the keys of a new, empty database.
func TestKeysNeedExistingDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.db.key")
	for _, args := range [][]string{{"keys", "list"}, {"keys", "prune"}, {"keys", "rotate"}} {
		code, out, errOut := runEnv(t, nil, append(args, "--database", db, "--secret-key-file", key)...)
		if code != 1 || !strings.Contains(errOut, "there is no database") {
			t.Errorf("%v: exit %d: %s%s", args, code, out, errOut)
		}
		for _, path := range []string{db, key} {
			if _, err := os.Stat(path); err == nil {
				t.Fatalf("%v created %s", args, path)
			}
		}
	}
}

// TestRotationRetiresSharedSecret replays a leaked backup: whoever holds
// the database and its key file reads Corteza's HS256 secret and signs a
// JWT for the administrator, naming one of their live sessions (session
// ids are small sequential integers). `usher keys rotate`, which
// operations.md says to run at once then, left the secret current, and a
// shared JWT's check never looked at a retirement, so the forgery was
// taken for as long as the session lived. After the rotation the running
// server refuses what the old secret signs after it (once it has reloaded
// its keys, within 5 s), signs with a new secret, and keeps taking the
// JWTs signed before until the retired secret's window ends.
func TestRotationRetiresSharedSecretOfRunningServer(t *testing.T) {
	t.Parallel()
	const passphrase = "correct horse battery"
	db := filepath.Join(t.TempDir(), "usher.db")
	mustRun(t, "user", "create", "--database", db, "--username", "root", "--email", "root@example.com",
		"--password", passphrase, "--admin")
	addr := serveWith(t, db, map[string]string{"USHER_ARGON2_MEMORY": "64", "USHER_ARGON2_TIME": "1"})
	api := "http://" + addr + "/api/system"
	login := func() string {
		t.Helper()
		status, body := post(t, api+"/auth/internal/login", `{"email":"root@example.com","password":"`+passphrase+`"}`, nil)
		var out struct {
			Response struct{ JWT string }
		}
		if err := json.Unmarshal(body, &out); err != nil || status != http.StatusOK || out.Response.JWT == "" {
			t.Fatalf("Corteza's log-in: %d %s", status, body)
		}
		return out.Response.JWT
	}
	// at asks path with jwt and reports whether it was answered.
	at := func(path, jwt string) bool {
		t.Helper()
		req, err := http.NewRequest("GET", api+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+jwt)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Response json.RawMessage
			Error    *struct{ Message string }
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || (out.Response == nil) == (out.Error == nil) {
			t.Fatalf("%s: %d %v %+v", path, res.StatusCode, err, out)
		}
		return out.Response != nil
	}
	// A read, which makes nothing of the JWT.
	taken := func(jwt string) bool { t.Helper(); return at("/users/", jwt) }
	kid := func(jwt string) string {
		t.Helper()
		tok, err := josejwt.ParseSigned(jwt, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Headers[0].KeyID
	}
	before := login()
	var claims map[string]any
	if tok, err := josejwt.ParseSigned(before, []jose.SignatureAlgorithm{jose.HS256}); err != nil || tok.UnsafeClaimsWithoutVerification(&claims) != nil {
		t.Fatalf("the JWT %q: %v", before, err)
	}

	// The leak: the database and its key file.
	store, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := store.SigningKeyList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sealKey, err := seal.LoadOrCreateKey(db + ".key")
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.New(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	var secret []byte
	for _, k := range keys {
		if k.ID == kid(before) {
			if secret, err = box.Open(k.Private); err != nil {
				t.Fatal(err)
			}
		}
	}
	if secret == nil {
		t.Fatalf("no stored key %s", kid(before))
	}
	// The forgery is dated as late as the clock skew allowed lets it be,
	// so that a second after the rotation it is dated after it; one dated
	// before works until the retired secret's window ends
	// (TestRotationRetiresSharedSecret in core has the clock for that).
	forge := func() string {
		t.Helper()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid(before)))
		if err != nil {
			t.Fatal(err)
		}
		iat := time.Now().Add(29 * time.Second)
		raw, err := josejwt.Signed(signer).Claims(map[string]any{"userID": claims["userID"], "pid": claims["pid"],
			"memberOf": "", "jti": "forged", "iat": iat.Unix(), "exp": iat.Add(time.Hour).Unix()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if !taken(forge()) {
		t.Fatal("the forgery was refused before the rotation: the test replays nothing")
	}

	mustRun(t, "keys", "rotate", "--database", db)
	var rows []keyRow
	jsonOut(t, &rows, "keys", "list", "-o", "json", "--database", db)
	for _, r := range rows {
		if r.ID == kid(before) && r.State != "retired" {
			t.Errorf("the shared secret after the rotation: %+v", r)
		}
	}
	for deadline := time.Now().Add(15 * time.Second); taken(forge()); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a JWT the shared secret signed after its rotation is still taken 15 s later")
		}
	}
	if !taken(before) {
		t.Error("the JWT signed before the rotation was refused at once; it works for the retired secret's window")
	}
	if at("/auth/check", before) {
		t.Error("the auth check made a JWT of one the retired secret signed; it makes none")
	}
	if after := login(); kid(after) == kid(before) || !taken(after) {
		t.Errorf("the log-in after the rotation: a JWT of %s, taken %v", kid(after), taken(after))
	}
}
