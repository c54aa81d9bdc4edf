package core_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"slices"
	"testing"

	"usher/core"
	"usher/core/coretest"
)

// encoded is a w×h image of model m as image/jpeg writes it (baseline:
// one interleaved scan; 4:2:0 for colour).
func encoded(t testing.TB, w, h int, grey bool) []byte {
	t.Helper()
	var img image.Image = image.NewRGBA(image.Rect(0, 0, w, h))
	if grey {
		img = image.NewGray(image.Rect(0, 0, w, h))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestJPEGScanBlocks counts the blocks each scan of a JPEG visits, by
// whole MCUs, and stops past the limit.
func TestJPEGScanBlocks(t *testing.T) {
	t.Parallel()
	bomb := coretest.ScanBombJPEG(4096, 3072, 400, false)
	for name, data := range map[string][]byte{"the scan bomb": coretest.ScanBombJPEG(64, 48, 3, false),
		"the refining bomb": coretest.ScanBombJPEG(64, 48, 3, true), "the repeated scans": coretest.RepeatedScanJPEG(64, 48, 3)} {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			t.Fatalf("%s is no JPEG: %v", name, err)
		}
	}
	tests := []struct {
		name  string
		data  []byte
		limit int64
		want  int64
		err   bool
	}{
		// Baseline, each block 8 times. 4:2:0: MCUs of 16×16, each 4
		// blocks of Y, 1 of Cb, 1 of Cr.
		{"colour", encoded(t, 64, 48, false), core.MaxJPEGScanBlocks, 8 * 4 * 3 * 6, false},
		{"colour, partial MCUs", encoded(t, 65, 17, false), core.MaxJPEGScanBlocks, 8 * 5 * 2 * 6, false},
		{"grey", encoded(t, 64, 48, true), core.MaxJPEGScanBlocks, 8 * 8 * 6, false},
		{"progressive, 3 scans", coretest.ScanBombJPEG(64, 48, 2, false), core.MaxJPEGScanBlocks, 3 * 48, false},
		// 512 × 384 blocks a scan: past the limit at the 171st scan.
		{"scan bomb", bomb, core.MaxJPEGScanBlocks, 171 * 512 * 384, false},
		{"over a small limit", coretest.ScanBombJPEG(64, 48, 10, false), 100, 3 * 48, false},
		// A refinement scan's block counts four times, a repeated
		// baseline scan's eight.
		{"repeated baseline scans", coretest.RepeatedScanJPEG(64, 48, 3), core.MaxJPEGScanBlocks, 3 * 8 * 48, false},
		{"refining, 3 scans", coretest.ScanBombJPEG(64, 48, 2, true), core.MaxJPEGScanBlocks, 48 + 2*4*48, false},
		{"refinement bomb", coretest.ScanBombJPEG(2048, 2048, 300, true), core.MaxJPEGScanBlocks, 256 * 256 * (1 + 128*4), false},
		{"cut short in a scan", bomb[:len(bomb)/2], 1 << 40, 0, false},
		{"no JPEG", []byte("GIF89a"), core.MaxJPEGScanBlocks, 0, true},
		{"a scan before the frame", []byte{0xff, 0xd8, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0xff, 0xd9}, core.MaxJPEGScanBlocks, 0, true},
		{"a segment shorter than its length", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 1}, core.MaxJPEGScanBlocks, 0, true},
	}
	for _, tt := range tests {
		got, _, err := core.JPEGScanBlocks(bytes.NewReader(tt.data), tt.limit)
		switch {
		case (err != nil) != tt.err:
			t.Errorf("%s: error %v, want one: %v", tt.name, err, tt.err)
		case tt.name == "cut short in a scan":
			if got < 1 || got >= 342*512*384 {
				t.Errorf("%s: %d blocks", tt.name, got)
			}
		case !tt.err && got != tt.want:
			t.Errorf("%s: %d blocks, want %d", tt.name, got, tt.want)
		}
	}
}

// FuzzJPEGScanBlocks: the walk never fails on a file image/jpeg decodes,
// so no image usher took before is refused for it, and counts at least
// one block for it.
func FuzzJPEGScanBlocks(f *testing.F) {
	f.Add(encoded(f, 17, 9, false))
	f.Add(encoded(f, 8, 8, true))
	f.Add(coretest.ScanBombJPEG(16, 16, 3, false))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, _, err := core.JPEGScanBlocks(bytes.NewReader(data), core.MaxJPEGScanBlocks)
		if len(data) > 1<<16 {
			return
		}
		cfg, err2 := jpeg.DecodeConfig(bytes.NewReader(data))
		if err2 != nil || int64(cfg.Width)*int64(cfg.Height) > 1<<20 {
			return
		}
		if _, derr := jpeg.Decode(bytes.NewReader(data)); derr == nil && (err != nil || n < 1) {
			t.Fatalf("image/jpeg decodes it, the walk counts %d: %v", n, err)
		}
	})
}

// TestJPEGScanRGB: the walk says the decoder makes an RGBA image of a
// JPEG's three components as the decoder decides it, by the segments it
// read last, after the scan too: an Adobe segment's transform 0 makes it
// so, a JFIF segment after it unmakes it.
func TestJPEGScanRGB(t *testing.T) {
	t.Parallel()
	colour, grey := encoded(t, 64, 48, false), encoded(t, 64, 48, true)
	adobe := []byte{0xff, 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}
	jfif := []byte{0xff, 0xe0, 0, 7, 'J', 'F', 'I', 'F', 0}
	before := func(data []byte, segs ...[]byte) []byte { // the segments after the scan, before EOI
		out := slices.Clone(data[:len(data)-2])
		for _, s := range segs {
			out = append(out, s...)
		}
		return append(out, 0xff, 0xd9)
	}
	for _, tt := range []struct {
		name string
		data []byte
		rgb  bool
	}{
		{"colour", colour, false},
		{"colour, Adobe after the scan", before(colour, adobe), true},
		{"colour, Adobe then JFIF", before(colour, adobe, jfif), false},
		{"grey, Adobe after the scan", before(grey, adobe), false},
		{"colour, from the coretest generator", coretest.LateAdobeJPEG(64, 48), true},
	} {
		_, rgb, err := core.JPEGScanBlocks(bytes.NewReader(tt.data), core.MaxJPEGScanBlocks)
		if err != nil || rgb != tt.rgb {
			t.Errorf("%s: rgb %v, %v; want %v", tt.name, rgb, err, tt.rgb)
		}
		img, err := jpeg.Decode(bytes.NewReader(tt.data))
		if _, isRGBA := img.(*image.RGBA); err != nil || isRGBA != tt.rgb {
			t.Errorf("%s: the decoder made %T, %v", tt.name, img, err)
		}
	}
}
