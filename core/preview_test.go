package core_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core"
	"usher/core/coretest"
)

// readingBlobs counts the reads of each blob, and runs beforePreview
// before a preview is stored.
type readingBlobs struct {
	*countingBlobs
	mu            sync.Mutex
	gets          map[string]int
	beforePreview func()
}

func newReadingBlobs() *readingBlobs {
	return &readingBlobs{countingBlobs: newCountingBlobs(), gets: map[string]int{}}
}

func (b *readingBlobs) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	b.mu.Lock()
	b.gets[key]++
	b.mu.Unlock()
	return b.countingBlobs.Get(ctx, key)
}

func (b *readingBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	b.mu.Lock()
	hook := b.beforePreview
	if strings.HasSuffix(key, ".preview") {
		b.beforePreview = nil
	} else {
		hook = nil
	}
	b.mu.Unlock()
	if hook != nil {
		hook()
	}
	return b.countingBlobs.Put(ctx, key, r, size)
}

func (b *readingBlobs) reads(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.gets[key]
}

// zeroPNG16 is a valid 16-bit RGBA PNG of w×h black pixels, written
// without ever holding the image: it compresses about 1000:1. Its zlib
// stream is one compressed MiB of zeros repeated, then the rest and the
// checksum: compressing all 320 MB of a 40-megapixel image took minutes
// under the race detector.
func zeroPNG16(w, h int) []byte {
	return zeroPNG16Interlaced(w, h, false)
}

// zeroPNG16Interlaced is zeroPNG16, Adam7-interlaced when interlaced is
// set: seven passes of rows, each of every so many pixels.
func zeroPNG16Interlaced(w, h int, interlaced bool) []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6         // 16 bits, RGBA
	passes := [][4]int{{0, 0, 1, 1}} // x and y of the first pixel, steps in x and y
	if interlaced {
		ihdr[12] = 1
		passes = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	pngChunk(&out, "IHDR", ihdr)
	n := 0
	for _, p := range passes {
		if pw, ph := (w-p[0]+p[2]-1)/p[2], (h-p[1]+p[3]-1)/p[3]; pw > 0 && ph > 0 {
			n += (1 + pw*8) * ph // each row: the filter byte, then the pixels
		}
	}
	pngChunk(&out, "IDAT", zeroZlib(n))
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

// zeroZlib is a zlib stream of n zero bytes. A deflate block that a sync
// flush ends refers to nothing before it but zeros, so a compressed MiB of
// zeros may be repeated; a final block holds the rest, and the Adler-32
// of n zeros is 1 + n·65536 (mod 65521 in each half).
func zeroZlib(n int) []byte {
	const chunk = 1 << 20
	compress := func(size int, final bool) []byte {
		var b bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
		zw.Write(make([]byte, size))
		if final {
			zw.Close()
			return b.Bytes()[2 : b.Len()-4] // no header, no checksum
		}
		zw.Flush()
		return b.Bytes()[2:]
	}
	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda}) // the header of zlib.BestCompression
	block := compress(chunk, false)
	for range n / chunk {
		z.Write(block)
	}
	z.Write(compress(n%chunk, true))
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], uint32(n%65521)<<16|1)
	z.Write(sum[:])
	return z.Bytes()
}

func pngChunk(buf *bytes.Buffer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	buf.Write(n[:])
	start := buf.Len()
	buf.WriteString(typ)
	buf.Write(data)
	binary.BigEndian.PutUint32(n[:], crc32.ChecksumIEEE(buf.Bytes()[start:]))
	buf.Write(n[:])
}

// TestZeroPNG16: the costly image's maker writes a PNG that decodes, to
// the size asked and black, with a stream longer than its repeated MiB.
func TestZeroPNG16(t *testing.T) {
	t.Parallel()
	img, err := png.Decode(bytes.NewReader(zeroPNG16(400, 700))) // 2.2 MB of rows
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 700 {
		t.Fatalf("bounds %v, want 400×700", b)
	}
	if r, g, b, a := img.At(399, 699).RGBA(); r|g|b|a != 0 {
		t.Fatalf("the last pixel is %d %d %d %d, want 0", r, g, b, a)
	}
}

// TestPreviewCostly replays a small upload whose decoding would take
// hundreds of MiB — a whole 40-megapixel 16-bit PNG, and one cut off
// after its header: neither is decoded, each is read once, and it is
// recorded as having no preview.
func TestPreviewCostly(t *testing.T) {
	full := zeroPNG16(8000, 5000) // 40 megapixels of 8 bytes: 320 MB decoded
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"whole", full},
		{"cut off", full[:33+8+64]}, // the signature, IHDR, the IDAT's start
	} {
		t.Run(c.name, func(t *testing.T) {
			blobs := newReadingBlobs()
			env := coretest.New(t, coretest.Options{Blobs: blobs, Policy: core.Policy{MaxAttachmentBytes: 10 << 20}})
			alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
			a, err := env.Core.Attachments.Upload(as(alice), upload("", "x.png", c.data))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				_, _, err := env.Core.Attachments.Preview(as(alice), a.ID)
				runtime.ReadMemStats(&after)
				wantProblem(t, err, usher.KindNotFound, usher.CodeNoPreview)
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
					t.Fatalf("request %d: a %d-byte upload made a preview request allocate %d MiB", i+1, len(c.data), alloc>>20)
				}
			}
			if n := blobs.reads(a.BlobKey); n != 1 {
				t.Errorf("the image was read %d times, want once", n)
			}
			got, err := env.Core.Attachments.Get(as(alice), a.ID)
			if err != nil || got.PreviewType != usher.PreviewNone || got.PreviewKey != "" {
				t.Fatalf("recorded %+v, %v; want preview type %q", got, err, usher.PreviewNone)
			}
		})
	}
}

// TestPreviewScalerCounted: a preview does not begin while less of the
// decoding budget is free than making it takes. Scaling down keeps a pass
// of four float64 a pixel of the preview's width and the image's height,
// which the estimate left out: a grey JPEG of 4096 pixels a side, 16 MiB
// decoded, took 58 MiB to preview, and previews made at once took 3.6
// times the budget that bounds them.
func TestPreviewScalerCounted(t *testing.T) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 4096, 4096)), nil); err != nil {
		t.Fatal(err)
	}
	env := coretest.New(t, coretest.Options{Blobs: newReadingBlobs(), Policy: core.Policy{MaxAttachmentBytes: 10 << 20}})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	first, err := env.Core.Attachments.Upload(as(alice), upload("", "a.jpg", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, rc, err := env.Core.Attachments.Preview(as(alice), first.ID)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	took := int64(after.TotalAlloc - before.TotalAlloc)

	second, err := env.Core.Attachments.Upload(as(alice), upload("", "b.jpg", buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	release := env.Core.Attachments.HoldDecoding(core.PreviewBudget - took*3/4)
	defer release()
	_, rc, err = env.Core.Attachments.Preview(as(alice), second.ID)
	if err == nil {
		rc.Close()
		t.Fatalf("a preview that allocated %d MiB was made again with %d MiB of the budget free", took>>20, took*3/4>>20)
	}
	wantProblem(t, err, usher.KindRateLimited, usher.CodeBusy)
}

// TestInterlacedImagesCounted: an avatar does not begin decoding while
// less of the budget is free than decoding it takes. The decoder reads an
// interlaced PNG's passes, or an interlaced GIF's rows, into a second
// image of its size, which the estimate left out: a 16-bit PNG of 2048
// pixels a side, 33 KB, held 32 MiB and allocated 64; a GIF 4 and 8.
func TestInterlacedImagesCounted(t *testing.T) {
	var gifData bytes.Buffer
	if err := gif.Encode(&gifData, image.NewPaletted(image.Rect(0, 0, 2048, 2048), color.Palette{color.Black, color.White}), nil); err != nil {
		t.Fatal(err)
	}
	g := gifData.Bytes()
	i := bytes.Index(g, []byte{0x2c, 0, 0, 0, 0, 0x00, 0x08, 0x00, 0x08}) // the image descriptor: at 0,0, 2048 × 2048
	g[i+9] |= 0x40                                                        // interlaced
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"png", zeroPNG16Interlaced(2048, 2048, true)},
		{"gif", g},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := coretest.New(t, coretest.Options{})
			alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
			bob := env.MustCreateUser(t, usher.UserCreate{Username: "bob", Email: "bob@example.com"})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := env.Core.Avatars.Set(as(alice), usher.UserKey{ID: alice.ID}, c.data)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			took := int64(after.TotalAlloc - before.TotalAlloc)
			release := env.Core.Attachments.HoldDecoding(core.PreviewBudget - took*3/4)
			defer release()
			// Waiting for room ends with the request's own deadline.
			ctx, cancel := context.WithTimeout(as(bob), 200*time.Millisecond)
			defer cancel()
			_, err = env.Core.Avatars.Set(ctx, usher.UserKey{ID: bob.ID}, c.data)
			if err == nil {
				t.Fatalf("an avatar that allocated %d MiB was decoded again with %d MiB of the budget free", took>>20, took*3/4>>20)
			}
			wantProblem(t, err, usher.KindRateLimited, usher.CodeBusy)
		})
	}
}

// TestPreviewDamagedOnce: an image whose header is whole and whose data
// is damaged is decoded once; later requests answer no_preview without
// reading it.
func TestPreviewDamagedOnce(t *testing.T) {
	t.Parallel()
	blobs := newReadingBlobs()
	env := coretest.New(t, coretest.Options{Blobs: blobs})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	img := pngOf(200, 200)
	a, err := env.Core.Attachments.Upload(as(alice), upload("", "x.png", img[:len(img)/2]))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _, err := env.Core.Attachments.Preview(as(alice), a.ID)
		wantProblem(t, err, usher.KindNotFound, usher.CodeNoPreview)
	}
	// Once for the header's estimate, once to decode.
	if n := blobs.reads(a.BlobKey); n != 2 {
		t.Errorf("the image was read %d times, want twice (its header, then all of it, once)", n)
	}
}

// TestPreviewBudget: a preview that does not fit in the memory the
// previews being made take waits, then is refused with busy; it is not
// recorded as failed, and is made once there is room.
func TestPreviewBudget(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{Blobs: newReadingBlobs()})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	a, err := env.Core.Attachments.Upload(as(alice), upload("", "x.png", pngOf(400, 400)))
	if err != nil {
		t.Fatal(err)
	}
	release := env.Core.Attachments.HoldDecoding(core.PreviewBudget)
	_, _, err = env.Core.Attachments.Preview(as(alice), a.ID)
	wantProblem(t, err, usher.KindRateLimited, usher.CodeBusy)
	if e := usher.AsError(err); e.RetryAfter <= 0 {
		t.Errorf("busy without Retry-After: %+v", e)
	}
	release()
	_, rc, err := env.Core.Attachments.Preview(as(alice), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
}

// TestPreviewOfDeleted: an attachment deleted while its preview is being
// made leaves no preview behind in the blob store, and the preview's
// request is told it is not found.
func TestPreviewOfDeleted(t *testing.T) {
	t.Parallel()
	blobs := newReadingBlobs()
	env := coretest.New(t, coretest.Options{Blobs: blobs})
	alice := env.MustCreateUser(t, usher.UserCreate{Username: "alice", Email: "alice@example.com"})
	a, err := env.Core.Attachments.Upload(as(alice), upload("", "p.png", pngOf(400, 400)))
	if err != nil {
		t.Fatal(err)
	}
	blobs.beforePreview = func() {
		if err := env.Core.Attachments.Delete(as(alice), a.ID); err != nil {
			t.Error(err)
		}
	}
	_, _, err = env.Core.Attachments.Preview(as(alice), a.ID)
	if stored, puts := blobs.count(a.BlobKey + ".preview"); stored != 0 || puts != 1 {
		t.Errorf("%d blob(s) left, the preview put %d times; want none left of one", stored, puts)
	}
	wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
}

// TestLosslessCost: a lossless WebP's decoding is counted by the bytes of
// its lossless bitstreams, which bound the prefix codes the decoder builds
// before any pixel: files reviewers made, whose headers spoke for a few
// MB, made it hold 130 MB (986 KB), allocate 104 MB (911 KB) and hold 137
// MB (67 KB of "flat" codes, whose lengths take no bits, which a count of
// 400 bytes of tree a byte missed); while an ordinary lossy image whose
// alpha channel is compressed losslessly (cwebp's default), in a few KB,
// still has a preview — a first version counted every lossless bitstream
// at its worst, 2,600 groups of the largest codes, and took that from it.
func TestLosslessCost(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		w, h    int
		n       int64
		preview bool
	}{
		{"a lossy 400 × 301 with 6 KB of lossless alpha", 400, 301, 6 << 10, true},
		{"a lossless 64 × 64 of one colour, 30 bytes", 64, 64, 30, true},
		{"a lossless 256 × 256 icon of 8 KB", 256, 256, 8 << 10, true},
		{"232 × 160 in 986 KB of prefix codes", 232, 160, 986310, false},
		{"124 × 128 in 911 KB, its groups up to 2,599", 124, 128, 911366, false},
		{"208 × 200 in 67 KB of flat codes", 208, 200, 67652, false},
	} {
		if got := core.LosslessCost(tt.w, tt.h, tt.n); (got <= core.MaxPreviewDecode) != tt.preview {
			t.Errorf("%s: counted %d bytes against the %d an image may take; a preview: %v", tt.name, got, core.MaxPreviewDecode, tt.preview)
		}
	}
}
