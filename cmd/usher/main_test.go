package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"usher/store/postgres/pgtest"
)

// TestMain lets the test binary stand in for the usher binary: with
// USHER_TEST_CHILD=1 it runs the command line after "--" and exits, so the
// tests can run usher as a real child process and kill it.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == hashKeysCommand {
		main()
	}
	if os.Getenv("USHER_TEST_CHILD") == "1" {
		args := os.Args[1:]
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Args = append([]string{"usher"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// run runs usher in-process and returns its output.
func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := run(t, "", args...)
	if err != nil {
		t.Fatalf("usher %v: %v\n%s", args, err, errOut)
	}
	return out
}

// databases lists the backends to run a test on: SQLite always, PostgreSQL
// when the test server is configured.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return filepath.Join(t.TempDir(), "usher.db") },
	}
	if os.Getenv(pgtest.EnvURL) != "" || os.Getenv("CI") == "true" {
		dbs["postgres"] = func(t *testing.T) string { return pgtest.URL(t) }
	}
	return dbs
}

func TestCLI(t *testing.T) {
	t.Parallel()
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			key := filepath.Join(t.TempDir(), "usher.key")
			if out := mustRun(t, "migrate", "--database", db); !strings.Contains(out, "up to date") {
				t.Fatalf("migrate: %q", out)
			}
			out := mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "root", "--email", "root@example.com",
				"--password", "correct horse battery", "--name", "Root User", "--admin")
			var u map[string]any
			if err := json.Unmarshal([]byte(out), &u); err != nil {
				t.Fatalf("user create printed %q: %v", out, err)
			}
			if u["username"] != "root" || u["admin"] != true || u["name"] != "Root User" || u["id"] == nil {
				t.Fatalf("user create printed %v", u)
			}
			if strings.Contains(out, "correct horse") || strings.Contains(out, "argon2") {
				t.Fatal("user create printed the password or its hash")
			}
			tok := mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", "root", "--name", "ci", "--scope", "api", "--expires", "720h")
			if lines := strings.Split(strings.TrimSpace(tok), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "usp_") {
				t.Fatalf("token create printed %q, want only the token", tok)
			}
			app := mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", "root", "--kind", "application")
			if k := strings.TrimSpace(app); !strings.HasPrefix(k, "ptla_") || len(k) != 48 {
				t.Fatalf("application key %q", k)
			}
			// The password may come on standard input.
			if _, errOut, err := run(t, "a stdin password\n", "user", "create", "--database", db, "--secret-key-file", key, "--username", "alice", "--password-stdin"); err != nil {
				t.Fatalf("--password-stdin: %v %s", err, errOut)
			}
			if out := mustRun(t, "version"); !strings.HasPrefix(out, "usher ") {
				t.Fatalf("version: %q", out)
			}
			if out := mustRun(t, "jwt", "rotate", "--database", db, "--secret-key-file", key); !strings.Contains(out, "rotated") {
				t.Fatalf("jwt rotate: %q", out)
			}
			for _, bad := range []struct {
				args []string
				want string
			}{
				{[]string{"user", "create", "--database", db, "--secret-key-file", key, "--email", "x@example.com"}, "username"},
				{[]string{"user", "create", "--database", db, "--secret-key-file", key, "--username", "bob", "--email", "not-an-email"}, "email"},
				{[]string{"user", "create", "--database", db, "--secret-key-file", key, "--username", "ROOT"}, "username has already been taken"},
				{[]string{"token", "create", "--database", db, "--secret-key-file", key, "--user", "nobody"}, "user not found"},
				{[]string{"token", "create", "--database", db, "--secret-key-file", key, "--user", "root", "--scope", "everything"}, "scope"},
				{[]string{"token", "create", "--database", db, "--secret-key-file", key, "--user", "root", "--kind", "session"}, "kind"},
				{[]string{"user", "create", "--database", db, "--secret-key-file", key, "--username", "weak", "--password", "password"}, "common"},
				{[]string{"jwt", "rotate", "--database", db, "--secret-key-file", filepath.Join(t.TempDir(), "other.key")}, "cannot be opened"},
				{[]string{"migrate", "--database", "mysql://x"}, "unknown scheme"},
				{[]string{"migrate", "--database", "host=x dbname=y"}, "postgres:// URL"},
				{[]string{"serve", "--log-level", "loud", "--database", db, "--secret-key-file", key}, "log-level"},
			} {
				_, _, err := run(t, "", bad.args...)
				if err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("usher %v: %v, want an error about %q", bad.args, err, bad.want)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	m := &Main{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard}
	root := m.root()
	serve, _, err := root.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	if got := serve.Flags().Lookup("addr").DefValue; got != "127.0.0.1:8080" {
		t.Errorf("default --addr %q", got)
	}
	if got := root.PersistentFlags().Lookup("database").DefValue; got != "usher.db" {
		t.Errorf("default --database %q", got)
	}
	// Variables apply after parsing, to the flags the command line left alone.
	dir := t.TempDir()
	env := map[string]string{"USHER_DATABASE_URL": filepath.Join(dir, "from-env.db"), "USHER_LOG_LEVEL": "debug"}
	m.Getenv = func(k string) string { return env[k] }
	if err := m.Run(context.Background(), []string{"migrate"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-env.db")); err != nil {
		t.Errorf("USHER_DATABASE_URL did not choose the database: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-env.db.key")); err == nil {
		t.Errorf("migrate made a secret key it does not need")
	}
	env["USHER_SIGNUP"] = "maybe"
	if err := m.Run(context.Background(), []string{"serve", "--database", filepath.Join(dir, "x.db")}); err == nil || !strings.Contains(err.Error(), "USHER_SIGNUP") {
		t.Errorf("a malformed variable: %v", err)
	}
	if got := redactSecretURL("postgres://u:secret@h/db?password=also"); strings.Contains(got, "secret") || strings.Contains(got, "also") {
		t.Errorf("redactSecretURL left a password: %s", got)
	}
}

// child is usher running as a separate process.
type child struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex // over logs, which a goroutine writes while the child runs
	logs *bytes.Buffer
	done chan error
}

// log returns the child's log so far.
func (c *child) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

// logged reports whether the child's log so far holds s.
func (c *child) logged(s string) bool {
	return strings.Contains(c.log(), s)
}

// start runs usher serve on db, with any further flags, as a child
// process and waits until it listens.
func start(t *testing.T, dir, db string, flags ...string) *child {
	t.Helper()
	args := append([]string{"--", "serve", "--addr", "127.0.0.1:0", "--database", db,
		"--secret-key-file", filepath.Join(dir, "usher.key")}, flags...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "USHER_TEST_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.mu.Lock()
			c.logs.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		c.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case c.addr = <-addr:
	case err := <-c.done:
		t.Fatalf("usher serve exited: %v\n%s", err, c.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("usher serve did not start\n%s", c.log())
	}
	return c
}

func (c *child) do(method, path, token, body string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, "http://"+c.addr+path, strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return res, data, err
}

// TestKillDuringCreates kills the server with SIGKILL while clients create
// users, restarts it, and finds every user whose creation was answered 201.
func TestKillDuringCreates(t *testing.T) {
	t.Parallel()
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := newDB(t)
			key := filepath.Join(dir, "usher.key")
			mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "root", "--admin")
			token := strings.TrimSpace(mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", "root"))
			srv := start(t, dir, db)

			var (
				mu      sync.Mutex
				created []string
				stop    atomic.Bool
				wg      sync.WaitGroup
			)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						name := fmt.Sprintf("w%d-user%d", w, i)
						res, _, err := srv.do("POST", "/v1/users", token, `{"username":"`+name+`"}`)
						if err != nil {
							return // the server is gone
						}
						if res.StatusCode == http.StatusCreated {
							mu.Lock()
							created = append(created, name)
							mu.Unlock()
						}
					}
				}()
			}
			// Let a few hundred creates land, then pull the plug mid-stream.
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				mu.Lock()
				n := len(created)
				mu.Unlock()
				if n >= 300 || time.Now().After(deadline) {
					break
				}
			}
			if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-srv.done
			stop.Store(true)
			wg.Wait()
			if len(created) < 50 {
				t.Fatalf("only %d creates were answered before the kill", len(created))
			}

			srv = start(t, dir, db)
			for _, name := range created {
				res, body, err := srv.do("GET", "/v1/users/"+name, token, "")
				if err != nil || res.StatusCode != http.StatusOK {
					t.Fatalf("user %s was answered 201 but is gone after the restart: %v %s", name, err, body)
				}
			}
			t.Logf("%s: all %d acknowledged creates survived SIGKILL", name, len(created))
		})
	}
}

// TestServeEndpoints runs the server in-process: the operational endpoints
// answer and a SIGTERM (a cancelled context) shuts it down cleanly.
func TestServeEndpoints(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "usher.db")
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	var logs bytes.Buffer
	m := &Main{Stdout: io.Discard, Stderr: &logs, Getenv: func(string) string { return "" },
		Started: func(addr string) { addrc <- addr }}
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--database", db}) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	for _, tt := range []struct {
		path   string
		status int
		want   string
	}{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ok"},
		{"/metrics", 200, "usher_http_requests_total"},
		{"/openapi.json", 200, `"openapi":"3.1.0"`},
		{"/nowhere", 404, ""},
		// Every face is mounted: each answers an anonymous caller its way.
		{"/v1/me", 401, `"code":"unauthenticated"`},
		{"/api/v4/user", 401, `"message":"401 Unauthorized"`},
		{"/api/application/users", 401, `"code":"AuthenticationException"`},
		{"/api/v1/users/me", 401, `"code":"unauthenticated"`},
	} {
		res, err := http.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || !strings.Contains(string(body), tt.want) || res.Header.Get("X-Request-ID") == "" {
			t.Errorf("GET %s: %d %.200s", tt.path, res.StatusCode, body)
		}
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("serve after shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(logs.String(), `"msg":"shutting down"`) || !strings.Contains(logs.String(), `"route":"GET /healthz"`) {
		t.Fatalf("logs lack the shutdown or the access log:\n%s", logs.String())
	}
}

// TestSIGTERM sends SIGTERM to a child: it exits 0.
func TestSIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv := start(t, dir, "usher.db")
	if _, err := os.Stat(filepath.Join(dir, "usher.db")); err != nil {
		t.Fatalf("serve did not create its database: %v", err)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.log())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
