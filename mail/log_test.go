package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"usher/mail"
)

func TestLogSend(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr := mail.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	m := newMail()

	if err := tr.Send(t.Context(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("log is not one JSON record: %v\n%s", err, buf.Bytes())
	}
	want := map[string]any{
		"level":   "INFO",
		"id":      float64(m.ID),
		"to":      m.To,
		"subject": m.Subject,
		"kind":    m.Kind,
		"body":    m.Body,
	}
	for key, value := range want {
		if got[key] != value {
			t.Errorf("log %s = %#v, want %#v", key, got[key], value)
		}
	}
}

func TestLogSendCanceled(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tr := mail.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if err := tr.Send(ctx, newMail()); !errors.Is(err, context.Canceled) {
		t.Errorf("Send error = %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Errorf("logged %q for a canceled send, want nothing", buf.Bytes())
	}
}
