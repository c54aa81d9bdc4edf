package native_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"usher"
	"usher/core/coretest"
)

// multipartFile is a multipart/form-data body with a file part and other
// fields, and its Content-Type.
func multipartFile(t testing.TB, field, name string, data []byte, fields map[string]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if field != "" {
		part, err := w.CreateFormFile(field, name)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// attachment returns the path of a fresh image attachment the cell's
// target owns.
func (c *cell) attachment(suffix string) string {
	owner := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: c.target()})
	a, err := c.m.env.Core.Attachments.Upload(owner, usher.AttachmentUpload{Name: "pic.png", Body: bytes.NewReader(pngImage(c.t))})
	c.must(err)
	return fmt.Sprintf("/v1/attachments/%d%s", a.ID, suffix)
}

// attachmentBody is the part of an attachment's representation the tests
// read.
type attachmentBody struct {
	ID          int64  `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	Checksum    string `json:"checksum"`
	Meta        *struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"meta"`
	URL        string  `json:"url"`
	PreviewURL *string `json:"preview_url"`
}

// mustUpload posts a file as the plain user.
func (b *bundle) mustUpload(t *testing.T, name string, data []byte) attachmentBody {
	t.Helper()
	body, ctype := multipartFile(t, "file", name, data, nil)
	res := b.api.do(t, req{method: "POST", path: "/v1/attachments", token: b.userTok, body: body, header: map[string]string{"Content-Type": ctype}})
	if res.status != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", name, res.status, res.body)
	}
	var a attachmentBody
	res.decode(t, &a)
	return a
}

func TestAttachmentUploadAndDownload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	img := b.mustUpload(t, "pic.png", pngImage(t))
	if img.Kind != "general" || img.ContentType != "image/png" || img.Meta == nil || img.Meta.Width != 4 ||
		img.PreviewURL == nil || img.URL != fmt.Sprintf("/v1/attachments/%d/original", img.ID) {
		t.Fatalf("uploaded %+v", img)
	}
	res := b.api.do(t, req{method: "GET", path: img.URL, token: b.userTok})
	if res.status != http.StatusOK || !bytes.Equal(res.body, pngImage(t)) || res.header.Get("Content-Type") != "image/png" ||
		!strings.HasPrefix(res.header.Get("Content-Disposition"), "inline") || res.header.Get("ETag") != `"`+img.Checksum+`"` {
		t.Fatalf("download: %d %v", res.status, res.header)
	}
	res = b.api.do(t, req{method: "GET", path: img.URL, token: b.userTok, header: map[string]string{"If-None-Match": `"` + img.Checksum + `"`}})
	if res.status != http.StatusNotModified || len(res.body) != 0 {
		t.Fatalf("If-None-Match: %d", res.status)
	}
	res = b.api.do(t, req{method: "GET", path: *img.PreviewURL, token: b.userTok})
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "image/png" || !strings.Contains(res.header.Get("Cache-Control"), "immutable") ||
		res.header.Get("ETag") == "" {
		t.Fatalf("preview: %d %v", res.status, res.header)
	}
	// Another user is told it does not exist; the owner deletes it.
	res = b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d", img.ID), token: b.env.MustToken(t,
		b.env.MustCreateUser(t, usher.UserCreate{Username: "eve", Email: "eve@example.com"}).ID, usher.TokenPersonal)})
	if p := res.problem(t); res.status != http.StatusNotFound || p.Code != usher.CodeAttachmentNotFound {
		t.Fatalf("another's: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/attachments/%d", img.ID), token: b.userTok})
	if res.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "GET", path: img.URL, token: b.userTok})
	if p := res.problem(t); res.status != http.StatusNotFound || p.Code != usher.CodeAttachmentNotFound {
		t.Fatalf("after delete: %d %s", res.status, res.body)
	}
}

// TestAttachmentNeverInline uploads what a browser would run, under names
// that try to pass for images or to break the header: each is served as a
// sandboxed download, its name quoted, never inline.
func TestAttachmentNeverInline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name, file, ctype string
		data              string
	}{
		{"svg", "logo.png", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`},
		{"html", "page.jpg", "text/html", `<!DOCTYPE html><html><body><script>alert(1)</script></body></html>`},
		{"xml", "feed.gif", "text/xml", `<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>`},
		{"quotes and CRLF in the name", "a\";\r\nSet-Cookie: x=1;.txt", "text/plain", "plain text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := b.mustUpload(t, c.file, []byte(c.data))
			if a.ContentType != c.ctype || a.PreviewURL != nil {
				t.Fatalf("uploaded as %s, preview %v", a.ContentType, a.PreviewURL)
			}
			res := b.api.do(t, req{method: "GET", path: a.URL, token: b.userTok})
			disp := res.header.Get("Content-Disposition")
			kind, params, err := mime.ParseMediaType(disp)
			if res.status != http.StatusOK || err != nil || kind != "attachment" || params["filename"] != a.Name ||
				!strings.Contains(res.header.Get("Content-Security-Policy"), "sandbox") ||
				res.header.Get("X-Content-Type-Options") != "nosniff" || res.header.Get("Set-Cookie") != "" {
				t.Fatalf("download: %d %q (%v) %v", res.status, disp, err, res.header)
			}
			res = b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", a.ID), token: b.userTok})
			if p := res.problem(t); res.status != http.StatusNotFound || p.Code != usher.CodeNoPreview {
				t.Fatalf("preview: %d %s", res.status, res.body)
			}
		})
	}
}

// TestAttachmentBadInput sends what an upload must refuse, each with its
// status and the problem's code and field.
func TestAttachmentBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	multipartOf := func(field, name string, data []byte, fields map[string]string) func() ([]byte, string) {
		return func() ([]byte, string) { return multipartFile(t, field, name, data, fields) }
	}
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 64)...)
	cases := []struct {
		name   string
		path   string
		build  func() ([]byte, string)
		status int
		code   string
		field  string
	}{
		{"oversized file", "/v1/attachments", multipartOf("file", "big.bin", make([]byte, 10<<20+1), nil), 413, usher.CodeAttachmentTooLarge, ""},
		{"oversized body", "/v1/attachments", multipartOf("file", "big.bin", make([]byte, 11<<20), nil), 413, usher.CodeBodyTooLarge, ""},
		{"a program", "/v1/attachments", multipartOf("file", "run.txt", elf, nil), 422, usher.CodeValidationFailed, "file"},
		{"unknown kind", "/v1/attachments", multipartOf("file", "a.txt", []byte("x"), map[string]string{"kind": "poster"}), 422, usher.CodeValidationFailed, "kind"},
		{"avatar kind", "/v1/attachments", multipartOf("file", "a.png", pngImage(t), map[string]string{"kind": "avatar"}), 422, usher.CodeValidationFailed, "kind"},
		{"empty file", "/v1/attachments", multipartOf("file", "a.txt", nil, nil), 422, usher.CodeValidationFailed, "file"},
		{"no file", "/v1/attachments", multipartOf("", "", nil, map[string]string{"kind": "general"}), 400, usher.CodeRequired, "file"},
		{"JSON body", "/v1/attachments", func() ([]byte, string) { return []byte(`{"file": "x"}`), "application/json" }, 415, usher.CodeUnsupportedMediaType, ""},
		{"broken form", "/v1/attachments", func() ([]byte, string) { return []byte("--x\r\nnope"), "multipart/form-data; boundary=x" }, 400, usher.CodeMalformedForm, ""},
		{"setting file, bad name", "/v1/settings/Bad Name", multipartOf("upload", "a.txt", []byte("x"), nil), 422, usher.CodeValidationFailed, "Bad Name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, ctype := c.build()
			method := "POST"
			token := b.userTok
			if strings.HasPrefix(c.path, "/v1/settings/") {
				method, token = "PUT", b.adminTok
			}
			res := b.api.do(t, req{method: method, path: c.path, token: token, body: body, header: map[string]string{"Content-Type": ctype}, unchecked: true})
			p := res.problem(t)
			if res.status != c.status || p.Code != c.code {
				t.Fatalf("%d %s, want %d %s", res.status, res.body, c.status, c.code)
			}
			if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
				t.Fatalf("errors %+v, want the field %s", p.Errors, c.field)
			}
		})
	}
	for _, path := range []string{"/v1/attachments/0", "/v1/attachments/x/original", "/v1/attachments/-1/preview"} {
		res := b.api.do(t, req{method: "GET", path: path, token: b.userTok, unchecked: true})
		if p := res.problem(t); res.status != http.StatusBadRequest || p.Code != usher.CodeInvalidID {
			t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
	}
}

// TestSettingFromFile sets an instance setting from an upload.
func TestSettingFromFile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	body, ctype := multipartFile(t, "upload", "logo.png", pngImage(t), nil)
	res := b.api.do(t, req{method: "PUT", path: "/v1/settings/ui.logo", token: b.adminTok, body: body, header: map[string]string{"Content-Type": ctype}})
	var st struct {
		Name  string `json:"name"`
		Value struct {
			Attachment  int64  `json:"attachment"`
			Name        string `json:"name"`
			Size        int64  `json:"size"`
			ContentType string `json:"content_type"`
		} `json:"value"`
	}
	res.decode(t, &st)
	if res.status != http.StatusOK || st.Name != "ui.logo" || st.Value.Attachment == 0 || st.Value.ContentType != "image/png" || st.Value.Name != "logo.png" {
		t.Fatalf("set from a file: %d %s", res.status, res.body)
	}
	res = b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/original", st.Value.Attachment), token: b.adminTok})
	if res.status != http.StatusOK || !bytes.Equal(res.body, pngImage(t)) {
		t.Fatalf("the setting's file: %d", res.status)
	}
	// Not for a plain user.
	res = b.api.do(t, req{method: "PUT", path: "/v1/settings/ui.logo", token: b.userTok, body: body, header: map[string]string{"Content-Type": ctype}})
	if p := res.problem(t); res.status != http.StatusForbidden || p.Code != usher.CodeForbidden {
		t.Fatalf("plain user: %d %s", res.status, res.body)
	}
}

// TestConcurrentFilesOfOneAccount replays on PostgreSQL one account's
// avatars, and files, sent several at once: inserting each one's row took
// a share lock on the account's row (its owner), and what followed (the
// avatar's tag, the file quota's count) took the row itself, so two at
// once each waited for the other: "deadlock detected", a 500. Every one is
// answered now, and the account keeps one avatar.
func TestConcurrentFilesOfOneAccount(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		const n = 8
		for round := range 3 {
			atOnce(t, n, http.StatusOK, func(i int) *response {
				var buf bytes.Buffer
				if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4+i, 4+round))); err != nil {
					t.Error(err)
				}
				return b.api.do(t, req{method: "PUT", path: fmt.Sprintf("/v1/users/%d/avatar", b.user.ID), token: b.userTok,
					body: buf.Bytes(), header: map[string]string{"Content-Type": "image/png"}})
			})
			list, err := b.env.Store.AttachmentsOf(context.Background(), b.user.ID, usher.AttachmentAvatar)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Errorf("round %d: %d avatar attachments after %d sets at once", round, len(list), n)
			}
			b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d/avatar", b.user.ID), token: b.userTok}, http.StatusNoContent, nil)
		}
		atOnce(t, n, http.StatusCreated, func(i int) *response {
			body, ctype := multipartFile(t, "file", fmt.Sprintf("f%d.txt", i), []byte(strings.Repeat("x", i+1)), nil)
			return b.api.do(t, req{method: "POST", path: "/v1/attachments", token: b.userTok, body: body, header: map[string]string{"Content-Type": ctype}})
		})
	})
}

// TestAvatarSetAgainstDelete: past TestConcurrentFilesOfOneAccount,
// deleting an avatar (DELETE /v1/users/{id}/avatar, DELETE
// /v1/attachments/{id}) deleted the file's row and then took the owner's,
// while a set held the owner's row and then deleted the old avatar's: on
// PostgreSQL one of them was aborted, "deadlock detected", a 500. Every
// path holds the owner's row first now.
func TestAvatarSetAgainstDelete(t *testing.T) {
	t.Parallel()
	engines(t, func(t *testing.T, postgres bool) {
		b := setupWith(t, coretest.Options{Postgres: postgres})
		put := func(i int) *response {
			var buf bytes.Buffer
			if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4+i%50, 5))); err != nil {
				t.Error(err)
			}
			return b.api.do(t, req{method: "PUT", path: fmt.Sprintf("/v1/users/%d/avatar", b.user.ID), token: b.userTok,
				body: buf.Bytes(), header: map[string]string{"Content-Type": "image/png"}})
		}
		var mu sync.Mutex
		fails := 0
		for round := range 8 {
			if res := put(round); res.status >= 300 {
				t.Fatalf("set: %d %s", res.status, res.body)
			}
			list, err := b.env.Store.AttachmentsOf(context.Background(), b.user.ID, usher.AttachmentAvatar)
			if err != nil || len(list) != 1 {
				t.Fatalf("avatars: %d %v", len(list), err)
			}
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					var res *response
					switch i % 4 {
					case 0, 2:
						res = put(round*4 + i + 1)
					case 1:
						res = b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/%d/avatar", b.user.ID), token: b.userTok})
					case 3:
						res = b.api.do(t, req{method: "DELETE", path: fmt.Sprintf("/v1/attachments/%d", list[0].ID), token: b.userTok})
					}
					if res.status >= 500 {
						mu.Lock()
						fails++
						if fails == 1 {
							t.Errorf("round %d, request %d: %d %.300s", round, i, res.status, res.body)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
		}
		if fails > 0 {
			t.Errorf("%d requests answered 5xx", fails)
		}
	})
}
