package gitlab

import (
	"testing"
)

// FuzzSudoReaders runs the readers that look for a sudo the way Rack
// would (rackSudo, multipartSudo, sameBoundary) over any query, body and
// content type: none may panic (a first version of round 50's fix
// indexed the empty line a bare "\n" leaves), and a plain sudo part is
// counted.
func FuzzSudoReaders(f *testing.F) {
	f.Add("x=1;sudo=plain", "multipart/form-data; boundary=zz",
		"--zz\r\nContent-Disposition: form-data\n\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n")
	f.Add("sudo[x=1", "multipart/form-data; boundary =zz", " --zz\r\nContent-ID:\r\n sudo\r\n\r\n--zz--")
	f.Add("%", `multipart/form-data; boundary="a;b"`, "\f--zz\r\n\n\r\n name=\"s\\udo\"\r\n")
	f.Fuzz(func(t *testing.T, query, contentType, body string) {
		rackSudo(query, "&;")
		rackSudo(body, "&")
		sameBoundary(contentType)
		if _, named := multipartSudo(contentType, []byte(body)); named < 0 {
			t.Fatalf("named %d", named)
		}
	})
}

func TestMultipartSudoCountsAPlainPart(t *testing.T) {
	odd, named := multipartSudo("multipart/form-data; boundary=zz",
		[]byte("--zz\r\nContent-Disposition: form-data; name=\"sudo\"\r\n\r\nplain\r\n--zz--\r\n"))
	if odd || named != 1 {
		t.Fatalf("a plain sudo part: odd %v, named %d; want false, 1", odd, named)
	}
}
