package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

func outcomes(results []usher.ImportResult) []string {
	names := map[usher.ImportOutcome]string{usher.ImportFailed: "failed", usher.ImportCreated: "created",
		usher.ImportUpdated: "updated", usher.ImportUnchanged: "unchanged"}
	out := make([]string, len(results))
	for i, r := range results {
		out[i] = names[r.Outcome]
		if r.Err != nil {
			out[i] += ":" + usher.AsError(r.Err).Code
		}
	}
	return out
}

// TestImport: records are created, updated by external id or username, and
// left alone when nothing changed; a bad record fails alone, with its
// reason, and nothing of it is written.
func TestImport(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	hash, _ := bcrypt.GenerateFromPassword([]byte("carol's old passphrase"), bcrypt.MinCost)
	carolKey, aliceKey := coretest.NewSSHKey(t), coretest.NewSSHKey(t)
	batch := []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com", Name: "Carol Kaye",
			PasswordHash: string(hash), ExternalID: "emp-3", State: usher.StateActive},
			SSHKeys: []usher.ImportKey{{Title: "laptop", Key: carolKey}}, Emails: []string{"carol@work.example"}},
		// alice, found by username and her confirmed address: her name
		// and external id are the record's now.
		{UserCreate: usher.UserCreate{Username: "alice", Email: "alice@example.com", Name: "Alice Liddell", ExternalID: "emp-1"},
			SSHKeys: []usher.ImportKey{{Key: aliceKey}}},
		{UserCreate: usher.UserCreate{Username: "dave", PasswordHash: "md5$0123456789abcdef"}},
		// erin wants root's address: the database refuses, erin alone fails.
		{UserCreate: usher.UserCreate{Username: "erin", Email: "ROOT@example.com"}},
		// frank brings carol's key.
		{UserCreate: usher.UserCreate{Username: "frank"}, SSHKeys: []usher.ImportKey{{Key: carolKey}}},
		{UserCreate: usher.UserCreate{Username: "grace", Email: "not an address"}},
		{UserCreate: usher.UserCreate{Username: "heidi", State: "asleep"}},
	}
	confirmAddress(t, b.env, b.alice.ID)
	users0, _ := b.env.Counts(t)
	res, err := b.env.Core.Users.Import(coretest.System(), batch)
	if err != nil {
		t.Fatal(err)
	}
	want := "created updated failed:validation_failed failed:email_taken failed:validation_failed failed:validation_failed failed:validation_failed"
	if got := strings.Join(outcomes(res), " "); got != want {
		t.Fatalf("outcomes\n got %s\nwant %s", got, want)
	}
	for i, field := range map[int]string{2: "password_hash", 3: "email", 4: "ssh_keys", 5: "email", 6: "state"} {
		if e := usher.AsError(res[i].Err); len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("record %d: %+v, want the field %s named", i, e, field)
		}
	}
	if users, _ := b.env.Counts(t); users != users0+1 {
		t.Fatalf("%d users after the import, want %d", users, users0+1)
	}
	if res[1].ID != b.alice.ID {
		t.Fatalf("alice updated as %d", res[1].ID)
	}
	alice, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.alice.ID})
	if err != nil || alice.Name != "Alice Liddell" || alice.ExternalID != "emp-1" || alice.Email != "alice@example.com" {
		t.Fatalf("alice: %+v, %v", alice, err)
	}

	// carol logs in with the imported hash.
	s, err := b.auth.Login(from("192.0.2.9"), "carol", "carol's old passphrase")
	if err != nil || s.User.ID != res[0].ID {
		t.Fatalf("carol's log-in: %v", err)
	}
	keys, _ := b.env.Store.KeyList(coretest.System(), res[0].ID)
	emails, _ := b.env.Store.EmailList(coretest.System(), res[0].ID)
	if len(keys) != 1 || keys[0].Title != "laptop" || len(emails) != 1 || emails[0].ConfirmedAt == nil {
		t.Fatalf("carol's keys %v, e-mails %v", keys, emails)
	}

	// The same good records again change nothing and duplicate nothing.
	again, err := b.env.Core.Users.Import(coretest.System(), batch[:2])
	if err != nil || strings.Join(outcomes(again), " ") != "unchanged unchanged" {
		t.Fatalf("re-run: %v, %v", outcomes(again), err)
	}
	// carol renamed, found by her external id; blocked, so her session ends.
	again, err = b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "carol.k", ExternalID: "emp-3", State: usher.StateBlocked}}})
	if err != nil || again[0].Outcome != usher.ImportUpdated || again[0].ID != res[0].ID {
		t.Fatalf("rename: %v, %+v", err, again)
	}
	if _, err := b.auth.Authenticate(from("192.0.2.9"), s.Secret); err == nil {
		t.Fatal("a blocked user's session still works")
	}
	if users, _ := b.env.Counts(t); users != users0+1 {
		t.Fatalf("%d users after the re-runs, want %d", users, users0+1)
	}

	// One event per transaction, naming the users it touched.
	page, err := b.env.Core.Audit.List(coretest.System(), usher.AuditFilter{Action: "user.import"})
	if err != nil || len(page.Items) != 3 {
		t.Fatalf("import events: %+v, %v", page, err)
	}
	if m := page.Items[0].Meta; m["updated"] != "1" || m["created"] != "0" {
		t.Fatalf("newest import event: %v", m)
	}
}

// TestImportGitLabProfile: a record's GitLab profile is set on a new user
// and on an existing one, where the fields it leaves out stay; the core
// checks it as on any create.
func TestImportGitLabProfile(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	limit, no, skype, theme := 3, false, "al.sk", 4
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "alice", GitLab: usher.GitLabProfileUpdate{Skype: &skype, ThemeID: &theme}}},
		{UserCreate: usher.UserCreate{Username: "ivan", GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &limit, CanCreateGroup: &no}}},
	})
	if err != nil || strings.Join(outcomes(res), " ") != "updated created" {
		t.Fatalf("import: %v, %v", outcomes(res), err)
	}
	alice, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.alice.ID})
	if err != nil || alice.GitLab.Skype != "al.sk" || alice.GitLab.ThemeID != 4 || !alice.GitLab.CanCreateGroup ||
		alice.GitLab.ProjectsLimit != b.alice.GitLab.ProjectsLimit {
		t.Fatalf("alice's GitLab profile: %+v, %v", alice.GitLab, err)
	}
	ivan, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: res[1].ID})
	if err != nil || ivan.GitLab.ProjectsLimit != 3 || ivan.GitLab.CanCreateGroup || ivan.GitLab.ThemeID != 1 {
		t.Fatalf("ivan's GitLab profile: %+v, %v", ivan.GitLab, err)
	}
	negative := -1
	res, err = b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "alice", GitLab: usher.GitLabProfileUpdate{ProjectsLimit: &negative}}}})
	if err != nil || len(res) != 1 || usher.AsError(res[0].Err).Code != "validation_failed" ||
		usher.AsError(res[0].Err).Fields[0].Field != "projects_limit" {
		t.Fatalf("negative projects_limit: %v, %v", outcomes(res), err)
	}
}

// TestImportRefused: only administrators import and export.
func TestImportRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	batch := []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "mallory", Admin: true}}}
	_, err := b.users.Import(as(b.alice, "api"), batch)
	wantKind(t, err, usher.KindForbidden, "")
	_, err = b.users.Import(from("192.0.2.1"), batch)
	wantKind(t, err, usher.KindUnauthenticated, "")
	err = b.users.Export(as(b.alice, "api"), func(*usher.ExportUser) error { return nil })
	wantKind(t, err, usher.KindForbidden, "")
	wantKind(t, b.users.AnalyzeImport(as(b.alice, "api")), usher.KindForbidden, "")
	if err := b.users.AnalyzeImport(coretest.System()); err != nil {
		t.Fatalf("AnalyzeImport: %v", err)
	}
	if _, err := b.users.Get(coretest.System(), usher.UserKey{Username: "mallory"}); err == nil {
		t.Fatal("a refused import wrote its user")
	}
}

// TestImportConfirmsTheAddressItNames: a record found by its external id
// that says its address, the account's own, is confirmed confirms it.
// Before, the confirmation was taken only with a new address: the record
// was reported unchanged and the address stayed unconfirmed.
func TestImportConfirmsTheAddressItNames(t *testing.T) {
	t.Parallel()
	b := setup(t)
	in := usher.UserCreate{Username: "pat", Email: "pat@example.com", ExternalID: "emp-9", State: usher.StateActive}
	res, err := b.users.Import(coretest.System(), []usher.ImportUser{{UserCreate: in}})
	if err != nil || strings.Join(outcomes(res), " ") != "created" {
		t.Fatalf("first import: %v, %v", outcomes(res), err)
	}
	in.EmailConfirmed = true
	res, err = b.users.Import(coretest.System(), []usher.ImportUser{{UserCreate: in}})
	if err != nil || strings.Join(outcomes(res), " ") != "updated" {
		t.Fatalf("the record confirming the address: %v, %v; want updated", outcomes(res), err)
	}
	if u, err := b.users.Get(coretest.System(), usher.UserKey{Username: "pat"}); err != nil || u.EmailConfirmedAt == nil {
		t.Fatalf("the address after the record: %+v, %v; want confirmed", u, err)
	}
}

// TestImportOfARecordNamingNoAccount: a record with neither a username
// nor an address names no account: refused, where a review found it
// creating another nameless account at every run.
func TestImportOfARecordNamingNoAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)
	res, err := b.users.Import(coretest.System(), []usher.ImportUser{{UserCreate: usher.UserCreate{Name: "Nobody"}}})
	if err != nil || strings.Join(outcomes(res), " ") != "failed:validation_failed" {
		t.Fatalf("a record naming no account: %v, %v; want it refused", outcomes(res), err)
	}
}

// TestImportKeysCapped: an import that updates an account adds the
// record's SSH keys and secondary addresses to those the account holds,
// and each sum is bounded as an account's are (100): a record of 60 keys
// imported twice with other keys each time was refused the second time,
// not left at 120; so are 60 addresses, which were left at 120.
func TestImportKeysCapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		field string
		add   func(t *testing.T, im *usher.ImportUser, i int)
		count func(b *bundle, id int64) int
	}{
		{"ssh_keys", func(t *testing.T, im *usher.ImportUser, _ int) {
			im.SSHKeys = append(im.SSHKeys, usher.ImportKey{Title: "k", Key: coretest.NewSSHKey(t)})
		}, func(b *bundle, id int64) int {
			keys, _ := b.env.Store.KeyList(coretest.System(), id)
			return len(keys)
		}},
		{"emails", func(t *testing.T, im *usher.ImportUser, i int) {
			im.Emails = append(im.Emails, fmt.Sprintf("alias-%d-%d@holder.example", len(im.Emails), i))
		}, func(b *bundle, id int64) int {
			emails, _ := b.env.Store.EmailList(coretest.System(), id)
			return len(emails)
		}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			round := 0
			record := func(n int) []usher.ImportUser {
				round++
				im := usher.ImportUser{UserCreate: usher.UserCreate{Username: "holder", ExternalID: "h-1"}}
				for range n {
					tc.add(t, &im, round)
				}
				return []usher.ImportUser{im}
			}
			res, err := b.users.Import(coretest.System(), record(60))
			if err != nil || strings.Join(outcomes(res), " ") != "created" {
				t.Fatalf("first import: %v, %v", outcomes(res), err)
			}
			res, err = b.users.Import(coretest.System(), record(60))
			if err != nil || strings.Join(outcomes(res), " ") != "failed:validation_failed" {
				t.Fatalf("second import: %v, %v", outcomes(res), err)
			}
			if fe := usher.AsError(res[0].Err).Fields; len(fe) != 1 || fe[0].Field != tc.field || fe[0].Code != usher.CodeTooMany {
				t.Fatalf("second import's reason: %v", res[0].Err)
			}
			u, err := b.users.Get(coretest.System(), usher.UserKey{Username: "holder"})
			if err != nil {
				t.Fatal(err)
			}
			if n := tc.count(b, u.ID); n != 60 {
				t.Fatalf("the account holds %d, want the first import's 60", n)
			}
			res, err = b.users.Import(coretest.System(), record(40))
			if err != nil || strings.Join(outcomes(res), " ") != "updated" {
				t.Fatalf("up to the cap: %v, %v", outcomes(res), err)
			}
		})
	}
}

// TestExportImport: what Export gives, Import takes back unchanged, and
// into a fresh database it brings everything back.
func TestExportImport(t *testing.T) {
	t.Parallel()
	b := setup(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("an exported passphrase"), bcrypt.MinCost)
	in := []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com", PasswordHash: string(hash), Admin: true},
			SSHKeys: []usher.ImportKey{{Title: "t", Key: coretest.NewSSHKey(t)}}, Emails: []string{"carol@work.example"}},
		{UserCreate: usher.UserCreate{Username: "dave", State: usher.StateSuspended, Metadata: map[string]string{"k": "v"}}},
	}
	if _, err := b.users.Import(coretest.System(), in); err != nil {
		t.Fatal(err)
	}
	var out []usher.ImportUser
	err := b.users.Export(coretest.System(), func(x *usher.ExportUser) error {
		u := x.User
		im := usher.ImportUser{UserCreate: usher.UserCreate{Username: u.Username, Email: u.Email, Name: u.Name,
			PasswordHash: x.PasswordHash, ExternalID: u.ExternalID, State: u.State, Admin: u.Admin, Metadata: u.Metadata,
			EmailConfirmed: u.EmailConfirmedAt != nil}}
		for _, k := range x.SSHKeys {
			im.SSHKeys = append(im.SSHKeys, usher.ImportKey{Title: k.Title, Key: k.Key})
		}
		for _, e := range x.Emails {
			im.Emails = append(im.Emails, e.Email)
		}
		out = append(out, im)
		return nil
	})
	if err != nil || len(out) != 4 || out[2].Username != "carol" || out[2].PasswordHash != string(hash) ||
		len(out[2].SSHKeys) != 1 || len(out[2].Emails) != 1 || out[3].State != usher.StateSuspended {
		t.Fatalf("export: %+v, %v", out, err)
	}
	res, err := b.users.Import(coretest.System(), out)
	if err != nil || strings.Join(outcomes(res), " ") != "unchanged unchanged unchanged unchanged" {
		t.Fatalf("the export imported back: %v, %v", outcomes(res), err)
	}
	fresh := coretest.New(t, coretest.Options{})
	res, err = fresh.Core.Users.Import(coretest.System(), out)
	if err != nil || strings.Join(outcomes(res), " ") != "created created created created" {
		t.Fatalf("into a fresh database: %v, %v", outcomes(res), err)
	}
	keys, _ := fresh.Store.KeyList(coretest.System(), res[2].ID)
	if len(keys) != 1 || keys[0].Key != out[2].SSHKeys[0].Key {
		t.Fatalf("carol's key in the fresh database: %v", keys)
	}
}

// TestImportedMatchesCreated: a user an import creates is the user
// Users.Create makes of the same fields, but for the handle, which an
// import does not derive (see docs/import.md); both log in with their
// imported hash and are found by a search.
func TestImportedMatchesCreated(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := coretest.System()
	hash, _ := bcrypt.GenerateFromPassword([]byte("a long imported passphrase"), bcrypt.MinCost)
	fields := func(name string) usher.UserCreate {
		return usher.UserCreate{Username: name, Email: name + "@example.com", EmailConfirmed: true, Name: "Twin " + name,
			ExternalID: "x-" + name, Metadata: map[string]string{"team": "ops"}, PasswordHash: string(hash),
			State: usher.StateActive, Admin: true}
	}
	made, err := b.env.Core.Users.Create(ctx, fields("made"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.env.Core.Users.Import(ctx, []usher.ImportUser{{UserCreate: fields("imported")}})
	if err != nil || res[0].Outcome != usher.ImportCreated {
		t.Fatalf("import: %+v, %v", res, err)
	}
	a, err := b.env.Core.Users.Get(ctx, usher.UserKey{ID: made.ID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.env.Core.Users.Get(ctx, usher.UserKey{ID: res[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.Handle != "" {
		t.Errorf("an imported user got the handle %q", got.Handle)
	}
	got.ID, got.UUID, got.Username, got.Email, got.Name, got.FirstName, got.LastName, got.DisplayName, got.ExternalID, got.Handle =
		a.ID, a.UUID, a.Username, a.Email, a.Name, a.FirstName, a.LastName, a.DisplayName, a.ExternalID, a.Handle
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", a); g != w {
		t.Fatalf("imported user:\n%s\nwant, as Users.Create makes it:\n%s", g, w)
	}
	for _, name := range []string{"made", "imported"} {
		if _, err := b.auth.Login(from("192.0.2.7"), name, "a long imported passphrase"); err != nil {
			t.Errorf("%s logs in: %v", name, err)
		}
		page, err := b.env.Core.Users.List(ctx, usher.UserFilter{Query: "Twin " + name})
		if err != nil || len(page.Items) != 1 || page.Items[0].Username != name {
			t.Errorf("search for %s: %+v, %v", name, page, err)
		}
	}
}

// TestImportOneTextNamesOneAccount: an import made an account whose
// username is another's address, or whose address (primary or secondary)
// is another's username, where a create by hand is refused — one text then
// named two accounts, and a log-in or a look-up by username reached the
// wrong one. Each such record fails alone now, in a batch or by itself,
// and the others of its batch go in; a record may name itself.
func TestImportOneTextNamesOneAccount(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		sys := coretest.System()
		users := env.Core.Users
		for _, in := range []usher.UserCreate{
			{Username: "alice", Email: "alice@corp.example", SkipConfirmation: true},
			{Username: "carol@corp.example", Email: "carol@else.example", SkipConfirmation: true},
		} {
			if _, err := users.Create(sys, in); err != nil {
				t.Fatalf("create %s: %v", in.Username, err)
			}
		}
		record := func(username, email string, more ...string) usher.ImportUser {
			return usher.ImportUser{UserCreate: usher.UserCreate{Username: username, Email: email}, Emails: more}
		}
		batch := []usher.ImportUser{
			record("alice@corp.example", "m1@evil.example"),
			record("mallory2", "carol@corp.example"),
			record("mallory3", "m3@evil.example", "carol@corp.example"),
			record("fine", "fine@corp.example"),
			record("self@corp.example", "self@corp.example"),
			record("inbatch@corp.example", "m6@evil.example"),
			record("mallory7", "inbatch@corp.example"),
		}
		results, err := users.Import(sys, batch)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"failed:username_taken", "failed:email_taken", "failed:email_taken", "created", "created", "created", "failed:email_taken"}
		if got := outcomes(results); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("outcomes %v, want %v", got, want)
		}
		// Alone, each is refused the same way.
		for i, in := range batch[:3] {
			res, err := users.Import(sys, []usher.ImportUser{in})
			if err != nil || res[0].Err == nil {
				t.Errorf("record %d alone: %+v, %v; want it refused", i, res, err)
			}
		}
	})
}

// TestImportDuringLoadOneTextNamesOneAccount: while a load runs, its
// users' address claims wait for its end, so a later batch's username
// that an earlier batch's user has as its address passed the check.
func TestImportDuringLoadOneTextNamesOneAccount(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		sys := coretest.System()
		users := env.Core.Users
		if loading, err := users.ImportStart(sys); err != nil || !loading {
			t.Fatalf("ImportStart = %v, %v; want a load", loading, err)
		}
		first := usher.ImportUser{UserCreate: usher.UserCreate{Username: "alice", Email: "alice@corp.example"}}
		if res, err := users.Import(sys, []usher.ImportUser{first}); err != nil || res[0].Err != nil {
			t.Fatalf("%+v, %v", res, err)
		}
		later := usher.ImportUser{UserCreate: usher.UserCreate{Username: "alice@corp.example", Email: "m1@evil.example"}}
		res, err := users.Import(sys, []usher.ImportUser{later})
		if err != nil {
			t.Fatal(err)
		}
		if got := outcomes(res); got[0] != "failed:username_taken" {
			t.Errorf("a later batch's username that an earlier batch's user has as its address: %v", got)
		}
		if err := users.ImportFinish(sys); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLoadedAccountChangedDuringTheLoad: while a load into a nearly empty
// database runs, an account it wrote is changed — by an administrator, or
// by a later record of it — and found by its new name once the load
// ends. A review found both failing on SQLite until the load's end
// ("database disk image is malformed": the search indexes' update
// triggers removing a row the load had not indexed).
func TestLoadedAccountChangedDuringTheLoad(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, pg bool) {
		env := coretest.New(t, coretest.Options{Postgres: pg})
		sys := coretest.System()
		users := env.Core.Users
		if loading, err := users.ImportStart(sys); err != nil || !loading {
			t.Fatalf("ImportStart = %v, %v; want a load", loading, err)
		}
		in := usher.ImportUser{UserCreate: usher.UserCreate{Username: "alice", Email: "alice@corp.example", EmailConfirmed: true, Name: "Alice First"}}
		if res, err := users.Import(sys, []usher.ImportUser{in}); err != nil || res[0].Err != nil {
			t.Fatalf("%+v, %v", res, err)
		}
		name := "Alice Second"
		if _, err := users.Update(sys, usher.UserKey{Username: "alice"}, usher.UserUpdate{Name: &name}); err != nil {
			t.Fatalf("an administrator's change during the load: %v", err)
		}
		in.Name = "Alice Third"
		if res, err := users.Import(sys, []usher.ImportUser{in}); err != nil || strings.Join(outcomes(res), " ") != "updated" {
			t.Fatalf("a later record of it during the load: %v, %v", outcomes(res), err)
		}
		if err := users.ImportFinish(sys); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]int{"Third": 1, "First": 0} {
			page, err := users.List(sys, usher.UserFilter{Query: q})
			if err != nil || len(page.Items) != want {
				t.Errorf("a search for %q after the load: %d, %v; want %d", q, len(page.Items), err, want)
			}
		}
	})
}

// TestImportDemotionEndsAdminMints: an import that takes an
// administrator's flag away ends, as an update's demotion does, the
// service-account tokens minted on it alone; the owner's stay.
func TestImportDemotionEndsAdminMints(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	admin := b.env.MustCreateUser(t, usher.UserCreate{Username: "ex", Admin: true})
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.g.CreateServiceAccount(as(b.bob), team("bobs"), "bot", ""); err != nil {
		t.Fatal(err)
	}
	minted, _, err := b.g.ServiceAccountToken(as(admin), team("bobs"), usher.UserKey{Username: "bot"}, false)
	if err != nil {
		t.Fatal(err)
	}
	owned, _, err := b.g.ServiceAccountToken(as(b.bob), team("bobs"), usher.UserKey{Username: "bot"}, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "ex"}}})
	if err != nil || strings.Join(outcomes(res), " ") != "updated" {
		t.Fatalf("import: %v %v", outcomes(res), err)
	}
	for tok, revoked := range map[*usher.Token]bool{minted: true, owned: false} {
		got, err := b.env.Store.TokenGet(t.Context(), tok.ID)
		if err != nil || (got.RevokedAt != nil) != revoked {
			t.Errorf("token %d (minted by the administrator: %v) after the import's demotion: %+v %v", tok.ID, revoked, got, err)
		}
	}
}

// TestImportedKeyEndsWithAdminRights: an administrator in no team imports
// a record naming a team's service account with its own SSH key; the key
// answers to them as one added by hand does, and goes when they are
// demoted.
func TestImportedKeyEndsWithAdminRights(t *testing.T) {
	t.Parallel()
	b := setupGroups(t)
	admin := b.env.MustCreateUser(t, usher.UserCreate{Username: "ex", Admin: true})
	if _, err := b.g.Create(as(b.bob), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "bobs"}); err != nil {
		t.Fatal(err)
	}
	bot, err := b.g.CreateServiceAccount(as(b.bob), team("bobs"), "bot", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Store.UserUpdate(t.Context(), bot.ID, func(u *usher.User) error { u.ExternalID = "bot-1"; return nil }); err != nil {
		t.Fatal(err)
	}
	res, err := b.env.Core.Users.Import(as(admin), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "bot", Email: bot.Email,
		Kind: usher.KindServiceAccount, ExternalID: "bot-1"},
		SSHKeys: []usher.ImportKey{{Title: "mine", Key: coretest.NewSSHKey(t)}}}})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("import: %+v %v", res, err)
	}
	no := false
	if _, err := b.env.Core.Users.Update(coretest.System(), usher.UserKey{ID: admin.ID}, usher.UserUpdate{Admin: &no}); err != nil {
		t.Fatal(err)
	}
	if keys, err := b.env.Store.KeyList(t.Context(), bot.ID); err != nil || len(keys) != 0 {
		t.Fatalf("the key the administrator imported onto the team's service account after their demotion: %+v %v", keys, err)
	}
}

// TestImportBoundsWhatItGrants: an import never lifts the external flag
// (a file that does not name it gave the contractor back the right to make
// teams), and takes no password hash that makes a log-in attempt cost more
// than about a second: one of argon2id at 256 MiB over 100 passes held a
// hashing worker for minutes at each wrong guess.
func TestImportBoundsWhatItGrants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	contractor := usher.ImportUser{UserCreate: usher.UserCreate{Username: "contractor", External: true}}
	if res, err := b.users.Import(coretest.System(), []usher.ImportUser{contractor}); err != nil || strings.Join(outcomes(res), " ") != "created" {
		t.Fatalf("first import: %v, %v", outcomes(res), err)
	}
	contractor.External = false
	if res, err := b.users.Import(coretest.System(), []usher.ImportUser{contractor}); err != nil || strings.Join(outcomes(res), " ") != "unchanged" {
		t.Fatalf("the record without the flag: %v, %v", outcomes(res), err)
	}
	if u, err := b.users.Get(coretest.System(), usher.UserKey{Username: "contractor"}); err != nil || !u.External {
		t.Fatalf("after the second import: %+v, %v", u, err)
	}
	key := "$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43)
	res, err := b.users.Import(coretest.System(), []usher.ImportUser{
		{UserCreate: usher.UserCreate{Username: "carol", PasswordHash: "$argon2id$v=19$m=262144,t=100,p=1" + key}},
		{UserCreate: usher.UserCreate{Username: "dave", PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4" + key}},
	})
	if err != nil || strings.Join(outcomes(res), " ") != "failed:validation_failed created" {
		t.Fatalf("costly and usual hashes: %v, %v", outcomes(res), err)
	}
}

// TestImportLiftsExternalBlockItNames: an external directory's block is
// set by provisioning, and the import is provisioning: a record that
// names another state lifts it, as the directory's next sync does in
// GitLab. A record that names no state leaves it, so a file without the
// field (or a tool that knows nothing of it) does not reopen accounts a
// directory closed. Before, nothing lifted it: the API refuses to, and the
// import kept it whatever the record said.
func TestImportLiftsExternalBlockItNames(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	state := func(t *testing.T, in usher.UserCreate, want usher.UserState) {
		t.Helper()
		res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: in}})
		if err != nil || len(res) != 1 || res[0].Err != nil {
			t.Fatalf("import %+v: %v, %v", in, outcomes(res), err)
		}
		u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: in.Username})
		if err != nil || u.State != want {
			t.Fatalf("after importing %+v: %+v, %v; want %s", in, u, err, want)
		}
	}
	state(t, usher.UserCreate{Username: "ldap-user", State: usher.StateBlockedExternal}, usher.StateBlockedExternal)
	state(t, usher.UserCreate{Username: "ldap-user", Name: "No state named"}, usher.StateBlockedExternal)
	state(t, usher.UserCreate{Username: "ldap-user", State: usher.StateBlocked}, usher.StateBlocked)
	state(t, usher.UserCreate{Username: "ldap-user", State: usher.StateBlockedExternal}, usher.StateBlockedExternal)
	state(t, usher.UserCreate{Username: "ldap-user", State: usher.StateActive}, usher.StateActive)
}

// confirmAddress marks the user's address confirmed, as its owner's code
// would.
func confirmAddress(t *testing.T, env *coretest.Env, id int64) {
	t.Helper()
	now := time.Now()
	if _, err := env.Store.UserUpdate(t.Context(), id, func(u *usher.User) error { u.EmailConfirmedAt = &now; return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestImportByUsernameAlone replays a user who took, for their own, the
// username of someone an administrator was about to import: the record,
// found their account by its username, made them an administrator with
// the newcomer's address confirmed and external id, and added the
// newcomer's key, while they kept their password. A record that finds an
// account by its username alone, without the account's confirmed address,
// may change its profile and state and take its rights away; anything
// more fails the record, and nothing of it is written.
func TestImportByUsernameAlone(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	confirmAddress(t, b.env, b.alice.ID)
	if _, err := b.env.Core.Users.Update(as(b.alice), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Username: ptr("carol")}); err != nil {
		t.Fatal(err)
	}
	carolKey := coretest.NewSSHKey(t)
	for _, tt := range []struct {
		name string
		in   usher.ImportUser
		want string
	}{
		{"administrator", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com", Admin: true}}, "failed:validation_failed"},
		{"administrator without an address", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Admin: true}}, "failed:validation_failed"},
		{"external id", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", ExternalID: "hr-77"}}, "failed:validation_failed"},
		{"address", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com"}}, "failed:validation_failed"},
		{"key", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol"}, SSHKeys: []usher.ImportKey{{Key: carolKey}}}, "failed:validation_failed"},
		{"secondary address", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol"}, Emails: []string{"carol@example.com"}}, "failed:validation_failed"},
		{"metadata", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Metadata: map[string]string{"role": "admin"}}}, "failed:validation_failed"},
		// What a record may do without the address.
		{"profile", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Name: "Carol Kaye"}}, "updated"},
		{"state", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", State: usher.StateBlocked}}, "updated"},
		// With the account's confirmed address the record is the account's.
		{"proved", usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Email: "alice@example.com", ExternalID: "hr-1"}}, "updated"},
	} {
		res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{tt.in})
		if err != nil || strings.Join(outcomes(res), " ") != tt.want {
			t.Fatalf("%s: %v %v, want %s", tt.name, outcomes(res), err, tt.want)
		}
		if tt.want != "updated" {
			if fe := usher.AsError(res[0].Err).Fields; len(fe) != 1 || fe[0].Field != "username" || fe[0].Code != usher.CodeConflict {
				t.Fatalf("%s: %v, want the username named", tt.name, res[0].Err)
			}
		}
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: b.alice.ID})
	if err != nil || u.Admin || u.Email != "alice@example.com" || u.ExternalID != "hr-1" || len(u.Metadata) != 0 || u.Name != "Carol Kaye" {
		t.Fatalf("the account after the records: %+v, %v", u, err)
	}
	if keys, _ := b.env.Store.KeyList(t.Context(), u.ID); len(keys) != 0 {
		t.Fatalf("the account holds %d keys", len(keys))
	}
}

// TestImportByUsernameAloneEdges: the mailbox that proves a record is the
// account's is compared as an external log-in's is, not by its folded key
// (straße@ and strasse@ are two people's); a record found by username may
// block an account waiting for a change of address, which ends the
// change; and it may not lift an administrator's block.
func TestImportByUsernameAloneEdges(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	sq := b.env.MustCreateUser(t, usher.UserCreate{Username: "mallory", Email: "straße@example.com", Password: "mallory's long passphrase"})
	confirmAddress(t, b.env, sq.ID)
	if _, err := b.env.Core.Users.Update(as(sq), usher.UserKey{ID: sq.ID}, usher.UserUpdate{Username: ptr("strasse")}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.env.Core.Users.Update(as(b.alice), usher.UserKey{ID: b.alice.ID}, usher.UserUpdate{Email: ptr("alice@new.example")}); err != nil {
		t.Fatal(err)
	}
	blocked := b.env.MustCreateUser(t, usher.UserCreate{Username: "blocked", Email: "blocked@example.com"})
	if _, err := b.env.Core.Users.Block(as(b.admin), usher.UserKey{ID: blocked.ID}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   usher.UserCreate
		want string
	}{
		{"a folded address", usher.UserCreate{Username: "strasse", Email: "strasse@example.com", Admin: true}, "failed:validation_failed"},
		{"a block while an address waits", usher.UserCreate{Username: "alice", State: usher.StateBlocked}, "updated"},
		{"an administrator's block lifted", usher.UserCreate{Username: "blocked", Name: "No state named"}, "failed:validation_failed"},
	} {
		res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: tt.in}})
		if err != nil || strings.Join(outcomes(res), " ") != tt.want {
			t.Fatalf("%s: %v %v (%v), want %s", tt.name, outcomes(res), err, res[0].Err, tt.want)
		}
	}
	for id, want := range map[int64]usher.UserState{sq.ID: usher.StateActive, b.alice.ID: usher.StateBlocked, blocked.ID: usher.StateBlocked} {
		u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: id})
		if err != nil || u.State != want || u.Admin || u.UnconfirmedEmail != "" {
			t.Errorf("user %d after the records: %+v, %v; want %s, no administrator, no change of address waiting", id, u, err, want)
		}
	}
}

// TestImportSetsKeyExpiry: a record that names an expiry for a key the
// account holds sets it — a directory that ends a key by its expiry ends
// it here too — and one that names none leaves it; a record that finds
// the account by its username alone may shorten a key's life, not
// lengthen it.
func TestImportSetsKeyExpiry(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	confirmAddress(t, b.env, b.alice.ID)
	holderKey, aliceKey := coretest.NewSSHKey(t), coretest.NewSSHKey(t)
	later, sooner, past := time.Now().Add(90*24*time.Hour).UTC(), time.Now().Add(24*time.Hour).UTC(), time.Now().Add(-time.Hour).UTC()
	// alice adds her own key, with no expiry, through the API.
	if _, err := b.env.Core.Keys.Add(as(b.alice), usher.UserKey{ID: b.alice.ID}, "laptop", aliceKey, nil); err != nil {
		t.Fatal(err)
	}
	holder := func(expires *time.Time) usher.ImportUser {
		return usher.ImportUser{UserCreate: usher.UserCreate{Username: "holder", ExternalID: "h-1"},
			SSHKeys: []usher.ImportKey{{Title: "laptop", Key: holderKey, ExpiresAt: expires}}}
	}
	byName := func(expires *time.Time) usher.ImportUser {
		return usher.ImportUser{UserCreate: usher.UserCreate{Username: "alice"},
			SSHKeys: []usher.ImportKey{{Title: "laptop", Key: aliceKey, ExpiresAt: expires}}}
	}
	for _, tt := range []struct {
		name string
		in   usher.ImportUser
		user string
		want string
		// the key's expiry after the record; nil: never
		expires *time.Time
	}{
		{"a new key, never expiring", holder(nil), "holder", "created", nil},
		{"an expiry set", holder(&later), "holder", "updated", &later},
		{"the same again", holder(&later), "holder", "unchanged", &later},
		{"brought forward", holder(&sooner), "holder", "updated", &sooner},
		{"pushed back", holder(&later), "holder", "updated", &later},
		{"ended: a time past", holder(&past), "holder", "updated", &past},
		{"a record that names none leaves it", holder(nil), "holder", "unchanged", &past},
		// alice is found by her username alone: a record may take rights
		// away, not give them.
		{"by username alone, shortened", byName(&later), "alice", "updated", &later},
		{"by username alone, lengthened", byName(new(later.Add(time.Hour))), "alice", "failed:validation_failed", &later},
		{"by username alone, shortened again", byName(&sooner), "alice", "updated", &sooner},
	} {
		res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{tt.in})
		if err != nil || strings.Join(outcomes(res), " ") != tt.want {
			t.Fatalf("%s: %v %v, want %s", tt.name, outcomes(res), err, tt.want)
		}
		u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{Username: tt.user})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := b.env.Store.KeyList(t.Context(), u.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("%s: keys %v, %v", tt.name, keys, err)
		}
		got := keys[0].ExpiresAt
		if (got == nil) != (tt.expires == nil) || got != nil && !got.Equal(tt.expires.Truncate(time.Microsecond)) {
			t.Fatalf("%s: the key expires at %v, want %v", tt.name, got, tt.expires)
		}
	}
}

// pendingSquatter signs up as carol with carol's address, which nobody
// proved: the account is pending.
func pendingSquatter(t *testing.T, b *authBundle) *usher.User {
	t.Helper()
	return b.env.MustCreateUser(t, usher.UserCreate{Username: "carol", Email: "carol@example.com",
		Password: "squatter's long passphrase", State: usher.StatePending})
}

// TestImportByNameActivatesNoUnprovedAccount: sign up as "carol" with
// carol's address (pending: the address is not proved, no log-in), and
// wait for the directory's record of carol, which names her username, her
// address and the state active. The record finds the account by its
// username alone, without a confirmed address, so it may change the
// profile, block, lift a block, take rights away, "and nothing else"
// (docs/import.md): not confirm an address. It made the pending account
// active, and its maker logged in holding an address never proved
// (round 50).
func TestImportByNameActivatesNoUnprovedAccount(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.9")
	squatter := pendingSquatter(t, b)
	_, err := b.auth.Login(ctx, "carol", "squatter's long passphrase")
	wantKind(t, err, usher.KindForbidden, "email_not_confirmed")

	rec := usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com", Name: "Carol Kaye",
		State: usher.StateActive}}
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{rec})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(outcomes(res), " "); got != "failed:validation_failed" {
		t.Errorf("record by username alone activating a pending account: %s, want failed:validation_failed", got)
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: squatter.ID})
	if err != nil || u.State != usher.StatePending || u.EmailConfirmedAt != nil {
		t.Errorf("account after the import: state %s, confirmed %v, %v; want pending", u.State, u.EmailConfirmedAt, err)
	}
	if s, err := b.auth.Login(ctx, "carol", "squatter's long passphrase"); err == nil {
		t.Errorf("the squatter logged in to an account holding carol@example.com, never proved (session %d)", s.Token.ID)
	}
}

// TestImportByNameLiftsNoBlockOfPendingToActive: as above, but an
// administrator blocked the pending squatter first. Lifting a block gives
// back the state before it (Unblock: pending, auth.md's row on signing up
// with someone else's address); a record by username alone that names
// the state active lifted it to active instead, and the squatter logged
// in (round 50).
func TestImportByNameLiftsNoBlockOfPendingToActive(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	ctx := from("192.0.2.10")
	squatter := pendingSquatter(t, b)
	if _, err := b.env.Core.Users.Block(as(b.admin), usher.UserKey{ID: squatter.ID}); err != nil {
		t.Fatal(err)
	}
	rec := usher.ImportUser{UserCreate: usher.UserCreate{Username: "carol", Email: "carol@example.com", State: usher.StateActive}}
	res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{rec})
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.env.Core.Users.Get(coretest.System(), usher.UserKey{ID: squatter.ID})
	if err != nil || u.State == usher.StateActive {
		t.Errorf("import %v: the blocked pending account became %s, confirmed %v (%v); want pending or the record refused", outcomes(res), u.State, u.EmailConfirmedAt, err)
	}
	if s, err := b.auth.Login(ctx, "carol", "squatter's long passphrase"); err == nil {
		t.Errorf("the squatter logged in to an account holding carol@example.com, never proved (session %d)", s.Token.ID)
	}
}

// TestUnblockAfterDirectoryBlockOfPending: a pending account (its
// address unproved) is disabled by the directory (an import's
// blocked_external, which records no state before it), then blocked by
// the directory's next record (user.block, whose state before is
// blocked_external). An administrator's unblock (stateBefore) then read
// blocked_external as "active" and signed in an account whose address
// nobody proved, which only confirming gives (auth.md, the row on an
// import's block of an account with an unproved address; round 50).
func TestUnblockAfterDirectoryBlockOfPending(t *testing.T) {
	t.Parallel()
	b := setupAuth(t, core.Policy{})
	squatter := pendingSquatter(t, b)
	for _, st := range []usher.UserState{usher.StateBlockedExternal, usher.StateBlocked} {
		res, err := b.env.Core.Users.Import(coretest.System(), []usher.ImportUser{{UserCreate: usher.UserCreate{Username: "carol", State: st}}})
		if err != nil || strings.Join(outcomes(res), " ") != "updated" {
			t.Fatalf("import %s: %v %v", st, outcomes(res), err)
		}
	}
	u, err := b.env.Core.Users.Unblock(as(b.admin), usher.UserKey{ID: squatter.ID})
	if err != nil || u.State != usher.StatePending {
		t.Errorf("unblock of a once-pending account with an unproved address: state %s, %v; want pending", u.State, err)
	}
	if s, err := b.auth.Login(from("192.0.2.11"), "carol", "squatter's long passphrase"); err == nil {
		t.Errorf("the squatter logged in to an account holding carol@example.com, never proved (session %d)", s.Token.ID)
	}
}
