package core

import (
	"bufio"
	"errors"
	"io"
)

// maxJPEGScanBlocks bounds the blocks a JPEG's scans may visit in all. A
// decoder walks every block of the components a scan names, whatever the
// scan holds, and a progressive scan of a few bytes (one end-of-band run
// over the whole image) names them all: thousands of such scans made a
// file of 87 KB take seconds to decode, and one of 10 MiB a quarter of an
// hour, in a decode nothing stops. At 20–40 ns a block in such a scan,
// or in one that codes each block in a bit, the bound is about a second;
// an image at the largest size allowed, in the ten scans encoders write
// for a progressive JPEG, visits half of it.
const maxJPEGScanBlocks = 32 << 20

// The weights of a block in scans that cost a decoder more a block than a
// first pass's run of empty blocks does: a scan refining AC bands steps
// through the block's bands however empty (about four times the cost),
// and a sequential (baseline) scan transforms and writes out each block it
// decodes (six to twelve times), which a scan repeated does again.
const (
	refineWeight     = 4
	sequentialWeight = 8
)

// errJPEGUnfollowed is a JPEG whose segments jpegScanBlocks cannot follow:
// no frame before a scan, a scan naming a component the frame lacks, a
// segment cut short.
var errJPEGUnfollowed = errors.New("a JPEG whose segments cannot be followed")

// jpegScan is what jpegScanBlocks finds of a JPEG.
type jpegScan struct {
	// blocks is the blocks its scans visit in all, weighed.
	blocks int64
	// rgb says the decoder takes its three components for RGB and makes
	// an RGBA image of them once decoded (an Adobe segment's transform 0,
	// or components named R, G and B, and no JFIF segment last): 4 bytes a
	// pixel more, whatever DecodeConfig, which stops at the frame header,
	// made of the segments before it.
	rgb bool
	// coefficients is the bytes a progressive frame's coefficients take
	// while it is decoded, 64 int32 a block of every component, counted
	// in whole MCUs as the decoder allocates them; 0 for a sequential one.
	coefficients int64
}

// jpegScanBlocks walks the segments of the JPEG r reads and counts the
// blocks its scans visit in all: for each scan (SOS), the blocks of the
// components it names, counted by whole MCUs, as an interleaved scan walks
// them (an upper bound for a scan of one component), weighed by what the
// scan costs a block (refineWeight, sequentialWeight). It stops once the
// count passes limit, and returns what it counted then. The entropy-coded
// data after a scan's header is skipped to the next marker: within it, a
// 0xFF is followed by 0x00 (a stuffed byte) or a restart marker.
func jpegScanBlocks(r io.Reader, limit int64) (jpegScan, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(2); err != nil || b[0] != 0xff || b[1] != 0xd8 {
		return jpegScan{}, errJPEGUnfollowed
	}
	if _, err := br.Discard(2); err != nil {
		return jpegScan{}, err
	}
	var (
		count       int64
		blocks      map[byte]int64 // a component's blocks, in whole MCUs, by its id
		progressive bool
		// What makes the decoder take three components for RGB, as its
		// segments last said (isRGB in image/jpeg).
		three, namedRGB, jfif, adobeRGB bool
		coefficients                    int64
	)
	done := func() jpegScan { return jpegScan{count, three && !jfif && (adobeRGB || namedRGB), coefficients} }
	marker, pending := byte(0), false
	for {
		if !pending {
			m, err := nextMarker(br)
			if err != nil {
				// A file cut short is decoded no further than it goes.
				return done(), nil
			}
			marker = m
		}
		pending = false
		switch {
		case marker == 0xd9: // EOI
			return done(), nil
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7): // TEM, RSTn: no length
			continue
		}
		seg, err := segment(br)
		if err != nil {
			return done(), errJPEGUnfollowed
		}
		switch {
		case marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc: // SOFn
			if blocks, err = frameBlocks(seg); err != nil {
				return done(), err
			}
			progressive = marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
			coefficients = 0
			if progressive {
				for _, n := range blocks {
					coefficients += n * 64 * 4
				}
			}
			three = seg[5] == 3
			namedRGB = three && seg[6] == 'R' && seg[9] == 'G' && seg[12] == 'B'
		case marker == 0xe0 && len(seg) >= 5: // APP0
			jfif = string(seg[:5]) == "JFIF\x00"
		case marker == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe": // APP14
			adobeRGB = seg[11] == 0
		case marker == 0xda: // SOS: Ns, then Ns × (Cs, Td<<4|Ta), Ss, Se, Ah<<4|Al
			if blocks == nil || len(seg) < 1 || len(seg) < 4+2*int(seg[0]) {
				return done(), errJPEGUnfollowed
			}
			weight := int64(1)
			switch ns := int(seg[0]); {
			case !progressive:
				weight = sequentialWeight
			case seg[1+2*ns] > 0 && seg[3+2*ns]>>4 != 0: // Ss > 0, Ah > 0
				weight = refineWeight
			}
			for c := range int(seg[0]) {
				n, ok := blocks[seg[1+2*c]]
				if !ok {
					return done(), errJPEGUnfollowed
				}
				count += n * weight
			}
			if count > limit {
				return done(), nil
			}
			if marker, err = skipEntropy(br); err != nil {
				return done(), nil
			}
			pending = true
		}
	}
}

// nextMarker reads up to a marker and returns its code, fill bytes
// skipped, and any other bytes before it too, as decoders do.
func nextMarker(br *bufio.Reader) (byte, error) {
	for {
		if _, err := br.ReadSlice(0xff); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			return 0, err
		}
		b, err := br.ReadByte()
		for err == nil && b == 0xff {
			b, err = br.ReadByte()
		}
		if err != nil || b != 0x00 {
			return b, err
		}
	}
}

// segment reads a marker segment's length and returns its body.
func segment(br *bufio.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(br, n[:]); err != nil {
		return nil, err
	}
	size := int(n[0])<<8 | int(n[1])
	if size < 2 {
		return nil, errJPEGUnfollowed
	}
	body := make([]byte, size-2)
	_, err := io.ReadFull(br, body)
	return body, err
}

// frameBlocks reads a frame header (P, Y, X, Nf, then Nf × (C, H<<4|V,
// Tq)) and returns each component's blocks in whole MCUs.
func frameBlocks(seg []byte) (map[byte]int64, error) {
	if len(seg) < 6 || len(seg) < 6+3*int(seg[5]) {
		return nil, errJPEGUnfollowed
	}
	height, width := int64(seg[1])<<8|int64(seg[2]), int64(seg[3])<<8|int64(seg[4])
	var hmax, vmax int64 = 1, 1
	for c := range int(seg[5]) {
		hv := seg[7+3*c]
		hmax, vmax = max(hmax, int64(hv>>4)), max(vmax, int64(hv&15))
	}
	mcus := ((width + 8*hmax - 1) / (8 * hmax)) * ((height + 8*vmax - 1) / (8 * vmax))
	blocks := map[byte]int64{}
	for c := range int(seg[5]) {
		hv := seg[7+3*c]
		blocks[seg[6+3*c]] = mcus * int64(hv>>4) * int64(hv&15)
	}
	return blocks, nil
}

// skipEntropy reads past a scan's entropy-coded data and returns the code
// of the marker that ends it.
func skipEntropy(br *bufio.Reader) (byte, error) {
	for {
		switch _, err := br.ReadSlice(0xff); {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			return 0, err
		}
		b, err := br.ReadByte()
		for err == nil && b == 0xff {
			b, err = br.ReadByte()
		}
		if err != nil {
			return 0, err
		}
		if b != 0x00 && (b < 0xd0 || b > 0xd7) {
			return b, nil
		}
	}
}
