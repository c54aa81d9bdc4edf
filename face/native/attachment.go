package native

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"usher"
	"usher/web"
)

// AttachmentService is what the face needs of the core's attachments.
type AttachmentService interface {
	MayUpload(ctx context.Context) error
	Upload(ctx context.Context, in usher.AttachmentUpload) (*usher.Attachment, error)
	Get(ctx context.Context, id int64) (*usher.Attachment, error)
	Open(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error)
	Preview(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error)
	Delete(ctx context.Context, id int64) error
	MaxBytes() int64
}

// uploadSlack is the room a multipart form takes around its file.
const uploadSlack = 64 << 10

// maxUpload is the largest request body an upload may send: the core's
// limit on a file, which the core enforces, and room for the form.
func (h *Handler) maxUpload() int64 {
	return h.Attachments.MaxBytes() + uploadSlack
}

// attachmentJSON is the native representation of an attachment.
type attachmentJSON struct {
	ID          int64               `json:"id"`
	Kind        string              `json:"kind"`
	OwnerID     *int64              `json:"owner_id"`
	Name        string              `json:"name"`
	Size        int64               `json:"size"`
	ContentType string              `json:"content_type"`
	Checksum    string              `json:"checksum"`
	Meta        *attachmentMetaJSON `json:"meta"`
	CreatedAt   time.Time           `json:"created_at"`
	URL         string              `json:"url"`
	PreviewURL  *string             `json:"preview_url"`
}

// attachmentMetaJSON is what is known of an image's content.
type attachmentMetaJSON struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

func toAttachmentJSON(a *usher.Attachment) attachmentJSON {
	base := "/v1/attachments/" + strconv.FormatInt(a.ID, 10)
	out := attachmentJSON{ID: a.ID, Kind: string(a.Kind), Name: a.Name, Size: a.Size, ContentType: a.ContentType,
		Checksum: a.Checksum, CreatedAt: a.CreatedAt, URL: base + "/original"}
	if a.OwnerID != 0 {
		out.OwnerID = &a.OwnerID
	}
	if a.Width > 0 {
		out.Meta = &attachmentMetaJSON{Width: a.Width, Height: a.Height}
	}
	if a.Width > 0 && a.PreviewType != usher.PreviewNone {
		preview := base + "/preview"
		out.PreviewURL = &preview
	}
	return out
}

// uploadAttachment takes a multipart/form-data body: the file as the
// part "file", and optionally "kind". The core is asked first whether
// the caller may upload: no body is read for one who may not.
func (h *Handler) uploadAttachment(w http.ResponseWriter, r *http.Request) error {
	if err := h.Attachments.MayUpload(r.Context()); err != nil {
		return err
	}
	up, err := web.ReadUpload(w, r, h.maxUpload(), "file")
	if err != nil {
		return err
	}
	defer up.Close()
	a, err := h.Attachments.Upload(r.Context(), usher.AttachmentUpload{Kind: usher.AttachmentKind(up.Values.Get("kind")),
		Name: up.Name, Body: up.File})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/attachments/"+strconv.FormatInt(a.ID, 10))
	return web.WriteJSON(w, http.StatusCreated, toAttachmentJSON(a))
}

func (h *Handler) getAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, err := h.Attachments.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, toAttachmentJSON(a))
}

func (h *Handler) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := h.Attachments.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// originalAttachment serves the file as uploaded, under its name. Only a
// raster image is shown inline; anything else — HTML, SVG, XML, any type
// a browser might run — is a download, sandboxed and never sniffed.
func (h *Handler) originalAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, rc, err := h.Attachments.Open(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	disposition := "attachment"
	if a.Inline() {
		disposition = "inline"
	}
	w.Header().Set("Content-Disposition", web.ContentDisposition(disposition, a.Name))
	serveBlob(w, r, a.Checksum, a.ContentType, a.Size, rc)
	return nil
}

// previewAttachment serves an image's preview.
func (h *Handler) previewAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	a, rc, err := h.Attachments.Preview(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Disposition", web.ContentDisposition("inline", "preview-"+strconv.FormatInt(a.ID, 10)+previewExt(a.PreviewType)))
	serveBlob(w, r, a.Checksum+"-preview", a.PreviewType, -1, rc)
	return nil
}

func previewExt(ctype string) string {
	if ctype == "image/jpeg" {
		return ".jpg"
	}
	return ".png"
}

// serveBlob writes stored bytes that never change under their tag: with
// an ETag, cached for a year, answering If-None-Match with 304, and
// headers that keep a browser from sniffing or running them. A size below
// 0 is unknown.
func serveBlob(w http.ResponseWriter, r *http.Request, tag, ctype string, size int64, body io.Reader) {
	hd := w.Header()
	hd.Set("ETag", `"`+tag+`"`)
	hd.Set("Cache-Control", "private, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if etagMatches(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Type", ctype)
	if size >= 0 {
		hd.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, body)
	}
}
