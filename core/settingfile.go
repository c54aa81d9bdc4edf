package core

import (
	"context"
	"encoding/json"
	"errors"

	"usher"
	"usher/store"
)

// fileRef reads the attachment a setting's value refers to: the id of
// {"attachment": id, "name": …, "size": …, "content_type": …}, the value
// SetFile writes; 0 for any other value.
func fileRef(value []byte) int64 {
	var ref map[string]json.RawMessage
	if len(value) == 0 || json.Unmarshal(value, &ref) != nil || ref["content_type"] == nil {
		return 0
	}
	var id int64
	if json.Unmarshal(ref["attachment"], &id) != nil {
		return 0
	}
	return id
}

// dropSettingFile deletes within tx the file that setting name's old value
// referred to and the new one no longer does, listing its blobs in drop —
// only a file that is that setting's own (SetFile made it for it). A
// value that refers to another's file, copied from another setting, is
// plain JSON: changing it deletes nothing.
func dropSettingFile(ctx context.Context, tx store.Tx, name string, old, new []byte, drop *[]string) error {
	id := fileRef(old)
	if id == 0 || fileRef(new) == id {
		return nil
	}
	a, err := tx.AttachmentGet(ctx, id)
	if errors.Is(err, usher.ErrNotFound) {
		return nil
	}
	if err != nil || a.Kind != usher.AttachmentSetting || a.Setting != name {
		return err
	}
	if err := tx.AttachmentDelete(ctx, id); err != nil {
		return err
	}
	*drop = append(*drop, blobsOf(a)...)
	return nil
}

// MayManage says whether the caller may change the instance settings,
// before anything of a file is read: a face asks first, and reads no body
// for one who may not (SetFile decides again).
//
// Errors: Unauthenticated, Forbidden.
func (s *InstanceSettings) MayManage(ctx context.Context) error {
	return s.authorizeInstance(ctx, actInstanceManage)
}

// SetFile sets a setting from an uploaded file: the file becomes an
// attachment of kind setting, owned by the caller, and the setting's value
// refers to it — {"attachment": id, "name": …, "size": …,
// "content_type": …}. The file a setting referred to before is deleted
// once the change commits.
//
// Errors: Unauthenticated, Forbidden, TooLarge, Unprocessable (a bad
// name, a setting that takes only true or false, an empty file, a
// refused type, a damaged image).
func (s *InstanceSettings) SetFile(ctx context.Context, name string, in usher.AttachmentUpload) (*usher.InstanceSetting, error) {
	if err := s.MayManage(ctx); err != nil {
		return nil, err
	}
	var c checker
	checkInstanceName(&c, name, name)
	// The value's own check refuses a reference for a setting of true or
	// false: such a setting takes no file.
	checkInstanceValue(&c, name, name, []byte(`{"attachment":0}`))
	if err := c.err(); err != nil {
		return nil, err
	}
	a, data, err := describe(usher.AttachmentSetting, usher.PrincipalFrom(ctx).UserID(), in.Name, in.Body, s.policy.MaxAttachmentBytes)
	if err != nil {
		return nil, err
	}
	a.Setting = name
	var out []*usher.InstanceSetting
	err = s.saveAttachment(ctx, a, data, func(tx store.Tx, drop *[]string) error {
		value, err := json.Marshal(map[string]any{"attachment": a.ID, "name": a.Name, "size": a.Size, "content_type": a.ContentType})
		if err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.CreatedAt, attachmentEvent("attachment.create", a)); err != nil {
			return err
		}
		out, err = s.write(ctx, tx, []usher.InstanceSettingValue{{Name: name, Value: value}}, [][]byte{value}, map[string]int{name: 0}, drop)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}
