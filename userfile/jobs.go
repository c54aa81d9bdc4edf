package userfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"usher"
)

// maxFailures bounds the failed lines a job keeps to show.
const maxFailures = 100

// keepJobs bounds the jobs kept; the oldest finished ones go first.
const keepJobs = 20

// Jobs runs imports in the background, for the console: the upload is
// kept in a temporary file, imported as usher import does (Import), and
// its progress is kept in memory, where the replica that runs it can show
// it to whoever started it.
type Jobs struct {
	Users Users
	Log   *slog.Logger
	// Batch is the users per transaction; when 0, Import's default.
	Batch int

	mu   sync.Mutex
	jobs map[string]*usher.ImportJob
	// order is the jobs' ids, oldest first.
	order []string
}

// StartImport copies in to a temporary file and imports it in the
// background as ctx's principal, who must be one the core lets import:
// an empty batch is tried first, so that a refusal is this call's error.
//
// Errors: Unauthenticated, Forbidden, Invalid (an unknown format), and
// those of reading in.
func (j *Jobs) StartImport(ctx context.Context, in io.Reader, format string) (*usher.ImportJob, error) {
	p := usher.PrincipalFrom(ctx)
	if p.Anonymous() {
		return nil, &usher.Error{Kind: usher.KindUnauthenticated, Code: usher.CodeUnauthenticated, Message: "sign in first"}
	}
	f, err := FormatFor(format, "")
	if err != nil {
		return nil, usher.FieldErrors(usher.FieldError{Field: "format", Code: usher.CodeInvalidValue, Message: "must be ndjson or csv"})
	}
	if _, err := j.Users.Import(ctx, nil); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "usher-import-*")
	if err != nil {
		return nil, err
	}
	size, err := io.Copy(tmp, in)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	job := &usher.ImportJob{ID: hex.EncodeToString(id[:]), UserID: p.UserID(), Format: string(f), Size: size, Started: time.Now()}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.add(job)
	go j.run(context.WithoutCancel(ctx), job.ID, tmp, f)
	// The import may count what it reads into job at once: it is copied
	// under the lock, as every reader does.
	return j.copy(job), nil
}

// ImportJob returns the job with the id, if ctx's principal started it.
//
// Errors: NotFound.
func (j *Jobs) ImportJob(ctx context.Context, id string) (*usher.ImportJob, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.jobs[id]
	if !ok || job.UserID != usher.PrincipalFrom(ctx).UserID() {
		return nil, &usher.Error{Kind: usher.KindNotFound, Code: usher.CodeNotFound, Message: "no such import"}
	}
	return j.copy(job), nil
}

// Export writes every live user to w in the format.
//
// Errors: Unauthenticated, Forbidden (exports are for administrators),
// Invalid (an unknown format), and those of writing to w.
func (j *Jobs) Export(ctx context.Context, w io.Writer, format string) (int, error) {
	f, err := FormatFor(format, "")
	if err != nil {
		return 0, usher.FieldErrors(usher.FieldError{Field: "format", Code: usher.CodeInvalidValue, Message: "must be ndjson or csv"})
	}
	return Export(ctx, j.Users, w, f)
}

// add keeps a new job, letting the oldest finished one go past keepJobs;
// j.mu is held.
func (j *Jobs) add(job *usher.ImportJob) {
	if j.jobs == nil {
		j.jobs = map[string]*usher.ImportJob{}
	}
	for i := 0; len(j.order) >= keepJobs && i < len(j.order); i++ {
		if old := j.jobs[j.order[i]]; old.Finished != nil {
			delete(j.jobs, old.ID)
			j.order = append(j.order[:i], j.order[i+1:]...)
			i--
		}
	}
	j.jobs[job.ID] = job
	j.order = append(j.order, job.ID)
}

// copy returns a copy of job to hand out; j.mu is held.
func (j *Jobs) copy(job *usher.ImportJob) *usher.ImportJob {
	c := *job
	c.Failures = append([]usher.ImportFailure(nil), job.Failures...)
	return &c
}

// update changes the job with the id under the lock.
func (j *Jobs) update(id string, fn func(*usher.ImportJob)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	fn(j.jobs[id])
}

// counter counts the bytes read through it.
type counter struct {
	r  io.Reader
	fn func(n int)
}

func (c counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.fn(n)
	return n, err
}

// run imports the file and removes it.
func (j *Jobs) run(ctx context.Context, id string, file *os.File, f Format) {
	defer os.Remove(file.Name())
	defer file.Close()
	in := counter{r: file, fn: func(n int) { j.update(id, func(job *usher.ImportJob) { job.Read += int64(n) }) }}
	fail := func(line int, err error) {
		j.update(id, func(job *usher.ImportJob) {
			job.Failed++
			if len(job.Failures) < maxFailures {
				job.Failures = append(job.Failures, usher.ImportFailure{Line: line, Message: message(err)})
			}
		})
	}
	progress := func(t Tally) {
		j.update(id, func(job *usher.ImportJob) {
			job.Created, job.Updated, job.Unchanged = t.Created, t.Updated, t.Unchanged
		})
	}
	t, err := Import(ctx, j.Users, in, f, j.Batch, fail, progress)
	if err != nil && j.Log != nil {
		j.Log.Error("import", "job", id, "err", err)
	}
	j.update(id, func(job *usher.ImportJob) {
		job.Created, job.Updated, job.Unchanged = t.Created, t.Updated, t.Unchanged
		now := time.Now()
		job.Finished = &now
		if err != nil {
			job.Err = message(err)
		}
	})
}

// message is what may be shown of an import's error: the core's message
// and its fields' problems, or what is wrong with the file.
func message(err error) string {
	var e *usher.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if e.Kind == usher.KindInternal {
		return "internal error"
	}
	msg := e.Message
	for _, f := range e.Fields[min(1, len(e.Fields)):] {
		msg += "; " + f.Field + ": " + f.Message
	}
	return msg
}
