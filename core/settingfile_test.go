package core_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"usher"
)

// TestSettingFileOwner replays a setting given another's file reference
// — copied, or written by hand — and then cleared or changed: the file
// stays, since only the setting it was uploaded for deletes it.
func TestSettingFileOwner(t *testing.T) {
	t.Parallel()
	for _, pg := range []bool{false, true} {
		for _, c := range []struct {
			name string
			copy func(id int64, logo []byte) []byte
			next []byte // the copy's next value
		}{
			{"copy cleared", func(_ int64, logo []byte) []byte { return logo }, nil},
			{"copy changed", func(_ int64, logo []byte) []byte { return logo }, []byte(`"other"`)},
			{"by hand cleared", func(id int64, _ []byte) []byte {
				return fmt.Appendf(nil, `{"attachment":%d,"content_type":"image/png"}`, id)
			}, nil},
		} {
			t.Run(fmt.Sprintf("%s pg=%v", c.name, pg), func(t *testing.T) {
				t.Parallel()
				s := setupAttachments(t, pg)
				inst, at := s.env.Core.Instance, s.env.Core.Attachments
				logo, err := inst.SetFile(as(s.admin), "ui.logo", upload("", "logo.png", pngOf(8, 8)))
				if err != nil {
					t.Fatal(err)
				}
				id := fileID(t, logo.Value)
				if a, err := at.Get(as(s.admin), id); err != nil || a.Setting != "ui.logo" {
					t.Fatalf("the file %+v, %v; want it owned by ui.logo", a, err)
				}
				if _, err := inst.Set(as(s.admin), "ui.copy", c.copy(id, logo.Value)); err != nil {
					t.Fatal(err)
				}
				if _, err := inst.Set(as(s.admin), "ui.copy", c.next); err != nil {
					t.Fatal(err)
				}
				_, rc, err := at.Open(as(s.admin), id)
				if err != nil {
					t.Fatalf("ui.logo's file is gone: %v", err)
				}
				rc.Close()
				// Its own setting's change deletes it.
				if _, err := inst.Set(as(s.admin), "ui.logo", nil); err != nil {
					t.Fatal(err)
				}
				_, err = at.Get(as(s.admin), id)
				wantProblem(t, err, usher.KindNotFound, usher.CodeAttachmentNotFound)
			})
		}
	}
}

// fileID is the attachment a file-valued setting's value refers to.
func fileID(t *testing.T, v []byte) int64 {
	t.Helper()
	var ref struct{ Attachment int64 }
	if err := json.Unmarshal(v, &ref); err != nil {
		t.Fatal(err)
	}
	return ref.Attachment
}
