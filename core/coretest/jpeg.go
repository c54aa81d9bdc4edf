package coretest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
)

// ScanBombJPEG is a valid progressive greyscale JPEG of width × height
// pixels (multiples of 8) whose first scan, of the DC coefficients, is
// followed by scans AC scans of a few bytes each: every one codes all the
// blocks as runs of empty bands, so the file stays small while a decoder
// walks every block again for each scan. With refine, the AC scans refine
// the bands (Ah 1, Al 0) rather than begin them, which costs a decoder
// more a block. image/jpeg decodes it as a grey picture.
func ScanBombJPEG(width, height, scans int, refine bool) []byte {
	var out bytes.Buffer
	// SOF2, progressive; the AC table's one code, 0, is an end-of-band run
	// of 2^14 to 2^15-1 blocks.
	jpegHeader(&out, 0xc2, width, height, 0xe0)
	blocks := (width / 8) * (height / 8)
	var w jpegBits
	jpegSegment(&out, 0xda, []byte{1, 1, 0x00, 0, 0, 0x00}) // DC first: every block's difference 0
	for range blocks {
		w.put(0, 1)
	}
	out.Write(w.flush())
	for range scans {
		approx := byte(0x00) // Ah 0, Al 0: a first pass of bands 1–63
		if refine {
			approx = 0x10 // Ah 1, Al 0: a refinement of them
		}
		jpegSegment(&out, 0xda, []byte{1, 1, 0x00, 1, 63, approx})
		for left := blocks; left > 0; left -= 1<<15 - 1 {
			w.put(0, 1)        // the run's code
			w.put(1<<14-1, 14) // its length's low bits: 2^15-1 blocks
		}
		out.Write(w.flush())
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// jpegHeader writes the start of a greyscale JPEG of width × height: its
// start marker, a quantisation table of ones, the frame (sof: SOF0 or
// SOF2; 8 bits, one component, id 1, 1×1, table 0), and a DC and an AC
// table each of one code, 0: category 0 for DC, acSymbol for AC.
func jpegHeader(out *bytes.Buffer, sof byte, width, height int, acSymbol byte) {
	out.Write([]byte{0xff, 0xd8})
	quant := make([]byte, 65) // table 0, 8-bit, all ones
	for i := 1; i < len(quant); i++ {
		quant[i] = 1
	}
	jpegSegment(out, 0xdb, quant)
	jpegSegment(out, sof, []byte{8, byte(height >> 8), byte(height), byte(width >> 8), byte(width), 1, 1, 0x11, 0})
	huffman := make([]byte, 0, 36)
	for _, table := range [][2]byte{{0x00, 0x00}, {0x10, acSymbol}} { // class and id, symbol
		counts := make([]byte, 16)
		counts[0] = 1
		huffman = append(append(append(huffman, table[0]), counts...), table[1])
	}
	jpegSegment(out, 0xc4, huffman)
}

// jpegSegment writes a marker segment.
func jpegSegment(out *bytes.Buffer, marker byte, body []byte) {
	out.Write([]byte{0xff, marker})
	_ = binary.Write(out, binary.BigEndian, uint16(len(body)+2))
	out.Write(body)
}

// jpegBits writes entropy-coded bits, a 0xFF byte stuffed with 0x00.
type jpegBits struct {
	out  bytes.Buffer
	acc  byte
	bits uint
}

func (w *jpegBits) put(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | byte(v>>uint(i))&1
		if w.bits++; w.bits == 8 {
			w.out.WriteByte(w.acc)
			if w.acc == 0xff {
				w.out.WriteByte(0)
			}
			w.acc, w.bits = 0, 0
		}
	}
}

// flush pads the last byte with ones and returns the bytes written.
func (w *jpegBits) flush() []byte {
	for w.bits != 0 {
		w.put(1, 1)
	}
	b := bytes.Clone(w.out.Bytes())
	w.out.Reset()
	return b
}

// RepeatedScanJPEG is a valid baseline greyscale JPEG of width × height
// pixels (multiples of 8, the blocks a multiple of 4) whose one scan is
// repeated scans times: each block takes two bits (no DC difference, end
// of block), and a decoder transforms and writes out every block of every
// scan. image/jpeg decodes it as a grey picture.
func RepeatedScanJPEG(width, height, scans int) []byte {
	var out bytes.Buffer
	// SOF0, baseline; the AC table's one code, 0, is the end of a block.
	jpegHeader(&out, 0xc0, width, height, 0x00)
	data := make([]byte, (width/8)*(height/8)*2/8) // two zero bits a block
	for range scans {
		jpegSegment(&out, 0xda, []byte{1, 1, 0x00, 0, 63, 0x00})
		out.Write(data)
	}
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}

// HiddenFrameJPEG returns jpg, a JPEG whose frame header comes before its
// first scan, with a stray 0xFF 0x00 after its SOI followed by two bytes
// that, read as a segment's length, reach past the frame header to a
// baseline one in a comment before the scan. A decoder skips the stray
// bytes and reads the real frame header; a walk that takes every 0xFF
// for a marker with a length reads the comment's.
func HiddenFrameJPEG(jpg []byte) []byte {
	sos := bytes.Index(jpg, []byte{0xff, 0xda})
	if sos < 0 {
		panic("coretest: a JPEG with no scan")
	}
	// Read as a segment at offset 2, the stray marker's length takes a
	// walk to 4 + reach: the comment's body, at 2 + 4 + (sos - 2) + 4.
	reach := sos + 4
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xff, 0x00, byte(reach >> 8), byte(reach)})
	out.Write(jpg[2:sos])
	out.Write([]byte{0xff, 0xfe, 0x00, 0x06, 0xff, 0xc0, 0x00, 0x02})
	out.Write(jpg[sos:])
	return out.Bytes()
}

// LateAdobeJPEG returns a baseline colour JPEG of width × height, as
// image/jpeg encodes it (YCbCr, 4:2:0), with an Adobe segment of
// transform 0 after its scan: DecodeConfig, which stops at the frame
// header, says YCbCr, and the decoder, having read it, makes an RGBA
// image of the components it decoded.
func LateAdobeJPEG(width, height int) []byte {
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		panic(err)
	}
	data := buf.Bytes()
	out := append([]byte{}, data[:len(data)-2]...)
	out = append(out, 0xff, 0xee, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0)
	return append(out, 0xff, 0xd9)
}

// CMYKJPEG is a valid baseline CMYK JPEG of width × height pixels
// (multiples of 8): an Adobe segment of transform 0, four components at
// full resolution in one interleaved scan, each block of which takes two
// bits (no DC difference, end of block). image/jpeg decodes it as an
// image.CMYK.
func CMYKJPEG(width, height int) []byte {
	var out bytes.Buffer
	out.Write([]byte{0xff, 0xd8})
	jpegSegment(&out, 0xee, []byte{'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0})
	quant := make([]byte, 65) // table 0, 8-bit, all ones
	for i := 1; i < len(quant); i++ {
		quant[i] = 1
	}
	jpegSegment(&out, 0xdb, quant)
	frame := []byte{8, byte(height >> 8), byte(height), byte(width >> 8), byte(width), 4}
	scan := []byte{4}
	for id := byte(1); id <= 4; id++ {
		frame = append(frame, id, 0x11, 0)
		scan = append(scan, id, 0x00)
	}
	jpegSegment(&out, 0xc0, frame)
	huffman := make([]byte, 0, 36)
	for _, table := range [][2]byte{{0x00, 0x00}, {0x10, 0x00}} { // DC category 0; AC end of block
		counts := make([]byte, 16)
		counts[0] = 1
		huffman = append(append(append(huffman, table[0]), counts...), table[1])
	}
	jpegSegment(&out, 0xc4, huffman)
	jpegSegment(&out, 0xda, append(scan, 0, 63, 0x00))
	var w jpegBits
	for range (width / 8) * (height / 8) * 4 {
		w.put(0, 2)
	}
	out.Write(w.flush())
	out.Write([]byte{0xff, 0xd9})
	return out.Bytes()
}
