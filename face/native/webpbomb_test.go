package native_test

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"testing"
)

// vp8lBits writes bits least significant first, as VP8L reads them.
type vp8lBits struct {
	buf  []byte
	acc  uint64
	nacc uint
}

func (b *vp8lBits) put(v uint64, n uint) {
	b.acc |= v << b.nacc
	b.nacc += n
	for b.nacc >= 8 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc >>= 8
		b.nacc -= 8
	}
}

func (b *vp8lBits) bytes() []byte {
	if b.nacc > 0 {
		b.buf = append(b.buf, byte(b.acc))
		b.acc, b.nacc = 0, 0
	}
	return b.buf
}

// riffWebP wraps chunks (fourcc, data) in a RIFF WebP file.
func riffWebP(chunks ...[2][]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c[0]...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(c[1])))
		body = append(body, c[1]...)
		if len(c[1])%2 == 1 {
			body = append(body, 0)
		}
	}
	riff := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(body)))
	return append(append(riff, "WEBP"...), body...)
}

// vp8lHeader begins a VP8L bitstream of w × h pixels: its signature, its
// size, no alpha hint, version 0 and no transform.
func vp8lHeader(bw *vp8lBits, w, h int) {
	bw.put(0x2f, 8)
	bw.put(uint64(w-1), 14)
	bw.put(uint64(h-1), 14)
	bw.put(0, 1)
	bw.put(0, 3)
	bw.put(0, 1)
}

// plainLosslessWebP is a lossless WebP of w × h pixels of one colour, a few
// dozen bytes: five prefix codes of one symbol each, which code a pixel in
// no bits. With extended, it is wrapped in a VP8X header without the alpha
// flag, whose DecodeConfig answers YCbCr, 3 bytes a pixel, where the
// decoder makes NRGBA, 4.
func plainLosslessWebP(w, h int, extended bool) []byte {
	var bw vp8lBits
	vp8lHeader(&bw, w, h)
	bw.put(0, 1) // no colour cache
	bw.put(0, 1) // no meta prefix codes
	for range 5 {
		bw.put(1, 1) // a simple code
		bw.put(0, 1) // of one symbol
		bw.put(0, 1) // of 1 bit
		bw.put(0, 1) // 0
	}
	image := [2][]byte{[]byte("VP8L"), bw.bytes()}
	if !extended {
		return riffWebP(image)
	}
	x := make([]byte, 10)
	x[4], x[5], x[6] = byte(w-1), byte((w-1)>>8), byte((w-1)>>16)
	x[7], x[8], x[9] = byte(h-1), byte((h-1)>>8), byte((h-1)>>16)
	return riffWebP([2][]byte{[]byte("VP8X"), x}, image)
}

// prefixCodeBomb is a lossless WebP of w × h pixels, all zero, whose
// entropy image (4 × 4 tiles) names a group of prefix codes for each tile,
// each group five complete codes, the green one of 2,328 symbols (a colour
// cache of 11 bits): the decoder reads and holds them all, about 50 KB a
// group, before a pixel. Its header says w × h NRGBA.
func prefixCodeBomb(w, h int) []byte {
	var bw vp8lBits
	vp8lHeader(&bw, w, h)
	bw.put(1, 1)  // a colour cache
	bw.put(11, 4) // of 11 bits: a green alphabet of 256+24+2048
	bw.put(1, 1)  // meta prefix codes
	bw.put(0, 3)  // in tiles of 4 × 4
	tiles := ((w + 3) / 4) * ((h + 3) / 4)
	order := []int{17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	// complete writes a complete code of n symbols: 2^L - n of length
	// L-1, the rest of length L, each length sent in a 1-bit code.
	complete := func(n int) {
		L := 0
		for 1<<L < n {
			L++
		}
		short := 1<<L - n
		lens := map[int]uint64{L: 1}
		if short > 0 {
			lens[L-1] = 1
		}
		last := 0
		for i, s := range order {
			if lens[s] != 0 {
				last = i
			}
		}
		bw.put(0, 1) // a normal code
		bw.put(uint64(last+1-4), 4)
		for i := 0; i <= last; i++ {
			bw.put(lens[order[i]], 3)
		}
		bw.put(0, 1) // no max symbol
		if short == 0 {
			return // every length L, coded in no bits
		}
		for s := range n {
			if s < short {
				bw.put(0, 1) // length L-1
			} else {
				bw.put(1, 1) // length L
			}
		}
	}
	single := func(sym uint64) { bw.put(1, 1); bw.put(0, 1); bw.put(1, 1); bw.put(sym, 8) }
	// The entropy image, no cache: tile i names group i, its green and
	// red 8 bits each (232 of the 280 green codes of length 8).
	bw.put(0, 1)
	complete(256 + 24)
	complete(256)
	single(0) // blue
	single(0) // alpha
	single(0) // distance
	for i := range tiles {
		for _, v := range []int{i % 232, i / 232} {
			for k := 7; k >= 0; k-- {
				bw.put(uint64(v>>k)&1, 1)
			}
		}
	}
	last := tiles - 1
	for range (last/232)<<8 | (last % 232) + 1 { // the largest group named, and one
		complete(256 + 24 + 2048)
		complete(256)
		complete(256)
		complete(256)
		complete(40)
	}
	data := append(bw.bytes(), make([]byte, w*h*35/8+64)...) // every pixel its codes' symbol 0
	return riffWebP([2][]byte{[]byte("VP8L"), data})
}

// TestLosslessWebPPreviewCounted: a lossless WebP's preview is counted with
// what its header does not say (found by a reviewer). A file of under 1 MB
// and 232 × 160 pixels, whose header spoke for 1.5 MB, made the decoder
// build 2,320 groups of prefix codes, over 130 MB held before a pixel,
// past the 64 MiB any one image may take and past what it took from the
// decoding budget all previews share; and a lossless image wrapped in an
// extended header was counted at the 3 bytes a pixel of the YCbCr its
// header gave, under the cap, where it decodes to 4. Each is counted at
// its worst (losslessCost): neither has a preview; a small lossless WebP
// still has one.
func TestLosslessWebPPreviewCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.wantNoPreview(t, "trees.webp", prefixCodeBomb(232, 160))
	b.wantNoPreview(t, "extended.webp", plainLosslessWebP(16384, 1365, true))
	a := b.mustUpload(t, "small.webp", plainLosslessWebP(64, 64, false))
	res := b.api.do(t, req{method: "GET", path: fmt.Sprintf("/v1/attachments/%d/preview", a.ID), token: b.userTok})
	if res.status != http.StatusOK {
		t.Errorf("the preview of a small lossless WebP: %d %s", res.status, res.body)
	}
}
