package native_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
	"usher/store"
)

// TestPerUserObjectsBounded replays a signed-in user adding files,
// reminders, SSH keys, secondary addresses and teams in a loop, which any user may: each was a row
// (and a file its bytes, a reminder a mail) without end, until the disk
// or the database filled. Past the account's limit the answer is 409
// limit_reached and nothing is kept; deleting one makes room, and another
// account has its own count.
func TestPerUserObjectsBounded(t *testing.T) {
	t.Parallel()
	// Uploads of at most 1,000 bytes: the files' bytes are bounded at
	// 100 of them.
	b := setupWith(t, coretest.Options{Policy: core.Policy{MaxAttachmentBytes: 1000}})
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: b.user})
	at := time.Now().Add(time.Hour)
	upload := func(tok string, data []byte) *response {
		body, ctype := multipartFile(t, "file", "x.txt", data, nil)
		return b.api.do(t, req{method: "POST", path: "/v1/attachments", token: tok, body: body, header: map[string]string{"Content-Type": ctype}})
	}
	sshKey := func() string { return coretest.NewSSHKey(t) }
	now := time.Now().UTC()
	teams, emails := 0, 0
	for _, c := range []struct {
		name string
		// fill adds the i-th object of the plain user, through the core
		// (tx nil), or, with rows, as rows in tx: a thousand through the
		// core took most of the package's time under the race detector;
		// n are added.
		fill func(tx store.Tx, i int) error
		n    int
		// add asks for one more over HTTP with the token.
		add func(tok string) *response
		// free deletes one of the plain user's objects.
		free func()
		rows bool
	}{
		{"files' bytes", func(_ store.Tx, i int) error {
			_, err := b.env.Core.Attachments.Upload(ctx, usher.AttachmentUpload{Name: "f", Body: bytes.NewReader(bytes.Repeat([]byte("a"), 1000))})
			return err
		}, 100, func(tok string) *response { return upload(tok, bytes.Repeat([]byte("b"), 1000)) }, func() {
			files, _ := b.env.Store.AttachmentsOf(context.Background(), b.user.ID, usher.AttachmentGeneral)
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/attachments/%d", files[0].ID), token: b.userTok}, 204, nil)
		}, false},
		{"reminders", func(tx store.Tx, i int) error {
			return tx.ReminderAdd(context.Background(), &usher.Reminder{Resource: "user:1", Payload: []byte("null"),
				AssignedTo: b.user.ID, CreatedBy: b.user.ID, RemindAt: &at, CreatedAt: now, UpdatedAt: now})
		}, 1000, func(tok string) *response {
			return b.api.do(t, req{method: "POST", path: "/v1/reminders", token: tok,
				body: map[string]any{"resource": "user:1", "remind_at": at.UTC().Format(time.RFC3339)}})
		}, func() {
			page, _ := b.env.Core.Reminders.List(ctx, usher.ReminderFilter{})
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/reminders/%d", page.Items[0].ID), token: b.userTok}, 204, nil)
		}, true},
		{"SSH keys", func(_ store.Tx, i int) error {
			_, err := b.env.Core.Keys.Add(ctx, usher.UserKey{ID: b.user.ID}, fmt.Sprint("key ", i), sshKey(), nil)
			return err
		}, 100, func(tok string) *response {
			who := "plain"
			if tok == b.adminTok {
				who = "root"
			}
			return b.api.do(t, req{method: "POST", path: "/v1/users/" + who + "/keys", token: tok, body: map[string]any{"title": "one more", "key": sshKey()}})
		}, func() {
			keys, _ := b.env.Core.Keys.List(ctx, usher.UserKey{ID: b.user.ID})
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/keys/%d", keys[0].ID), token: b.userTok}, 204, nil)
		}, false},
		{"secondary addresses", func(tx store.Tx, i int) error {
			return tx.EmailAdd(context.Background(), &usher.Email{UserID: b.user.ID, Email: fmt.Sprintf("alias-%d@plain.example", i), CreatedAt: now})
		}, 100, func(tok string) *response {
			who := "plain"
			if tok == b.adminTok {
				who = "root"
			}
			emails++
			return b.api.do(t, req{method: "POST", path: "/v1/users/" + who + "/emails", token: tok,
				body: map[string]any{"email": fmt.Sprintf("more-%d@plain.example", emails)}})
		}, func() {
			list, _ := b.env.Store.EmailList(context.Background(), b.user.ID)
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/emails/%d", list[0].ID), token: b.userTok}, 204, nil)
		}, true},
		{"teams", func(tx store.Tx, i int) error {
			handle := fmt.Sprint("team-", i)
			g := &usher.Group{Kind: usher.GroupTeam, Handle: handle, Name: handle, CreatedAt: now, UpdatedAt: now, Version: 1}
			if err := tx.GroupCreate(context.Background(), g); err != nil {
				return err
			}
			return tx.MembershipSet(context.Background(), usher.Membership{GroupID: g.ID, UserID: b.user.ID, Level: usher.LevelOwner, CreatedAt: now})
		}, 1000, func(tok string) *response {
			teams++
			return b.api.do(t, req{method: "POST", path: "/v1/groups", token: tok,
				body: map[string]any{"kind": "team", "handle": fmt.Sprint("more-", teams)}})
		}, func() {
			b.call(t, req{method: "DELETE", path: "/v1/groups/team-0", token: b.userTok}, 200, nil)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fill := func(tx store.Tx) error {
				for i := range c.n {
					if err := c.fill(tx, i); err != nil {
						return fmt.Errorf("object %d: %w", i+1, err)
					}
				}
				return nil
			}
			var err error
			if c.rows {
				err = b.env.Store.InTx(context.Background(), fill)
			} else {
				err = fill(nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			wantProblem(t, "one past the limit", c.add(b.userTok), 409, usher.CodeLimitReached)
			if res := c.add(b.adminTok); res.status != 201 {
				t.Fatalf("another account's: %d %s", res.status, res.body)
			}
			c.free()
			if res := c.add(b.userTok); res.status != 201 {
				t.Fatalf("after a delete: %d %s", res.status, res.body)
			}
			wantProblem(t, "the limit again", c.add(b.userTok), 409, usher.CodeLimitReached)
		})
	}
	// The count of files holds past their bytes: 1,000 one-byte files.
	t.Run("files", func(t *testing.T) {
		other := b.env.MustCreateUser(t, usher.UserCreate{Username: "many", Email: "many@example.com"})
		tok := b.env.MustToken(t, other.ID, usher.TokenPersonal)
		err := b.env.Store.InTx(context.Background(), func(tx store.Tx) error {
			for i := range 1000 {
				f := &usher.Attachment{Kind: usher.AttachmentGeneral, OwnerID: other.ID, Name: "f", Size: 1,
					ContentType: "text/plain", Checksum: strings.Repeat("0", 64), BlobKey: fmt.Sprint("a/none-", i), CreatedAt: now}
				if err := tx.AttachmentAdd(context.Background(), f); err != nil {
					return fmt.Errorf("file %d: %w", i+1, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, "file 1,001", upload(tok, []byte("b")), 409, usher.CodeLimitReached)
	})
}
