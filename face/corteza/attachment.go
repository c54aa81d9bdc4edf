package corteza

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"usher"
	"usher/web"
)

// AttachmentService is what the face needs of the core's attachments.
type AttachmentService interface {
	Get(ctx context.Context, id int64) (*usher.Attachment, error)
	Open(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error)
	Preview(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error)
	Delete(ctx context.Context, id int64) error
	MaxBytes() int64
}

// attachment is Corteza's attachment payload.
type attachment struct {
	ID         int64          `json:"attachmentID,string"`
	OwnerID    int64          `json:"ownerID,string"`
	URL        string         `json:"url"`
	PreviewURL string         `json:"previewUrl,omitempty"`
	Name       string         `json:"name"`
	Meta       attachmentMeta `json:"meta"`
	CreatedAt  time.Time      `json:"createdAt"`
}

type attachmentMeta struct {
	Original attachmentFile  `json:"original"`
	Preview  *attachmentFile `json:"preview,omitempty"`
}

type attachmentFile struct {
	Size     int64      `json:"size"`
	Ext      string     `json:"ext"`
	Mimetype string     `json:"mimetype"`
	Image    *imageMeta `json:"image,omitempty"`
}

type imageMeta struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

func toAttachment(kind string, a *usher.Attachment) *attachment {
	id := strconv.FormatInt(a.ID, 10)
	base := prefix + "/attachment/" + kind + "/" + id
	ext := strings.TrimPrefix(path.Ext(a.Name), ".")
	out := &attachment{ID: a.ID, OwnerID: a.OwnerID, Name: a.Name, CreatedAt: a.CreatedAt,
		URL:  base + "/original/" + url.PathEscape(a.Name),
		Meta: attachmentMeta{Original: attachmentFile{Size: a.Size, Ext: ext, Mimetype: a.ContentType}}}
	if a.Width > 0 {
		out.Meta.Original.Image = &imageMeta{Width: a.Width, Height: a.Height}
		out.PreviewURL = base + "/preview." + ext
		out.Meta.Preview = &attachmentFile{Ext: ext, Mimetype: a.ContentType}
	}
	return out
}

// attachmentID reads the attachmentID path value.
func attachmentID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("attachmentID"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound("attachment")
	}
	return id, nil
}

func (h *Handler) readAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := attachmentID(r)
	if err != nil {
		return err
	}
	a, err := h.Attachments.Get(r.Context(), id)
	if err != nil {
		return err
	}
	return respond(w, toAttachment(r.PathValue("kind"), a))
}

func (h *Handler) deleteAttachment(w http.ResponseWriter, r *http.Request) error {
	id, err := attachmentID(r)
	if err != nil {
		return err
	}
	if err := h.Attachments.Delete(r.Context(), id); err != nil {
		return err
	}
	return ok(w)
}

func (h *Handler) attachmentOriginal(w http.ResponseWriter, r *http.Request) error {
	return h.serveFile(w, r, h.Attachments.Open, false, r.URL.Query().Has("download"))
}

func (h *Handler) attachmentPreview(w http.ResponseWriter, r *http.Request) error {
	if !strings.HasPrefix(r.PathValue("file"), "preview.") {
		return errNotFound("attachment")
	}
	return h.serveFile(w, r, h.Attachments.Preview, true, false)
}

// serveFile writes an attachment's bytes, or its preview's. A browser is
// let show in a page only the raster images the core calls inline (a
// preview is one); anything else, HTML and SVG included, is a download
// whatever the client asks, so that no upload runs as a page of usher's
// origin.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request,
	open func(context.Context, int64) (*usher.Attachment, io.ReadCloser, error), preview, download bool) error {
	id, err := attachmentID(r)
	if err != nil {
		return err
	}
	a, body, err := open(r.Context(), id)
	if err != nil {
		return err
	}
	defer body.Close()
	ctype := a.ContentType
	if preview {
		ctype = a.PreviewType
	}
	w.Header().Set("Content-Type", ctype)
	// A private file, asked for with a cookie or a jwt parameter that a
	// shared cache does not tell apart: only the browser keeps it.
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	disp := "attachment"
	if !download && (preview || a.Inline()) {
		disp = "inline"
	}
	w.Header().Set("Content-Disposition", web.ContentDisposition(disp, a.Name))
	_, err = io.Copy(w, body)
	return err
}
