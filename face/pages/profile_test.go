package pages_test

import (
	"bytes"
	"crypto/ed25519"
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
	br.get(t, "/account")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", br.csrf)
	fw, _ := mw.CreateFormFile("avatar", "me.png")
	_, _ = fw.Write(img.Bytes())
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.srv.URL+"/account/avatar", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	p = br.do(t, req)
	mustContain(t, p, "Your picture is saved.", `/avatar" alt="Your picture"`)

	p = br.get(t, "/account/teams")
	mustContain(t, p, "You belong to no team or group.")
}
