package native_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"testing"

	"usher"
	"usher/core/coretest"
)

// TestJPEGScanBombRefused replays a decoding bomb: a progressive JPEG
// whose one real scan is followed by hundreds of scans of a few bytes,
// each coding every block as a run of empty bands. It passed every check
// (its sides, its pixels, the memory its header declares) and made the
// decoder walk every block once a scan: 87 KB took 9 s to preview, and a
// 10 MiB upload would hold a core for a quarter of an hour, in a decode
// nothing stops; an avatar of 1 MiB half a minute. Both now count the
// blocks its scans visit before decoding, and refuse past the bound: the
// attachment has no preview (404 no_preview), the avatar is 422. The same
// with scans that refine the bands, each block of which the decoder steps
// through band by band, about four times the cost, and which the first
// count took for ordinary blocks; and with a baseline scan repeated, each
// block of which the decoder transforms and writes out each time. An
// ordinary progressive JPEG of a few scans still previews.
func TestJPEGScanBombRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	preview := func(t *testing.T, data []byte) *response {
		t.Helper()
		a := b.mustUpload(t, "scans.jpg", data)
		return b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", a.ID), token: b.userTok})
	}
	t.Run("preview", func(t *testing.T) {
		t.Parallel()
		// 512 × 384 blocks, walked 401 times: past the bound of 32 Mi.
		res := preview(t, coretest.ScanBombJPEG(4096, 3072, 400, false))
		if p := res.problem(t); res.status != http.StatusNotFound || p.Code != usher.CodeNoPreview {
			t.Fatalf("the bomb's preview: %d %s", res.status, res.body)
		}
		// A baseline scan repeated: each block transformed each time,
		// 262,144 blocks 20 times, 1.3 MB.
		res = preview(t, coretest.RepeatedScanJPEG(4096, 4096, 20))
		if p := res.problem(t); res.status != http.StatusNotFound || p.Code != usher.CodeNoPreview {
			t.Fatalf("the repeated scans' preview: %d %s", res.status, res.body)
		}
		if res := preview(t, coretest.ScanBombJPEG(640, 480, 9, false)); res.status != http.StatusOK {
			t.Fatalf("an ordinary progressive JPEG's preview: %d %s", res.status, res.body)
		}
	})
	t.Run("avatar", func(t *testing.T) {
		t.Parallel()
		// 256 × 256 blocks, walked 1,100 times.
		res := b.api.do(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok,
			body: coretest.ScanBombJPEG(2048, 2048, 1100, false), header: map[string]string{"Content-Type": "image/jpeg"}})
		if p := res.problem(t); res.status != http.StatusUnprocessableEntity || len(p.Errors) != 1 ||
			p.Errors[0].Field != "avatar" || p.Errors[0].Code != usher.CodeTooLarge {
			t.Fatalf("the bomb as an avatar: %d %s", res.status, res.body)
		}
		// Refining the bands costs the decoder four times as much a
		// block: 300 such scans took about as long as 1,200 others.
		res = b.api.do(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok,
			body: coretest.ScanBombJPEG(2048, 2048, 300, true), header: map[string]string{"Content-Type": "image/jpeg"}})
		if p := res.problem(t); res.status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Code != usher.CodeTooLarge {
			t.Fatalf("the refining bomb as an avatar: %d %s", res.status, res.body)
		}
		b.call(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok,
			body: coretest.ScanBombJPEG(256, 256, 9, true), header: map[string]string{"Content-Type": "image/jpeg"}}, http.StatusOK, nil)
	})
}

// greyPNG is a 16-bit grey PNG of w×h pixels, all zero, with a tRNS chunk:
// its header's model is 16-bit grey, 2 bytes a pixel, but the chunk makes
// image/png decode it with an alpha, 8.
func greyPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		_ = binary.Write(&out, binary.BigEndian, uint32(len(data)))
		out.WriteString(kind)
		out.Write(data)
		_ = binary.Write(&out, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(kind), data...)))
	}
	header := make([]byte, 13)
	binary.BigEndian.PutUint32(header[0:], uint32(w))
	binary.BigEndian.PutUint32(header[4:], uint32(h))
	header[8] = 16 // bits a sample; colour type 0, grey
	chunk("IHDR", header)
	chunk("tRNS", []byte{0, 1})
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	row := make([]byte, 1+2*w)
	for range h {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// TestCMYKJPEGCounted: a CMYK JPEG of 12 MP has no preview, its planes
// counted. The estimate took the CMYK model's 4 bytes a pixel (46 MiB,
// under the bound); the decoder makes three planes and a black one, then
// the CMYK image of them, 8 bytes a pixel: 92 MiB from a file of 183 KiB.
// One of 4 MP still previews.
func TestCMYKJPEGCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.wantNoPreview(t, "cmyk.jpg", coretest.CMYKJPEG(4000, 3000))
	small := b.mustUpload(t, "small.jpg", coretest.CMYKJPEG(2304, 1728))
	if res := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", small.ID), token: b.userTok}); res.status != http.StatusOK {
		t.Fatalf("the preview of a small one: %d %s", res.status, res.body)
	}
}

// TestLateAdobeJPEGCounted: a colour JPEG of 16.8 MP with an Adobe
// segment of transform 0 after its scan has no preview, its RGBA counted:
// DecodeConfig stops at the frame header and said YCbCr, 3 bytes a pixel
// (48 MiB, under the bound), and the decoder, which reads the segment,
// made an RGBA image of the components too, 152 MiB in all.
func TestLateAdobeJPEGCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.wantNoPreview(t, "adobe.jpg", coretest.LateAdobeJPEG(4096, 4096))
}

// wantNoPreview uploads data as the plain user and asks for its preview,
// which must be 404 no_preview.
func (b *bundle) wantNoPreview(t *testing.T, name string, data []byte) {
	t.Helper()
	a := b.mustUpload(t, name, data)
	res := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", a.ID), token: b.userTok})
	if res.status != http.StatusNotFound {
		t.Fatalf("the preview of %s: %d, %s of %d bytes", name, res.status, res.header.Get("Content-Type"), len(res.body))
	}
	if p := res.problem(t); p.Code != usher.CodeNoPreview {
		t.Fatalf("the preview of %s: %s", name, res.body)
	}
}

// TestHiddenProgressiveJPEGCounted: a progressive JPEG of 40 MP has no
// preview, its coefficients counted, however its frame header is hidden
// from a walk of its segments: behind a stray 0xFF 0x00 read as a
// segment, the cost was taken from a baseline header in a comment, and
// the preview decoded 240 MiB under an estimate of 38.
func TestHiddenProgressiveJPEGCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	plain := coretest.ScanBombJPEG(8000, 5000, 0, false)
	b.wantNoPreview(t, "plain.jpg", plain)
	b.wantNoPreview(t, "hidden.jpg", coretest.HiddenFrameJPEG(plain))
}

// TestGreyPNGWithTransparencyCounted replays a preview whose decoded size
// its header hid: a grey PNG's header comes before its tRNS chunk, so the
// estimate took 16-bit grey for 2 bytes a pixel, while the decoder gives
// it an alpha, 8: a 70 KB file of 32 MP took 3.1 s and 508 MiB to preview
// under an estimate of 64 MiB. Grey PNGs are counted as the decoder may
// make them: past the preview's 64 MiB, no preview.
func TestGreyPNGWithTransparencyCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.wantNoPreview(t, "grey.png", greyPNG(t, 4096, 2100))
	small := b.mustUpload(t, "small.png", greyPNG(t, 640, 480))
	if res := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", small.ID), token: b.userTok}); res.status != http.StatusOK {
		t.Fatalf("the preview of a small one: %d %s", res.status, res.body)
	}
}
