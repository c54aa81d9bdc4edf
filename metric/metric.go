// Package metric counts what usher does, for Prometheus: the core's events
// (Observer is the core's usher.Observer), the password hasher's queue,
// and the work waiting for the background senders. Each collector is
// registered with a registry the caller makes; nothing is global. The
// HTTP requests' metrics are web's.
package metric

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"usher"
	"usher/password"
)

// Observer counts the core's events.
type Observer struct {
	logins, lockouts, mails, scripts, tokenCache *prometheus.CounterVec
}

var _ usher.Observer = (*Observer)(nil)

// NewObserver registers the counters of the core's events with reg.
func NewObserver(reg prometheus.Registerer) *Observer {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	return &Observer{
		logins: counter("usher_logins_total", "Log-ins by method (password, oauth, service_account) and outcome "+
			"(success, invalid_credentials, refused, locked, busy, invalid, error).", "method", "outcome"),
		lockouts: counter("usher_login_lockouts_total", "Keys locked by failed log-ins, by scope (account, address).", "scope"),
		mails:    counter("usher_mail_deliveries_total", "Mail deliveries tried, by outcome (sent; failed: to be retried; given_up: failed, not to be retried).", "outcome"),
		scripts: counter("usher_script_runs_total", "Automation script runs by trigger and outcome (ok, refused, failed).",
			"trigger", "outcome"),
		tokenCache: counter("usher_token_cache_lookups_total", "Credential checks answered from the cache (hit) or read "+
			"from the database (miss).", "result"),
	}
}

// Login counts a log-in.
func (o *Observer) Login(method, outcome string) { o.logins.WithLabelValues(method, outcome).Inc() }

// Lockout counts a lock.
func (o *Observer) Lockout(scope string) { o.lockouts.WithLabelValues(scope).Inc() }

// Mail counts a delivery; the kind of mail is not a label, to keep the
// series few.
func (o *Observer) Mail(_, outcome string) { o.mails.WithLabelValues(outcome).Inc() }

// Script counts a script run.
func (o *Observer) Script(trigger usher.Trigger, outcome string) {
	t := string(trigger)
	if t == "" {
		t = "none"
	}
	o.scripts.WithLabelValues(t, outcome).Inc()
}

// TokenCache counts a credential check.
func (o *Observer) TokenCache(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	o.tokenCache.WithLabelValues(result).Inc()
}

// hasher reports a password hasher's queue at each scrape.
type hasher struct {
	h                                 *password.Hasher
	running, waiting, waited, refused *prometheus.Desc
}

// RegisterHasher registers with reg the metrics of h's queue: hashes
// running and waiting now, the time hashes waited for a CPU, and those
// refused because the queue was full.
func RegisterHasher(reg prometheus.Registerer, h *password.Hasher) {
	reg.MustRegister(&hasher{h: h,
		running: prometheus.NewDesc("usher_password_hash_running", "Password hashes running now.", nil, nil),
		waiting: prometheus.NewDesc("usher_password_hash_queue_depth", "Password hashes waiting for a CPU now.", nil, nil),
		waited: prometheus.NewDesc("usher_password_hash_wait_seconds", "Time password hashes waited for a CPU "+
			"(count and sum: the average wait is rate(sum)/rate(count)).", nil, nil),
		refused: prometheus.NewDesc("usher_password_hash_refused_total", "Password hashes refused because the "+
			"queue (--hash-queue) was full; the log-in was answered 429.", nil, nil),
	})
}

func (c *hasher) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.running
	ch <- c.waiting
	ch <- c.waited
	ch <- c.refused
}

func (c *hasher) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Stats()
	ch <- prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(s.Running))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(s.Waiting))
	ch <- prometheus.MustNewConstSummary(c.waited, s.Waits, s.Waited.Seconds(), nil)
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused))
}

// backlogTimeout bounds a scrape's read of the backlog.
const backlogTimeout = 2 * time.Second

// backlog reports the work waiting for the background senders at each
// scrape.
type backlog struct {
	read                   func(context.Context) (usher.Backlog, error)
	now                    func() time.Time
	log                    *slog.Logger
	queued, age, reminders *prometheus.Desc
}

// RegisterBacklog registers with reg the metrics of the work waiting:
// mails not sent yet, the age of the oldest, and reminders due. read is
// the core's Outbox.Backlog, which keeps a read a few seconds; a read that
// fails is logged, and the scrape goes on without these series.
func RegisterBacklog(reg prometheus.Registerer, read func(context.Context) (usher.Backlog, error), now func() time.Time, log *slog.Logger) {
	reg.MustRegister(&backlog{read: read, now: now, log: log,
		queued: prometheus.NewDesc("usher_mail_queued", "Mails in the outbox not sent yet: due, or waiting for a retry.", nil, nil),
		age: prometheus.NewDesc("usher_mail_oldest_queued_seconds", "Age of the oldest mail not sent yet; 0 when none waits.",
			nil, nil),
		reminders: prometheus.NewDesc("usher_reminders_due", "Reminders whose time has come and whose mail is not queued yet.",
			nil, nil),
	})
}

func (c *backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.age
	ch <- c.reminders
}

func (c *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		c.log.WarnContext(ctx, "metrics: the backlog could not be read", "err", err)
		return
	}
	age := 0.0
	if !b.MailOldest.IsZero() {
		age = max(0, c.now().Sub(b.MailOldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(b.MailQueued))
	ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(c.reminders, prometheus.GaugeValue, float64(b.RemindersDue))
}
