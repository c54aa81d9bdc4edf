package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"usher"
)

// TestWriteJSONPages: the pages' elements make one array between the
// texts given, each page written before the next is read; a first page's
// error is the handler's to answer, with nothing written; a later one's
// cuts the answer short.
func TestWriteJSONPages(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	r := httptest.NewRequest("GET", "/", nil)
	for _, tt := range []struct {
		name  string
		pages [][]int
		want  string
	}{
		{"none", [][]int{{}}, `{"items":[]}`},
		{"one", [][]int{{1, 2}}, "{\"items\":[1\n,2\n]}"},
		{"three, one of them empty", [][]int{{1}, {}, {2, 3}}, "{\"items\":[1\n,2\n,3\n]}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			i := 0
			err := WriteJSONPages(w, r, log, `{"items":[`, "]}", func() ([]int, bool, error) {
				if i > 0 && w.Body.Len() == 0 && len(tt.pages[i-1]) > 0 {
					t.Errorf("page %d read before page %d was written", i, i-1)
				}
				i++
				return tt.pages[i-1], i < len(tt.pages), nil
			})
			if err != nil || w.Code != http.StatusOK || w.Body.String() != tt.want || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%v, %d %q (%s), want 200 %q", err, w.Code, w.Body, w.Header().Get("Content-Type"), tt.want)
			}
		})
	}
	failed := errors.New("the store failed")
	w := httptest.NewRecorder()
	if err := WriteJSONPages(w, r, log, "[", "]", func() ([]int, bool, error) { return nil, false, failed }); err != failed || w.Body.Len() != 0 {
		t.Errorf("a first page's error: %v, %q written", err, w.Body)
	}
	defer func() {
		if v := recover(); v != http.ErrAbortHandler || w.Body.String() != "[1\n" {
			t.Errorf("a later page's error: recovered %v with %q written, want ErrAbortHandler after the first page", v, w.Body)
		}
	}()
	first := true
	w = httptest.NewRecorder()
	WriteJSONPages(w, r, log, "[", "]", func() ([]int, bool, error) {
		if first {
			first = false
			return []int{1}, true, nil
		}
		return nil, false, failed
	})
	t.Error("a later page's error was answered")
}

// TestWriteJSONPagesClientGone: a later page's error because the client
// has gone (its request's context ended) cuts the answer short without
// logging a failed request.
func TestWriteJSONPagesClientGone(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	defer func() {
		if v := recover(); v != http.ErrAbortHandler || logged.Len() != 0 {
			t.Errorf("recovered %v, logged %q; want ErrAbortHandler and nothing logged", v, logged.String())
		}
	}()
	first := true
	WriteJSONPages(httptest.NewRecorder(), r, log, "[", "]", func() ([]int, bool, error) {
		if first {
			first = false
			return []int{1}, true, nil
		}
		cancel()
		return nil, false, &usher.Error{Kind: usher.KindInternal, Message: "reading users", Err: context.Canceled}
	})
}

// TestLogErrorClientGone: an internal error that is the request's own
// context ending — the client left, during a list's first page or any
// other read — is no failed request to log; the same error while the
// client waits is.
func TestLogErrorClientGone(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
	failed := &usher.Error{Kind: usher.KindInternal, Message: "reading users", Err: context.Canceled}
	LogError(log, r, failed)
	if logged.Len() == 0 {
		t.Fatal("an internal error while the client waits was not logged")
	}
	logged.Reset()
	cancel()
	LogError(log, r, failed)
	if logged.Len() != 0 {
		t.Errorf("the client gone: logged %q", logged.String())
	}
}
