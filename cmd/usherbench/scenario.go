package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// bench is what the scenarios run against: usher serving the filled
// database, the data in it, and the credentials to ask with.
type bench struct {
	cfg      config
	dir      string    // the run's directory: database, logs
	data     *dataset  // the generated users and search queries
	ids      []int64   // ids of the generated users in the database
	names    []string  // and their usernames
	token    string    // a personal token of the bench's administrator
	appToken string    // an application key of the administrator
	usher    *endpoint // usher serve
	cmd      *usherCmd // runs usher's commands: a second usher serve
	db       *database
	ro       *sql.DB // the database, read-only, for search_scan
	meBody   int     // bytes of GET /v1/me's answer, the ceiling's size
	// quietHash is the hash-bound limit timed at the run's start, before
	// the import, when nothing of the run uses the machine; nil when the
	// run has no login scenario.
	quietHash *hashBound
}

// scenario is one measured load. A new one — a face's, say — is one more
// entry in scenarios: a name, what the issue asks of it if anything, and
// the operation its workers repeat.
type scenario struct {
	name   string
	target *target
	run    func(ctx context.Context, b *bench) (*result, error)
}

// target is what a scenario is asked to reach. The bench reports it; it
// asserts nothing.
type target struct {
	text  string
	users int // the user count it is set for; 0 when any
	conc  int // the concurrency it is set for; 0 when any
	// met says whether r meets it, given every result of the run; known
	// is false when a result it compares with is missing.
	met func(r *result, all map[string]*result) (met, known bool)
}

// scenarios lists every scenario, in the order they run: the ceiling
// first, then the reads, on the database as the import left it, then the
// writes.
func scenarios() []scenario {
	const million = 1_000_000
	admin := func(b *bench, pick func(*rand.Rand) string) op {
		return b.usher.get("Authorization", "Bearer "+b.token, pick)
	}
	return []scenario{
		{name: "ceiling", run: func(ctx context.Context, b *bench) (*result, error) { return b.ceiling(ctx) }},
		{name: "me",
			target: &target{text: "≥ 0.6×ceiling, p99 ≤ 5 ms", conc: 32,
				met: ratioAtLeast(0.6, func(r *result) bool { return r.hist.quantile(0.99) <= 5*time.Millisecond })},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, admin(b, fixed("/v1/me")))
			}},
		{name: "user_get", target: &target{text: "≥ 0.5×ceiling", met: ratioAtLeast(0.5)},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, admin(b, b.userPath("/v1/users/")))
			}},
		{name: "user_by_name", target: &target{text: "≥ 0.5×ceiling", met: ratioAtLeast(0.5)},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, admin(b, func(r *rand.Rand) string {
					return "/v1/users/" + url.PathEscape(b.names[r.IntN(len(b.names))])
				}))
			}},
		{name: "settings_read",
			run: func(ctx context.Context, b *bench) (*result, error) {
				// No credential: a sign-in page reads it before anyone logs in.
				return b.load(ctx, b.usher.get("", "", fixed("/v1/settings/current")))
			}},
		{name: "gitlab_user_get", target: &target{text: "≥ 0.5×ceiling", met: ratioAtLeast(0.5)},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, b.usher.get("PRIVATE-TOKEN", b.token, b.userPath("/api/v4/users/")))
			}},
		{name: "pterodactyl_list", target: &target{text: "≥ 0.3×ceiling", met: ratioAtLeast(0.3)},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, b.usher.get("Authorization", "Bearer "+b.appToken, fixed("/api/application/users")))
			}},
		{name: "corteza_user_list",
			run: func(ctx context.Context, b *bench) (*result, error) {
				// Corteza's user list, a page of 20 with its count.
				return b.cortezaLoad(ctx, fixed("/api/system/users/?limit=20"))
			}},
		{name: "corteza_user_get",
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.cortezaLoad(ctx, b.userPath("/api/system/users/"))
			}},
		{name: "users_total",
			run: func(ctx context.Context, b *bench) (*result, error) {
				// The first page with every user counted: exact up to
				// 10,000, then a count kept for a minute.
				return b.load(ctx, admin(b, fixed("/v1/users?limit=20&total=true")))
			}},
		{name: "users_page",
			run: func(ctx context.Context, b *bench) (*result, error) {
				// A random numbered page of 20 up to the deepest the core
				// reads (row 100,000), with its total.
				return b.load(ctx, admin(b, func(r *rand.Rand) string {
					return "/v1/users?limit=20&page=" + strconv.Itoa(1+r.IntN(5000))
				}))
			}},
		{name: "search",
			target: &target{text: "p50 ≤ 5 ms, p99 ≤ 25 ms, ≥ 20× search_scan", users: million, met: searchTarget},
			run: func(ctx context.Context, b *bench) (*result, error) {
				return b.load(ctx, admin(b, func(r *rand.Rand) string {
					return "/v1/users?limit=20&q=" + url.QueryEscape(b.data.queries[r.IntN(len(b.data.queries))])
				}))
			}},
		{name: "console_users",
			run: func(ctx context.Context, b *bench) (*result, error) {
				// The console's user list: a page of 50, rendered as
				// HTML; the console counts nothing (see docs/ui.md).
				return b.consoleLoad(ctx, fixed("/admin/users"))
			}},
		{name: "console_search",
			target: &target{text: "p99 ≤ 50 ms", users: million,
				met: func(r *result, _ map[string]*result) (bool, bool) {
					return r.hist.quantile(0.99) <= 50*time.Millisecond, true
				}},
			run: func(ctx context.Context, b *bench) (*result, error) {
				// What the console's search asks as an administrator types.
				return b.consoleLoad(ctx, func(r *rand.Rand) string {
					return "/admin/users?q=" + url.QueryEscape(b.data.queries[r.IntN(len(b.data.queries))])
				})
			}},
		{name: "search_scan",
			run: func(ctx context.Context, b *bench) (*result, error) {
				s := b.scanSpec()
				r, err := drive(ctx, s, scanOp(b.ro, b.db.kind, b.data.queries))
				if r != nil {
					r.note = fmt.Sprintf("the database alone, no HTTP; %d workers (one a core: a scan's rate is "+
						"bound by the cores, not by how many ask), a %s window, a %s cut-off", s.workers, s.window, s.cutoff)
				}
				return r, err
			}},
		{name: "attachment_download",
			run: func(ctx context.Context, b *bench) (*result, error) {
				path, err := b.uploadAttachment(ctx)
				if err != nil {
					return nil, err
				}
				r, err := b.load(ctx, admin(b, fixed(path)))
				if r != nil {
					r.note = "one 64×64 PNG's original, from the blob store"
				}
				return r, err
			}},
		{name: "create", run: func(ctx context.Context, b *bench) (*result, error) { return b.create(ctx) }},
		{name: "login",
			target: &target{text: "≥ 0.9× the hash-bound limit", met: func(r *result, _ map[string]*result) (bool, bool) {
				if r.hash == nil || r.hash.perSecond() == 0 {
					return false, false
				}
				return r.rps() >= 0.9*r.hash.perSecond(), true
			}},
			run: func(ctx context.Context, b *bench) (*result, error) {
				// Timed before the load, with usher idle, and at the
				// run's start: the limit is what the machine's cores can
				// hash, not what is left of them beside a flood or while
				// the database still writes out the import.
				h := measureHashBound()
				if b.quietHash != nil {
					h = h.fastest(*b.quietHash)
				}
				r, err := b.load(ctx, b.login())
				if r != nil {
					r.hash = &h
					r.note = fmt.Sprintf("%s; these log-ins reached %.2f× the limit and %.2f× the cores hashing at once", h, r.rps()/h.perSecond(), r.rps()/h.together)
				}
				return r, err
			}},
		{name: "login_script", run: func(ctx context.Context, b *bench) (*result, error) { return b.loginWithScript(ctx) }},
		{name: "me_during_login_flood",
			target: &target{text: "p99 ≤ 20 ms", met: func(r *result, _ map[string]*result) (bool, bool) {
				return r.hist.quantile(0.99) <= 20*time.Millisecond, true
			}},
			run: func(ctx context.Context, b *bench) (*result, error) { return b.meDuringLoginFlood(ctx) }},
		{name: "replicas", run: func(ctx context.Context, b *bench) (*result, error) { return b.replicas(ctx) }},
	}
}

// ratioAtLeast is a target on a scenario's throughput against the
// ceiling's, and on whatever else extra checks.
func ratioAtLeast(x float64, extra ...func(r *result) bool) func(*result, map[string]*result) (bool, bool) {
	return func(r *result, all map[string]*result) (bool, bool) {
		c, ok := all["ceiling"]
		if !ok || c.rps() == 0 {
			return false, false
		}
		met := r.rps()/c.rps() >= x
		for _, f := range extra {
			met = met && f(r)
		}
		return met, true
	}
}

// searchTarget: p50 ≤ 5 ms, p99 ≤ 25 ms, and at least 20 times the
// throughput of the scan at the same concurrency.
func searchTarget(r *result, all map[string]*result) (bool, bool) {
	scan, ok := all["search_scan"]
	if !ok || scan.rps() == 0 {
		return false, false
	}
	return r.hist.quantile(0.5) <= 5*time.Millisecond && r.hist.quantile(0.99) <= 25*time.Millisecond &&
		r.rps() >= 20*scan.rps(), true
}

// load drives o with the run's concurrency, warm-up and duration.
func (b *bench) load(ctx context.Context, o op) (*result, error) {
	return drive(ctx, b.spec(b.cfg.conc, 0), o)
}

// spec is the run's load with n workers; stream tells apart loads that
// run side by side, so that they draw different random sequences.
func (b *bench) spec(n int, stream uint64) loadSpec {
	return loadSpec{workers: n, warmup: b.cfg.warmup, window: b.cfg.dur, seed: b.cfg.seed + stream}
}

// scanSpec is search_scan's load. At a million users one scan reads up to
// every row, seconds of a core; 32 workers on two cores would each wait
// for 16 of them, past the cut-off, and the scenario would fail with no
// rate for search's "≥ 20× search_scan" to compare with. Its rate is what
// the cores can scan, so one worker a core measures it as well as 32
// would, and a longer window and cut-off let enough scans finish to count.
func (b *bench) scanSpec() loadSpec {
	s := b.spec(min(b.cfg.conc, runtime.NumCPU()), 0)
	s.window = max(s.window, 10*time.Second)
	s.cutoff = time.Minute
	return s
}

// fixed picks the same path every time.
func fixed(path string) func(*rand.Rand) string {
	return func(*rand.Rand) string { return path }
}

// userPath picks prefix + the id of a random user.
func (b *bench) userPath(prefix string) func(*rand.Rand) string {
	return func(r *rand.Rand) string { return prefix + strconv.FormatInt(b.ids[r.IntN(len(b.ids))], 10) }
}

// ceiling runs the bare server in a process of its own — this program, run
// with -ceiling-body — and drives GET /v1/me's request at it.
func (b *bench) ceiling(ctx context.Context) (*result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the bench's own binary: %w", err)
	}
	p, err := startProc(ctx, "ceiling", filepath.Join(b.dir, "ceiling.log"), nil, exe, "-ceiling-body", strconv.Itoa(b.meBody))
	if err != nil {
		return nil, err
	}
	defer p.stop()
	ep := newEndpoint(p.addr, b.cfg.conc)
	defer ep.close()
	return b.load(ctx, ep.get("Authorization", "Bearer "+b.token, fixed("/v1/me")))
}

// create makes users without a password, each with a new name.
func (b *bench) create(ctx context.Context) (*result, error) {
	var n atomic.Int64
	return b.load(ctx, b.usher.op(func(*rand.Rand) call {
		i := n.Add(1)
		body, _ := json.Marshal(map[string]string{ // strings always marshal
			"username": fmt.Sprintf("new.user%d", i),
			"email":    fmt.Sprintf("new.user%d@bench.example", i),
			"name":     fmt.Sprintf("New User %d", i),
		})
		return call{method: http.MethodPost, path: "/v1/users", auth: [2]string{"Authorization", "Bearer " + b.token},
			body: body, want: http.StatusCreated}
	}))
}

// login logs in, by username, as a random user whose password is
// benchPassword hashed with argon2id.
func (b *bench) login() op {
	return b.usher.op(func(r *rand.Rand) call {
		body, _ := json.Marshal(map[string]string{
			"login":    b.data.logins[r.IntN(len(b.data.logins))],
			"password": benchPassword,
		})
		return call{method: http.MethodPost, path: "/v1/auth/login", body: body}
	})
}

// meDuringLoginFlood measures GET /v1/me while -flood other workers log in
// as fast as usher lets them. The log-ins' result rides along as the
// side result: their 429s are usher shedding load, not me's errors.
func (b *bench) meDuringLoginFlood(ctx context.Context) (*result, error) {
	var flood *result
	var floodErr error
	var wg sync.WaitGroup
	wg.Go(func() { flood, floodErr = drive(ctx, b.spec(b.cfg.flood, 1), b.login()) })
	me, err := drive(ctx, b.spec(b.cfg.conc, 0), b.usher.get("Authorization", "Bearer "+b.token, fixed("/v1/me")))
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if floodErr != nil {
		return nil, fmt.Errorf("the log-in flood: %w", floodErr)
	}
	me.side = flood
	me.note = fmt.Sprintf("beside %d log-in workers: %.0f log-ins/s, p99 %s ms, %d log-ins refused or failed",
		b.cfg.flood, flood.rps(), ms(flood.hist.quantile(0.99)), flood.errors)
	return me, nil
}

// uploadAttachment uploads a small image as the administrator and returns
// the path of its original.
func (b *bench) uploadAttachment(ctx context.Context) (string, error) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range 64 {
		img.Set(i, i, color.RGBA{R: 200, A: 255})
	}
	var file bytes.Buffer
	if err := png.Encode(&file, img); err != nil {
		return "", err
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("file", "bench.png")
	if err != nil {
		return "", err
	}
	if _, err := part.Write(file.Bytes()); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.usher.base+"/v1/attachments", &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+b.token)
	res, err := b.usher.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload an attachment: %w", err)
	}
	defer res.Body.Close()
	var out struct {
		URL string `json:"url"`
	}
	if res.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("upload an attachment: %w", statusError(res.StatusCode))
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.URL == "" {
		return "", fmt.Errorf("upload an attachment: the answer has no url (%v)", err)
	}
	return out.URL, nil
}
