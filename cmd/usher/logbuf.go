package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logBufferSize is how many bytes of log lines wait at most: a fuller
// buffer is written at once.
const logBufferSize = 64 << 10

// lineBuffer keeps log lines in memory and writes what it holds to its
// writer at most every interval, in one write: a server that logs each
// request would otherwise make a system call for every line, about a
// twentieth of its CPU on a request as cheap as GET /v1/me. Lines are
// whole when written, as each Write is one line of slog's handlers. A
// write that fails loses what it held, and no more: the next lines are
// written as before (a disk full for a moment silences the log for that
// moment, not for good).
type lineBuffer struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

// newLineBuffer starts writing to w what Write is given, every interval.
// Close writes the rest and stops.
func newLineBuffer(w io.Writer, interval time.Duration) *lineBuffer {
	b := &lineBuffer{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.Flush()
			case <-b.stop:
				return
			}
		}
	}()
	return b
}

// Write keeps p to be written with the lines before and after it. When
// the buffer cannot take it, what waits is written first, and a p larger
// than the buffer is written at once.
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	if len(b.buf)+len(p) > cap(b.buf) {
		err = b.flushLocked()
	}
	if len(p) > cap(b.buf) {
		if _, werr := b.w.Write(p); werr != nil {
			return 0, werr
		}
		return len(p), err
	}
	b.buf = append(b.buf, p...)
	return len(p), err
}

// Flush writes what waits. A nil buffer holds nothing.
func (b *lineBuffer) Flush() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// flushLocked writes what waits and empties the buffer, whether the
// write succeeded or not.
func (b *lineBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close stops the writing every interval and writes what waits.
func (b *lineBuffer) Close() error {
	if b == nil {
		return nil
	}
	close(b.stop)
	<-b.done
	return b.Flush()
}

// flushOnWarn is a handler whose records at warn or above are written at
// once, with every line before them, rather than at the buffer's next
// interval: a problem is in the log as soon as it is told, should the
// process end before the interval does.
type flushOnWarn struct {
	slog.Handler
	buf *lineBuffer
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{h.Handler.WithGroup(name), h.buf}
}
