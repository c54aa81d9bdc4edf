package sqldb

import (
	"context"

	"usher"
)

// scanAttachment reads the columns of {{attachment_columns}}.
func scanAttachment(s scanner) (*usher.Attachment, error) {
	a := new(usher.Attachment)
	var kind string
	err := s.Scan(&a.ID, &kind, nullInt{&a.OwnerID}, &a.Name, &a.Size, &a.ContentType, &a.Checksum,
		&a.Width, &a.Height, &a.BlobKey, &a.PreviewKey, &a.PreviewType, timeCol{&a.CreatedAt}, &a.Setting)
	a.Kind = usher.AttachmentKind(kind)
	return a, err
}

// AttachmentAdd inserts an attachment.
func (c *conn) AttachmentAdd(ctx context.Context, a *usher.Attachment) error {
	err := c.writeRow(ctx, "AttachmentInsert", string(a.Kind), intOrNull(a.OwnerID), a.Name, a.Size, a.ContentType,
		a.Checksum, a.Width, a.Height, a.BlobKey, a.PreviewKey, a.PreviewType, c.d.TimeArg(a.CreatedAt), a.Setting).Scan(&a.ID)
	if err != nil {
		return c.fail("AttachmentInsert", err)
	}
	return nil
}

// AttachmentGet returns an attachment.
func (c *conn) AttachmentGet(ctx context.Context, id int64) (*usher.Attachment, error) {
	a, err := scanAttachment(c.queryRow(ctx, "AttachmentByID", id))
	if err != nil {
		return nil, c.notFound("AttachmentByID", err)
	}
	return a, nil
}

// AttachmentsOf returns a user's attachments of a kind.
func (c *conn) AttachmentsOf(ctx context.Context, ownerID int64, kind usher.AttachmentKind) ([]*usher.Attachment, error) {
	return collectNamed(ctx, c, "AttachmentsOf", scanAttachment, ownerID, string(kind))
}

// AttachmentSetPreview records a preview unless one is recorded.
func (c *conn) AttachmentSetPreview(ctx context.Context, id int64, key, contentType string) error {
	res, err := c.exec(ctx, "AttachmentSetPreview", id, key, contentType)
	if err != nil {
		return err
	}
	return affected(res)
}

// AttachmentDelete removes an attachment's row.
func (c *conn) AttachmentDelete(ctx context.Context, id int64) error {
	res, err := c.exec(ctx, "AttachmentDelete", id)
	if err != nil {
		return err
	}
	return affected(res)
}
