-- name: AttachmentInsert
INSERT INTO attachments (kind, owner_id, name, size, content_type, checksum, width, height, blob_key,
                         preview_key, preview_type, created_at, setting)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
RETURNING id;

-- name: AttachmentByID
SELECT {{attachment_columns}} FROM attachments WHERE id = ?1;

-- name: AttachmentsOf
SELECT {{attachment_columns}} FROM attachments WHERE owner_id = ?1 AND kind = ?2 ORDER BY id;

-- name: AttachmentSetPreview
-- Only the first preview sticks: a second maker's is refused, and it
-- removes its blob.
UPDATE attachments SET preview_key = ?2, preview_type = ?3 WHERE id = ?1 AND preview_key = '';

-- name: AttachmentDelete
DELETE FROM attachments WHERE id = ?1;
