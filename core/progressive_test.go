package core

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// TestProgressiveCoefficients: the walk of a JPEG's segments charges a
// progressive frame its coefficients, 64 int32 a block of each component
// in whole MCUs; a baseline one nothing; and one whose frame header is
// cut short is not followed.
func TestProgressiveCoefficients(t *testing.T) {
	t.Parallel()
	encode := func(img image.Image, progressive bool) []byte {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if progressive {
			i := bytes.Index(data, []byte{0xff, 0xc0})
			data[i+1] = 0xc2 // the same frame header, marked progressive
		}
		return data
	}
	rgba := image.NewRGBA(image.Rect(0, 0, 17, 16)) // encoded 4:2:0: two MCUs of 16×16
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	for _, c := range []struct {
		name string
		data []byte
		want int64
		err  bool
	}{
		{"baseline", encode(rgba, false), 0, false},
		{"progressive 4:2:0", encode(rgba, true), 2 * (4 + 1 + 1) * 256, false},
		{"progressive gray", encode(gray, true), 4 * 256, false},
		{"cut in the frame header", encode(rgba, true)[:bytes.Index(encode(rgba, true), []byte{0xff, 0xc2})+8], 0, true},
	} {
		scan, err := jpegScanBlocks(bytes.NewReader(c.data), maxJPEGScanBlocks)
		if (err != nil) != c.err || scan.coefficients != c.want {
			t.Errorf("%s: %d bytes, %v; want %d", c.name, scan.coefficients, err, c.want)
		}
	}
}
