package core

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"
)

// TestProgressiveCost: a progressive JPEG is charged its coefficients,
// by the sampling of its components; a baseline one nothing more; one
// whose frame header is not found the most.
func TestProgressiveCost(t *testing.T) {
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
	rgba := image.NewRGBA(image.Rect(0, 0, 16, 16)) // encoded 4:2:0
	gray := image.NewGray(image.Rect(0, 0, 16, 16))
	const pixels = 1000
	for _, c := range []struct {
		name string
		data []byte
		want int64
	}{
		{"baseline", encode(rgba, false), 0},
		{"progressive 4:2:0", encode(rgba, true), 4 * pixels * 6 / 4},
		{"progressive gray", encode(gray, true), 4 * pixels},
		{"no frame header", []byte{0xff, 0xd8}, 12 * pixels},
		{"cut in the frame header", encode(rgba, true)[:bytes.Index(encode(rgba, true), []byte{0xff, 0xc2})+8], 12 * pixels},
	} {
		if got := progressiveCost(c.data, pixels); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
