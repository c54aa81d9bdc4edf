package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"
	"time"

	"golang.org/x/image/draw"

	"usher"
)

// Limits on making previews: decoding holds the whole image in memory.
const (
	// maxPreviewDecode bounds the memory one preview's decoding may take,
	// estimated from the image's header; an image that would take more
	// has no preview (16 megapixels of 8-bit RGBA, 21 of a JPEG).
	maxPreviewDecode = 64 << 20
	// previewBudget bounds the memory all images being decoded at once
	// may take, previews being made and avatars being checked alike
	// (env.decoding); one that does not fit waits up to previewWait,
	// then is refused with 429 busy.
	previewBudget = 256 << 20
	previewWait   = 5 * time.Second
)

func errNoPreview() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNoPreview,
		Message: "only PNG, JPEG, GIF and WebP images have a preview"}
}

// errPreviewFailed is the answer for an image no preview can be made of:
// damaged, or too large to decode. It is recorded once and answered
// without decoding ever after.
func errPreviewFailed() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNoPreview,
		Message: "no preview can be made of this image: it is damaged or too large to decode"}
}

func errDecodingBusy() error {
	return &usher.Error{Kind: usher.KindRateLimited, Code: usher.CodeBusy,
		Message: "too many images are being decoded at once; retry shortly", RetryAfter: time.Second}
}

// holdDecoding takes n bytes of the budget that all images being decoded
// at once share — previews being made and avatars being checked —
// waiting up to previewWait for them, and returns the function that gives
// them back.
//
// Errors: RateLimited (no room in time).
func (e *env) holdDecoding(ctx context.Context, n int64) (release func(), err error) {
	wait, cancel := context.WithTimeout(ctx, previewWait)
	defer cancel()
	if err := e.decoding.Acquire(wait, n); err != nil {
		return nil, errDecodingBusy()
	}
	return func() { e.decoding.Release(n) }, nil
}

// Preview returns an image attachment's preview — the image scaled to fit
// 320 pixels a side, never enlarged — and its bytes, for the caller to
// close. The first request makes and stores it: concurrent first requests
// in this process wait for one making, and replicas that race record
// only the first (both write the same bytes under the same key). An
// image no preview can be made of is recorded as such, and never decoded
// again.
//
// Errors: Unauthenticated, Forbidden, NotFound (no such attachment, or
// not an image previews are made of), RateLimited (too many images
// being decoded at once).
func (s *Attachments) Preview(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error) {
	a, err := s.find(ctx, s.store, actAttachRead, id)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := rasterTypes[a.ContentType]; !ok {
		return nil, nil, errNoPreview()
	}
	if a.PreviewType == usher.PreviewNone {
		return nil, nil, errPreviewFailed()
	}
	if a.PreviewKey == "" {
		v, err, _ := s.previews.Do(strconv.FormatInt(a.ID, 10), func() (any, error) {
			return s.makePreview(context.WithoutCancel(ctx), a.ID)
		})
		if err != nil {
			return nil, nil, err
		}
		a = v.(*usher.Attachment)
	}
	rc, err := s.blobs.Get(ctx, a.PreviewKey)
	if err != nil {
		return nil, nil, fmt.Errorf("preview of attachment %d: %w", a.ID, err)
	}
	return a, rc, nil
}

// makePreview makes an attachment's preview unless it has one by now,
// stores it and records it, and returns the attachment as recorded. An
// image that cannot be decoded, or would take more than maxPreviewDecode
// to, is recorded as having none.
func (s *Attachments) makePreview(ctx context.Context, id int64) (*usher.Attachment, error) {
	a, err := s.store.AttachmentGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errAttachmentNotFound()
	}
	if err != nil {
		return nil, err
	}
	switch {
	case a.PreviewType == usher.PreviewNone:
		return nil, errPreviewFailed()
	case a.PreviewKey != "":
		return a, nil
	}
	format := rasterTypes[a.ContentType]
	need, scaling, err := s.decodeCost(ctx, a, format)
	if err != nil {
		return nil, err
	}
	if need > maxPreviewDecode {
		return nil, s.previewFailed(ctx, a)
	}
	release, err := s.holdDecoding(ctx, need+scaling)
	if err != nil {
		return nil, err
	}
	out, ctype, err := s.scaleBlob(ctx, a, format)
	release()
	if usher.ErrorKind(err) == usher.KindUnprocessable {
		return nil, s.previewFailed(ctx, a)
	}
	if err != nil {
		return nil, err
	}
	key := a.BlobKey + ".preview"
	if err := s.blobs.Put(ctx, key, bytes.NewReader(out), int64(len(out))); err != nil {
		return nil, fmt.Errorf("store the preview: %w", err)
	}
	err = s.store.AttachmentSetPreview(ctx, a.ID, key, ctype)
	if err != nil && !errors.Is(err, usher.ErrNotFound) {
		return nil, err
	}
	// Recorded now, by this process or by another that made the same —
	// unless the attachment was deleted meanwhile: then the preview just
	// written is named by no row, and goes.
	a, err = s.store.AttachmentGet(ctx, a.ID)
	if errors.Is(err, usher.ErrNotFound) {
		s.dropBlobs(ctx, []string{key})
		return nil, errAttachmentNotFound()
	}
	return a, err
}

// previewFailed records that a has no preview, and says so.
func (s *Attachments) previewFailed(ctx context.Context, a *usher.Attachment) error {
	err := s.store.AttachmentSetPreview(ctx, a.ID, "", usher.PreviewNone)
	if err != nil && !errors.Is(err, usher.ErrNotFound) {
		return err
	}
	return errPreviewFailed()
}

// decodeCost estimates from an image's header the bytes decoding it
// takes — its pixels times the bytes a pixel of its colour model takes,
// a progressive JPEG's coefficients, a lossy WebP's frame and a lossless
// one's prefix codes (losslessCost) — and the bytes scaling it down takes
// beside (scaleCost). A header that cannot be read, a JPEG whose scans
// visit more blocks than maxJPEGScanBlocks, or a WebP whose chunks cannot
// be walked, costs more than any image may.
func (s *Attachments) decodeCost(ctx context.Context, a *usher.Attachment, format string) (decode, scaling int64, err error) {
	rc, err := s.blobs.Get(ctx, a.BlobKey)
	if err != nil {
		return 0, 0, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	defer rc.Close()
	var header bytes.Buffer
	cfg, got, err := image.DecodeConfig(io.TeeReader(rc, &header))
	if err != nil || got != format || cfg.Width < 1 || cfg.Height < 1 ||
		cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return maxPreviewDecode + 1, 0, nil
	}
	var scan jpegScan
	// The rest of the file, after the header read so far.
	rest := io.MultiReader(bytes.NewReader(header.Bytes()), rc)
	switch format {
	case "jpeg":
		// Its scans.
		scan, err = jpegScanBlocks(rest, maxJPEGScanBlocks)
		if err != nil || scan.blocks > maxJPEGScanBlocks {
			return maxPreviewDecode + 1, 0, nil
		}
	case "webp":
		// Its chunks: the bitstreams in them.
		lossless, lossy, err := webpStreams(rest)
		if err != nil {
			return maxPreviewDecode + 1, 0, nil
		}
		// A lossy frame is read into a buffer of its size first.
		cost := imageCost(cfg, format, header.Bytes(), scan) + lossy
		if lossless > 0 {
			cost += losslessCost(cfg.Width, cfg.Height, lossless)
		}
		return cost, scaleCost(cfg.Width, cfg.Height), nil
	}
	return imageCost(cfg, format, header.Bytes(), scan), scaleCost(cfg.Width, cfg.Height), nil
}

// Lossless WebP: the prefix codes x/image/vp8l builds before any pixel.
const (
	// losslessTreeBytes is the most prefix codes a byte of lossless
	// bitstream can make the decoder hold: a code whose code-length code
	// has one symbol, L, spends no bits on its lengths and is cut at 2^L
	// symbols by its max symbol field, so a group of a green code of
	// 2,048 symbols (32 KiB of nodes) and four single-symbol ones (their
	// 2.5 KiB of look-up tables) takes about 10 bytes: 3.4 KiB a byte,
	// rounded up.
	losslessTreeBytes = 4 << 10
	// losslessScratch is what the decoder takes reading one group, its
	// code lengths and codes, gone before the next.
	losslessScratch = 128 << 10
)

// losslessCost is what decoding w × h pixels from lossless WebP
// bitstreams of n bytes in all (a VP8L image, an alpha channel compressed
// with one) may take past what its header says: the pixels at 4 bytes
// each, which an extended (VP8X) header gives as YCbCr, at 3; and the
// prefix codes the decoder builds and holds before any pixel, which no
// header says, the most n bytes can make. A file of under 1 MB and 232 ×
// 160 pixels whose header spoke for 1.5 MB made the decoder hold over 130
// MB of them, and one of 67 KB, 137 MB. Counting what a stream's codes
// make, rather than the most its bytes can, would mean reading its
// transforms and entropy image as the decoder does.
func losslessCost(w, h int, n int64) int64 {
	return int64(w)*int64(h)*4 + n*losslessTreeBytes + losslessScratch
}

// webpStreams reads a WebP's chunks and returns the bytes of those that
// hold a lossless bitstream — a VP8L image, or an ALPH chunk (an extended
// file's alpha channel) compressed with one — and of the lossy frames
// (VP8). A file that is cut short, or is no RIFF WebP, is an error.
func webpStreams(r io.Reader) (lossless, lossy int64, err error) {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, 0, err
	}
	if string(head[:4]) != "RIFF" || string(head[8:]) != "WEBP" {
		return 0, 0, errors.New("not a RIFF WebP")
	}
	for {
		var chunk [8]byte
		switch _, err := io.ReadFull(r, chunk[:]); {
		case errors.Is(err, io.EOF):
			return lossless, lossy, nil
		case err != nil:
			return 0, 0, err
		}
		size := int64(binary.LittleEndian.Uint32(chunk[4:]))
		rest := size + size&1 // a chunk of odd size is padded
		switch string(chunk[:4]) {
		case "VP8L":
			lossless += size
		case "VP8 ":
			lossy += size
		case "ALPH":
			// Its first byte: the compression in its two low bits, 1
			// for lossless.
			var flags [1]byte
			if size < 1 {
				return 0, 0, errors.New("an empty ALPH chunk")
			}
			if _, err := io.ReadFull(r, flags[:]); err != nil {
				return 0, 0, err
			}
			if flags[0]&3 == 1 {
				lossless += size
			}
			rest--
		}
		if _, err := io.CopyN(io.Discard, r, rest); err != nil {
			return 0, 0, err
		}
	}
}

// imageCost estimates the bytes decoding an image takes from its header,
// read into cfg from the bytes head begins with: its pixels times the
// bytes a pixel of its colour model takes, twice for an interlaced one,
// and for a JPEG what the walk of its segments found (scan): the RGBA
// image the decoder makes of components it takes for RGB, and a
// progressive frame's coefficients.
func imageCost(cfg image.Config, format string, head []byte, scan jpegScan) int64 {
	pixels := int64(cfg.Width) * int64(cfg.Height)
	model := cfg.ColorModel
	if format == "png" {
		// A grey PNG's header is read before its tRNS chunk, which makes
		// the decoder give it an alpha: 8-bit grey decodes to NRGBA, 16-bit
		// to NRGBA64, four times what the header's model takes.
		switch model {
		case color.GrayModel:
			model = color.NRGBAModel
		case color.Gray16Model:
			model = color.NRGBA64Model
		}
	}
	cost := pixels * pixelBytes(model)
	if format == "jpeg" && model == color.CMYKModel {
		// Four components: three decoded into YCbCr planes and the black
		// one beside, then interleaved into the CMYK image, 8 bytes a
		// pixel under the model's 4.
		cost = pixels * 8
	}
	if interlaced(format, head) {
		// The decoder reads an interlaced PNG's passes, or an interlaced
		// GIF's rows, into a second image of its size, then copies them
		// into the first.
		cost *= 2
	}
	if scan.rgb {
		// The three components, then the RGBA made of them: an Adobe
		// segment after the frame header, which DecodeConfig never read,
		// made the decoder do so for a JPEG it said was YCbCr, 7 bytes a
		// pixel under an estimate of 3.
		cost = pixels * (3 + 4)
	}
	return cost + scan.coefficients
}

// interlaced says whether an image may be interlaced: a PNG whose header
// chunk, which head holds once DecodeConfig has read it, asks for Adam7;
// any GIF, whose first frame's flag comes after what DecodeConfig reads.
func interlaced(format string, head []byte) bool {
	switch format {
	case "gif":
		return true
	case "png":
		// The signature, the chunk's length and type, then width,
		// height, depth, colour type, compression, filter, interlace.
		return len(head) > 28 && string(head[12:16]) == "IHDR" && head[28] != 0
	}
	return false
}

// pixelBytes is how many bytes a decoded pixel of a colour model takes;
// 8, the most, for a model not named.
func pixelBytes(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		return 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8
}

// previewSize is the size of the preview of an image of w × h pixels:
// scaled to fit previewSide a side, never enlarged.
func previewSize(w, h int) (int, int) {
	switch {
	case w <= previewSide && h <= previewSide:
		return w, h
	case w >= h:
		return previewSide, max(1, h*previewSide/w)
	default:
		return max(1, w*previewSide/h), previewSide
	}
}

// scaleCost is the bytes scaling an image of w × h pixels down to its
// preview takes beside the decoded image: the preview's RGBA, and the
// bilinear scaler's pass between its two, four float64 a pixel of the
// preview's width and the image's height — 42 MB for a square image of
// 4096 pixels a side, more than its decoded grey.
func scaleCost(w, h int) int64 {
	dw, dh := previewSize(w, h)
	return int64(dw)*int64(h)*4*8 + int64(dw)*int64(dh)*4
}

// scaleBlob decodes an attachment's image from the blob store, streamed,
// and scales it down.
func (s *Attachments) scaleBlob(ctx context.Context, a *usher.Attachment, format string) ([]byte, string, error) {
	rc, err := s.blobs.Get(ctx, a.BlobKey)
	if err != nil {
		return nil, "", fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	defer rc.Close()
	return scaleDown(rc, format)
}

// scaleDown decodes an image, whose size was checked before, and encodes
// it scaled to fit previewSide: a JPEG as JPEG, anything else as PNG
// (which keeps transparency).
//
// Errors: Unprocessable (a damaged image).
func scaleDown(r io.Reader, format string) ([]byte, string, error) {
	src, _, err := image.Decode(r)
	if err != nil {
		return nil, "", usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeNotAnImage, Message: "is a damaged " + format + " image"})
	}
	b := src.Bounds()
	w, h := previewSize(b.Dx(), b.Dy())
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	var buf bytes.Buffer
	ctype := "image/png"
	if format == "jpeg" {
		ctype, err = "image/jpeg", jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, dst)
	}
	if err != nil {
		return nil, "", fmt.Errorf("encode a preview: %w", err)
	}
	return buf.Bytes(), ctype, nil
}
