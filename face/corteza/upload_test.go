package corteza_test

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"testing"

	"usher/web/webtest"
)

// TestSettingUploadAuthorizedFirst replays a large upload to Corteza's
// POST /settings/{key} by a user who may not change the settings: the
// face parsed the whole form, a temporary file past 1 MiB, before the core
// refused, where the native face asks first and reads nothing. Now it
// asks the core first too: a refusal reads no byte of the body, and an
// administrator's upload is read and judged.
func TestSettingUploadAuthorizedFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("upload", "x.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(bytes.Repeat([]byte("A"), 2<<20)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, jwt, message string
		read               bool
	}{
		{"anonymous", "", "Unauthorized", false},
		{"a plain user", b.userJWT, "not allowed", false},
		{"an administrator", b.adminJWT, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := webtest.NewCountedBody(bytes.NewReader(buf.Bytes()))
			r := httptest.NewRequest("POST", "/api/system/settings/ui.logo", nil)
			r.Body, r.ContentLength = read, int64(buf.Len())
			r.Header.Set("Content-Type", mw.FormDataContentType())
			if tt.jwt != "" {
				r.Header.Set("Authorization", "Bearer "+tt.jwt)
			}
			w := httptest.NewRecorder()
			b.srv.Config.Handler.ServeHTTP(w, r)
			// Corteza answers a refusal with an error envelope.
			if tt.message != "" && !bytes.Contains(w.Body.Bytes(), []byte(tt.message)) {
				t.Fatalf("%d %s, want a refusal saying %q", w.Code, w.Body, tt.message)
			}
			if n := read.Count(); tt.read != (n > 0) {
				t.Fatalf("%d of %d bytes of the body read: %d %s", n, buf.Len(), w.Code, w.Body)
			}
		})
	}
}
