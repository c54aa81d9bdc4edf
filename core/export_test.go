package core

import (
	"context"
	"io"
	"sync"

	"usher"

	"github.com/medama-io/go-useragent"
)

// HoldDecoding takes n bytes of the previews' memory budget, as previews
// being made would, until the function it returns is called.
func (s *Attachments) HoldDecoding(n int64) func() {
	if !s.decoding.TryAcquire(n) {
		panic("the preview budget is taken")
	}
	return func() { s.decoding.Release(n) }
}

// PreviewBudget is the memory all previews being made at once may take.
const PreviewBudget = previewBudget

// Device is env.device on a core of its own: the name and network of the
// device a request came from.
func Device(req usher.Request) (name, network string) {
	e := &env{userAgents: sync.OnceValue(useragent.NewParser)}
	return e.device(req)
}

// BoundRegexps is boundRegexps: the process's regexp2 match bound, set by
// the first core made.
var BoundRegexps = boundRegexps

// SharedSecret returns the id and the secret of the current shared JWT
// key, as whoever read a leaked backup and its key file holds them.
func (a *Auth) SharedSecret(ctx context.Context) (string, []byte) {
	k, err := a.sharedKey(ctx)
	if err != nil {
		panic(err)
	}
	return k.id, k.shared
}

// JPEGScanBlocks is jpegScanBlocks: the blocks a JPEG's scans visit, and
// whether the decoder makes an RGBA image of its components.
func JPEGScanBlocks(r io.Reader, limit int64) (blocks int64, rgb bool, err error) {
	scan, err := jpegScanBlocks(r, limit)
	return scan.blocks, scan.rgb, err
}

// MaxJPEGScanBlocks is the most blocks a JPEG's scans may visit.
const MaxJPEGScanBlocks = maxJPEGScanBlocks

// LosslessCost is losslessCost: what decoding a lossless WebP bitstream
// may take past its header.
var LosslessCost = losslessCost

// MaxPreviewDecode is maxPreviewDecode.
const MaxPreviewDecode = maxPreviewDecode
