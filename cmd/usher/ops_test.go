package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/mail/smtptest"
	"usher/store"
	"usher/store/sqlite"
)

// TestReadOnlyCommandsLeaveNoDatabase: a command that only reads (and the
// state changes, passwords, tokens and keys, which need users or a
// database already made) on a SQLite file that does not exist
// says so and exits 1, creating neither the database nor a key; on a
// database with migrations pending it says to migrate and migrates
// nothing; a PostgreSQL URL without a database name is refused.
func TestReadOnlyCommandsLeaveNoDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	commands := [][]string{
		{"user", "list"}, {"user", "show", "root"}, {"user", "block", "root"}, {"user", "delete", "root"},
		{"user", "passwd", "root", "--password-stdin"}, {"token", "create", "--user", "root"},
		{"token", "list", "--user", "root"}, {"token", "revoke", "1"}, {"keys", "list"}, {"keys", "prune"}, {"keys", "rotate"}, {"group", "list"}, {"group", "members", "ops"},
		{"audit", "tail"}, {"export"}, {"migrate", "status"}, {"backup", filepath.Join(dir, "copy.db")},
	}
	for _, args := range commands {
		code, _, errOut := runExit(t, "a long enough password\n", append(args, "--database", missing)...)
		if code != 1 || !strings.Contains(errOut, "there is no database at "+missing) {
			t.Errorf("usher %v on a missing database: exit %d: %s", args, code, errOut)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a read-only command left %s", e.Name())
	}

	// A database three migrations old is read by none of them, and
	// migrate status lists what is pending without applying it.
	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sqlite.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.MigrateTo(context.Background(), time.Now(), 3); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range commands[:len(commands)-2] {
		code, _, errOut := runExit(t, "a long enough password\n", append(args, "--database", old)...)
		if code != 1 || !strings.Contains(errOut, "run usher migrate") {
			t.Errorf("usher %v on an old database: exit %d: %s", args, code, errOut)
		}
	}
	for range 2 {
		code, out, errOut := runExit(t, "", "migrate", "status", "--database", old)
		if code != 0 || !strings.Contains(out, "0003  ") || !strings.Contains(out, "0004  ") || !strings.Contains(out, "pending") {
			t.Fatalf("migrate status: %d %s %s", code, out, errOut)
		}
	}
	if code, out, _ := runExit(t, "", "migrate", "--database", old); code != 0 || !strings.Contains(out, "applied 0004") || strings.Contains(out, "applied 0003") {
		t.Errorf("migrate after status: %d %s", code, out)
	}

	for _, url := range []string{"postgres://postgres@127.0.0.1:5432?sslmode=disable", "postgresql://u:secret@db/"} {
		code, _, errOut := runExit(t, "", "user", "list", "--database", url)
		if code != 1 || !strings.Contains(errOut, "names no database") || strings.Contains(errOut, "secret") {
			t.Errorf("user list on %s: exit %d: %s", url, code, errOut)
		}
	}
}

// TestBackupRestore backs up a database while a server runs on it,
// refuses to restore over it while it runs, and restores the copy in its
// place once it has stopped; files that are not usher databases, or are
// of a newer usher, are refused.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "usher.db")
	key := filepath.Join(dir, "usher.key")
	common := []string{"--database", db, "--secret-key-file", key}
	mustRun(t, append([]string{"user", "create", "--username", "root", "--admin"}, common...)...)
	token := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--user", "root"}, common...)...))
	srv := start(t, dir, db)
	if res, body, err := srv.do("POST", "/v1/users", token, `{"username":"alice"}`); err != nil || res.StatusCode != 201 {
		t.Fatalf("create alice: %v %s", err, body)
	}
	copyDB := filepath.Join(t.TempDir(), "copy.db")
	notUsher := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(notUsher, []byte("not a database at all, only some text that is long enough to fill a header"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptySQLite := filepath.Join(t.TempDir(), "plain.db")
	e, err := sql.Open("sqlite", emptySQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	e.Close()
	runSteps(t, []step{
		{name: "backup while serving", args: []string{"backup", copyDB}, stdout: "backed up"},
		{name: "backup over a file", args: []string{"backup", copyDB}, code: 1, stderr: "exists already"},
		{name: "backup without a file", args: []string{"backup"}, code: 2, stderr: "usage: usher backup FILE"},
		{name: "restore over a database in use", args: []string{"restore", copyDB}, code: 1, stderr: "in use"},
		{name: "restore of a missing file", args: []string{"restore", filepath.Join(dir, "nothing.db"), "--force"}, code: 1, stderr: "cannot be read"},
		{name: "restore of text", args: []string{"restore", notUsher, "--force"}, code: 1, stderr: "is not a SQLite database"},
		{name: "restore of another SQLite database", args: []string{"restore", emptySQLite, "--force"}, code: 1, stderr: "is not an usher database"},
	}, common...)
	if st, err := os.Stat(copyDB); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the backup: %v %v", st, err)
	}
	if res, _, err := srv.do("GET", "/v1/users/alice", token, ""); err != nil || res.StatusCode != 200 {
		t.Fatalf("the refused restores touched the served database: %v %v", res, err)
	}

	// bob comes after the backup; the restore brings back the database
	// without him.
	if res, body, err := srv.do("POST", "/v1/users", token, `{"username":"bob"}`); err != nil || res.StatusCode != 201 {
		t.Fatalf("create bob: %v %s", err, body)
	}
	if err := srv.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := <-srv.done; err != nil {
		t.Fatalf("serve: %v\n%s", err, srv.log())
	}
	runSteps(t, []step{
		{name: "restore once stopped", args: []string{"restore", copyDB}, stdout: "restored " + db},
		{name: "alice is back", args: []string{"user", "show", "alice"}, stdout: "alice"},
		{name: "bob is not", args: []string{"user", "show", "bob"}, code: 1, stderr: "user not found"},
		{name: "the key opens the restored secrets", args: []string{"jwt", "rotate"}, stdout: "rotated"},
	}, common...)
	if kept, _ := filepath.Glob(db + ".replaced-*"); len(kept) != 1 {
		t.Errorf("the replaced database is not kept: %v", kept)
	}

	// A backup of a newer usher is refused.
	newer := filepath.Join(t.TempDir(), "newer.db")
	mustRun(t, "backup", newer, "--database", db)
	n, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	n.Close()
	runSteps(t, []step{
		{name: "restore of a newer usher's database", args: []string{"restore", newer}, code: 1, stderr: "migration 9999"},
	}, common...)
	runSteps(t, []step{
		{name: "backup of PostgreSQL", args: []string{"backup", filepath.Join(dir, "pg.db")}, code: 1, stderr: "pg_dump"},
		{name: "restore of PostgreSQL", args: []string{"restore", copyDB}, code: 1, stderr: "pg_dump"},
	}, "--database", "postgres://h/usher")
}

// syncBuffer is a buffer serve may log to while the test reads it.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

// Writes is how many writes the buffer was given.
func (s *syncBuffer) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMail sends a test mail through a server, and fails with the way to
// choose ?tls= against a relay without STARTTLS, both from usher mail
// test and in serve's log at start; usher health asks the server.
func TestMail(t *testing.T) {
	t.Parallel()
	relay := smtptest.New(t)
	noSTARTTLS := "smtp://" + relay.Addr() // STARTTLS is smtp://'s default
	runSteps(t, []step{
		{name: "a test mail", args: []string{"mail", "test", "bob@example.org", "--smtp-url", relay.URL()}, stdout: "sent to bob@example.org via smtp://" + relay.Addr()},
		{name: "a relay without STARTTLS", args: []string{"mail", "test", "bob@example.org", "--smtp-url", noSTARTTLS}, code: 1, stderr: "?tls=none"},
		{name: "no SMTP server", args: []string{"mail", "test", "bob@example.org"}, code: 1, stderr: "set --smtp-url or USHER_SMTP_URL"},
		{name: "a bad URL", args: []string{"mail", "test", "bob@example.org", "--smtp-url", "smtp://h?tls=maybe"}, code: 1, stderr: "--smtp-url: mail: SMTP URL: unknown tls value"},
		{name: "no address", args: []string{"mail", "test"}, code: 2, stderr: "usage: usher mail test ADDRESS"},
	})
	msgs := relay.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "bob@example.org" || !strings.Contains(msgs[0].Subject, "test mail") {
		t.Fatalf("the relay received %+v", msgs)
	}

	// serve checks the mail server as it starts and says what to change.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	addrc := make(chan string, 1)
	m := &Main{Stdout: io.Discard, Stderr: logs, Getenv: func(string) string { return "" }, Started: func(a string) { addrc <- a }}
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", filepath.Join(t.TempDir(), "usher.db"), "--smtp-url", noSTARTTLS})
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), "SMTP server cannot be used"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve did not report the mail server:\n%s", logs)
		}
	}
	if l := logs.String(); !strings.Contains(l, `"level":"ERROR"`) || !strings.Contains(l, "?tls=none") {
		t.Errorf("the mail check's log:\n%s", l)
	}
	runSteps(t, []step{
		{name: "health of a running server", args: []string{"health", "--addr", addr}, stdout: "ready"},
		{name: "health of a bad address", args: []string{"health", "--addr", "nowhere"}, code: 2, stderr: "not host:port"},
	})
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runExit(t, "", "health", "--addr", addr); code != 1 || !strings.Contains(errOut, "does not answer") {
		t.Errorf("health of a stopped server: %d %s", code, errOut)
	}
}

// TestAuditFollow: audit tail -f prints the latest events, then each new
// one as it is written, until interrupted.
func TestAuditFollow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	common := []string{"--database", filepath.Join(dir, "usher.db"), "--secret-key-file", filepath.Join(dir, "usher.key")}
	mustRun(t, append([]string{"user", "create", "--username", "root", "--admin"}, common...)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	errc := make(chan error, 1)
	go func() {
		errc <- m.Run(ctx, append([]string{"audit", "tail", "-f", "--interval", "20ms", "-o", "json"}, common...))
	}()
	waitFor := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), want); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("audit tail -f did not print %q:\n%s", want, out)
			}
		}
	}
	waitFor(`"action": "user.create"`)
	mustRun(t, append([]string{"user", "block", "root"}, common...)...)
	waitFor(`"action": "user.block"`)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), `"action": "user.create"`); n != 1 {
		t.Errorf("the first event was printed %d times:\n%s", n, out)
	}
}

// TestFlagBeatsVariable: a flag on the command line wins over its USHER_*
// variable, which wins over the default; a malformed variable is a usage
// error.
func TestFlagBeatsVariable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"USHER_DATABASE_URL": filepath.Join(dir, "from-env.db"), "USHER_ADDR": "127.0.0.1:1"}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user", "list"}, 1, "no database at " + filepath.Join(dir, "from-env.db")},
		{[]string{"user", "list", "--database", filepath.Join(dir, "from-flag.db")}, 1, "no database at " + filepath.Join(dir, "from-flag.db")},
		{[]string{"health"}, 1, "127.0.0.1:1"},
		{[]string{"health", "--addr", "127.0.0.1:2"}, 1, "127.0.0.1:2"},
		{[]string{"user", "list", "--limit", "x"}, 2, "invalid argument"},
	} {
		var errOut strings.Builder
		m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
		if code := m.Main(context.Background(), tt.args); code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("usher %v: exit %d, %s; want %d and %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
	env["USHER_LIMIT"] = "many"
	var errOut strings.Builder
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	if code := m.Main(context.Background(), []string{"user", "list"}); code != 2 || !strings.Contains(errOut.String(), "USHER_LIMIT") {
		t.Errorf("a malformed variable: exit %d, %s", code, errOut.String())
	}
}

// TestReadOnlyDatabase: a command that writes to a database it may only
// read says so in an operator's words, naming the file to fix.
func TestReadOnlyDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	mustRun(t, "user", "create", "--username", "root", "--database", db, "--secret-key-file", key)
	runSteps(t, []step{
		{name: "a read goes on", args: []string{"user", "show", "root"}, stdout: "root"},
		{name: "a write is refused with the reason", args: []string{"user", "block", "root"}, code: 1,
			stderr: "the database file is read-only: check that the user usher runs as may write " + db},
	}, "--database", "file:"+db+"?mode=ro", "--secret-key-file", key)
}

// TestAuditTailNamesImpersonator: a change an administrator made acting as
// a user (or through GitLab's Sudo) is recorded with the administrator as
// its impersonator, which audit tail left out of both its outputs, so the
// operator read the change as the user's own.
func TestAuditTailNamesImpersonator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "usher.db")
	common := []string{"--database", path, "--secret-key-file", filepath.Join(dir, "usher.key")}
	mustRun(t, append([]string{"user", "create", "--username", "root", "--admin"}, common...)...)
	mustRun(t, append([]string{"user", "create", "--username", "plain"}, common...)...)
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// What the core records for a change made under an impersonation.
	err = db.InTx(context.Background(), func(tx store.Tx) error {
		return tx.AuditAppend(context.Background(), &usher.AuditEvent{At: time.Now(), ActorKind: usher.PrincipalUser,
			ActorID: 2, ActorName: "plain", ImpersonatorID: 1, Action: "user.update", ResourceType: "user", ResourceID: "2",
			RequestID: "req-imp"})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for o, want := range map[string]string{"table": "plain (impersonated by #1)", "json": `"impersonator_id": 1`} {
		if out := mustRun(t, append([]string{"audit", "tail", "-o", o}, common...)...); !strings.Contains(out, want) {
			t.Errorf("audit tail -o %s lacks %q:\n%s", o, want, out)
		}
	}
}
