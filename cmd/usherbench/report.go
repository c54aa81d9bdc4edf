package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of the lines that are not load scenarios, all set for
// 1,000,000 users.
const (
	importTarget = "≥ 50,000 users/s (SQLite and PostgreSQL)"
	readyTarget  = "≤ 500 ms"
	rssTarget    = "≤ 40 MB idle, ≤ 200 MB peak"
	targetUsers  = 1_000_000
)

// report is everything a run measured, in scenario order.
type report struct {
	cfg       config
	dbKind    string
	cpus      int
	goVersion string
	meBody    int
	ran       []scenario
	results   map[string]*result
	failures  map[string]string // scenarios that could not run, and why
	fill      *fillResult
	ready     time.Duration // exec to the first 200 of /readyz, on the filled database
	startup   string        // what usher said its start-up took
	rssIdle   int64         // KiB, right after /readyz
	rssPeak   int64         // KiB, the high-water mark at the end
	serveArgs []string      // flags the bench gave usher serve beyond the defaults
	notes     []string
	total     time.Duration
}

func newReport(cfg config, dbKind string) *report {
	rp := &report{cfg: cfg, dbKind: dbKind, cpus: runtime.NumCPU(), goVersion: runtime.Version(),
		results: map[string]*result{}, failures: map[string]string{}}
	rp.serveArgs, rp.notes = serveArgs(cfg)
	return rp
}

// ratio is r's throughput against the ceiling's, when there is one.
func (rp *report) ratio(r *result) *float64 {
	c, ok := rp.results["ceiling"]
	if !ok || c.rps() == 0 {
		return nil
	}
	return ptr(round(r.rps() / c.rps()))
}

// verdict says whether t is met: nil when it cannot be told.
func (rp *report) verdict(t *target, r *result) *bool {
	if t == nil || t.met == nil {
		return nil
	}
	met, known := t.met(r, rp.results)
	if !known {
		return nil
	}
	return &met
}

// importMet says whether the import met its target, on either backend.
func (rp *report) importMet() *bool {
	return ptr(rp.fill.failed == 0 && rp.fill.usersPerSecond() >= 50_000)
}

func (rp *report) readyMet() *bool { return ptr(rp.ready <= 500*time.Millisecond) }

func (rp *report) rssMet() *bool { return ptr(rp.rssIdle <= 40<<10 && rp.rssPeak <= 200<<10) }

// users is how many generated users the database held.
func (rp *report) users() int {
	if rp.fill == nil {
		return 0
	}
	return rp.fill.users
}

// row is one line of -json output.
type row struct {
	Scenario  string            `json:"scenario,omitempty"` // empty only in login_flood
	Requests  *uint64           `json:"requests,omitempty"`
	Errors    *uint64           `json:"errors,omitempty"`
	RPS       *float64          `json:"rps,omitempty"`
	P50       *float64          `json:"p50_ms,omitempty"`
	P99       *float64          `json:"p99_ms,omitempty"`
	Ratio     *float64          `json:"ratio_to_ceiling,omitempty"`
	RSS       *float64          `json:"rss_mb,omitempty"`
	ErrorKind map[string]uint64 `json:"errors_by_kind,omitempty"`
	Side      *row              `json:"login_flood,omitempty"`
	HashMS    *float64          `json:"hash_ms,omitempty"`             // login: one argon2id hash
	HashBound *float64          `json:"hash_bound_rps,omitempty"`      // login: cores ÷ hash_ms
	HashesAll *float64          `json:"hashes_together_rps,omitempty"` // login: hashes/s with every core hashing

	// The lines that are not load scenarios.
	Users      *int     `json:"users,omitempty"`
	Seconds    *float64 `json:"seconds,omitempty"`
	UsersPerS  *float64 `json:"users_per_s,omitempty"`
	ReadyMS    *float64 `json:"ready_ms,omitempty"`
	RSSIdleMB  *float64 `json:"rss_idle_mb,omitempty"`
	RSSPeakMB  *float64 `json:"rss_peak_mb,omitempty"`
	Database   string   `json:"database,omitempty"`
	Conc       *int     `json:"concurrency,omitempty"`
	DurationS  *float64 `json:"duration_s,omitempty"`
	CPUs       *int     `json:"cpus,omitempty"`
	GoVersion  string   `json:"go,omitempty"`
	MeBody     *int     `json:"me_body_bytes,omitempty"`
	ServeFlags []string `json:"serve_flags,omitempty"`
	TotalS     *float64 `json:"total_s,omitempty"`

	Target      string `json:"target,omitempty"`
	TargetUsers int    `json:"target_users,omitempty"`
	Met         *bool  `json:"met,omitempty"`
	Note        string `json:"note,omitempty"`
	Failed      string `json:"failed,omitempty"`
}

// loadRow is the JSON of one load's result.
func loadRow(name string, r *result) row {
	x := row{Scenario: name, Requests: ptr(r.requests), Errors: ptr(r.errors), RPS: ptr(round(r.rps())),
		P50: ptr(msf(r.hist.quantile(0.5))), P99: ptr(msf(r.hist.quantile(0.99))), Note: r.note}
	if len(r.errs) > 0 {
		x.ErrorKind = r.errs
	}
	if r.hash != nil {
		x.HashMS, x.HashBound = ptr(msf(r.hash.one)), ptr(round(r.hash.perSecond()))
		x.HashesAll = ptr(round(r.hash.together))
	}
	return x
}

// rows is the report as -json prints it: a line per scenario, then the
// import, start-up, memory and the run itself.
func (rp *report) rows() []row {
	var out []row
	for _, s := range rp.ran {
		if why, ok := rp.failures[s.name]; ok {
			out = append(out, row{Scenario: s.name, Failed: why})
			continue
		}
		r := rp.results[s.name]
		if r.na {
			out = append(out, row{Scenario: s.name, Note: "n/a: " + r.note})
			continue
		}
		x := loadRow(s.name, r)
		x.Ratio = rp.ratio(r)
		if r.rssKB > 0 {
			x.RSS = ptr(mb(r.rssKB))
		}
		if r.side != nil {
			side := loadRow("", r.side)
			x.Side = &side
		}
		if s.target != nil {
			x.Target, x.TargetUsers, x.Met = s.target.text, s.target.users, rp.verdict(s.target, r)
		}
		out = append(out, x)
	}
	if f := rp.fill; f != nil {
		x := row{Scenario: "import", Users: ptr(f.users), Seconds: ptr(round(f.elapsed.Seconds())),
			UsersPerS: ptr(round(f.usersPerSecond())), Note: f.summary, Errors: ptr(uint64(f.failed)),
			Target: importTarget, Met: rp.importMet()}
		out = append(out, x)
	}
	out = append(out,
		row{Scenario: "start_to_readyz", ReadyMS: ptr(msf(rp.ready)), Users: ptr(rp.users()),
			Note: "usher said start-up took " + rp.startup, Target: readyTarget, TargetUsers: targetUsers, Met: rp.readyMet()},
		row{Scenario: "rss", RSSIdleMB: ptr(mb(rp.rssIdle)), RSSPeakMB: ptr(mb(rp.rssPeak)), Users: ptr(rp.users()),
			Target: rssTarget, TargetUsers: targetUsers, Met: rp.rssMet()},
		row{Scenario: "run", Database: rp.dbKind, Users: ptr(rp.users()), Conc: ptr(rp.cfg.conc),
			DurationS: ptr(rp.cfg.dur.Seconds()), CPUs: ptr(rp.cpus), GoVersion: rp.goVersion, MeBody: ptr(rp.meBody),
			ServeFlags: rp.serveArgs, TotalS: ptr(round(rp.total.Seconds())), Note: strings.Join(rp.notes, "; ")})
	return out
}

// writeJSON prints one JSON object a line.
func (rp *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, x := range rp.rows() {
		if err := enc.Encode(x); err != nil {
			return err
		}
	}
	return nil
}

// writeTable prints the report for people.
func (rp *report) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "usher bench: %s, %d users, c=%d, %s a scenario (after %s warm-up), %d CPUs, %s, GET /v1/me answer %d bytes\n\n",
		rp.dbKind, rp.users(), rp.cfg.conc, rp.cfg.dur, rp.cfg.warmup, rp.cpus, rp.goVersion, rp.meBody)
	// A verdict is marked † when this run is not what its target is
	// set for.
	off := false
	mark := func(met *bool, users, conc int) string {
		if met == nil {
			return "?"
		}
		s := "yes"
		if !*met {
			s = "NO"
		}
		if (users != 0 && users != rp.users()) || (conc != 0 && conc != rp.cfg.conc) {
			off = true
			s += "†"
		}
		return s
	}

	const format = "%-22s %9s %7s %9s %8s %8s %8s  %-44s %s\n"
	fmt.Fprintf(w, format, "scenario", "requests", "errors", "rps", "p50 ms", "p99 ms", "×ceiling", "target", "met")
	for _, s := range rp.ran {
		if why, ok := rp.failures[s.name]; ok {
			fmt.Fprintf(w, "%-22s FAILED: %s\n", s.name, why)
			continue
		}
		r := rp.results[s.name]
		if r.na {
			fmt.Fprintf(w, "%-22s n/a: %s\n", s.name, r.note)
			continue
		}
		ratio := ""
		if x := rp.ratio(r); x != nil {
			ratio = fmt.Sprintf("%.2f", *x)
		}
		tt, met := "", ""
		if t := s.target; t != nil {
			tt, met = t.text, mark(rp.verdict(t, r), t.users, t.conc)
		}
		fmt.Fprintf(w, format, s.name, fmt.Sprint(r.requests), fmt.Sprint(r.errors),
			rate(r.rps()), ms(r.hist.quantile(0.5)), ms(r.hist.quantile(0.99)), ratio, tt, met)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if f := rp.fill; f != nil {
		line := fmt.Sprintf("%d users in %.2f s = %.0f users/s", f.users, f.elapsed.Seconds(), f.usersPerSecond())
		if f.failed > 0 {
			line += fmt.Sprintf(", %d missing", f.failed)
		}
		met := "n/a"
		if m := rp.importMet(); m != nil {
			met = mark(m, 0, 0)
		}
		fmt.Fprintf(tw, "import\t%s\t%s\t%s\n", line, importTarget, met)
		if f.summary != "" {
			fmt.Fprintf(tw, "\tusher: %s\t\t\n", strings.ReplaceAll(f.summary, "\n", " | "))
		}
	}
	fmt.Fprintf(tw, "start to /readyz\t%d ms with %d users (usher said start-up took %s)\t%s\t%s\n",
		rp.ready.Milliseconds(), rp.users(), rp.startup, readyTarget, mark(rp.readyMet(), targetUsers, 0))
	fmt.Fprintf(tw, "usher RSS\tidle %.1f MB after /readyz, peak %.1f MB over the run\t%s\t%s\n",
		mb(rp.rssIdle), mb(rp.rssPeak), rssTarget, mark(rp.rssMet(), targetUsers, 0))
	if err := tw.Flush(); err != nil {
		return err
	}
	if off {
		fmt.Fprintf(w, "\n† the target is set for 1,000,000 users (search, start-up, RSS) or c=32 (me); this run: %d users, c=%d.\n",
			rp.users(), rp.cfg.conc)
	}

	var errLines, notes []string
	for _, s := range rp.ran {
		r, ok := rp.results[s.name]
		if !ok {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(r.errs)) {
			errLines = append(errLines, fmt.Sprintf("  %s: %s × %d", s.name, k, r.errs[k]))
		}
		if r.side != nil {
			for _, k := range slices.Sorted(maps.Keys(r.side.errs)) {
				errLines = append(errLines, fmt.Sprintf("  %s, its log-ins (not counted above): %s × %d", s.name, k, r.side.errs[k]))
			}
		}
		if r.note != "" && !r.na {
			notes = append(notes, fmt.Sprintf("  %s: %s", s.name, r.note))
		}
	}
	if len(errLines) > 0 {
		fmt.Fprintf(w, "\nerrors (429 is usher refusing work: a full password-hashing queue or a throttle):\n%s\n",
			strings.Join(errLines, "\n"))
	}
	for _, n := range rp.notes {
		notes = append(notes, "  "+n)
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nnotes:\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(w, "\nrps counts answers with the expected status; p50/p99 are of those. The whole run took %s.\n",
		rp.total.Round(time.Second))
	return nil
}

func ptr[T any](v T) *T { return &v }

// round keeps three decimals.
// rate is a rate of operations for the table: whole numbers, but two
// decimals under ten a second, so that a slow baseline such as
// search_scan's shows what search's "≥ 20×" is compared with, not 0.
func rate(rps float64) string {
	if rps < 10 {
		return fmt.Sprintf("%.2f", rps)
	}
	return fmt.Sprintf("%.0f", rps)
}

func round(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// msf is d in milliseconds, for JSON.
func msf(d time.Duration) float64 { return round(float64(d) / float64(time.Millisecond)) }

// mb is kib in MiB, for JSON and the table.
func mb(kib int64) float64 { return round(float64(kib) / 1024) }

// ms renders a duration in milliseconds for the table.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
