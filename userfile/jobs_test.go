package userfile_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"usher"
	"usher/core/coretest"
	"usher/userfile"
)

// wait polls the job until it has finished.
func wait(t *testing.T, j *userfile.Jobs, ctx context.Context, id string) *usher.ImportJob {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		job, err := j.ImportJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if job.Finished != nil {
			return job
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the import did not finish")
	return nil
}

// TestJobsImport: a file imported in the background creates its users
// through the core, counts and keeps its failed lines, and is seen only by
// whoever started it; an export writes them back.
func TestJobsImport(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	plain := env.MustCreateUser(t, usher.UserCreate{Username: "plain", Email: "plain@example.com"})
	asAdmin := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: admin})
	asPlain := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: plain})
	j := &userfile.Jobs{Users: env.Core.Users, Batch: 2}
	file := `{"username":"ann","email":"ann@example.com"}
{"username":"ben","email":"ben@example.com"}
not json
{"username":"ann","email":"ann2@example.com"}
{"username":"cy","email":"cy@example.com","state":"frozen"}
{"username":"dee","email":"dee@example.com"}
`
	if _, err := j.StartImport(asPlain, strings.NewReader(file), "ndjson"); usher.AsError(err).Kind != usher.KindForbidden {
		t.Fatalf("a plain user's import: %v", err)
	}
	if _, err := j.StartImport(context.Background(), strings.NewReader(file), "ndjson"); usher.AsError(err).Kind != usher.KindUnauthenticated {
		t.Fatalf("an anonymous import: %v", err)
	}
	if _, err := j.StartImport(asAdmin, strings.NewReader(file), "xml"); usher.AsError(err).Kind != usher.KindUnprocessable {
		t.Fatalf("an unknown format: %v", err)
	}
	job, err := j.StartImport(asAdmin, strings.NewReader(file), "ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if job.Size != int64(len(file)) || job.UserID != admin.ID {
		t.Fatalf("the job: %+v", job)
	}
	if _, err := j.ImportJob(asPlain, job.ID); usher.AsError(err).Kind != usher.KindNotFound {
		t.Fatalf("another user's job: %v", err)
	}
	done := wait(t, j, asAdmin, job.ID)
	if done.Created != 3 || done.Failed != 3 || done.Err != "" || done.Read != done.Size {
		t.Fatalf("the finished job: %+v", done)
	}
	lines := []int{}
	for _, f := range done.Failures {
		lines = append(lines, f.Line)
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 4 || lines[2] != 5 {
		t.Fatalf("failed lines %v: %+v", lines, done.Failures)
	}
	if !strings.Contains(done.Failures[1].Message, "line 1 again") {
		t.Fatalf("the duplicate's message: %q", done.Failures[1].Message)
	}
	if _, err := env.Core.Users.Get(asAdmin, usher.UserKey{Username: "dee"}); err != nil {
		t.Fatalf("dee was not imported: %v", err)
	}

	var out bytes.Buffer
	if _, err := j.Export(asPlain, &out, "ndjson"); usher.AsError(err).Kind != usher.KindForbidden {
		t.Fatalf("a plain user's export: %v", err)
	}
	n, err := j.Export(asAdmin, &out, "csv")
	if err != nil || n != 5 || !strings.HasPrefix(out.String(), "username,") || !strings.Contains(out.String(), "dee@example.com") {
		t.Fatalf("export: %d, %v\n%s", n, err, out.String())
	}
}

// firstBatch is the core's users, telling when an import's first batch
// reaches them.
type firstBatch struct {
	userfile.Users
	first chan struct{}
	once  sync.Once
}

func (b *firstBatch) Import(ctx context.Context, batch []usher.ImportUser) ([]usher.ImportResult, error) {
	if len(batch) > 0 {
		b.once.Do(func() { close(b.first) })
	}
	return b.Users.Import(ctx, batch)
}

// TestStartImportHandsOutItsJobUnderTheLock replays what CI's race run of
// the console's import found (stop 58): StartImport copied the job it
// hands back without the lock, while the import it had just started
// counted the bytes it read into that job. The test reads the job only
// once the import has read its file, so that the race detector holds both
// accesses. Run with -race.
func TestStartImportHandsOutItsJobUnderTheLock(t *testing.T) {
	t.Parallel()
	env := coretest.New(t, coretest.Options{})
	admin := env.MustCreateUser(t, usher.UserCreate{Username: "root", Email: "root@example.com", Admin: true})
	ctx := usher.WithPrincipal(context.Background(), &usher.Principal{Kind: usher.PrincipalUser, User: admin})
	users := &firstBatch{Users: env.Core.Users, first: make(chan struct{})}
	j := &userfile.Jobs{Users: users}
	job, err := j.StartImport(ctx, strings.NewReader(`{"username":"ann","email":"ann@example.com"}`+"\n"), "ndjson")
	if err != nil {
		t.Fatal(err)
	}
	<-users.first
	if done := wait(t, j, ctx, job.ID); done.Created != 1 || done.Read != done.Size {
		t.Fatalf("the finished job: %+v", done)
	}
}
