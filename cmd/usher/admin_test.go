package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
)

// runExit runs usher in-process as main does and returns its exit status
// and output.
func runExit(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	code = m.Main(context.Background(), args)
	return code, out.String(), errOut.String()
}

// step is one command line of a CLI test and what it must give.
type step struct {
	name   string
	stdin  string
	args   []string
	code   int
	stdout string // a substring of standard output
	stderr string // a substring of standard error
}

// runSteps runs each step in order against the same database.
func runSteps(t *testing.T, steps []step, common ...string) {
	t.Helper()
	for _, s := range steps {
		code, out, errOut := runExit(t, s.stdin, append(s.args, common...)...)
		if code != s.code || !strings.Contains(out, s.stdout) || !strings.Contains(errOut, s.stderr) {
			t.Errorf("%s: usher %s: exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s",
				s.name, strings.Join(s.args, " "), code, s.code, s.stdout, out, s.stderr, errOut)
		}
	}
}

// mustTeam makes a team with members through the core, for the group
// commands to read.
func mustTeam(t *testing.T, db, key, handle string, members ...int64) {
	t.Helper()
	m := &Main{Getenv: func(string) string { return "" }}
	err := m.withCore(context.Background(), &config{database: db, secretKeyFile: key}, func(ctx context.Context, c *core.Core) error {
		_, err := c.Groups.Create(ctx, usher.GroupCreate{Kind: usher.GroupTeam, Handle: handle, Name: "Team " + handle, Members: members})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jsonOut runs a command that prints JSON and decodes it into v.
func jsonOut(t *testing.T, v any, args ...string) {
	t.Helper()
	code, out, errOut := runExit(t, "", args...)
	if code != 0 {
		t.Fatalf("usher %v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("usher %v printed %q: %v", args, out, err)
	}
}

// TestAdminCommands runs every administration command and its usage and
// runtime failures on each database, checking the exit status and output,
// and that the changes went through the core and into the audit log.
func TestAdminCommands(t *testing.T) {
	t.Parallel()
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			key := filepath.Join(t.TempDir(), "usher.key")
			common := []string{"--database", db, "--secret-key-file", key}
			runSteps(t, []step{
				{name: "create the administrator", stdin: "a long passphrase\n", args: []string{"user", "create", "--username", "root", "--admin", "--password-stdin"}, stdout: `"username": "root"`},
				{name: "create alice", args: []string{"user", "create", "--username", "alice", "--email", "alice@example.com", "--name", "Alice Liddell"}, stdout: `"username": "alice"`},
				{name: "an empty password on stdin", stdin: "\n", args: []string{"user", "create", "--username", "bob", "--password-stdin"}, code: 1, stderr: "no password"},
				{name: "both password flags", stdin: "x\n", args: []string{"user", "create", "--username", "bob", "--password", "pw", "--password-stdin"}, code: 2, stderr: "usage: usher user create"},
			}, common...)
			var alice map[string]any
			jsonOut(t, &alice, append([]string{"user", "show", "alice", "-o", "json"}, common...)...)
			aliceID := int64(alice["id"].(float64))
			mustTeam(t, db, key, "ops", aliceID)
			runSteps(t, []step{
				{name: "list", args: []string{"user", "list"}, stdout: "Alice Liddell"},
				{name: "list a query", args: []string{"user", "list", "-q", "lidd"}, stdout: "alice"},
				{name: "show by id", args: []string{"user", "show", strconv.FormatInt(aliceID, 10)}, stdout: "alice@example.com"},
				{name: "show nobody", args: []string{"user", "show", "nobody"}, code: 1, stderr: "usher: user not found"},
				{name: "show without a user", args: []string{"user", "show"}, code: 2, stderr: "usage: usher user show USER"},
				{name: "list with a bad output", args: []string{"user", "list", "-o", "yaml"}, code: 2, stderr: "want table or json"},
				{name: "list with a bad state", args: []string{"user", "list", "--state", "asleep"}, code: 1, stderr: "state"},
				{name: "block", args: []string{"user", "block", "alice"}, stdout: "blocked"},
				{name: "unblock", args: []string{"user", "unblock", "alice"}, stdout: "active"},
				{name: "suspend", args: []string{"user", "suspend", "alice", "-o", "json"}, stdout: `"state": "suspended"`},
				{name: "unsuspend", args: []string{"user", "unsuspend", "alice"}, stdout: "active"},
				{name: "block nobody", args: []string{"user", "block", "nobody"}, code: 1, stderr: "user not found"},
				{name: "passwd", stdin: "another long passphrase\n", args: []string{"user", "passwd", "alice", "--password-stdin"}, stdout: "password of alice set"},
				{name: "passwd with an empty stdin", stdin: "", args: []string{"user", "passwd", "alice", "--password-stdin"}, code: 1, stderr: "no password"},
				{name: "passwd without --password-stdin", args: []string{"user", "passwd", "alice"}, code: 2, stderr: "--password-stdin"},
				{name: "passwd too weak", stdin: "password\n", args: []string{"user", "passwd", "alice", "--password-stdin"}, code: 1, stderr: "common"},
				{name: "token for alice", args: []string{"token", "create", "--user", "alice", "--name", "deploy"}, stdout: "usp_"},
				{name: "token that never expires", args: []string{"token", "create", "--user", "alice", "--name", "forever", "--no-expiry"}, stdout: "usp_"},
				{name: "token with both lifetimes", args: []string{"token", "create", "--user", "alice", "--no-expiry", "--expires", "1h"}, code: 2, stderr: "not both"},
				{name: "token with no lifetime", args: []string{"token", "create", "--user", "alice", "--expires", "0s"}, code: 2, stderr: "--no-expiry"},
				{name: "token without a user", args: []string{"token", "create"}, code: 2, stderr: `required flag(s) "user" not set`},
				{name: "token list", args: []string{"token", "list", "--user", "alice"}, stdout: "deploy"},
				{name: "token list of nobody", args: []string{"token", "list", "--user", "nobody"}, code: 1, stderr: "user not found"},
				{name: "token revoke of a word", args: []string{"token", "revoke", "abc"}, code: 2, stderr: "not a number"},
				{name: "token revoke of no token", args: []string{"token", "revoke", "999999"}, code: 1, stderr: "token not found"},
				{name: "group list", args: []string{"group", "list"}, stdout: "Team ops"},
				{name: "group list of a bad kind", args: []string{"group", "list", "--kind", "tribe"}, code: 2, stderr: "not a group kind"},
				{name: "group members by handle", args: []string{"group", "members", "ops"}, stdout: "alice"},
				{name: "group members of no group", args: []string{"group", "members", "nowhere"}, code: 1, stderr: "not found"},
				{name: "audit tail", args: []string{"audit", "tail", "-n", "50"}, stdout: "user.block"},
				{name: "audit tail of an action", args: []string{"audit", "tail", "--action", "user.suspend"}, stdout: "user:" + strconv.FormatInt(aliceID, 10)},
				{name: "audit tail of nothing", args: []string{"audit", "tail", "-n", "0"}, code: 2, stderr: "--limit"},
				{name: "migrate status", args: []string{"migrate", "status"}, stdout: "applied"},
				{name: "export", args: []string{"export"}, stdout: `"username":"alice"`},
				{name: "an unknown command", args: []string{"user", "frobnicate"}, code: 2, stderr: "unknown command"},
				{name: "an unknown flag", args: []string{"user", "list", "--colour"}, code: 2, stderr: "unknown flag"},
			}, common...)

			// The token minted without --expires lives 24 hours; --no-expiry's
			// never ends. Revoking one by its id ends it; deleting the
			// account ends the other.
			var toks []tokenJSON
			jsonOut(t, &toks, append([]string{"token", "list", "--user", "alice", "-o", "json"}, common...)...)
			byName := map[string]tokenJSON{}
			for _, tok := range toks {
				byName[tok.Name] = tok
			}
			if exp := byName["deploy"].ExpiresAt; exp == nil || time.Until(*exp) < 23*time.Hour || time.Until(*exp) > 25*time.Hour {
				t.Errorf("the default token expires at %v, want in 24h", exp)
			}
			if tok, ok := byName["forever"]; !ok || tok.ExpiresAt != nil {
				t.Errorf("the --no-expiry token: %+v", tok)
			}
			id := strconv.FormatInt(byName["deploy"].ID, 10)
			runSteps(t, []step{
				{name: "revoke", args: []string{"token", "revoke", id}, stdout: "token " + id + " revoked"},
				{name: "revoke again", args: []string{"token", "revoke", id}, code: 1, stderr: "token not found"},
				{name: "delete", args: []string{"user", "delete", "alice"}, stdout: "alice"},
				{name: "show a deleted user", args: []string{"user", "show", "alice"}, code: 1, stderr: "user not found"},
				{name: "list the deleted too", args: []string{"user", "list", "--deleted"}, stdout: "alice"},
				{name: "undelete", args: []string{"user", "undelete", strconv.FormatInt(aliceID, 10)}, stdout: "alice"},
			}, common...)

			// Each change is in the audit log, made by usher itself from the
			// command line.
			var events []eventJSON
			jsonOut(t, &events, append([]string{"audit", "tail", "-n", "100", "-o", "json"}, common...)...)
			seen := map[string]bool{}
			for _, e := range events {
				if e.ActorKind != string(usher.PrincipalSystem) || e.RequestID != "cli" {
					t.Errorf("event %s by %s, request %q", e.Action, e.ActorKind, e.RequestID)
				}
				seen[e.Action] = true
			}
			for _, action := range []string{"user.block", "user.unblock", "user.suspend", "user.unsuspend", "user.delete", "user.undelete", "user.update", "token.revoke"} {
				if !seen[action] {
					t.Errorf("no %s event in the audit log: %v", action, seen)
				}
			}
			for i := 1; i < len(events); i++ {
				if events[i].ID < events[i-1].ID {
					t.Fatalf("audit tail is not oldest first: %d before %d", events[i-1].ID, events[i].ID)
				}
			}
		})
	}
}

// TestVersion: usher version and usher --version print the version the
// build set, never "devel" then, with the build's details in JSON.
func TestVersion(t *testing.T) {
	// Not parallel: it sets the version -ldflags would.
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runExit(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "usher v1.2.3") || strings.Contains(out, "devel") {
			t.Errorf("usher %v: %d %q", args, code, out)
		}
	}
	var b buildInfo
	jsonOut(t, &b, "version", "-o", "json")
	if b.Version != "v1.2.3" || !strings.HasPrefix(b.GoVersion, "go") {
		t.Errorf("version -o json: %+v", b)
	}
	if code, _, errOut := runExit(t, "", "version", "extra"); code != 2 || !strings.Contains(errOut, "usage: usher version") {
		t.Errorf("version with an argument: %d %s", code, errOut)
	}
}
