package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestImportExport: usher import names every bad line with its reason,
// writes the rest, exits non-zero, and a second run changes nothing; what
// usher export writes, usher import reads back into a fresh database.
func TestImportExport(t *testing.T) {
	t.Parallel()
	hash, _ := bcrypt.GenerateFromPassword([]byte("an imported passphrase"), bcrypt.MinCost)
	file := strings.Join([]string{
		`{"username":"carol","email":"carol@example.com","password_hash":"` + string(hash) + `","external_id":"e-3","admin":true}`,
		`{"username":"dave","state":"suspended","metadata":{"team":"ops"}}`,
		`{"username":"erin","password_hash":"{MD5}X03MO1qnZdYdgyfeuILPmQ=="}`,
		`{"username":"CAROL"}`,
		`{"username":"frank","external_id":"e-3"}`,
		`{"username":"grace","name":"` + "\xc3\x28" + `"}`,
		`{"username":"heidi","colour":"blue"}`,
		`{"username":"ivan","email":"ivan@example.com"}`,
		`{"username":"judy","na`,
	}, "\n")
	wantBad := map[string]string{
		"line 3:": "password_hash",
		"line 4:": "line 1 again",
		"line 5:": "line 1 again",
		"line 6:": "UTF-8",
		"line 7:": "unknown field",
		"line 9:": "cut short",
	}
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, key := newDB(t), filepath.Join(dir, "usher.key")
			in := filepath.Join(dir, "users.ndjson")
			if err := os.WriteFile(in, []byte(file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errOut, err := run(t, "", "import", "--database", db, "--secret-key-file", key, in)
			if !errors.Is(err, errSomeFailed) {
				t.Fatalf("import with bad lines: %v\n%s", err, errOut)
			}
			for line, reason := range wantBad {
				i := strings.Index(errOut, line)
				if i < 0 || !strings.Contains(strings.SplitN(errOut[i:], "\n", 2)[0], reason) {
					t.Errorf("%s not reported for %q:\n%s", line, reason, errOut)
				}
			}
			if strings.Count("\n"+errOut, "\nline ") != len(wantBad) {
				t.Errorf("lines reported:\n%s", errOut)
			}
			if !strings.Contains(errOut, "imported: 3 created, 0 updated, 0 unchanged, 6 failed") {
				t.Errorf("summary:\n%s", errOut)
			}
			// The same file again: the good lines are unchanged, none doubled.
			_, errOut, _ = run(t, "", "import", "--database", db, "--secret-key-file", key, in)
			if !strings.Contains(errOut, "imported: 0 created, 0 updated, 3 unchanged, 6 failed") {
				t.Errorf("second run:\n%s", errOut)
			}

			// Exported, then imported into a fresh database, as CSV.
			out := filepath.Join(dir, "users.csv")
			mustRun(t, "export", "--database", db, "--secret-key-file", key, out)
			if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("export file: %v, %v", st, err)
			}
			csv, _ := os.ReadFile(out)
			for _, want := range []string{"carol,carol@example.com", string(hash), "dave,", "suspended", `"{""team"":""ops""}"`, "ivan,ivan@example.com"} {
				if !strings.Contains(string(csv), want) {
					t.Errorf("export lacks %q:\n%s", want, csv)
				}
			}
			for _, never := range []string{"erin", "frank", "grace", "heidi", "judy"} {
				if strings.Contains(string(csv), never) {
					t.Errorf("a failed line's user %s was written:\n%s", never, csv)
				}
			}
			fresh := filepath.Join(dir, "fresh.db")
			if _, errOut, err := run(t, "", "import", "--database", fresh, "--secret-key-file", key, out); err != nil ||
				!strings.Contains(errOut, "imported: 3 created, 0 updated, 0 unchanged, 0 failed") {
				t.Fatalf("import of the export: %v\n%s", err, errOut)
			}
			nd := mustRun(t, "export", "--database", fresh, "--secret-key-file", key, "--format", "ndjson")
			if strings.Count(nd, "\n") != 3 || !strings.Contains(nd, `"password_hash":"`+string(hash)+`"`) {
				t.Fatalf("NDJSON export of the fresh database:\n%s", nd)
			}
		})
	}
}

// TestImportBadInput: what is wrong with the file or the flags as a whole
// stops the import before anything is written.
func TestImportBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvFile := write("users.csv", "username,email\nann,ann@example.com\nbob\nchris,chris@example.com,extra\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{write("colour.csv", "username,colour\nann,blue\n")}, `unknown column "colour"`},
		{[]string{write("nouser.csv", "email\nann@example.com\n")}, "no username column"},
		{[]string{"--format", "xml", csvFile}, "unknown format"},
		{[]string{"--batch", "0", csvFile}, "--batch"},
		{[]string{filepath.Join(dir, "missing.ndjson")}, "no such file"},
		{[]string{}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		args := append([]string{"import", "--database", db, "--secret-key-file", key}, tt.args...)
		_, _, err := run(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("usher %v: %v, want an error about %q", tt.args, err, tt.want)
		}
	}
	// A CSV line with the wrong number of columns is named; the good one
	// goes in, from standard input too.
	text, _ := os.ReadFile(csvFile)
	_, errOut, err := run(t, string(text), "import", "--database", db, "--secret-key-file", key, "--format", "csv", "-")
	if !errors.Is(err, errSomeFailed) || !strings.Contains(errOut, "line 3: 1 columns, the header has 2") ||
		!strings.Contains(errOut, "line 4: 3 columns") || !strings.Contains(errOut, "1 created") {
		t.Fatalf("CSV with bad rows: %v\n%s", err, errOut)
	}
	if _, _, err := run(t, "", "export", "--database", db, "--secret-key-file", key, "--format", "xml"); err == nil {
		t.Fatal("export --format xml accepted")
	}
	// A password hash that would hold a hashing worker past about a second
	// at every wrong guess at its account is refused by its line: PBKDF2's
	// iterations count once for each 32 bytes of key, and 10,000,000 over
	// 1,024 bytes took about a minute.
	heavy := "pbkdf2_sha256$10000000$saltsalt$" + base64.StdEncoding.EncodeToString(make([]byte, 1024))
	_, errOut, err = run(t, `{"username":"mallory","password_hash":"`+heavy+`"}`+"\n", "import", "--database", db,
		"--secret-key-file", key, "--format", "ndjson", "-")
	if !errors.Is(err, errSomeFailed) || !strings.Contains(errOut, "line 1:") || !strings.Contains(errOut, "0 created") {
		t.Fatalf("a PBKDF2 hash of a minute a guess: %v\n%s", err, errOut)
	}
}

// TestExportOverAnExistingFile: an export written over a file that was
// there — last week's export, one made by touch under the usual umask —
// is its owner's alone, as a new one is: it holds every password hash,
// and OpenFile kept the old file's mode (0644, readable by every local
// user).
func TestExportOverAnExistingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "ann",
		"--email", "ann@example.com", "--password", "correct horse battery")
	out := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(out, []byte("last week's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(out, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	mustRun(t, "export", "--database", db, "--secret-key-file", key, out)
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the export over an existing file: %v, %v; want mode 0600", st.Mode(), err)
	}
	if text, _ := os.ReadFile(out); !strings.Contains(string(text), "ann@example.com") {
		t.Fatalf("the export:\n%s", text)
	}
}

// cancelAfter is a reader that cancels its context once it has given
// n bytes: an import cut short between two batches, as by Ctrl-C or a
// crash.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 512)])
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestImportResumes: an import cut short keeps the batches it wrote; run
// again on the same file, it reports those users as unchanged, creates
// the rest, and every user of the file is there once.
func TestImportResumes(t *testing.T) {
	t.Parallel()
	const users, batch = 1200, 100
	var file strings.Builder
	for i := range users {
		fmt.Fprintf(&file, `{"username":"user%04d","email":"user%04d@example.com","name":"Resumed %d","external_id":"x-%d"}`+"\n", i, i, i, i)
	}
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, key := newDB(t), filepath.Join(dir, "usher.key")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var errOut bytes.Buffer
			m := &Main{Stdin: &cancelAfter{r: strings.NewReader(file.String()), n: file.Len() / 2, cancel: cancel},
				Stdout: io.Discard, Stderr: &errOut, Getenv: func(string) string { return "" }}
			err := m.Run(ctx, []string{"import", "--database", db, "--secret-key-file", key, "--batch", strconv.Itoa(batch), "-"})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("an import cut short: %v\n%s", err, errOut.String())
			}
			landed := strings.Count(mustRun(t, "export", "--database", db, "--secret-key-file", key), "\n")
			if landed == 0 || landed >= users || landed%batch != 0 {
				t.Fatalf("%d users landed before the cut, want whole batches of %d, fewer than %d", landed, batch, users)
			}
			_, out, err := run(t, file.String(), "import", "--database", db, "--secret-key-file", key, "--batch", strconv.Itoa(batch), "-")
			want := fmt.Sprintf("imported: %d created, 0 updated, %d unchanged, 0 failed", users-landed, landed)
			if err != nil || !strings.Contains(out, want) {
				t.Fatalf("the second run: %v\n%s\nwant %q", err, out, want)
			}
			export := mustRun(t, "export", "--database", db, "--secret-key-file", key)
			for _, u := range []string{"user0000", "user0599", "user1199"} {
				if strings.Count(export, `"username":"`+u+`"`) != 1 {
					t.Fatalf("%s is not in the export once:\n%.400s", u, export)
				}
			}
			if n := strings.Count(export, "\n"); n != users {
				t.Fatalf("%d users exported, want %d", n, users)
			}
			// Found by a search: the search index was rebuilt after the cut.
			out = mustRun(t, "user", "list", "--database", db, "--secret-key-file", key, "--query", "Resumed 1199")
			if !strings.Contains(out, "user1199") {
				t.Fatalf("search after the resumed import:\n%s", out)
			}
		})
	}
}

// TestImportLoadRefusesAddressTwice: into an empty database (a load, which
// claims addresses at its end), a line whose address, primary or
// secondary, an earlier line named is reported and skipped; the others
// land, the load finishes, and the addresses stay claimed.
func TestImportLoadRefusesAddressTwice(t *testing.T) {
	t.Parallel()
	file := `{"username":"ann","email":"p@example.com"}
{"username":"bob","email":"bob@example.com","emails":["P@example.com"]}
{"username":"cat","email":"cat@example.com","emails":["q@example.com"]}
{"username":"dan","email":"q@example.com"}
{"username":"eve","email":"eve@example.com"}
`
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, key := newDB(t), filepath.Join(t.TempDir(), "usher.key")
			_, out, err := run(t, file, "import", "--database", db, "--secret-key-file", key, "-")
			for _, want := range []string{"line 2: the address p@example.com of line 1 again",
				"line 4: the address q@example.com of line 3 again", "imported: 3 created, 0 updated, 0 unchanged, 2 failed"} {
				if err == nil || !strings.Contains(out, want) {
					t.Fatalf("import: %v\n%s\nwant %q", err, out, want)
				}
			}
			export := mustRun(t, "export", "--database", db, "--secret-key-file", key)
			for _, u := range []string{"ann", "cat", "eve"} {
				if !strings.Contains(export, `"username":"`+u+`"`) {
					t.Fatalf("%s is not exported:\n%s", u, export)
				}
			}
			// The load claimed ann's address: a later import cannot give it to another.
			_, out, err = run(t, `{"username":"fay","email":"p@example.com"}`+"\n", "import", "--database", db, "--secret-key-file", key, "-")
			if err == nil || !strings.Contains(out, "1 failed") {
				t.Fatalf("a second user with a loaded address: %v\n%s", err, out)
			}
		})
	}
}

// TestImportResumesAfterKill: an import killed in the middle of a load
// (no Ctrl-C, no end of the load: the indexes stay set aside) keeps the
// batches it committed; run again on the same file, it finishes the load
// it finds unfinished, reports the users that landed as unchanged,
// creates the rest, and every user is there once and found by a search.
func TestImportResumesAfterKill(t *testing.T) {
	t.Parallel()
	const users, batch, cut = 1200, 100, 600
	lines := killedUsers(users)
	file := strings.Join(lines, "\n") + "\n"
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, key := newDB(t), filepath.Join(dir, "usher.key")
			killMidLoad(t, db, key, lines[:cut], batch)

			_, out, err := run(t, file, "import", "--database", db, "--secret-key-file", key, "--batch", strconv.Itoa(batch), "-")
			want := fmt.Sprintf("imported: %d created, 0 updated, %d unchanged, 0 failed", users-cut, cut)
			if err != nil || !strings.Contains(out, want) {
				t.Fatalf("the run after the kill: %v\n%s\nwant %q", err, out, want)
			}
			export := mustRun(t, "export", "--database", db, "--secret-key-file", key)
			if n := strings.Count(export, "\n"); n != users {
				t.Fatalf("%d users exported, want %d", n, users)
			}
			for _, u := range []string{"kept0000", "kept0599", "kept0600", "kept1199"} {
				if strings.Count(export, `"username":"`+u+`"`) != 1 {
					t.Fatalf("%s is not in the export once", u)
				}
				// Found by a search: the indexes the killed load set aside were built.
				out := mustRun(t, "user", "list", "--database", db, "--secret-key-file", key, "--query", "Killed "+strings.TrimLeft(u[4:], "0"))
				if !strings.Contains(out, u) {
					t.Fatalf("search for %s after the resumed import:\n%s", u, out)
				}
			}
		})
	}
}

// killedUsers returns n lines of an import file, user i named
// "kept%04d" and "Killed i".
func killedUsers(n int) []string {
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf(`{"username":"kept%04d","email":"kept%04d@example.com","name":"Killed %d","external_id":"k-%d"}`, i, i, i, i))
	}
	return lines
}

// killMidLoad runs usher import on db, an empty database, in a child
// process, feeds it lines (whole batches of batch), waits until every one
// has landed and kills it, in the middle of its load.
func killMidLoad(t *testing.T, db, key string, lines []string, batch int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--", "import", "--database", db, "--secret-key-file", key, "--batch", strconv.Itoa(batch), "-")
	cmd.Env = append(os.Environ(), "USHER_TEST_CHILD=1")
	var childErr syncBuffer
	cmd.Stderr = &childErr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The lines fill whole batches: the child commits them and waits for
	// more, in the middle of its load.
	if _, err := io.WriteString(stdin, strings.Join(lines, "\n")+"\n"); err != nil {
		t.Fatal(err)
	}
	landed, lastErr := 0, error(nil)
	for deadline := time.Now().Add(time.Minute); landed < len(lines) && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("the import ended before the kill: %v\n%s", err, childErr.String())
		default:
		}
		// Before the child made the database, there is none to export.
		out, _, err := run(t, "", "export", "--database", db, "--secret-key-file", key)
		if lastErr = err; err == nil {
			landed = strings.Count(out, "\n")
		}
	}
	if landed != len(lines) {
		t.Fatalf("%d users landed before the kill, want %d; the last export: %v; the import:\n%s", landed, len(lines), lastErr, childErr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
}

// TestServeFinishesCutShortImport: usher serve started on a database whose
// import was killed in the middle of its load finishes that load, as the
// next usher import would: the loaded users are found by a search and
// their addresses are claimed.
func TestServeFinishesCutShortImport(t *testing.T) {
	t.Parallel()
	lines := killedUsers(200)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, key := newDB(t), filepath.Join(dir, "usher.key")
			killMidLoad(t, db, key, lines, 50)
			mustRun(t, "user", "create", "--database", db, "--secret-key-file", key, "--username", "root", "--admin")
			token := strings.TrimSpace(mustRun(t, "token", "create", "--database", db, "--secret-key-file", key, "--user", "root"))

			srv := start(t, dir, db)
			for deadline := time.Now().Add(time.Minute); !srv.logged("finished an import that was cut short"); time.Sleep(20 * time.Millisecond) {
				if srv.logged(`"level":"ERROR"`) || time.Now().After(deadline) {
					t.Fatalf("usher serve did not finish the import that was cut short:\n%s", srv.log())
				}
			}
			// On SQLite the search index was set aside and rebuilt; on
			// PostgreSQL only its trigram index was, which a search does
			// without, so there the claims below are what prove the end.
			res, body, err := srv.do("GET", "/v1/users?q="+url.QueryEscape("Killed 137"), token, "")
			if err != nil || res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"username":"kept0137"`) {
				t.Fatalf("search after serve finished the load: %v %s", err, body)
			}
			// kept0042's address is claimed: no other user may add it.
			res, body, err = srv.do("POST", "/v1/users/root/emails", token, `{"email":"kept0042@example.com"}`)
			if err != nil || res.StatusCode != http.StatusConflict || !strings.Contains(string(body), "email_taken") {
				t.Fatalf("another user adds a loaded user's address: %v %d %s", err, res.StatusCode, body)
			}
		})
	}
}

// TestImportFailuresInOrder: the lines an import refuses are reported in
// the file's order, whether refused on reading (a repeated username,
// address or external id, an unknown field) or on writing (an address
// another user has, found by the database), into an empty database (a
// load) and into one with more users than a load takes.
func TestImportFailuresInOrder(t *testing.T) {
	t.Parallel()
	var before strings.Builder
	for i := range 1001 {
		fmt.Fprintf(&before, `{"username":"old%04d","email":"old%04d@example.com"}`+"\n", i, i)
	}
	cases := []struct {
		name, before, file string
		lines              []string // the reasons, in the order reported
		summary            string
	}{
		{
			name: "empty",
			file: `{"username":"ann","email":"ann@example.com","external_id":"e-1"}
{"username":"bob","colour":"blue"}
{"username":"ANN"}
{"username":"cat","email":"ANN@example.com"}
{"username":"dan","external_id":"e-1"}
{"username":"eve","email":"eve@example.com"}
`,
			lines: []string{"line 2: json: unknown field", "line 3: the username of line 1 again",
				"line 4: the address ann@example.com of line 1 again", "line 5: the external id of line 1 again"},
			summary: "imported: 2 created, 0 updated, 0 unchanged, 4 failed",
		},
		{
			name:   "not empty",
			before: before.String(),
			file: `{"username":"ann","email":"ann@example.com"}
{"username":"bob","email":"old0005@example.com"}
{"username":"cat","colour":"blue"}
{"username":"ANN"}
{"username":"dan","email":"ann@example.com"}
{"username":"eve","email":"eve@example.com"}
`,
			lines:   []string{"line 2: email has already been taken", "line 3: json: unknown field", "line 4: the username of line 1 again", "line 5: email has already been taken"},
			summary: "imported: 2 created, 0 updated, 0 unchanged, 4 failed",
		},
	}
	for name, newDB := range databases(t) {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				db, key := newDB(t), filepath.Join(t.TempDir(), "usher.key")
				if tc.before != "" {
					if _, out, err := run(t, tc.before, "import", "--database", db, "--secret-key-file", key, "-"); err != nil {
						t.Fatalf("the users before: %v\n%s", err, out)
					}
				}
				_, out, err := run(t, tc.file, "import", "--database", db, "--secret-key-file", key, "-")
				if !errors.Is(err, errSomeFailed) || !strings.Contains(out, tc.summary) {
					t.Fatalf("import: %v\n%s\nwant %q", err, out, tc.summary)
				}
				var got []string
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "line ") {
						got = append(got, l)
					}
				}
				if len(got) != len(tc.lines) {
					t.Fatalf("reported:\n%s\nwant %d lines", out, len(tc.lines))
				}
				for i, want := range tc.lines {
					if !strings.HasPrefix(got[i], want) {
						t.Errorf("report %d: %q, want it to start with %q", i+1, got[i], want)
					}
				}
			})
		}
	}
}

// TestImportLoadKeepsOrder: a load writes two batches at once, yet its
// users take their ids in the file's order.
func TestImportLoadKeepsOrder(t *testing.T) {
	t.Parallel()
	const users = 400
	var file strings.Builder
	var want []string
	for i := range users {
		fmt.Fprintf(&file, `{"username":"ord%04d","email":"ord%04d@example.com"}`+"\n", i, i)
		want = append(want, fmt.Sprintf("ord%04d", i))
	}
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, key := newDB(t), filepath.Join(t.TempDir(), "usher.key")
			if _, out, err := run(t, file.String(), "import", "--database", db, "--secret-key-file", key, "--batch", "7", "-"); err != nil {
				t.Fatalf("import: %v\n%s", err, out)
			}
			var got []string
			for _, l := range strings.Split(mustRun(t, "user", "list", "--database", db, "--secret-key-file", key, "--limit", "0"), "\n") {
				if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], "ord") {
					got = append(got, f[1])
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("the users by id:\n%v\nwant the file's order", got)
			}
		})
	}
}

// TestImportTakesTheInstancesOwnHashes: serve hashes at the argon2id
// parameters it is given, past the bound an import keeps to (about a
// second of work); its export came back refused, line by line, by usher
// import. Given the instance's parameters (the flags serve takes, or
// their USHER_* variables), an import takes hashes that cost no more than
// its own.
func TestImportTakesTheInstancesOwnHashes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, key := filepath.Join(dir, "usher.db"), filepath.Join(dir, "usher.key")
	// As serve --argon2-memory 65536 --argon2-time 5 stores a password.
	hash := "$argon2id$v=19$m=65536,t=5,p=1$c2FsdHNhbHRzYWx0$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	line := `{"username":"lee","email":"lee@example.com","password_hash":"` + hash + `"}` + "\n"
	args := []string{"import", "--database", db, "--secret-key-file", key, "--format", "ndjson"}
	_, errOut, err := run(t, line, append(args, "-")...)
	if !errors.Is(err, errSomeFailed) || !strings.Contains(errOut, "cost more than one log-in may") {
		t.Fatalf("at the default parameters: %v\n%s", err, errOut)
	}
	if _, errOut, err = run(t, line, append(args, "--argon2-memory", "65536", "--argon2-time", "5", "-")...); err != nil ||
		!strings.Contains(errOut, "1 created") {
		t.Fatalf("at the instance's parameters: %v\n%s", err, errOut)
	}
	if _, _, err = run(t, line, append(args, "--argon2-time", "0", "-")...); err == nil || !strings.Contains(err.Error(), "passes") {
		t.Fatalf("parameters serve refuses: %v", err)
	}
}
