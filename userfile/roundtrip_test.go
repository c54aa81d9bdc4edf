package userfile_test

import (
	"bytes"
	"context"
	"testing"

	"usher"
	"usher/core/coretest"
	"usher/userfile"
)

// TestMoveKeepsRightsAndProofs replays moving an instance by export and
// import into a fresh database (SQLite to PostgreSQL, say) in both
// formats. A user who had added a colleague's address as a secondary one,
// never proved, got it back proved — and made it primary; an external
// contractor came back not external, free to make teams. The file holds
// proved addresses only and the external flag.
func TestMoveKeepsRightsAndProofs(t *testing.T) {
	t.Parallel()
	for _, f := range []userfile.Format{userfile.NDJSON, userfile.CSV} {
		t.Run(string(f), func(t *testing.T) {
			t.Parallel()
			sys := coretest.System()
			as := func(u *usher.User) context.Context {
				return usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: u})
			}
			src := coretest.New(t, coretest.Options{})
			mallory := src.MustCreateUser(t, usher.UserCreate{Username: "mallory", Email: "m@evil.example", EmailConfirmed: true})
			if _, err := src.Core.Emails.Add(as(mallory), usher.UserKey{ID: mallory.ID}, "ceo@corp.example", false); err != nil {
				t.Fatal(err)
			}
			src.MustCreateUser(t, usher.UserCreate{Username: "contractor", Email: "c@example.com", External: true})

			var file bytes.Buffer
			if _, err := userfile.Export(sys, src.Core.Users, &file, f); err != nil {
				t.Fatal(err)
			}
			dst := coretest.New(t, coretest.Options{})
			if _, err := userfile.Import(sys, dst.Core.Users, bytes.NewReader(file.Bytes()), f, 0,
				func(line int, err error) { t.Errorf("line %d: %v", line, err) }, func(userfile.Tally) {}); err != nil {
				t.Fatal(err)
			}
			moved, err := dst.Core.Users.Get(sys, usher.UserKey{Username: "mallory"})
			if err != nil {
				t.Fatal(err)
			}
			emails, err := dst.Core.Emails.List(sys, usher.UserKey{ID: moved.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range emails {
				if e.Email == "ceo@corp.example" {
					t.Errorf("an address mallory never proved came back (confirmed %v)\n%s", e.ConfirmedAt, file.String())
				}
			}
			contractor, err := dst.Core.Users.Get(sys, usher.UserKey{Username: "contractor"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dst.Core.Groups.Create(as(contractor), usher.GroupCreate{Kind: usher.GroupTeam, Handle: "t1"}); !contractor.External || usher.ErrorKind(err) != usher.KindForbidden {
				t.Errorf("the contractor came back external=%v and made a team: %v\n%s", contractor.External, err, file.String())
			}
		})
	}
}
