package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

func TestSSHKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	keys := b.env.Core.Keys
	alice := usher.UserKey{ID: b.alice.ID}
	k, err := keys.Add(as(b.alice), alice, "laptop", "  "+coretest.RSAKey+" alice@laptop\n", nil)
	if err != nil || k.Fingerprint[:7] != "SHA256:" || k.Key != coretest.RSAKey+" alice@laptop" {
		t.Fatalf("Add: %+v, %v", k, err)
	}
	// The same key, for anyone, is taken: both fields are named.
	_, err = keys.Add(as(b.admin), usher.UserKey{ID: bob.ID}, "stolen", coretest.RSAKey, nil)
	wantKind(t, err, usher.KindConflict, "ssh_key_taken")
	if e := usher.AsError(err); len(e.Fields) != 2 || e.Fields[0].Field != "fingerprint" || e.Fields[1].Field != "key" {
		t.Fatalf("fields: %+v", e.Fields)
	}
	if _, err := keys.Add(as(b.alice), alice, "old", coretest.Ed25519Key, nil); err != nil {
		t.Fatalf("an Ed25519 key: %v", err)
	}
	past := time.Now().Add(-time.Hour)
	for name, tt := range map[string]struct{ title, key string }{
		"garbage":    {"t", "not a key"},
		"no title":   {"", coretest.Ed25519Key},
		"two keys":   {"t", coretest.RSAKey + "\n" + coretest.Ed25519Key},
		"options":    {"t", `command="ls" ` + coretest.RSAKey},
		"empty":      {"t", ""},
		"truncated":  {"t", coretest.RSAKey[:60]},
		"bad base64": {"t", "ssh-rsa !!!!"},
	} {
		_, err := keys.Add(as(b.alice), alice, tt.title, tt.key, nil)
		wantKind(t, err, usher.KindUnprocessable, "validation_failed")
		_ = name
	}
	_, err = keys.Add(as(b.alice), alice, "late", coretest.Ed25519Key, &past)
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	// Another user's keys: refused to plain users, open to admins.
	_, err = keys.List(as(bob), alice)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	_, err = keys.Add(as(bob), alice, "x", coretest.Ed25519Key, nil)
	wantKind(t, err, usher.KindForbidden, "forbidden")
	list, err := keys.List(as(b.admin), alice)
	if err != nil || len(list) != 2 {
		t.Fatalf("admin lists alice's keys: %v, %v", list, err)
	}
	_, err = keys.Get(as(b.alice), usher.UserKey{ID: bob.ID}, k.ID)
	wantKind(t, err, usher.KindForbidden, "")
	_, err = keys.Get(as(b.admin), usher.UserKey{ID: bob.ID}, k.ID)
	wantKind(t, err, usher.KindNotFound, "ssh_key_not_found")
	if err := keys.Delete(as(b.alice), alice, k.ID); err != nil {
		t.Fatal(err)
	}
	err = keys.Delete(as(b.alice), alice, k.ID)
	wantKind(t, err, usher.KindNotFound, "ssh_key_not_found")
	// Deleted, the key is free again.
	if _, err := keys.Add(as(b.admin), usher.UserKey{ID: bob.ID}, "bob's now", coretest.RSAKey, nil); err != nil {
		t.Fatalf("a deleted key's reuse: %v", err)
	}
}

func TestSecondaryEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
	emails := b.env.Core.Emails
	alice := usher.UserKey{ID: b.alice.ID}
	own, err := emails.Add(as(b.alice), alice, "alice@work.example", false)
	if err != nil || own.ConfirmedAt != nil {
		t.Fatalf("a user's own address starts unconfirmed: %+v, %v", own, err)
	}
	// An administrator vouches for an address only by saying so, as
	// GitLab's skip_confirmation; no one else may.
	if byAdmin, err := emails.Add(as(b.admin), alice, "alice@mail.example", false); err != nil || byAdmin.ConfirmedAt != nil {
		t.Fatalf("an admin's addition without skipConfirmation starts unconfirmed: %+v, %v", byAdmin, err)
	}
	_, err = emails.Add(as(b.alice), alice, "alice@own.example", true)
	wantKind(t, err, usher.KindForbidden, "")
	byAdmin, err := emails.Add(as(b.admin), alice, "alice@home.example", true)
	if err != nil || byAdmin.ConfirmedAt == nil {
		t.Fatalf("an admin's addition with skipConfirmation is confirmed: %+v, %v", byAdmin, err)
	}
	for _, taken := range []string{"BOB@example.com", "alice@HOME.example", "alice@example.com"} {
		_, err := emails.Add(as(b.admin), usher.UserKey{ID: bob.ID}, taken, false)
		wantKind(t, err, usher.KindConflict, "email_taken")
	}
	// Alice's unconfirmed address reserves nothing: Carol may add it too,
	// and the first of them to confirm it keeps it.
	carol := b.env.MustCreateUser(t, usher.UserCreate{Username: "carol", Email: "carol@example.com"})
	if _, err := emails.Add(as(carol), usher.UserKey{ID: carol.ID}, "alice@WORK.example", false); err != nil {
		t.Fatalf("an unconfirmed address held another's: %v", err)
	}
	// A primary address cannot take a secondary one either.
	_, err = b.users.Update(as(b.admin), usher.UserKey{ID: bob.ID}, usher.UserUpdate{Email: ptr("alice@home.example")})
	wantKind(t, err, usher.KindConflict, "email_taken")
	_, err = emails.Add(as(b.alice), alice, "not-an-address", false)
	wantKind(t, err, usher.KindUnprocessable, "validation_failed")
	_, err = emails.List(as(bob), alice)
	wantKind(t, err, usher.KindForbidden, "")
	list, _ := emails.List(as(b.alice), alice)
	if len(list) != 3 {
		t.Fatalf("List: %v", list)
	}
	if err := emails.Delete(as(b.alice), alice, own.ID); err != nil {
		t.Fatal(err)
	}
	err = emails.Delete(as(b.alice), alice, own.ID)
	wantKind(t, err, usher.KindNotFound, "email_not_found")
	if _, err := emails.Add(as(b.admin), usher.UserKey{ID: bob.ID}, "alice@work.example", false); err != nil {
		t.Fatalf("a deleted address's reuse: %v", err)
	}
	_, err = emails.Confirm(context.Background(), "nope")
	wantKind(t, err, usher.KindNotFound, "")
}

func TestSettings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	s := b.env.Core.Settings
	alice := usher.UserKey{ID: b.alice.ID}
	got, err := s.Update(as(b.alice), alice, map[string]json.RawMessage{"theme": json.RawMessage(`"dark"`), "notify": json.RawMessage(`{ "mail" : true }`)})
	if err != nil || len(got) != 2 || string(got[0].Value) != `{"mail":true}` {
		t.Fatalf("Update: %v, %v", got, err)
	}
	// Absent keys are left alone; null removes.
	got, err = s.Update(as(b.alice), alice, map[string]json.RawMessage{"theme": nil, "lang": json.RawMessage(`"de"`)})
	if err != nil || len(got) != 2 || got[0].Key != "lang" || got[1].Key != "notify" {
		t.Fatalf("second Update: %v, %v", got, err)
	}
	for name, values := range map[string]map[string]json.RawMessage{
		"bad key":   {"has space": json.RawMessage(`1`)},
		"not JSON":  {"k": json.RawMessage(`{`)},
		"too large": {"k": json.RawMessage(`"` + string(bytes.Repeat([]byte("x"), 17000)) + `"`)},
	} {
		_, err := s.Update(as(b.alice), alice, values)
		wantKind(t, err, usher.KindUnprocessable, "validation_failed")
		_ = name
	}
	_, err = s.Get(as(b.admin), alice)
	if err != nil {
		t.Fatal(err)
	}
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	_, err = s.Get(as(bob), alice)
	wantKind(t, err, usher.KindForbidden, "")
}

func pngOf(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}

func TestAvatars(t *testing.T) {
	t.Parallel()
	b := setup(t)
	av := b.env.Core.Avatars
	alice := usher.UserKey{ID: b.alice.ID}
	_, err := av.Get(context.Background(), alice)
	wantKind(t, err, usher.KindNotFound, "avatar_not_found")
	set, err := av.Set(as(b.alice), alice, pngOf(64, 64))
	if err != nil || set.ContentType != "image/png" || set.ETag == "" {
		t.Fatalf("Set: %+v, %v", set, err)
	}
	got, err := av.Get(context.Background(), usher.UserKey{Username: "alice"})
	if err != nil || got.ETag != set.ETag || !bytes.Equal(got.Data, set.Data) {
		t.Fatalf("Get: %v", err)
	}
	u, _ := b.users.Get(as(b.alice), alice)
	if u.AvatarETag != set.ETag {
		t.Fatalf("the user's AvatarETag = %q", u.AvatarETag)
	}
	damaged := pngOf(8, 8)
	damaged = damaged[:len(damaged)-20]
	for name, data := range map[string][]byte{
		"text":        []byte("hello, not an image"),
		"damaged png": damaged,
		"too wide":    pngOf(3000, 1),
		"empty":       nil,
	} {
		_, err := av.Set(as(b.alice), alice, data)
		wantKind(t, err, usher.KindUnprocessable, "validation_failed")
		_ = name
	}
	_, err = av.Set(as(b.alice), alice, make([]byte, 1<<20+1))
	wantKind(t, err, usher.KindTooLarge, "avatar_too_large")
	bob := b.env.MustCreateUser(t, usher.UserCreate{Username: "bob"})
	_, err = av.Set(as(bob), alice, pngOf(4, 4))
	wantKind(t, err, usher.KindForbidden, "")
	if err := av.Delete(as(b.admin), alice); err != nil {
		t.Fatal(err)
	}
	err = av.Delete(as(b.admin), alice)
	wantKind(t, err, usher.KindNotFound, "avatar_not_found")
	_ = coretest.System
}

// TestAvatarDecodingBusy: checking an avatar takes its decoded size from
// the budget previews share; with the budget taken, an upload waits, and
// is refused with busy when the wait ends, as a preview is.
func TestAvatarDecodingBusy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	alice := usher.UserKey{ID: b.alice.ID}
	release := b.env.Core.Attachments.HoldDecoding(core.PreviewBudget)
	// Long enough for the reads before the wait on a busy machine (50 ms
	// once ran out in them under the race detector).
	ctx, cancel := context.WithTimeout(as(b.alice), time.Second)
	defer cancel()
	_, err := b.env.Core.Avatars.Set(ctx, alice, pngOf(64, 64))
	wantKind(t, err, usher.KindRateLimited, usher.CodeBusy)
	if e := usher.AsError(err); e.RetryAfter <= 0 {
		t.Errorf("busy without Retry-After: %+v", e)
	}
	release()
	if _, err := b.env.Core.Avatars.Set(as(b.alice), alice, pngOf(64, 64)); err != nil {
		t.Fatal(err)
	}
}
