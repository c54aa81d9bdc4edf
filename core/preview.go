package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strconv"

	"golang.org/x/image/draw"

	"usher"
)

func errNoPreview() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNoPreview,
		Message: "only PNG, JPEG, GIF and WebP images have a preview"}
}

// Preview returns an image attachment's preview — the image scaled to fit
// 320 pixels a side, never enlarged — and its bytes, for the caller to
// close. The first request makes and stores it: concurrent first requests
// in this process wait for one making, and replicas that race record
// only the first (both write the same bytes under the same key).
//
// Errors: Unauthenticated, Forbidden, NotFound (no such attachment, or
// not an image previews are made of).
func (s *Attachments) Preview(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error) {
	a, err := s.find(ctx, s.store, actAttachRead, id)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := rasterTypes[a.ContentType]; !ok {
		return nil, nil, errNoPreview()
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
// stores it and records it, and returns the attachment as recorded.
func (s *Attachments) makePreview(ctx context.Context, id int64) (*usher.Attachment, error) {
	a, err := s.store.AttachmentGet(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.PreviewKey != "" {
		return a, nil
	}
	rc, err := s.blobs.Get(ctx, a.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("attachment %d: %w", a.ID, err)
	}
	out, ctype, err := scaleDown(data, rasterTypes[a.ContentType])
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
	// Recorded now, by this process or by another that made the same.
	return s.store.AttachmentGet(ctx, a.ID)
}

// scaleDown decodes an image, checked again for its size before decoding,
// and encodes it scaled to fit previewSide: a JPEG as JPEG, anything else
// as PNG (which keeps transparency).
func scaleDown(data []byte, format string) ([]byte, string, error) {
	if _, _, err := imageSize(data, format); err != nil {
		return nil, "", err
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeNotAnImage, Message: "is a damaged " + format + " image"})
	}
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > previewSide || h > previewSide {
		if w >= h {
			w, h = previewSide, max(1, h*previewSide/w)
		} else {
			w, h = max(1, w*previewSide/h), previewSide
		}
	}
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
