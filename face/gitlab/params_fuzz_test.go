package gitlab

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"testing"
)

// FuzzSudoReaders runs the readers that look for a sudo the way Rack
// would (rackOdd, sameBoundary, plainParts, mightName) over any
// query, body and content type: none may panic, and a body plainParts
// passes is one Go's reader reads to its end without skipping a part, each
// part named as its header's name says.
func FuzzSudoReaders(f *testing.F) {
	f.Add("x=1;sudo=plain", "multipart/form-data; boundary=zz",
		"--zz\r\nContent-Disposition: form-data\n\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n")
	f.Add("sudo[x=1", "multipart/form-data; boundary =zz", " --zz\r\nContent-ID:\r\n sudo\r\n\r\n--zz--")
	f.Add("%", `multipart/form-data; boundary="a;b"`, "\f--zz\r\n\n\r\n name=\"s\\udo\"\r\n")
	f.Add("", "multipart/form-data; boundary=zz",
		"--zz\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--zz\r\n"+
			"Content-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n")
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		(&params{odd: map[string]bool{}}).rackOdd(query, "&;")
		(&params{odd: map[string]bool{}}).rackOdd(body, "&")
		sameBoundary(contentType)
		mightName([]byte(body))
		if !plainParts(contentType, []byte(body)) {
			return
		}
		_, params, _ := mime.ParseMediaType(contentType)
		mr := multipart.NewReader(bytes.NewReader([]byte(body)), params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("a plain body Go's reader refuses: %v\n%q", err, body)
			}
			_, disp, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			if err != nil || part.FormName() == "" || part.FormName() != disp["name"] {
				t.Fatalf("a plain body's part Go's reader skips or names otherwise: %q (%v)\n%q", part.FormName(), err, body)
			}
		}
	})
}

func TestPlainPartsOfClients(t *testing.T) {
	for _, tc := range []struct {
		body  string
		plain bool
	}{
		{"--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n", true},
		{"--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\nContent-Type: text/plain\r\n\r\nplain\r\n--zz--\r\n", true},
		{"--zz\r\nContent-Disposition: form-data; name=\"avatar\"; filename=\"a b.png\"\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: binary\r\n\r\nx\r\n--zz--", true},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz \r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ny\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\n\r\nx\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx--zz\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\"\r\n\r\nx\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"; filename=\"b; name=c\"\r\n\r\nx\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=nope\r\n\r\nx\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--zz--\r\n", false},
		{"preamble\r\n--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz--\r\n", false},
		// .NET's unquoted name is a token to both; a bracket is in
		// neither's (Go's mime refuses it, Rack reads up to it).
		{"--zz\r\nContent-Disposition: form-data; name=sudo\r\n\r\nx\r\n--zz--\r\n", true},
		{"--zz\r\nContent-Disposition: form-data; name=a[b]\r\n\r\nx\r\n--zz--\r\n", false},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Length: 1\r\n\r\nx\r\n--zz--\r\n", true},
		{"--zz\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset=\"utf-8\r\n\r\nx\r\n--zz--\r\n", false},
	} {
		if got := plainParts("multipart/form-data; boundary=zz", []byte(tc.body)); got != tc.plain {
			t.Errorf("plainParts(%q) = %v, want %v", tc.body, got, tc.plain)
		}
	}
}
