package core_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image/png"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// countingBlobs is a blob store in memory that counts what is written.
type countingBlobs struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts map[string]int
}

func newCountingBlobs() *countingBlobs {
	return &countingBlobs{m: map[string][]byte{}, puts: map[string]int{}}
}

func (b *countingBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[key] = data
	b.puts[key]++
	return nil
}

func (b *countingBlobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.m[key]
	if !ok {
		return nil, usher.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

func (b *countingBlobs) Delete(ctx context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}

// keys returns how many blobs are stored and how many times key was put.
func (b *countingBlobs) count(key string) (stored, puts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m), b.puts[key]
}

// bombPNG is a PNG whose header claims 100000×100000 pixels.
func bombPNG(t testing.TB) []byte {
	t.Helper()
	data := pngOf(1, 1)
	// The IHDR chunk's width and height follow the signature and the
	// chunk's length and type; its CRC follows them.
	copy(data[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(data[29:33], crc32.ChecksumIEEE(data[12:29]))
	return data
}

// wantProblem fails unless err is of the kind with the code, itself or
// as the code of one of its fields.
func wantProblem(t *testing.T, err error, kind usher.Kind, code string) {
	t.Helper()
	e := usher.AsError(err)
	if err != nil && e.Kind == kind && (code == "" || e.Code == code) {
		return
	}
	for _, f := range e.Fields {
		if err != nil && e.Kind == kind && f.Code == code {
			return
		}
	}
	t.Fatalf("err = %v (%+v), want %s %s", err, e.Fields, kind, code)
}

type attachSetup struct {
	env               *coretest.Env
	blobs             *countingBlobs
	admin, alice, bob *usher.User
}

func setupAttachments(t *testing.T, pg bool) *attachSetup {
	t.Helper()
	blobs := newCountingBlobs()
	env := coretest.New(t, coretest.Options{Postgres: pg, Blobs: blobs, Policy: core.Policy{MaxAttachmentBytes: 64 << 10}})
	return &attachSetup{env: env, blobs: blobs,
		admin: env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true}),
		alice: env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"}),
		bob:   env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"}),
	}
}

func upload(kind usher.AttachmentKind, name string, data []byte) usher.AttachmentUpload {
	return usher.AttachmentUpload{Kind: kind, Name: name, Body: bytes.NewReader(data)}
}

// TestAttachmentUpload checks what an upload is judged by: its bytes,
// never its name or the client's word.
func TestAttachmentUpload(t *testing.T) {
	t.Parallel()
	s := setupAttachments(t, false)
	at := s.env.Core.Attachments
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 64)...)
	cases := []struct {
		name       string
		in         usher.AttachmentUpload
		fails      bool
		kind       usher.Kind
		code       string
		ctype      string
		w, h       int
		storedName string
	}{
		{"png", upload("", "../../etc/pic.png", pngOf(40, 30)), false, 0, "", "image/png", 40, 30, "pic.png"},
		{"html named png", upload("general", "x.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")), false, 0, "", "text/html", 0, 0, "x.png"},
		{"svg", upload("", "a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)), false, 0, "", "image/svg+xml", 0, 0, "a.svg"},
		{"name with CR LF and quotes", upload("", "a\"\r\nSet-Cookie: x.txt", []byte("hello")), false, 0, "", "text/plain", 0, 0, "a\"Set-Cookie: x.txt"},
		{"unknown kind", upload("poster", "a.txt", []byte("x")), true, usher.KindUnprocessable, usher.CodeUnknownKind, "", 0, 0, ""},
		{"avatar kind", upload("avatar", "a.png", pngOf(2, 2)), true, usher.KindUnprocessable, usher.CodeNotAllowed, "", 0, 0, ""},
		{"program", upload("", "tool", elf), true, usher.KindUnprocessable, usher.CodeTypeNotAllowed, "", 0, 0, ""},
		{"empty", upload("", "e.txt", nil), true, usher.KindUnprocessable, usher.CodeRequired, "", 0, 0, ""},
		{"too large", upload("", "big.bin", make([]byte, 64<<10+1)), true, usher.KindTooLarge, usher.CodeAttachmentTooLarge, "", 0, 0, ""},
		{"bomb", upload("", "bomb.png", bombPNG(t)), true, usher.KindUnprocessable, usher.CodeBadSize, "", 0, 0, ""},
		{"damaged image", upload("", "d.png", pngOf(4, 4)[:30]), true, usher.KindUnprocessable, usher.CodeNotAnImage, "", 0, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := at.Upload(as(s.alice), c.in)
			if c.fails {
				wantProblem(t, err, c.kind, c.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ContentType != c.ctype || a.Width != c.w || a.Height != c.h || a.Name != c.storedName || a.OwnerID != s.alice.ID ||
				a.Kind != usher.AttachmentGeneral || len(a.Checksum) != 64 || strings.Contains(a.BlobKey, "pic") {
				t.Fatalf("uploaded %+v", a)
			}
			if a.Inline() != (c.ctype == "image/png") {
				t.Fatalf("Inline() = %v for %s", a.Inline(), c.ctype)
			}
		})
	}
	// Anonymous callers and read-only tokens upload nothing.
	_, err := at.Upload(context.Background(), upload("", "a.txt", []byte("x")))
	wantProblem(t, err, usher.KindUnauthenticated, "")
	_, err = at.Upload(as(s.alice, usher.ScopeReadAPI), upload("", "a.txt", []byte("x")))
	wantProblem(t, err, usher.KindForbidden, "forbidden")
}

// TestAttachmentRules checks who reads and deletes a file, and that a
// deleted file's bytes go with it.
func TestAttachmentRules(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			s := setupAttachments(t, pg)
			at := s.env.Core.Attachments
			a, err := at.Upload(as(s.alice), upload("", "notes.txt", []byte("alice's notes")))
			if err != nil {
				t.Fatal(err)
			}
			// Bob is told it does not exist; alice and the admin read it.
			_, err = at.Get(as(s.bob), a.ID)
			wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
			err = at.Delete(as(s.bob), a.ID)
			wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
			_, rc, err := at.Open(as(s.admin), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if data, _ := io.ReadAll(rc); string(data) != "alice's notes" {
				t.Fatalf("read %q", data)
			}
			rc.Close()

			// A role allowed attachment.read lets bob read but not delete.
			role, err := s.env.Core.Groups.Create(as(s.admin), usher.GroupCreate{Kind: usher.GroupRole, Handle: "file-readers"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.env.Core.Groups.AddMember(as(s.admin), usher.GroupRef{ID: role.ID}, usher.UserKey{ID: s.bob.ID}, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.env.Core.Groups.SetRules(as(s.admin), usher.GroupRef{ID: role.ID},
				[]usher.Rule{{Resource: "attachment", Operation: "read", Access: usher.Allow}}, true); err != nil {
				t.Fatal(err)
			}
			if _, err := at.Get(as(s.bob), a.ID); err != nil {
				t.Fatalf("bob with the rule: %v", err)
			}
			wantProblem(t, at.Delete(as(s.bob), a.ID), usher.KindForbidden, "forbidden")

			stored, _ := s.blobs.count("")
			if err := at.Delete(as(s.alice), a.ID); err != nil {
				t.Fatal(err)
			}
			if after, _ := s.blobs.count(""); after != stored-1 {
				t.Fatalf("blobs %d → %d, want one fewer", stored, after)
			}
			_, err = at.Get(as(s.alice), a.ID)
			wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
		})
	}
}

// TestAttachmentPreviewOnce asks for a new image's preview from many
// goroutines at once: it is made and stored once, scaled down, and a
// file that is no raster image — an SVG — has none.
func TestAttachmentPreviewOnce(t *testing.T) {
	t.Parallel()
	s := setupAttachments(t, false)
	at := s.env.Core.Attachments
	a, err := at.Upload(as(s.alice), upload("", "big.png", pngOf(1000, 500)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, rc, err := at.Preview(as(s.alice), a.ID)
			if err != nil {
				t.Error(err)
				return
			}
			defer rc.Close()
			cfg, err := png.DecodeConfig(rc)
			if err != nil || p.PreviewType != "image/png" || cfg.Width != 320 || cfg.Height != 160 {
				t.Errorf("preview %s %dx%d, %v", p.PreviewType, cfg.Width, cfg.Height, err)
			}
		}()
	}
	wg.Wait()
	if _, puts := s.blobs.count(a.BlobKey + ".preview"); puts != 1 {
		t.Fatalf("the preview was made %d times, want once", puts)
	}
	// Asked again, it is served as stored.
	if _, rc, err := at.Preview(as(s.alice), a.ID); err != nil {
		t.Fatal(err)
	} else {
		rc.Close()
	}
	if _, puts := s.blobs.count(a.BlobKey + ".preview"); puts != 1 {
		t.Fatalf("the preview was made %d times, want once", puts)
	}

	svg, err := at.Upload(as(s.alice), upload("", "a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = at.Preview(as(s.alice), svg.ID)
	wantProblem(t, err, usher.KindNotFound, usher.CodeNoPreview)
	if svg.Inline() {
		t.Fatal("an SVG may be shown inline")
	}
}

// TestAttachmentFailedCommitRemovesBlob makes the transaction after the
// blob write fail: the blob is removed, nothing is left behind.
func TestAttachmentFailedCommitRemovesBlob(t *testing.T) {
	t.Parallel()
	s := setupAttachments(t, false)
	var values []usher.InstanceSettingValue
	for i := range 500 {
		values = append(values, usher.InstanceSettingValue{Name: "general.s" + strconv.Itoa(i), Value: []byte("1")})
	}
	if _, err := s.env.Core.Instance.Update(as(s.admin), values); err != nil {
		t.Fatal(err)
	}
	before, _ := s.blobs.count("")
	_, err := s.env.Core.Instance.SetFile(as(s.admin), "ui.logo", upload("", "logo.png", pngOf(8, 8)))
	wantProblem(t, err, usher.KindUnprocessable, usher.CodeTooMany)
	if after, _ := s.blobs.count(""); after != before {
		t.Fatalf("blobs %d → %d after a failed commit", before, after)
	}
}

// TestSettingFile sets a setting from a file: its value refers to the
// attachment, which only the setting's change removes.
func TestSettingFile(t *testing.T) {
	t.Parallel()
	s := setupAttachments(t, false)
	inst, at := s.env.Core.Instance, s.env.Core.Attachments
	st, err := inst.SetFile(as(s.admin), "ui.logo", upload("", "logo.png", pngOf(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Attachment  int64  `json:"attachment"`
		Name        string `json:"name"`
		Size        int64  `json:"size"`
		ContentType string `json:"content_type"`
	}
	if err := json.Unmarshal(st.Value, &ref); err != nil || ref.Attachment == 0 || ref.Name != "logo.png" || ref.ContentType != "image/png" {
		t.Fatalf("value %s: %v", st.Value, err)
	}
	a, err := at.Get(as(s.admin), ref.Attachment)
	if err != nil || a.Kind != usher.AttachmentSetting {
		t.Fatalf("the setting's file: %+v, %v", a, err)
	}
	wantProblem(t, at.Delete(as(s.admin), a.ID), usher.KindConflict, usher.CodeConflict)
	// Not for everyone, nor a setting of true or false.
	_, err = inst.SetFile(as(s.alice), "ui.logo", upload("", "logo.png", pngOf(8, 8)))
	wantProblem(t, err, usher.KindForbidden, "forbidden")
	_, err = inst.SetFile(as(s.admin), usher.SettingSignupEnabled, upload("", "x.txt", []byte("x")))
	wantProblem(t, err, usher.KindUnprocessable, usher.CodeInvalid)
	// Another value removes the file and its bytes.
	before, _ := s.blobs.count("")
	if _, err := inst.Set(as(s.admin), "ui.logo", []byte(`"none"`)); err != nil {
		t.Fatal(err)
	}
	_, err = at.Get(as(s.admin), a.ID)
	wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
	if after, _ := s.blobs.count(""); after != before-1 {
		t.Fatalf("blobs %d → %d, want one fewer", before, after)
	}
}

// TestAvatarIsAttachment checks that an avatar is kept as an attachment,
// that replacing it removes the old bytes, and that an avatar stored
// before attachments is still served until replaced.
func TestAvatarIsAttachment(t *testing.T) {
	t.Parallel()
	s := setupAttachments(t, false)
	av := s.env.Core.Avatars
	ctx := context.Background()
	legacy := pngOf(3, 3)
	if err := s.env.Store.AvatarPut(ctx, &usher.Avatar{UserID: s.bob.ID, ContentType: "image/png", Data: legacy, ETag: "old"}); err != nil {
		t.Fatal(err)
	}
	got, err := av.Get(ctx, usher.UserKey{ID: s.bob.ID})
	if err != nil || !bytes.Equal(got.Data, legacy) || got.ETag != "old" {
		t.Fatalf("the legacy avatar: %+v, %v", got, err)
	}
	first, err := av.Set(as(s.bob), usher.UserKey{ID: s.bob.ID}, pngOf(5, 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.env.Store.AvatarGet(ctx, s.bob.ID); err == nil {
		t.Fatal("the legacy avatar outlived its replacement")
	}
	list, err := s.env.Store.AttachmentsOf(ctx, s.bob.ID, usher.AttachmentAvatar)
	if err != nil || len(list) != 1 || list[0].Kind != usher.AttachmentAvatar || first.ETag != list[0].Checksum[:16] {
		t.Fatalf("avatar attachments: %v, %v", list, err)
	}
	before, _ := s.blobs.count("")
	second, err := av.Set(as(s.bob), usher.UserKey{ID: s.bob.ID}, pngOf(6, 6))
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := s.blobs.count(""); after != before {
		t.Fatalf("blobs %d → %d: the replaced avatar's bytes stayed", before, after)
	}
	if got, err := av.Get(ctx, usher.UserKey{Username: "bob"}); err != nil || got.ETag != second.ETag {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	// Anyone reads an avatar attachment; deleting it clears the user's tag.
	list, _ = s.env.Store.AttachmentsOf(ctx, s.bob.ID, usher.AttachmentAvatar)
	if _, err := s.env.Core.Attachments.Get(as(s.alice), list[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := s.env.Core.Attachments.Delete(as(s.bob), list[0].ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.env.Core.Users.Get(as(s.bob), usher.UserKey{ID: s.bob.ID}); u.AvatarETag != "" {
		t.Fatalf("avatar tag %q after its attachment was deleted", u.AvatarETag)
	}
	_, err = av.Get(ctx, usher.UserKey{ID: s.bob.ID})
	wantProblem(t, err, usher.KindNotFound, usher.CodeAvatarNotFound)

	// Purging a user removes its avatar and the avatar's bytes; the files
	// it uploaded stay, without an owner.
	if _, err := av.Set(as(s.alice), usher.UserKey{ID: s.alice.ID}, pngOf(7, 7)); err != nil {
		t.Fatal(err)
	}
	kept, err := s.env.Core.Attachments.Upload(as(s.alice), upload("", "kept.txt", []byte("kept")))
	if err != nil {
		t.Fatal(err)
	}
	before, _ = s.blobs.count("")
	if _, err := s.env.Core.Users.Delete(as(s.admin), usher.UserKey{ID: s.alice.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.env.Core.Users.Purge(as(s.admin), usher.UserKey{ID: s.alice.ID}); err != nil {
		t.Fatal(err)
	}
	if after, _ := s.blobs.count(""); after != before-1 {
		t.Fatalf("blobs %d → %d after the purge, want the avatar's gone", before, after)
	}
	if got, err := s.env.Core.Attachments.Get(as(s.admin), kept.ID); err != nil || got.OwnerID != 0 {
		t.Fatalf("the purged user's file: %+v, %v", got, err)
	}
}
