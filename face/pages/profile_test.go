package pages_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestProfilePages: a person adds an address and confirms it by the mail's
// link, adds and removes an SSH key, uploads a picture, and sees their
// teams.
func TestProfilePages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := b.browser(t)
	br.login(t, "plain", password)

	br.get(t, "/account/emails")
	p := br.post(t, "/account/emails", url.Values{"email": {"plain.work@example.com"}})
	mustContain(t, p, "We sent a code to plain.work@example.com", "<td>plain.work@example.com</td><td>never</td>")
	p = br.post(t, "/account/emails", url.Values{"email": {"not an address"}})
	mustContain(t, p, `class="alert error"`, `class="field-error"`)
	link := b.link(t, b.mailTo(t, 1, "plain.work@example.com"), "/confirm")
	if !strings.Contains(link, "kind=email") {
		t.Fatalf("the link %s does not say it confirms an added address", link)
	}
	p = br.get(t, link)
	code := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/confirm", url.Values{"code": {code}, "kind": {"email"}})
	mustContain(t, p, "Your e-mail address is confirmed")
	if p := br.get(t, "/account/emails"); strings.Contains(p.body, "<td>plain.work@example.com</td><td>never</td>") {
		t.Fatal("the address is still unconfirmed")
	}

	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	br.get(t, "/account/keys")
	p = br.post(t, "/account/keys", url.Values{"title": {"laptop"}, "key": {string(ssh.MarshalAuthorizedKey(k))}})
	mustContain(t, p, "The key is added.", "<td>laptop</td>", strings.ReplaceAll(ssh.FingerprintSHA256(k), "+", "&#43;"))
	id := regexp.MustCompile(`/account/keys/(\d+)/delete`).FindStringSubmatch(p.body)[1]
	p = br.post(t, "/account/keys/"+id+"/delete", url.Values{})
	mustContain(t, p, "The key is removed.")
	if strings.Contains(p.body, "<td>laptop</td>") {
		t.Fatal("the removed key is still listed")
	}

	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	p = br.uploadAvatar(t, img.Bytes())
	mustContain(t, p, "Your picture is saved.", `/avatar" alt="Your picture"`)

	p = br.get(t, "/account/teams")
	mustContain(t, p, "You belong to no team or group.")
}

// uploadAvatar posts the picture as the profile page's form would.
func (br *browser) uploadAvatar(t *testing.T, picture []byte) page {
	t.Helper()
	br.get(t, "/account")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", br.csrf)
	fw, _ := mw.CreateFormFile("avatar", "me.png")
	_, _ = fw.Write(picture)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", br.b.srv.URL+"/account/avatar", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return br.do(t, req)
}

// TestAvatarUpToTheCoreLimit: the profile page takes a picture as large as
// the core takes (1 MiB): before, the body limit every request has (also
// 1 MiB) refused one within a form's few hundred bytes of it, 413, before
// the page's own limit for uploads was asked.
func TestAvatarUpToTheCoreLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	// Pad the picture to just under 1 MiB with a text chunk before its end,
	// which decoders pass over.
	const size = 1<<20 - 16
	iend := img.Bytes()[img.Len()-12:]
	pad := size - img.Len()
	chunk := make([]byte, 8, pad)
	binary.BigEndian.PutUint32(chunk, uint32(pad-12))
	copy(chunk[4:], "tEXt")
	chunk = append(chunk, "pad\x00"...)
	chunk = append(chunk, bytes.Repeat([]byte("x"), pad-12-4)...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	picture := append(append(append([]byte{}, img.Bytes()[:img.Len()-12]...), chunk...), iend...)
	if len(picture) != size {
		t.Fatalf("the picture is %d bytes", len(picture))
	}
	if _, err := png.Decode(bytes.NewReader(picture)); err != nil {
		t.Fatal(err)
	}
	br := b.browser(t)
	br.login(t, "plain", password)
	mustContain(t, br.uploadAvatar(t, picture), "Your picture is saved.")
	if p := br.uploadAvatar(t, append(picture, make([]byte, 32)...)); p.status != http.StatusUnprocessableEntity && p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a picture over the core's limit: %d", p.status)
	}
}
