package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the settings table in docs/operations.md")

// runEnv runs usher in-process with the environment env and returns its
// exit status and output.
func runEnv(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	code = m.Main(context.Background(), args)
	return code, out.String(), errOut.String()
}

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// printed returns a setting's line of config print --sources.
func printed(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: (.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("config print has no %s:\n%s", name, out)
	}
	return m[1]
}

// TestConfigPrecedence: a flag wins over its USHER_* variable, which wins
// over the configuration file, which wins over the default — for a serve
// flag, a flag of every command, a list and the one variable not named
// like its flag.
func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	type source struct{ flag, env, file string }
	for _, tt := range []struct {
		setting, envName string
		fileText         func(v string) string
		given            source
		want             string // the line config print --sources writes
	}{
		{"addr", "USHER_ADDR", nil, source{}, "127.0.0.1:8080 # default"},
		{"addr", "USHER_ADDR", nil, source{file: "127.0.0.1:1"}, "127.0.0.1:1 # file"},
		{"addr", "USHER_ADDR", nil, source{file: "127.0.0.1:1", env: "127.0.0.1:2"}, "127.0.0.1:2 # env USHER_ADDR"},
		{"addr", "USHER_ADDR", nil, source{file: "127.0.0.1:1", env: "127.0.0.1:2", flag: "127.0.0.1:3"}, "127.0.0.1:3 # flag"},
		{"addr", "USHER_ADDR", nil, source{file: "127.0.0.1:1", flag: "127.0.0.1:3"}, "127.0.0.1:3 # flag"},
		{"addr", "USHER_ADDR", nil, source{env: "127.0.0.1:2", flag: "127.0.0.1:3"}, "127.0.0.1:3 # flag"},
		{"log-level", "USHER_LOG_LEVEL", nil, source{}, "info # default"},
		{"log-level", "USHER_LOG_LEVEL", nil, source{file: "warn"}, "warn # file"},
		{"log-level", "USHER_LOG_LEVEL", nil, source{file: "warn", env: "error"}, "error # env USHER_LOG_LEVEL"},
		{"log-level", "USHER_LOG_LEVEL", nil, source{file: "warn", env: "error", flag: "debug"}, "debug # flag"},
		{"database", "USHER_DATABASE_URL", nil, source{file: "a.db", env: "b.db"}, "b.db # env USHER_DATABASE_URL"},
		{"database", "USHER_DATABASE_URL", nil, source{file: "a.db"}, "a.db # file"},
		{"signup-domains", "USHER_SIGNUP_DOMAINS", func(v string) string { return "signup-domains: [" + v + "]\n" },
			source{file: "a.example, b.example"}, "[a.example, b.example] # file"},
		{"signup-domains", "USHER_SIGNUP_DOMAINS", func(v string) string { return "signup-domains: [" + v + "]\n" },
			source{file: "a.example", env: "c.example,d.example"}, "[c.example, d.example] # env USHER_SIGNUP_DOMAINS"},
		{"signup", "USHER_SIGNUP", nil, source{file: "true"}, "true # file"},
		{"signup", "USHER_SIGNUP", nil, source{file: "true", env: "false"}, "false # env USHER_SIGNUP"},
		{"session-ttl", "USHER_SESSION_TTL", nil, source{file: "12h", flag: "1h"}, "1h0m0s # flag"},
	} {
		name := fmt.Sprintf("%s flag=%q env=%q file=%q", tt.setting, tt.given.flag, tt.given.env, tt.given.file)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := []string{"config", "print", "--sources"}
			env := map[string]string{}
			if v := tt.given.file; v != "" {
				text := tt.setting + ": " + v + "\n"
				if tt.fileText != nil {
					text = tt.fileText(v)
				}
				args = append(args, "--config", writeFile(t, "usher.yaml", text))
			}
			if v := tt.given.env; v != "" {
				env[tt.envName] = v
			}
			if v := tt.given.flag; v != "" {
				args = append(args, "--"+tt.setting, v)
			}
			code, out, errOut := runEnv(t, env, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := printed(t, out, tt.setting); got != tt.want {
				t.Fatalf("%s: %q, want %q", tt.setting, got, tt.want)
			}
		})
	}
}

// TestConfigFile: USHER_CONFIG names the file as --config does, the file
// sets other commands' flags of the same name, and a file that cannot be
// used stops every command with exit 1 and the line at fault.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "usher.db")
	good := writeFile(t, "usher.yaml", "# usher\ndatabase: "+db+"\nlog-level: warn\naddr: 127.0.0.1:1\n")
	if code, out, errOut := runEnv(t, map[string]string{"USHER_CONFIG": good}, "config", "print", "--sources"); code != 0 ||
		printed(t, out, "log-level") != "warn # file" {
		t.Fatalf("USHER_CONFIG: exit %d\n%s%s", code, out, errOut)
	}
	// migrate takes the database from the file.
	if code, _, errOut := runEnv(t, nil, "migrate", "--config", good); code != 0 {
		t.Fatalf("migrate with the file: %d %s", code, errOut)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("migrate did not use the file's database: %v", err)
	}
	// health takes addr from the file: nothing listens on port 1.
	if code, _, errOut := runEnv(t, nil, "health", "--config", good); code != 1 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Fatalf("health with the file: %d %s", code, errOut)
	}
	for _, tt := range []struct {
		name, text string
		args       []string
		want       string
	}{
		{"unknown key", "addr: :1\nsingup: true\n", []string{"config", "check"}, `line 2: unknown setting "singup"; did you mean "signup"?`},
		{"unknown key, nothing near", "addr: :1\nlisten: :2\n", []string{"config", "check"}, `line 2: unknown setting "listen" (the settings are the flags`},
		{"a flag's dashes", "\n--addr: :2\n", []string{"config", "check"}, `line 2: unknown setting "--addr"; did you mean "addr"?`},
		{"unknown key at serve", "adress: :2\n", []string{"serve"}, `line 1: unknown setting "adress"`},
		{"unknown key, any command", "adress: :2\n", []string{"migrate", "status"}, `line 1: unknown setting "adress"`},
		{"a command's own flag", "output: json\n", []string{"config", "check"}, `line 1: unknown setting "output"`},
		{"key twice", "addr: :1\n\naddr: :2\n", []string{"config", "check"}, "line 3: addr is set twice (first on line 1)"},
		{"config in the file", "config: other.yaml\n", []string{"config", "check"}, "line 1: config names the file"},
		{"a mapping value", "addr:\n  host: x\n", []string{"config", "check"}, "line 1: addr takes a value or a list of values, not a mapping"},
		{"a bad value", "signup: perhaps\n", []string{"config", "check"}, `line 1: signup: strconv.ParseBool: parsing "perhaps"`},
		{"a bad duration at serve", "\nsession-ttl: soon\n", []string{"serve"}, `line 2: session-ttl: time: invalid duration "soon"`},
		{"not a mapping", "- addr\n", []string{"config", "check"}, "line 1: the file must be a mapping of setting: value"},
		{"not YAML", "addr: [\n", []string{"config", "print"}, "not YAML"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "usher.yaml", tt.text)
			code, out, errOut := runEnv(t, nil, append(tt.args, "--config", path, "--database", filepath.Join(t.TempDir(), "x.db"))...)
			if code != 1 || !strings.Contains(errOut, tt.want) || !strings.HasPrefix(errOut, "usher: config file "+path) ||
				strings.Count(errOut, "\n") != 1 || out != "" {
				t.Fatalf("exit %d, want 1 with %q\nstdout: %s\nstderr: %s", code, tt.want, out, errOut)
			}
		})
	}
	runSteps(t, []step{
		{name: "a missing file", args: []string{"config", "check", "--config", filepath.Join(dir, "none.yaml")}, code: 1, stderr: "none.yaml: no such file"},
		{name: "an empty file", args: []string{"config", "check", "--config", writeFile(t, "empty.yaml", "")}, stdout: "the configuration is valid"},
		{name: "check, all well", args: []string{"config", "check", "--config", good}, stdout: "the configuration is valid"},
		{name: "config alone", args: []string{"config"}, code: 2, stderr: "usage: usher config COMMAND"},
		{name: "print takes no argument", args: []string{"config", "print", "x"}, code: 2, stderr: "usage: usher config print [flags]"},
		{name: "check an unknown flag", args: []string{"config", "check", "--nope"}, code: 2, stderr: "unknown flag: --nope"},
		{name: "check a bad proxy", args: []string{"config", "check", "--trusted-proxies", "10.0.0.0/99"}, code: 1, stderr: "--trusted-proxies"},
		{name: "check a bad public URL", args: []string{"config", "check", "--public-url", "usher.example.com"}, code: 1, stderr: "--public-url"},
		{name: "check a bad database", args: []string{"config", "check", "--database", "mysql://x/y"}, code: 1, stderr: "unknown scheme"},
		{name: "check a bad SMTP URL", args: []string{"config", "check", "--smtp-url", "smtp://host:587?tls=maybe"}, code: 1, stderr: "--smtp-url"},
		{name: "check a missing theme", args: []string{"config", "check", "--theme", filepath.Join(dir, "none")}, code: 1, stderr: "--theme"},
		{name: "check a half TLS", args: []string{"config", "check", "--tls-cert", "a.pem"}, code: 1, stderr: "--tls-cert and --tls-key go together"},
		{name: "check a bad log level", args: []string{"config", "check", "--log-level", "loud"}, code: 1, stderr: "--log-level"},
		{name: "check argon2id parameters serve refuses", args: []string{"config", "check", "--argon2-memory", "2097152", "--argon2-threads", "4"}, code: 1, stderr: "--argon2-memory"},
		{name: "check a niceness out of range", args: []string{"config", "check", "--hash-nice", "20"}, code: 1, stderr: "--hash-nice"},
		{name: "check an OpenID Connect provider named github", args: []string{"config", "check", "--oidc-issuer", "https://sso.example", "--oidc-name", "github"}, code: 1, stderr: "--oidc-name"},
	})
}

// TestConfigPrintRedacts: config print never shows a secret, from the
// file, a variable or a flag, and says which are set.
func TestConfigPrintRedacts(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "usher.yaml", "smtp-url: smtp://mailer:smtp-pass-1@mail.example.com:587\n"+
		"github-client-secret: gh-secret-2\n")
	env := map[string]string{
		"USHER_DATABASE_URL":       "postgres://usher:db-pass-3@db.example.com/usher?sslmode=disable",
		"USHER_OIDC_CLIENT_SECRET": "oidc-secret-4",
		"USHER_BLOB_URL":           "s3://bucket?endpoint=s3.example.com&secret_key=blob-secret-5",
	}
	code, out, errOut := runEnv(t, env, "config", "print", "--config", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, secret := range []string{"smtp-pass-1", "gh-secret-2", "db-pass-3", "oidc-secret-4", "blob-secret-5"} {
		if strings.Contains(out, secret) {
			t.Errorf("config print shows %s:\n%s", secret, out)
		}
	}
	for name, want := range map[string]string{
		"smtp-url":             "smtp://mailer:REDACTED@mail.example.com:587",
		"github-client-secret": "REDACTED",
		"oidc-client-secret":   "REDACTED",
		"database":             "postgres://usher:REDACTED@db.example.com/usher?sslmode=disable",
		"blob-url":             "s3://bucket?endpoint=s3.example.com&secret_key=REDACTED",
		"github-client-id":     `""`,
	} {
		if got := printed(t, out, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestSecretSettingsKnown: a setting whose name says it holds a secret is
// redacted by config print, unless it only names a file.
func TestSecretSettingsKnown(t *testing.T) {
	t.Parallel()
	// Settings named so that hold no secret: paths, numbers, a public URL.
	names := map[string]bool{"secret-key-file": true, "tls-key": true, "public-url": true,
		"max-tokens-per-user": true, "password-min-length": true, "password-min-score": true}
	root := (&Main{}).root()
	for _, name := range settingNames(root) {
		if regexp.MustCompile(`secret|password|token|key|url`).MatchString(name) && secretSettings[name] == nil && !names[name] {
			t.Errorf("setting %s may hold a secret: add it to secretSettings, or to this test's list of paths", name)
		}
	}
	for name := range secretSettings {
		if settings(root)[name] == nil {
			t.Errorf("secretSettings names %s, which is no setting", name)
		}
	}
}

// settingsTable renders the table of every setting, from the flags
// themselves, for docs/operations.md.
func settingsTable() string {
	root := (&Main{}).root()
	all := settings(root)
	cell := strings.NewReplacer("|", `\|`, "*", `\*`).Replace
	var b strings.Builder
	b.WriteString("| file key | flag | environment variable | default | meaning |\n|---|---|---|---|---|\n")
	for _, name := range settingNames(root) {
		f := all[name]
		key := "`" + name + "`"
		if name == "config" {
			key = "—"
		}
		def := f.DefValue
		if def == "" || def == "[]" {
			def = "none"
		} else {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| %s | `--%s` | `%s` | %s | %s |\n", key, name, envName(name), cell(def), cell(f.Usage))
	}
	for _, e := range envOnly {
		fmt.Fprintf(&b, "| — | — | `%s` | none | %s |\n", e.name, cell(e.meaning))
	}
	return b.String()
}

// TestSettingsTable: docs/operations.md holds the table of every setting
// as the flags define it; go test -run TestSettingsTable -update rewrites it.
func TestSettingsTable(t *testing.T) {
	t.Parallel()
	const path = "../../docs/operations.md"
	const begin, end = "<!-- settings table: made by TestSettingsTable (cmd/usher), -update rewrites it -->\n", "<!-- end of the settings table -->"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers of the settings table", path)
	}
	want := settingsTable()
	if got := doc[i+len(begin) : j]; got != want {
		if !*update {
			t.Fatalf("the settings table in %s is not the flags'; run go test ./cmd/usher -run TestSettingsTable -update", path)
		}
		if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range settingNames((&Main{}).root()) {
		if !strings.Contains(doc, "`--"+name+"`") && !*update {
			t.Errorf("%s does not name --%s", path, name)
		}
	}
}

// TestSecretURLParametersRedacted: the database URL's other secret
// parameter (sslpassword, the client key's passphrase) is hidden by config
// print, and a URL that does not parse is not echoed whole in an error.
func TestSecretURLParametersRedacted(t *testing.T) {
	t.Parallel()
	code, out, errOut := runEnv(t, map[string]string{
		"USHER_DATABASE_URL": "postgres://usher@db.example.com/usher?sslkey=/k.pem&sslpassword=key-pass-6",
	}, "config", "print")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "key-pass-6") {
		t.Errorf("config print shows sslpassword:\n%s", out)
	}
	if got, want := printed(t, out, "database"), "postgres://usher@db.example.com/usher?sslkey=/k.pem&sslpassword=REDACTED"; got != want {
		t.Errorf("database: %q, want %q", got, want)
	}
	for _, db := range []string{"mysql://u:bad-pass-7%zz@h/db", "postgres://u:pass-8@h/?sslpassword=pass-9"} {
		code, out, errOut = runEnv(t, nil, "config", "check", "--database", db)
		if code != 1 || strings.Contains(errOut+out, "pass-") {
			t.Errorf("config check --database %s: exit %d, shows the password:\n%s%s", db, code, out, errOut)
		}
	}
}

// TestConfigFileSecretsReadableWarned: a configuration file that holds a
// secret and that every user of the machine can read is named in a
// warning; one that holds none, or only its owner reads, is not.
func TestConfigFileSecretsReadableWarned(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, text string
		mode       os.FileMode
		warn       bool
	}{
		{"a secret, world-readable", "github-client-secret: gh-secret\n", 0o644, true},
		{"a database password, world-readable", "database: postgres://u:pw@db/usher\n", 0o644, true},
		{"a secret, owner only", "github-client-secret: gh-secret\n", 0o600, false},
		{"no secret, world-readable", "signup: true\ndatabase: /var/lib/usher/usher.db\n", 0o644, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "usher.yaml", tc.text)
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runEnv(t, nil, "config", "check", "--config", path)
			if code != 0 || !strings.Contains(out, "the configuration is valid") {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			warned := strings.Contains(errOut, "readable by other users")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v: %q", warned, tc.warn, errOut)
			}
			if warned && (!strings.Contains(errOut, path) || strings.Contains(errOut, "gh-secret") || strings.Contains(errOut, "pw@")) {
				t.Errorf("the warning does not name the file, or shows the secret: %q", errOut)
			}
		})
	}
}

// TestServeRefusesBadRetention: a housekeeping time that would reach what
// has not ended, a give-up time for mail that is none, and a log that
// would wait a negative time, stop serve at once with the flag named,
// before anything is served or written.
func TestServeRefusesBadRetention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ flag, value, want string }{
		{"--keep-ended", "-1h", "--keep-ended: -1h0m0s is negative"},
		{"--mail-give-up", "0s", "--mail-give-up: 0s: give a positive time"},
		{"--mail-give-up", "-5m", "--mail-give-up: -5m0s: give a positive time"},
		{"--log-flush", "-1s", "--log-flush: -1s is negative: give 0"},
	} {
		_, _, err := run(t, "", "serve", "--database", filepath.Join(t.TempDir(), "usher.db"), "--addr", "127.0.0.1:0",
			tc.flag, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %s %s: %v, want an error saying %q", tc.flag, tc.value, err, tc.want)
		}
	}
}

// TestCheckOIDCName: an OpenID Connect provider's name is a path segment,
// and not GitHub's, under which linked identities would be taken for
// GitHub's.
func TestCheckOIDCName(t *testing.T) {
	t.Parallel()
	for name, ok := range map[string]bool{
		"oidc": true, "corp-sso": true, "Okta_2": true, "sso.corp": true, strings.Repeat("a", 64): true,
		"github": false, "GitHub": false, "": false, "my/idp": false, "a b": false, "..": false, ".": false, "é": false,
		strings.Repeat("a", 65): false,
	} {
		if err := checkOIDCName(name); (err == nil) != ok {
			t.Errorf("checkOIDCName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
