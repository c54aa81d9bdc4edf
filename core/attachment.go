package core

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF for attachments and avatars
	_ "image/jpeg" // registers JPEG for attachments and avatars
	_ "image/png"  // registers PNG for attachments and avatars
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	_ "golang.org/x/image/webp" // registers WebP for attachments

	"usher"
	"usher/store"
)

// Attachments manages stored files: their bytes in the blob store, their
// description in the database. Anyone signed in uploads files of kind
// general (unless a rule denies attachment.create); a file's owner,
// administrators and whom a rule allows read it (attachment.read) and
// delete it (attachment.delete). Avatars are public; a setting's file is
// read by whoever may read the instance settings. Previews of PNG, JPEG,
// GIF and WebP images are made on first request, once, and kept, within
// a bound on the memory decoding takes (see preview.go).
//
// The bytes are written before the row that names them commits; a failed
// commit removes them. A crash between the two leaves bytes no row names:
// they take space but are never served (see docs/files.md).
type Attachments struct{ *env }

// Limits on attachments.
const (
	// maxAttachmentName bounds a file's name, in bytes.
	maxAttachmentName = 255
	// maxImageSide and maxImagePixels bound an image that is read whole
	// (for its preview): larger ones are refused before decoding, so that
	// a small file cannot claim gigabytes (a decompression bomb).
	maxImageSide   = 16384
	maxImagePixels = 40_000_000
	// previewSide is the longest side of a preview, in pixels.
	previewSide = 320
)

// refusedTypes are the content types never stored: programs a machine
// would run.
var refusedTypes = map[string]bool{
	"application/vnd.microsoft.portable-executable": true, "application/x-msdownload": true,
	"application/x-elf": true, "application/x-executable": true, "application/x-sharedlib": true,
	"application/x-mach-binary": true, "application/x-msi": true, "text/x-shellscript": true,
	"application/x-dosexec": true, "application/java-archive": true, "application/x-java-applet": true,
}

// rasterTypes are the images previews are made of, with their names in
// image.DecodeConfig's terms.
var rasterTypes = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif", "image/webp": "webp"}

func errAttachmentNotFound() error {
	return &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeAttachmentNotFound, Message: "attachment not found"}
}

// checkKind refuses a kind usher does not know, and one set elsewhere than
// where the caller asks.
func checkKind(kind usher.AttachmentKind, allowed ...usher.AttachmentKind) error {
	if !slices.Contains(usher.AttachmentKinds, kind) {
		return usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeUnknownKind,
			Message: fmt.Sprintf("%q is not a kind of attachment (general, avatar, setting)", kind)})
	}
	if !slices.Contains(allowed, kind) {
		return usher.FieldErrors(usher.FieldError{Field: "kind", Code: usher.CodeNotAllowed,
			Message: fmt.Sprintf("attachments of kind %s are made through their own endpoint", kind)})
	}
	return nil
}

// cleanName is the last element of a client's file name, without control
// or format characters, valid UTF-8 and at most maxAttachmentName bytes;
// "file" when nothing is left. It is shown and offered as a download's
// name, never used as a path.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxAttachmentName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" || name == ".." {
		return "file"
	}
	return name
}

// describe reads an upload of at most limit bytes and describes it: its
// size, checksum, content type sniffed from the bytes (never the client's
// word) and, for an image, its dimensions.
//
// Errors: TooLarge, Unprocessable (empty, a refused type, a damaged or
// oversized image).
func describe(kind usher.AttachmentKind, owner int64, name string, body io.Reader, limit int) (*usher.Attachment, []byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, int64(limit)+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > limit {
		return nil, nil, &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeAttachmentTooLarge,
			Message: fmt.Sprintf("the file is over %d bytes", limit)}
	}
	if len(data) == 0 {
		return nil, nil, usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeRequired, Message: "is empty"})
	}
	ctype, _, _ := strings.Cut(mimetype.Detect(data).String(), ";")
	if refusedTypes[ctype] {
		return nil, nil, usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeTypeNotAllowed,
			Message: "is a program (" + ctype + "), which usher does not store"})
	}
	sum := sha256.Sum256(data)
	a := &usher.Attachment{Kind: kind, OwnerID: owner, Name: cleanName(name), Size: int64(len(data)),
		ContentType: ctype, Checksum: hex.EncodeToString(sum[:])}
	if format, ok := rasterTypes[ctype]; ok {
		if a.Width, a.Height, err = imageSize(data, format); err != nil {
			return nil, nil, err
		}
	}
	return a, data, nil
}

// imageSize reads an image's dimensions from its header and refuses one
// too large to decode safely.
func imageSize(data []byte, format string) (int, int, error) {
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || got != format {
		return 0, 0, usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeNotAnImage, Message: "is a damaged " + format + " image"})
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return 0, 0, usher.FieldErrors(usher.FieldError{Field: "file", Code: usher.CodeBadSize,
			Message: fmt.Sprintf("an image is at most %d pixels a side and %d pixels in all", maxImageSide, maxImagePixels)})
	}
	return cfg.Width, cfg.Height, nil
}

// newBlobKey is a fresh key for an attachment's bytes: random, never
// derived from anything a client sent.
func newBlobKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "a/" + hex.EncodeToString(b[:])
}

// saveAttachment writes a's bytes to the blob store, then runs fn in a
// transaction that inserts a's row (fn may change more and must record
// the event). A failed transaction removes the bytes; removed afterwards
// too are the blobs fn lists in *drop, once the transaction commits.
func (e *env) saveAttachment(ctx context.Context, a *usher.Attachment, data []byte, fn func(tx store.Tx, drop *[]string) error) error {
	a.BlobKey, a.CreatedAt = newBlobKey(), e.now()
	if err := e.blobs.Put(ctx, a.BlobKey, bytes.NewReader(data), int64(len(data))); err != nil {
		return fmt.Errorf("store the file: %w", err)
	}
	var drop []string
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		drop = drop[:0]
		// The owner's row first (docs/architecture.md, "One lock
		// order"): inserting the row takes a share lock on it, its
		// owner's key, and what fn does takes the row itself (a file's
		// quota, an avatar's tag), so two at once, each holding its
		// share, waited for the other until PostgreSQL aborted one.
		if a.OwnerID != 0 {
			if err := lockUser(ctx, tx, a.OwnerID); err != nil {
				return err
			}
		}
		if err := tx.AttachmentAdd(ctx, a); err != nil {
			return err
		}
		return fn(tx, &drop)
	})
	if err != nil {
		e.dropBlobs(ctx, []string{a.BlobKey})
		return err
	}
	e.dropBlobs(ctx, drop)
	return nil
}

// dropBlobs removes blobs no row names any more; a failure is logged, and
// leaves bytes behind that are never served.
func (e *env) dropBlobs(ctx context.Context, keys []string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := e.blobs.Delete(context.WithoutCancel(ctx), k); err != nil {
			e.log.Warn("an unreferenced blob is left behind", "key", k, "err", err)
		}
	}
}

// blobsOf are the blobs of an attachment: its bytes and its preview.
func blobsOf(a *usher.Attachment) []string { return []string{a.BlobKey, a.PreviewKey} }

// attachmentEvent is the audit event of an attachment's change.
func attachmentEvent(action string, a *usher.Attachment) event {
	return event{action: action, resourceType: "attachment", resourceID: strconv.FormatInt(a.ID, 10),
		meta: map[string]string{"kind": string(a.Kind), "name": a.Name, "size": strconv.FormatInt(a.Size, 10),
			"content_type": a.ContentType, "owner": strconv.FormatInt(a.OwnerID, 10), "checksum": a.Checksum}}
}

// Upload stores a file of kind general (the kind when in.Kind is empty),
// owned by the caller. Avatars and settings' files are set through
// Avatars.Set and InstanceSettings.SetFile.
//
// A user owns at most maxFilesPerUser such files, of 100 times the
// largest upload's bytes together (checkFileRoom).
//
// Errors: Unauthenticated, Forbidden, TooLarge, Unprocessable (an unknown
// kind, another kind, an empty file, a refused type, a damaged image),
// Conflict (limit_reached: the owner holds as many files or bytes as they
// may).
func (s *Attachments) Upload(ctx context.Context, in usher.AttachmentUpload) (*usher.Attachment, error) {
	if err := s.MayUpload(ctx); err != nil {
		return nil, err
	}
	p := usher.PrincipalFrom(ctx)
	if in.Kind == "" {
		in.Kind = usher.AttachmentGeneral
	}
	if err := checkKind(in.Kind, usher.AttachmentGeneral); err != nil {
		return nil, err
	}
	a, data, err := describe(in.Kind, p.UserID(), in.Name, in.Body, s.policy.MaxAttachmentBytes)
	if err != nil {
		return nil, err
	}
	err = s.saveAttachment(ctx, a, data, func(tx store.Tx, _ *[]string) error {
		if err := checkFileRoom(ctx, tx, a.OwnerID, s.policy.MaxAttachmentBytes); err != nil {
			return err
		}
		return s.record(ctx, tx, a.CreatedAt, attachmentEvent("attachment.create", a))
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// MayUpload says whether the caller may upload a file, before anything
// of it is read: a face asks first, and reads no body for one who may not
// (Upload decides again).
//
// Errors: Unauthenticated, Forbidden.
func (s *Attachments) MayUpload(ctx context.Context) error {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, actAttachCreate, nil); err != nil {
		return err
	}
	return s.decide(ctx, p, actAttachCreate, "", p.UserID() != 0)
}

// MaxBytes is the largest file an upload may carry.
func (s *Attachments) MaxBytes() int64 { return int64(s.policy.MaxAttachmentBytes) }

// authorizeAttachment is the one decision on an attachment: its owner may
// do act to it unless a rule denies, others when a rule allows; avatars
// may be read by anyone, a setting's file by whoever may read the
// instance settings. One who may not read it is told it does not exist.
//
// Errors: Forbidden, NotFound.
func (e *env) authorizeAttachment(ctx context.Context, p *usher.Principal, act action, a *usher.Attachment) error {
	if a.Kind == usher.AttachmentSetting {
		// A setting's file is a setting (keepsSecrets): a certificate's
		// key, set since the rotation.
		if err := refuseRetired(p, retiredReadsNoSecrets); err != nil {
			return err
		}
	}
	own := p.UserID() != 0 && a.OwnerID == p.UserID()
	instance := strconv.FormatInt(a.ID, 10)
	read := own || a.Kind == usher.AttachmentAvatar
	if !read && a.Kind == usher.AttachmentSetting {
		read = e.decide(ctx, p, actInstanceRead, "", false) == nil
	}
	if err := e.decide(ctx, p, actAttachRead, instance, read); err != nil {
		if usher.ErrorKind(err) == usher.KindForbidden {
			return errAttachmentNotFound()
		}
		return err
	}
	if act == actAttachRead {
		return nil
	}
	return e.decide(ctx, p, act, instance, own)
}

// find returns an attachment the caller may do act to.
func (s *Attachments) find(ctx context.Context, tx store.Tx, act action, id int64) (*usher.Attachment, error) {
	p := usher.PrincipalFrom(ctx)
	if err := precheck(p, act, nil); err != nil {
		return nil, err
	}
	a, err := tx.AttachmentGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		return nil, errAttachmentNotFound()
	}
	if err != nil {
		return nil, err
	}
	if a.Kind == usher.AttachmentAvatar && a.OwnerID != p.UserID() && !p.IsAdmin() {
		// An avatar is everyone's to see while its user is: a deleted
		// user's is not found, as its user's avatar route answers.
		u, err := tx.UserGet(ctx, usher.UserKey{ID: a.OwnerID})
		if errors.Is(err, usher.ErrNotFound) || (err == nil && u.Deleted()) {
			return nil, errAttachmentNotFound()
		}
		if err != nil {
			return nil, err
		}
	}
	if err := s.authorizeAttachment(ctx, p, act, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Get returns an attachment's description.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Attachments) Get(ctx context.Context, id int64) (*usher.Attachment, error) {
	return s.find(ctx, s.store, actAttachRead, id)
}

// Open returns an attachment's description and its original bytes, for
// the caller to close.
//
// Errors: Unauthenticated, Forbidden, NotFound.
func (s *Attachments) Open(ctx context.Context, id int64) (*usher.Attachment, io.ReadCloser, error) {
	a, err := s.find(ctx, s.store, actAttachRead, id)
	if err != nil {
		return nil, nil, err
	}
	rc, err := s.blobs.Get(ctx, a.BlobKey)
	if err != nil {
		return nil, nil, fmt.Errorf("attachment %d: %w", a.ID, err) // a blob lost is an internal error
	}
	return a, rc, nil
}

// Delete removes an attachment and its bytes. Deleting an avatar clears
// the user's avatar; a setting's file is removed by changing the setting.
//
// Errors: Unauthenticated, Forbidden, NotFound, Conflict (a setting's
// file).
func (s *Attachments) Delete(ctx context.Context, id int64) error {
	var gone *usher.Attachment
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		a, err := s.find(ctx, tx, actAttachDelete, id)
		if err != nil {
			return err
		}
		if a.Kind == usher.AttachmentSetting {
			return &usher.Error{Kind: usher.KindConflict, Code: usher.CodeConflict,
				Message: "the file is an instance setting's value: change the setting instead"}
		}
		if a.Kind == usher.AttachmentAvatar && a.OwnerID != 0 {
			// Deleting a user's avatar changes it, which avatar.write
			// decides on the avatar's own route: a rule denying it holds
			// here too.
			owner, err := tx.UserGet(ctx, usher.UserKey{ID: a.OwnerID})
			if err != nil {
				return err
			}
			if err := s.authorize(ctx, actAvatarWrite, owner); err != nil {
				return err
			}
		}
		// The owner's row before the file's (saveAttachment): an
		// avatar's deletion takes the row after, to clear its tag.
		if a.OwnerID != 0 {
			if err := lockUser(ctx, tx, a.OwnerID); err != nil {
				return err
			}
		}
		if err := tx.AttachmentDelete(ctx, a.ID); err != nil {
			return err
		}
		if a.Kind == usher.AttachmentAvatar && a.OwnerID != 0 {
			if err := clearAvatarTag(ctx, tx, a.OwnerID, a.Checksum); err != nil {
				return err
			}
		}
		gone = a
		return s.record(ctx, tx, s.now(), attachmentEvent("attachment.delete", a))
	})
	if err != nil {
		return err
	}
	s.dropBlobs(ctx, blobsOf(gone))
	return nil
}
