package native_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usher"
	"usher/core"
)

// TestProfileThroughHTTP covers SSH keys, secondary addresses with their
// confirmation by mail, settings and avatars.
func TestProfileThroughHTTP(t *testing.T) {
	t.Parallel()
	b := setupMail(t, core.Policy{})
	// SSH keys: add, list, get, delete.
	key := (&cell{t: t}).sshKey() + " plain@laptop"
	var k struct {
		ID          int64
		Key         string
		Fingerprint string
	}
	res := b.call(t, req{method: "POST", path: "/v1/users/plain/keys", token: b.userTok, body: map[string]any{"title": "laptop", "key": "  " + key + "\n"}}, 201, &k)
	if k.Key != key || !strings.HasPrefix(k.Fingerprint, "SHA256:") || res.header.Get("Location") != fmt.Sprintf("/v1/users/plain/keys/%d", k.ID) {
		t.Fatalf("added %s at %q", res.body, res.header.Get("Location"))
	}
	var keys struct{ Items []struct{ ID int64 } }
	b.call(t, req{method: "GET", path: "/v1/users/plain/keys", token: b.userTok}, 200, &keys)
	if len(keys.Items) != 1 || keys.Items[0].ID != k.ID {
		t.Fatalf("keys: %+v", keys)
	}
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/keys/%d", k.ID), token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/users/plain/keys/%d", k.ID), token: b.userTok}, 404, nil)

	// A secondary address is confirmed with the code mailed to it — and that
	// code does not confirm the account.
	var e struct {
		ID          int64
		ConfirmedAt *string `json:"confirmed_at"`
	}
	b.call(t, req{method: "POST", path: "/v1/users/plain/emails", token: b.userTok, body: map[string]any{"email": "plain@work.example"}}, 201, &e)
	if e.ConfirmedAt != nil {
		t.Fatal("a user's own addition starts confirmed")
	}
	_, code := b.nextMail(t, 1, "plain@work.example")
	b.call(t, req{method: "POST", path: "/v1/auth/confirm", body: map[string]any{"code": code}}, 404, nil)
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, 200, &e)
	if e.ConfirmedAt == nil {
		t.Fatal("not confirmed")
	}
	b.call(t, req{method: "POST", path: "/v1/auth/confirm-email", body: map[string]any{"code": code}}, 404, nil)
	b.call(t, req{method: "GET", path: fmt.Sprintf("/v1/users/plain/emails/%d", e.ID), token: b.userTok}, 200, nil)
	// Taken by plain, the address is no one else's, primary or secondary.
	b.call(t, req{method: "PATCH", path: "/v1/users/root", token: b.adminTok, body: map[string]any{"email": "PLAIN@work.example"}}, 409, nil)
	b.call(t, req{method: "DELETE", path: fmt.Sprintf("/v1/users/plain/emails/%d", e.ID), token: b.userTok}, 204, nil)

	// Settings: PATCH merges, null removes.
	var settings map[string]any
	b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok, body: map[string]any{"theme": "dark", "notify": map[string]bool{"mail": true}}}, 200, &settings)
	settings = nil
	b.call(t, req{method: "PATCH", path: "/v1/users/plain/settings", token: b.userTok, body: `{"theme":null,"lang":"de"}`}, 200, &settings)
	if fmt.Sprint(settings) != "map[lang:de notify:map[mail:true]]" {
		t.Fatalf("settings: %v", settings)
	}

	// Avatars: served to anyone with an ETag; a matching If-None-Match gets
	// 304; the user shows where it is.
	img := pngImage(t)
	var av struct{ URL, ETag string }
	b.call(t, req{method: "PUT", path: "/v1/users/plain/avatar", token: b.userTok, body: img, header: map[string]string{"Content-Type": "image/png"}}, 200, &av)
	res = b.call(t, req{method: "GET", path: "/v1/users/plain/avatar"}, 200, nil)
	if string(res.body) != string(img) || res.header.Get("Content-Type") != "image/png" || res.header.Get("ETag") != `"`+av.ETag+`"` ||
		res.header.Get("Cache-Control") == "" || res.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("avatar: %d bytes, headers %v", len(res.body), res.header)
	}
	res = b.call(t, req{method: "GET", path: "/v1/users/plain/avatar", header: map[string]string{"If-None-Match": `W/"x", "` + av.ETag + `"`}}, 304, nil)
	if len(res.body) != 0 {
		t.Fatal("a 304 with a body")
	}
	var u struct {
		AvatarURL *string `json:"avatar_url"`
	}
	b.call(t, req{method: "GET", path: "/v1/users/plain", token: b.adminTok}, 200, &u)
	if u.AvatarURL == nil || *u.AvatarURL != av.URL || !strings.HasSuffix(av.URL, "?v="+av.ETag) {
		t.Fatalf("avatar_url %v, want %s", u.AvatarURL, av.URL)
	}
	b.call(t, req{method: "DELETE", path: "/v1/users/plain/avatar", token: b.userTok}, 204, nil)
	b.call(t, req{method: "GET", path: "/v1/users/plain/avatar"}, 404, nil)
}

// TestAvatarDecodingWithinBudget: checking an avatar decodes the whole
// picture, and a 2048×2048 16-bit PNG of a few tens of KiB decodes to
// 32 MiB, so uploads take their decoded size from the budget all images
// being decoded at once share (256 MiB). One signed-in user's 16
// concurrent uploads, 512 MiB decoded, are each set or told busy, and the
// live heap never holds much past the budget: the collector may count a
// picture or two just released, never the 16 that decoding them all at
// once held. It measures the process's heap, so it does not run in
// parallel.
func TestAvatarDecodingWithinBudget(t *testing.T) {
	const (
		budget  = 256 << 20 // the core's decoding budget; see docs/files.md
		picture = 2048 * 2048 * 8
		n       = 16
	)
	b := setup(t)
	var file bytes.Buffer
	if err := png.Encode(&file, image.NewNRGBA64(image.Rect(0, 0, 2048, 2048))); err != nil {
		t.Fatal(err)
	}

	// Collect often, so that the live heap, as the last collection
	// found it, follows what the uploads hold.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	base := live[0].Value.Uint64()
	var peak atomic.Uint64
	done, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				metrics.Read(live)
				if v := live[0].Value.Uint64(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	var set atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			rq, _ := http.NewRequest("PUT", fmt.Sprintf("%s/v1/users/%d/avatar", b.api.srv.URL, b.user.ID), bytes.NewReader(file.Bytes()))
			rq.Header.Set("Authorization", "Bearer "+b.userTok)
			rq.Header.Set("Content-Type", "image/png")
			res, err := b.api.srv.Client().Do(rq)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var p problemBody
			switch {
			case res.StatusCode == 200:
				set.Add(1)
			case res.StatusCode == 429 && json.NewDecoder(res.Body).Decode(&p) == nil && p.Code == usher.CodeBusy:
			default:
				t.Errorf("an avatar upload answered %d %+v, want 200 or 429 busy", res.StatusCode, p)
			}
		})
	}
	close(start)
	wg.Wait()
	close(done)
	<-sampled
	grew := int64(peak.Load()) - int64(base)
	t.Logf("%d of %d uploads set; the live heap grew by %d MiB at its peak", set.Load(), n, grew>>20)
	if set.Load() == 0 {
		t.Error("no upload was set")
	}
	if grew > budget+2*picture {
		t.Errorf("%d concurrent avatar uploads held %d MiB at once: past the %d MiB budget of decoding", n, grew>>20, budget>>20)
	}
}
