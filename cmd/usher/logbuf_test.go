package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLineBufferWritesTogether: lines wait until a record at warn or
// above, which is written at once with them in one write, or until
// Close, and the interval writes what waits without either.
func TestLineBufferWritesTogether(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	buf := newLineBuffer(out, time.Hour)
	log := slog.New(flushOnWarn{slog.NewJSONHandler(buf, nil), buf}).With("app", "usher")
	for range 3 {
		log.Info("request")
	}
	if out.Writes() != 0 || out.String() != "" {
		t.Fatalf("info lines written before their time: %d writes, %q", out.Writes(), out.String())
	}
	log.Warn("slow")
	if got := strings.Count(out.String(), "\n"); got != 4 || out.Writes() != 1 {
		t.Fatalf("after a warning: %d lines in %d writes, want 4 in 1:\n%s", got, out.Writes(), out)
	}
	log.WithGroup("g").Info("request")
	log.Error("failed")
	log.Info("request")
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), "\n"); got != 7 || out.Writes() != 3 {
		t.Fatalf("after Close: %d lines in %d writes, want 7 in 3:\n%s", got, out.Writes(), out)
	}
	for i, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, "}") || !strings.Contains(line, `"app":"usher"`) {
			t.Errorf("line %d is not a whole record: %q", i, line)
		}
	}

	ticking := &syncBuffer{}
	buf = newLineBuffer(ticking, 10*time.Millisecond)
	defer buf.Close()
	if _, err := io.WriteString(buf, "line\n"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ticking.String() != "line\n"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the interval wrote nothing: %q", ticking.String())
		}
	}
}

// failingOnce fails its first write, as a disk full for a moment does,
// and takes every later one.
type failingOnce struct {
	syncBuffer
	failed bool
}

func (w *failingOnce) Write(p []byte) (int, error) {
	w.mu.Lock()
	failed := w.failed
	w.failed = true
	w.mu.Unlock()
	if !failed {
		return 0, syscall.ENOSPC
	}
	return w.syncBuffer.Write(p)
}

// TestLineBufferOutlivesAFailedWrite: a write that fails loses the lines
// it held and no more; the lines after it are written, as they are with
// no buffer. (bufio.Writer, which the buffer first used, keeps its first
// error and wrote nothing ever after.)
func TestLineBufferOutlivesAFailedWrite(t *testing.T) {
	t.Parallel()
	out := &failingOnce{}
	buf := newLineBuffer(out, time.Hour)
	log := slog.New(flushOnWarn{slog.NewJSONHandler(buf, nil), buf})
	log.Info("first")
	log.Error("second") // written with the first, and lost with it
	log.Error("third")
	log.Info("fourth")
	if err := buf.Close(); err != nil {
		t.Fatalf("Close after the lines that followed the failure: %v", err)
	}
	got := out.String()
	if strings.Contains(got, `"first"`) || strings.Contains(got, `"second"`) {
		t.Errorf("lines of the failed write came back: %q", got)
	}
	if third, fourth := strings.Index(got, `"third"`), strings.Index(got, `"fourth"`); third < 0 || fourth < third {
		t.Errorf("the lines after the failed write are missing or out of order: %q", got)
	}
}

// TestLineBufferLongLine: a line longer than the buffer is written whole,
// after the lines that waited before it and before those after it.
func TestLineBufferLongLine(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	buf := newLineBuffer(out, time.Hour)
	long := strings.Repeat("x", 2*logBufferSize) + "\n"
	for _, line := range []string{"before\n", long, "after\n"} {
		if n, err := io.WriteString(buf, line); n != len(line) || err != nil {
			t.Fatalf("Write of %d bytes: %d, %v", len(line), n, err)
		}
	}
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "before\n"+long+"after\n"; got != want {
		t.Errorf("wrote %d bytes (%.20q…), want the %d of the three lines in order", len(got), got, len(want))
	}
}

// TestServeLogsTogether: serve's access log waits in memory (--log-flush)
// and is whole when serve stops; its start-up lines are written once it
// listens, whatever the interval; at the default interval a request's
// line is written without a stop.
func TestServeLogsTogether(t *testing.T) {
	t.Parallel()
	requests := func(log string) int { return strings.Count(log, `"msg":"request"`) }
	for _, tc := range []struct {
		flush string
		stop  bool // the lines are looked for after serve stops
	}{
		{flush: "1h", stop: true},
		{flush: "100ms"},
	} {
		t.Run(tc.flush, func(t *testing.T) {
			t.Parallel()
			logs := &syncBuffer{}
			addr, stop := startServe(t, logs, nil, filepath.Join(t.TempDir(), "usher.db"), "--log-flush", tc.flush)
			for range 5 {
				resp, err := http.Get("http://" + addr + "/v1/me")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("GET /v1/me without a credential: %d", resp.StatusCode)
				}
			}
			if !strings.Contains(logs.String(), `"msg":"listening"`) {
				t.Fatalf("serve listens and has not said so:\n%s", logs)
			}
			if tc.stop {
				if n := requests(logs.String()); n != 0 {
					t.Fatalf("%d request lines written within --log-flush 1h:\n%s", n, logs)
				}
				if err := stop(); err != nil {
					t.Fatal(err)
				}
			}
			for deadline := time.Now().Add(10 * time.Second); requests(logs.String()) != 5; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d request lines of 5:\n%s", requests(logs.String()), logs)
				}
			}
			if !strings.Contains(logs.String(), `"route":"GET /v1/me","status":401`) {
				t.Errorf("the request lines do not name the route and status:\n%s", logs)
			}
		})
	}
}

// BenchmarkLogLine writes a request's log line to a file and to a pipe,
// as serve's standard error is, one write a line and through a
// lineBuffer: the difference is the system call --log-flush saves each
// request.
func BenchmarkLogLine(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "usher.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer pw.Close()
	go io.Copy(io.Discard, pr)
	for _, c := range []struct {
		name     string
		w        io.Writer
		buffered bool
	}{{"file", f, false}, {"file_buffered", f, true}, {"pipe", pw, false}, {"pipe_buffered", pw, true}} {
		b.Run(c.name, func(b *testing.B) {
			var buf *lineBuffer
			w := c.w
			if c.buffered {
				buf = newLineBuffer(w, 100*time.Millisecond)
				w = buf
			}
			h := slog.NewJSONHandler(w, nil)
			ctx := context.Background()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				r.AddAttrs(slog.String("method", "GET"), slog.String("route", "GET /v1/me"), slog.Int("status", 200),
					slog.Int("bytes", 772), slog.Float64("duration_ms", 0.412), slog.String("client", "127.0.0.1"),
					slog.String("request_id", "d4fj3k2l1m0n9b8v7c6x"))
				if err := h.Handle(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			if err := buf.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
