package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"usher"
	"usher/store"
)

func testInstanceSettings(t *testing.T, s store.Store) {
	ctx := context.Background()
	admin := mustCreateUser(t, s, newUser("settings-admin", "settings-admin@example.com", "Admin"))
	put := func(name, value string, by int64) *usher.InstanceSetting {
		t.Helper()
		st := &usher.InstanceSetting{Name: name, Value: []byte(value), UpdatedAt: base, UpdatedBy: by}
		if err := s.InstanceSettingPut(ctx, st); err != nil {
			t.Fatalf("InstanceSettingPut(%s): %v", name, err)
		}
		return st
	}
	put("ui.theme", `"dark"`, admin.ID)
	put("ui.a%_", `{"b":1,"a":[true]}`, 0)
	put("uix", `1`, 0)
	signup := put("auth.internal.signup.enabled", `false`, admin.ID)

	got, err := s.InstanceSettingGet(ctx, signup.Name)
	if err != nil || got.Name != signup.Name || string(got.Value) != "false" || !got.UpdatedAt.Equal(base) || got.UpdatedBy != admin.ID {
		t.Fatalf("InstanceSettingGet = %+v, %v", got, err)
	}
	if _, err := s.InstanceSettingGet(ctx, "ui.missing"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("InstanceSettingGet(missing) = %v, want ErrNotFound", err)
	}

	names := func(prefix string) []string {
		t.Helper()
		list, err := s.InstanceSettingList(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, st := range list {
			out = append(out, st.Name+"="+string(st.Value))
		}
		return out
	}
	// The prefix is matched as text: neither % nor _ is a wildcard.
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"auth.internal.signup.enabled=false", `ui.a%_={"b":1,"a":[true]}`, `ui.theme="dark"`, "uix=1"}},
		{"ui.", []string{`ui.a%_={"b":1,"a":[true]}`, `ui.theme="dark"`}},
		{"ui.a%", []string{`ui.a%_={"b":1,"a":[true]}`}},
		{"u_.", nil},
		{"UI.", nil},
	} {
		if got := names(tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("InstanceSettingList(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}

	// A second put replaces the value and who set it.
	later := base.Add(3600e9)
	if err := s.InstanceSettingPut(ctx, &usher.InstanceSetting{Name: "ui.theme", Value: []byte(`"light"`), UpdatedAt: later}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.InstanceSettingGet(ctx, "ui.theme"); string(got.Value) != `"light"` || got.UpdatedBy != 0 || !got.UpdatedAt.Equal(later) {
		t.Fatalf("after replace: %+v", got)
	}
	if err := s.InstanceSettingPut(ctx, &usher.InstanceSetting{Name: "ui.x", Value: []byte(`1`), UpdatedAt: base, UpdatedBy: admin.ID + 1000}); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("InstanceSettingPut(unknown user) = %v, want ErrNotFound", err)
	}

	// Deleting, twice, and in a transaction that rolls back.
	for range 2 {
		if err := s.InstanceSettingDelete(ctx, "uix"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.InstanceSettingGet(ctx, "uix"); !errors.Is(err, usher.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	boom := errors.New("boom")
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.InstanceSettingDelete(ctx, "ui.theme"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := s.InstanceSettingGet(ctx, "ui.theme"); err != nil {
		t.Fatalf("rolled-back delete: %v", err)
	}

	// Purging the user who set a setting keeps the setting, by nobody.
	if err := s.UserPurge(ctx, admin.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.InstanceSettingGet(ctx, signup.Name); err != nil || got.UpdatedBy != 0 {
		t.Fatalf("after purge: %+v, %v", got, err)
	}
}
