package pages

import (
	"context"
	"io"
	"net/http"
	"time"

	"usher"
	"usher/web"
)

// BulkService is what the console needs to import and export users: the
// same reading and writing of files, and the same calls of the core, as
// usher import and usher export.
type BulkService interface {
	// StartImport imports the file in the background as ctx's principal.
	StartImport(ctx context.Context, in io.Reader, format string) (*usher.ImportJob, error)
	// ImportJob returns an import ctx's principal started.
	ImportJob(ctx context.Context, id string) (*usher.ImportJob, error)
	// Export writes every live user to w.
	Export(ctx context.Context, w io.Writer, format string) (int, error)
}

// maxImport bounds an uploaded file; usher import takes bigger ones.
const maxImport = 64 << 20

func (h *Handler) importPage(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "admin_import", view{Title: "Import and export"})
}

// startImport takes an uploaded NDJSON or CSV file, starts its import and
// sends the browser to the import's progress page.
func (h *Handler) startImport(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	// Another site's post is refused before its file is read.
	if err := h.origin.Check(r); err != nil {
		return err
	}
	web.UploadBody(w, r, maxImport+64<<10)
	if err := r.ParseMultipartForm(8 << 20); web.IsTooLarge(err) {
		return &usher.Error{Kind: usher.KindTooLarge, Code: usher.CodeTooLarge, Message: "the file is larger than 64 MiB; use usher import"}
	}
	if err := h.checkForm(r); err != nil {
		return err
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return web.Invalid("file", usher.CodeRequired, "choose a file")
	}
	defer file.Close()
	job, err := h.Bulk.StartImport(r.Context(), file, r.PostForm.Get("format"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/import/"+job.ID, http.StatusSeeOther)
	return nil
}

// jobData is an import's progress page.
type jobData struct {
	Job *usher.ImportJob
	// Percent is how much of the file is read.
	Percent int
	Took    time.Duration
}

// importJob shows how far an import has come. While it runs, the page
// refreshes itself (usher.js fetches it; without script a refresh in a
// noscript element reloads it).
func (h *Handler) importJob(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminOnly(w, r)
	if p == nil {
		return err
	}
	job, err := h.Bulk.ImportJob(r.Context(), r.PathValue("job"))
	if err != nil {
		return err
	}
	d := jobData{Job: job, Percent: 100}
	if job.Size > 0 {
		d.Percent = int(job.Read * 100 / job.Size)
	}
	end := time.Now()
	if job.Finished != nil {
		end = *job.Finished
	}
	d.Took = end.Sub(job.Started).Round(time.Millisecond)
	v := view{Title: "Import", Data: d}
	if job.Finished == nil {
		v.Refresh = 2
	}
	return h.render(w, r, http.StatusOK, "admin_import_job", v)
}

// export streams every live user as an NDJSON or CSV download. It is a
// form's post: the file holds password hashes, and another site's link
// must not start one.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) error {
	p, err := h.adminForm(w, r)
	if p == nil {
		return err
	}
	format := r.PostForm.Get("format")
	if format != "ndjson" && format != "csv" {
		return web.Invalid("format", usher.CodeInvalidValue, "must be ndjson or csv")
	}
	ctype := map[string]string{"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}[format]
	hw := &headerWriter{w: w, header: func() {
		setHeaders(w)
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Disposition", `attachment; filename="usher-users.`+format+`"`)
	}}
	if _, err := h.Bulk.Export(r.Context(), hw, format); err != nil {
		if hw.started {
			// Half a file is sent: the connection is cut, so that the
			// download fails rather than look complete.
			web.LogError(h.Log, r, err)
			panic(http.ErrAbortHandler)
		}
		return err
	}
	if !hw.started {
		hw.header()
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// headerWriter sets a download's headers at its first byte, so that an
// export the core refuses before writing anything gets the error page.
type headerWriter struct {
	w       http.ResponseWriter
	header  func()
	started bool
}

func (hw *headerWriter) Write(b []byte) (int, error) {
	if !hw.started {
		hw.started = true
		hw.header()
	}
	return hw.w.Write(b)
}
