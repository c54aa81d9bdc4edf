package usher

import (
	"context"
	"io"
	"time"
)

// AttachmentKind says what an attachment is for; it decides who may
// upload one and which content types it accepts.
type AttachmentKind string

// The kinds of attachments.
const (
	// AttachmentGeneral is a file a user uploads through POST
	// /v1/attachments.
	AttachmentGeneral AttachmentKind = "general"
	// AttachmentAvatar is a user's picture, set through the avatar
	// endpoints; a user has at most one.
	AttachmentAvatar AttachmentKind = "avatar"
	// AttachmentSetting is the file an instance setting refers to, set
	// through PUT /v1/settings/{name} with an upload.
	AttachmentSetting AttachmentKind = "setting"
)

// AttachmentKinds lists every kind, in the order of the list above.
var AttachmentKinds = []AttachmentKind{AttachmentGeneral, AttachmentAvatar, AttachmentSetting}

// Attachment is a stored file: its bytes live in the blob store under
// BlobKey, its description in the database.
type Attachment struct {
	ID   int64
	Kind AttachmentKind
	// OwnerID is the user the file belongs to; 0 once that user is purged.
	OwnerID int64
	// Name is the file's name as uploaded, cleaned of any path; it is never
	// used as a path.
	Name string
	Size int64
	// ContentType is sniffed from the bytes, never taken from the client.
	ContentType string
	// Checksum is the SHA-256 of the bytes, in hex.
	Checksum string
	// Width and Height are an image's dimensions in pixels; 0 otherwise.
	Width, Height int
	// BlobKey is where the bytes are in the blob store; usher makes it up.
	BlobKey string
	// PreviewKey is where the image's preview is, once made; PreviewType
	// its content type, or PreviewNone when none can be made.
	PreviewKey  string
	PreviewType string
	// Setting is, for a file of kind setting, the instance setting it is
	// the value of: only that setting's change deletes it.
	Setting   string
	CreatedAt time.Time
}

// PreviewNone is the PreviewType of an image no preview can be made of
// (damaged, or too large to decode); its PreviewKey is empty.
const PreviewNone = "none"

// Inline reports whether a browser may show the attachment's original in
// a page: only the raster images previews are made of. Anything else —
// HTML, SVG, XML, scripts, every other type — is served as a download.
func (a *Attachment) Inline() bool {
	switch a.ContentType {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return true
	}
	return false
}

// AttachmentUpload is a new attachment: its kind, its name as the client
// gave it and its bytes.
type AttachmentUpload struct {
	Kind AttachmentKind
	Name string
	Body io.Reader
}

// BlobStore keeps files' bytes under keys usher chooses (never a client's
// file name). Its implementations live in package blob: a local directory
// and S3-compatible storage.
type BlobStore interface {
	// Put stores the bytes read from r under key, replacing any; a reader
	// sees either the old bytes or all the new ones, never a part.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the bytes under key; ErrNotFound when there are none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the bytes under key; removing none is no error.
	Delete(ctx context.Context, key string) error
}
