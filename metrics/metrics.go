// Package metrics is Roster's Prometheus endpoint: request durations by
// route, the password hash queue, the notification outbox, the database
// pools and the active sessions, on a registry of its own.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rosterhq/roster/db"
)

// scrapeTimeout bounds the database queries of one scrape.
const scrapeTimeout = 2 * time.Second

// Metrics holds the registry and the request histogram the middleware feeds.
type Metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
}

// New returns Metrics with the request histogram and the Go runtime and
// process collectors registered; Watch adds the application's gauges.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roster_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template, method and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
	}
	m.reg.MustRegister(m.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Sources are what the gauges read on each scrape.
type Sources struct {
	Store     *db.Store
	HashDepth func() (running, waiting int)
	HashWait  func() time.Duration // expected wait of a password check arriving now; nil reports none
	IdleSince func() time.Time     // sessions last used before this are expired
	Now       func() time.Time     // the clock of the outbox's age; nil is time.Now
}

// Watch registers the gauges that read src on each scrape.
func (m *Metrics) Watch(src Sources) {
	m.reg.MustRegister(&appCollector{src: src})
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Observe times every request. It goes first in the chain, so the status
// it records is the one the error handler finally sent. The route label is
// Echo's template (/accounts/:id), never the raw path, which would let any
// client mint new series.
func (m *Metrics) Observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		// An unknown URL gets the template of the nearest registered
		// prefix, or none: either way a bounded set of values.
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		m.duration.WithLabelValues(route, c.Request().Method, statusClass(c.Response().Status)).
			Observe(time.Since(start).Seconds())
		return nil
	}
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

var (
	hashRunning = prometheus.NewDesc("roster_password_hashes_running",
		"Password hashes being computed now.", nil, nil)
	hashWaiting = prometheus.NewDesc("roster_password_hash_queue_depth",
		"Password checks waiting for a worker, in arrival order.", nil, nil)
	hashWait = prometheus.NewDesc("roster_password_hash_expected_wait_seconds",
		"How long a password check arriving now would wait for a worker (callers ahead x the moving-average hash time / workers); past ROSTER_SIGNIN_WAIT it is refused with 503.", nil, nil)
	outboxBacklog = prometheus.NewDesc("roster_outbox_backlog",
		"Mails and notifications queued and not yet sent or given up.", nil, nil)
	outboxAge = prometheus.NewDesc("roster_outbox_oldest_age_seconds",
		"Age of the oldest queued mail or notification; 0 when none is queued.", nil, nil)
	outboxQueued = prometheus.NewDesc("roster_outbox_queued",
		"Mails and notifications queued and not yet sent or given up, by contact kind.", []string{"kind"}, nil)
	sessionsActive = prometheus.NewDesc("roster_sessions_active",
		"Sessions that can still be used.", nil, nil)
	scrapeErrors = prometheus.NewDesc("roster_metrics_scrape_errors",
		"Database reads that failed during this scrape.", nil, nil)
	poolMaxOpen  = prometheus.NewDesc("go_sql_max_open_connections", "Maximum number of open connections to the database.", []string{"db_name"}, nil)
	poolOpen     = prometheus.NewDesc("go_sql_open_connections", "The number of established connections both in use and idle.", []string{"db_name"}, nil)
	poolInUse    = prometheus.NewDesc("go_sql_in_use_connections", "The number of connections currently in use.", []string{"db_name"}, nil)
	poolIdle     = prometheus.NewDesc("go_sql_idle_connections", "The number of idle connections.", []string{"db_name"}, nil)
	poolWaits    = prometheus.NewDesc("go_sql_wait_count_total", "The total number of connections waited for.", []string{"db_name"}, nil)
	poolWaitTime = prometheus.NewDesc("go_sql_wait_duration_seconds_total", "The total time blocked waiting for a new connection.", []string{"db_name"}, nil)
)

// appCollector reads the application's state when scraped: the hasher's
// counters, two cheap indexed counts and the pools' statistics.
type appCollector struct {
	src Sources
}

func (a *appCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hashRunning, hashWaiting, hashWait, outboxBacklog, outboxAge, outboxQueued, sessionsActive,
		scrapeErrors, poolMaxOpen, poolOpen, poolInUse, poolIdle, poolWaits, poolWaitTime} {
		ch <- d
	}
}

func (a *appCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	running, waiting := a.src.HashDepth()
	gauge(hashRunning, float64(running))
	gauge(hashWaiting, float64(waiting))
	if a.src.HashWait != nil {
		gauge(hashWait, a.src.HashWait().Seconds())
	}

	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	failed := 0
	if b, err := a.src.Store.OutboxBacklog(ctx); err != nil {
		failed++
	} else {
		now := time.Now
		if a.src.Now != nil {
			now = a.src.Now
		}
		age := 0.0
		if !b.Oldest.IsZero() {
			age = max(now().Sub(b.Oldest).Seconds(), 0)
		}
		gauge(outboxBacklog, float64(b.Queued))
		gauge(outboxAge, age)
		// Every kind, 0 included, so that a series does not vanish when
		// its backlog drains.
		for _, kind := range db.Kinds {
			gauge(outboxQueued, float64(b.ByKind[kind]), kind)
		}
		for kind, n := range b.ByKind {
			if !slices.Contains(db.Kinds, kind) {
				gauge(outboxQueued, float64(n), kind)
			}
		}
	}
	if n, err := a.src.Store.CountActiveSessions(ctx, a.src.IdleSince()); err != nil {
		failed++
	} else {
		gauge(sessionsActive, float64(n))
	}
	gauge(scrapeErrors, float64(failed))

	w, r := a.src.Store.PoolStats()
	for _, p := range []struct {
		name  string
		stats sql.DBStats
	}{{"writer", w}, {"reader", r}} {
		gauge(poolMaxOpen, float64(p.stats.MaxOpenConnections), p.name)
		gauge(poolOpen, float64(p.stats.OpenConnections), p.name)
		gauge(poolInUse, float64(p.stats.InUse), p.name)
		gauge(poolIdle, float64(p.stats.Idle), p.name)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(p.stats.WaitCount), p.name)
		ch <- prometheus.MustNewConstMetric(poolWaitTime, prometheus.CounterValue, p.stats.WaitDuration.Seconds(), p.name)
	}
}
