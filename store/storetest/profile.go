package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"usher"
	"usher/store"
)

func testSettingsAndAvatars(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := mustCreateUser(t, s, newUser("alice", "", ""))
	for k, v := range map[string]string{"theme": `"dark"`, "notify": `{"mail":true,"digest":"weekly"}`} {
		if err := s.SettingPut(ctx, a.ID, usher.Setting{Key: k, Value: []byte(v), UpdatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SettingPut(ctx, a.ID, usher.Setting{Key: "theme", Value: []byte(`"light"`), UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.SettingList(ctx, a.ID)
	if len(list) != 2 || list[0].Key != "notify" || list[1].Key != "theme" {
		t.Fatalf("SettingList: %v", list)
	}
	var notify map[string]any
	if err := json.Unmarshal(list[0].Value, &notify); err != nil || notify["digest"] != "weekly" {
		t.Fatalf("a JSON value does not round-trip: %s", list[0].Value)
	}
	if string(list[1].Value) != `"light"` {
		t.Fatalf("theme = %s", list[1].Value)
	}
	if err := s.SettingDelete(ctx, a.ID, "theme"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.SettingList(ctx, a.ID); len(list) != 1 {
		t.Fatalf("after delete: %v", list)
	}
	_, err := s.AvatarGet(ctx, a.ID)
	wantNotFound(t, err)
	png := []byte("\x89PNG\r\n\x1a\n....")
	if err := s.AvatarPut(ctx, &usher.Avatar{UserID: a.ID, ContentType: "image/png", Data: png, ETag: "e1", UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.AvatarPut(ctx, &usher.Avatar{UserID: a.ID, ContentType: "image/png", Data: png, ETag: "e2", UpdatedAt: base}); err != nil {
		t.Fatal(err)
	}
	if av, err := s.AvatarGet(ctx, a.ID); err != nil || av.ETag != "e2" || string(av.Data) != string(png) {
		t.Fatalf("AvatarGet: %+v, %v", av, err)
	}
	if err := s.AvatarDelete(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, s.AvatarDelete(ctx, a.ID))
}
