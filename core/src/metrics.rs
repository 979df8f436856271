//! The numbers operators scrape: one registry per process, rendered in Prometheus' text format
//! at `/metrics` (the web server's router, and a worker's own listener). Labels are bounded sets
//! only — methods, matched routes, statuses, outcomes, catalog models, devices — never a user id,
//! an email or a raw path. The crate was chosen by measurement: `scripts/pick-metrics-crate`.
//!
//! Queue depth and the mail outbox are global state, read from the database at scrape time by web
//! servers only ([`QueueStats`], [`MailStats`]): every web instance reports the same numbers, and
//! the alert rules take their `max`, never their sum.

use std::{sync::Arc, time::Duration};

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder, core::Collector,
};

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Request durations, from a cached page (~1 ms) to a slow upload (~10 s).
const REQUEST_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
/// Queue waits and generations: a second on a GPU to many minutes behind a backlog on a CPU.
const JOB_BUCKETS: [f64; 12] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];

/// How a job's run on a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Every image made and stored.
    Completed,
    /// Failed for good (refunded).
    Failed,
    /// Given back for another try after a failure that may pass.
    Retried,
    /// Given back because the worker is shutting down (no try spent).
    HandedBack,
    /// Cancelled by its owner, or taken over after the lease ran out.
    Stopped,
}

impl JobOutcome {
    fn label(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Retried => "retried",
            Self::HandedBack => "handed_back",
            Self::Stopped => "stopped",
        }
    }
}

/// Which limiter refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// Requests per client on the REST API.
    Api,
    /// Failed billing-webhook signatures per client.
    Webhook,
}

impl Limiter {
    fn label(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Webhook => "webhook",
        }
    }
}

/// The queue at one moment (see the `queue_stats()` database function).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    /// Jobs waiting for a worker.
    pub queued: i64,
    /// Jobs a worker holds.
    pub running: i64,
    /// How long the oldest queued job has waited, in seconds (0 when none).
    pub oldest_queued_seconds: f64,
    /// How long the oldest running job has run since its first start, in seconds (0 when none).
    pub oldest_running_seconds: f64,
}

/// The mail outbox at one moment: messages not yet sent nor given up on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MailStats {
    /// Messages waiting to be sent (retries included).
    pub pending: i64,
    /// How long the oldest of them has waited, in seconds (0 when none).
    pub oldest_pending_seconds: f64,
}

/// A connection pool at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open.
    pub open: u32,
    /// Of those, idle.
    pub idle: u32,
    /// The most it may open.
    pub max: u32,
}

/// One process's metrics; clones share them.
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

struct Families {
    registry: Registry,
    http_request_seconds: HistogramVec,
    event_streams_open: IntGauge,
    rate_limited: IntCounterVec,
    queue_jobs: IntGaugeVec,
    queue_oldest_seconds: GaugeVec,
    jobs_finished: IntCounterVec,
    queue_wait_seconds: Histogram,
    generation_seconds: HistogramVec,
    model_load_seconds: HistogramVec,
    leases_expired: IntCounterVec,
    pool_connections: IntGaugeVec,
    database_up: IntGauge,
    mail_pending: IntGauge,
    mail_oldest_seconds: Gauge,
}

/// Registers `collector` in `registry` and hands it back.
fn registered<C: Collector + Clone + 'static>(registry: &Registry, collector: C) -> prometheus::Result<C> {
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

fn histograms(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> prometheus::Result<HistogramVec> {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)
}

impl Metrics {
    /// A fresh registry with every family, and `pingvas_build_info` set.
    ///
    /// # Errors
    /// Only for an invalid name or a family registered twice, which the unit tests would show.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("pingvas".into()), None)?;
        let r = &registry;
        let info = registered(
            r,
            IntGaugeVec::new(
                Opts::new("build_info", "This build: its version and the commit it was built from."),
                &["version", "commit"],
            )?,
        )?;
        info.with_label_values(&[
            env!("CARGO_PKG_VERSION"),
            option_env!("PINGVAS_COMMIT").unwrap_or("unknown"),
        ])
        .set(1);
        let families = Families {
            http_request_seconds: registered(
                r,
                histograms(
                    "http_request_duration_seconds",
                    "Time to answer an HTTP request (to the response's head; streams not included), by method, matched route and status.",
                    &REQUEST_BUCKETS,
                    &["method", "route", "status"],
                )?,
            )?,
            event_streams_open: registered(
                r,
                IntGauge::new("event_streams_open", "Job event streams (SSE) open on this server.")?,
            )?,
            rate_limited: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "rate_limited_requests_total",
                        "Requests refused by a rate limiter, by limiter.",
                    ),
                    &["limiter"],
                )?,
            )?,
            queue_jobs: registered(
                r,
                IntGaugeVec::new(
                    Opts::new("queue_jobs", "Generation jobs in the queue now, by state (whole queue)."),
                    &["state"],
                )?,
            )?,
            queue_oldest_seconds: registered(
                r,
                GaugeVec::new(
                    Opts::new(
                        "queue_oldest_job_age_seconds",
                        "Age of the oldest job in each state: since enqueue for queued, since its first start for running (whole queue).",
                    ),
                    &["state"],
                )?,
            )?,
            jobs_finished: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "jobs_finished_total",
                        "Jobs a worker of this process stopped running, by outcome.",
                    ),
                    &["outcome"],
                )?,
            )?,
            queue_wait_seconds: registered(
                r,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "job_queue_wait_seconds",
                        "Time from a job's enqueue to its claim by a worker.",
                    )
                    .buckets(JOB_BUCKETS.to_vec()),
                )?,
            )?,
            generation_seconds: registered(
                r,
                histograms(
                    "generation_seconds",
                    "Time to make one image (engine only), by model and device.",
                    &JOB_BUCKETS,
                    &["model", "device"],
                )?,
            )?,
            model_load_seconds: registered(
                r,
                histograms(
                    "model_load_seconds",
                    "Time to load a model onto the worker's device, by model and device.",
                    &JOB_BUCKETS,
                    &["model", "device"],
                )?,
            )?,
            leases_expired: registered(
                r,
                IntCounterVec::new(
                    Opts::new(
                        "job_leases_expired_total",
                        "Jobs whose worker stopped heartbeating (died or hung), found by this process, by what became of them.",
                    ),
                    &["then"],
                )?,
            )?,
            pool_connections: registered(
                r,
                IntGaugeVec::new(
                    Opts::new(
                        "db_pool_connections",
                        "This process's database connections: open, idle and the most it may open.",
                    ),
                    &["state"],
                )?,
            )?,
            database_up: registered(
                r,
                IntGauge::new("database_up", "Whether the database answered this scrape (1) or not (0).")?,
            )?,
            mail_pending: registered(
                r,
                IntGauge::new(
                    "mail_outbox_pending",
                    "Mail waiting to be sent, retries included (whole outbox).",
                )?,
            )?,
            mail_oldest_seconds: registered(
                r,
                Gauge::new(
                    "mail_outbox_oldest_pending_seconds",
                    "Age of the oldest mail waiting to be sent (whole outbox; 0 when none).",
                )?,
            )?,
            registry: registry.clone(),
        };
        Ok(Self(Arc::new(families)))
    }

    /// Records one answered HTTP request. `route` is the router's matched pattern (or a fixed
    /// name for what no route matched); methods other than the usual ones count as `other`.
    pub fn http_request(&self, method: &http::Method, route: &str, status: u16, elapsed: Duration) {
        let method = match *method {
            http::Method::GET => "GET",
            http::Method::POST => "POST",
            http::Method::PUT => "PUT",
            http::Method::PATCH => "PATCH",
            http::Method::DELETE => "DELETE",
            http::Method::HEAD => "HEAD",
            http::Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        let digits = itoa_status(status);
        let status = std::str::from_utf8(&digits).unwrap_or("000");
        self.0
            .http_request_seconds
            .with_label_values(&[method, route, status])
            .observe(elapsed.as_secs_f64());
    }

    /// Counts an open event stream until the guard is dropped.
    #[must_use]
    pub fn event_stream_opened(&self) -> StreamGuard {
        self.0.event_streams_open.inc();
        StreamGuard(self.0.event_streams_open.clone())
    }

    /// Counts a request `limiter` refused.
    pub fn rate_limited(&self, limiter: Limiter) {
        self.0.rate_limited.with_label_values(&[limiter.label()]).inc();
    }

    /// Counts a job whose run ended with `outcome`.
    pub fn job_finished(&self, outcome: JobOutcome) {
        self.0.jobs_finished.with_label_values(&[outcome.label()]).inc();
    }

    /// Records how long a claimed job waited in the queue.
    pub fn queue_wait(&self, waited: Duration) {
        self.0.queue_wait_seconds.observe(waited.as_secs_f64());
    }

    /// Records one image made by `model` on `device`.
    pub fn generation(&self, model: &str, device: &str, elapsed: Duration) {
        self.0.generation_seconds.with_label_values(&[model, device]).observe(elapsed.as_secs_f64());
    }

    /// Records `model` loaded onto `device`.
    pub fn model_load(&self, model: &str, device: &str, elapsed: Duration) {
        self.0.model_load_seconds.with_label_values(&[model, device]).observe(elapsed.as_secs_f64());
    }

    /// Counts expired leases found: `requeued` jobs queued again, `failed` out of tries.
    pub fn leases_expired(&self, requeued: u64, failed: u64) {
        for (then, count) in [("requeued", requeued), ("failed", failed)] {
            if count > 0 {
                self.0.leases_expired.with_label_values(&[then]).inc_by(count);
            }
        }
    }

    /// Sets what a scrape read of the whole queue.
    pub fn set_queue(&self, stats: QueueStats) {
        let f = &self.0;
        f.queue_jobs.with_label_values(&["queued"]).set(stats.queued);
        f.queue_jobs.with_label_values(&["running"]).set(stats.running);
        f.queue_oldest_seconds.with_label_values(&["queued"]).set(stats.oldest_queued_seconds);
        f.queue_oldest_seconds.with_label_values(&["running"]).set(stats.oldest_running_seconds);
    }

    /// Sets what a scrape read of the mail outbox.
    pub fn set_mail(&self, stats: MailStats) {
        self.0.mail_pending.set(stats.pending);
        self.0.mail_oldest_seconds.set(stats.oldest_pending_seconds);
    }

    /// Sets what a scrape read of this process's pool and whether the database answered.
    pub fn set_database(&self, pool: PoolStats, up: bool) {
        let f = &self.0;
        f.pool_connections.with_label_values(&["open"]).set(i64::from(pool.open));
        f.pool_connections.with_label_values(&["idle"]).set(i64::from(pool.idle));
        f.pool_connections.with_label_values(&["max"]).set(i64::from(pool.max));
        f.database_up.set(i64::from(up));
    }

    /// Everything, in Prometheus' text format ([`CONTENT_TYPE`]).
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(16 * 1024);
        // Encoding into memory fails only on invalid families, which registration refuses.
        if let Err(e) = TextEncoder::new().encode(&self.0.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Keeps an event stream counted as open; dropping it counts the stream closed.
#[derive(Debug)]
pub struct StreamGuard(IntGauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A status code's three digits, without allocating on every request.
fn itoa_status(status: u16) -> [u8; 3] {
    let status = status.min(999);
    [b'0' + (status / 100) as u8, b'0' + (status / 10 % 10) as u8, b'0' + (status % 10) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_renders_with_its_labels_and_no_others() {
        let metrics = Metrics::new().unwrap();
        metrics.http_request(&http::Method::GET, "/api/v1/images/{id}", 404, Duration::from_millis(3));
        metrics.http_request(&http::Method::from_bytes(b"BREW").unwrap(), "unmatched", 405, Duration::ZERO);
        let stream = metrics.event_stream_opened();
        metrics.rate_limited(Limiter::Api);
        metrics.job_finished(JobOutcome::HandedBack);
        metrics.queue_wait(Duration::from_secs(2));
        metrics.generation("starter", "cpu", Duration::from_secs(1));
        metrics.model_load("starter", "cpu", Duration::from_secs(1));
        metrics.leases_expired(2, 0);
        metrics.set_queue(QueueStats {
            queued: 3,
            running: 1,
            oldest_queued_seconds: 12.5,
            oldest_running_seconds: 4.0,
        });
        metrics.set_database(PoolStats { open: 5, idle: 3, max: 10 }, true);
        metrics.set_mail(MailStats { pending: 2, oldest_pending_seconds: 30.0 });
        let text = metrics.render();
        for line in [
            r#"pingvas_http_request_duration_seconds_count{method="GET",route="/api/v1/images/{id}",status="404"} 1"#,
            r#"pingvas_http_request_duration_seconds_count{method="other",route="unmatched",status="405"} 1"#,
            "pingvas_event_streams_open 1",
            r#"pingvas_rate_limited_requests_total{limiter="api"} 1"#,
            r#"pingvas_jobs_finished_total{outcome="handed_back"} 1"#,
            "pingvas_job_queue_wait_seconds_count 1",
            r#"pingvas_generation_seconds_count{device="cpu",model="starter"} 1"#,
            r#"pingvas_job_leases_expired_total{then="requeued"} 2"#,
            r#"pingvas_queue_jobs{state="queued"} 3"#,
            r#"pingvas_queue_oldest_job_age_seconds{state="queued"} 12.5"#,
            r#"pingvas_db_pool_connections{state="idle"} 3"#,
            "pingvas_database_up 1",
            "pingvas_mail_outbox_pending 2",
            "pingvas_mail_outbox_oldest_pending_seconds 30",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
        }
        assert!(text.contains(r#"pingvas_build_info{commit="#), "{text}");
        // A failed count of zero is not a series of its own.
        assert!(!text.contains(r#"then="failed""#));
        drop(stream);
        assert!(metrics.render().lines().any(|l| l == "pingvas_event_streams_open 0"));
    }

    #[test]
    fn statuses_are_three_digits() {
        assert_eq!(&itoa_status(200), b"200");
        assert_eq!(&itoa_status(7), b"007");
        assert_eq!(&itoa_status(5000), b"999");
    }
}
