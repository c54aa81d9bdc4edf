package corteza_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"strconv"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
)

// The world of the authorization matrix's cells: what a row's request
// acts on, made fresh for each caller.

// cell is one request of the matrix, made on a bundle of its own row.
type cell struct {
	t   *testing.T
	b   *bundle
	who string
}

// create makes a resource as the administrator and returns its ID, read
// from the response's field.
func (c *cell) create(path, field string, body any) string {
	c.t.Helper()
	var out struct {
		Response map[string]any `json:"response"`
	}
	res := c.b.do(c.t, "POST", path, c.b.adminJWT, body)
	res.decode(c.t, &out)
	id, _ := out.Response[field].(string)
	if id == "" {
		c.t.Fatalf("create %s: %s", path, res.body)
	}
	return id
}

// role is a fresh role's ID.
func (c *cell) role() string {
	return c.create("/roles/", "roleID", map[string]any{"name": "Role " + c.who, "handle": "role-" + c.who})
}

func (c *cell) app() string {
	return c.create("/application/", "applicationID", map[string]any{"name": "App " + c.who, "enabled": true, "unify": map[string]any{"listed": true}})
}

// reminder is a fresh reminder assigned to the caller (to the plain user
// when no one calls): a plain user acts only on its own reminders.
func (c *cell) reminder() string {
	to := c.b.user.ID
	if c.who == "admin" {
		to = c.b.admin.ID
	}
	return c.create("/reminder/", "reminderID", map[string]any{"resource": "system:user:1", "assignedTo": strconv.FormatInt(to, 10),
		"payload": map[string]any{"note": "x"}})
}

func (c *cell) org() string {
	return c.create("/organisations/", "organisationID", map[string]any{"name": "Org " + c.who, "handle": "org-" + c.who})
}

// victim is a fresh user, so that an action that ends it is taken once
// per column.
func (c *cell) victim() string {
	u := c.b.env.MustCreateUser(c.t, usher.UserCreate{Username: "victim-" + c.who, Email: "victim-" + c.who + "@example.com", Password: password})
	return strconv.FormatInt(u.ID, 10)
}

// code stores a fresh one-time code of the kind for the plain user and
// returns its token.
func (c *cell) code(kind usher.CodeKind) string {
	c.t.Helper()
	token := fmt.Sprintf("%s-token-of-%s-0123456789abcdef", kind, c.who)
	sum := sha256.Sum256([]byte(token))
	now := c.b.clock.Now()
	if err := c.b.env.Store.CodeCreate(context.Background(), &usher.Code{Kind: kind, Hash: sum[:], UserID: c.b.user.ID,
		EmailKey: usher.EmailKey(c.b.user.Email), ExpiresAt: now.Add(time.Hour), CreatedAt: now}); err != nil {
		c.t.Fatal(err)
	}
	return token
}

// upload is a multipart/form-data body.
type upload struct {
	contentType string
	data        []byte
}

// newUpload is a body with one file, as Corteza's settings take it.
func (c *cell) newUpload(name string) upload {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	f, err := w.CreateFormFile("upload", name)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := png.Encode(f, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		c.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		c.t.Fatal(err)
	}
	return upload{w.FormDataContentType(), buf.Bytes()}
}

// attachment is a fresh setting file's attachment ID.
func (c *cell) attachment() string {
	c.t.Helper()
	var out struct {
		Response struct {
			Value struct {
				ID int64 `json:"attachment"`
			} `json:"value"`
		} `json:"response"`
	}
	res := c.b.call(c.t, "POST", "/settings/ui.logo-"+c.who, c.b.adminJWT, c.newUpload("logo.png"))
	res.decode(c.t, &out)
	if out.Response.Value.ID == 0 {
		c.t.Fatalf("upload: %s", res.body)
	}
	return strconv.FormatInt(out.Response.Value.ID, 10)
}

// file is a fresh general file the administrator uploaded: its owner (and
// an administrator) may delete it, a plain user is told it does not exist.
func (c *cell) file() string {
	c.t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		c.t.Fatal(err)
	}
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: c.b.admin})
	a, err := c.b.env.Core.Attachments.Upload(ctx, usher.AttachmentUpload{Name: "f.png", Body: &buf})
	if err != nil {
		c.t.Fatal(err)
	}
	return strconv.FormatInt(a.ID, 10)
}

// script stores a server script run by hand on every resource, and a
// client script of the default bundle; it returns the server script's
// name.
func (c *cell) script() string {
	c.t.Helper()
	name := "run-" + c.who
	_, err := c.b.env.Core.Scripts.Create(coretest.System(), usher.ScriptCreate{Name: name, Source: `var x = 1;`,
		Triggers: []usher.Trigger{usher.TriggerUserManual, usher.TriggerRoleManual, usher.TriggerAppManual, usher.TriggerSystemManual}})
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.b.env.Core.Scripts.Create(coretest.System(), usher.ScriptCreate{Name: "ui-" + c.who, Kind: usher.ScriptClient, Source: `var y = 1;`}); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// call is do with an upload sent as multipart/form-data.
func (b *bundle) call(t *testing.T, method, path, jwt string, body any) *response {
	t.Helper()
	up, ok := body.(upload)
	if !ok {
		return b.do(t, method, path, jwt, body)
	}
	return b.send(t, method, path, string(up.data), func(r *http.Request) {
		r.Header.Set("Content-Type", up.contentType)
		if jwt != "" {
			r.Header.Set("Authorization", "Bearer "+jwt)
		}
	})
}

// message is the message of Corteza's error envelope; "" for a success,
// which may be no JSON at all (a script bundle).
func (r *response) message() string {
	var out struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &out) != nil || out.Error == nil {
		return ""
	}
	return out.Error.Message
}
