//! The workload the server gives a metrics crate: a request-duration histogram labelled by
//! method, matched route and status (≈120 live series, as the API and pages have), a few
//! counters and gauges. Prints the cost of one observation on the request path and of one
//! scrape (encoding everything), and the scrape itself on stdout when asked (for promtool).

use std::{hint::black_box, time::Instant};

const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];
const STATUSES: [u16; 4] = [200, 404, 422, 500];
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];
const OBSERVATIONS: usize = 2_000_000;
const SCRAPES: usize = 300;

fn routes() -> Vec<&'static str> {
    (0..10).map(|i| &*Box::leak(format!("/api/v1/resource{i}/{{id}}").into_boxed_str())).collect()
}

/// Every (method, route, status) the workload touches: 10 × 3 × 4 = 120 series.
fn series() -> Vec<(&'static str, &'static str, u16)> {
    let mut out = Vec::new();
    for route in routes() {
        for method in METHODS {
            for status in STATUSES {
                out.push((method, route, status));
            }
        }
    }
    out
}

trait Candidate {
    const NAME: &'static str;
    fn observe(&self, method: &'static str, route: &'static str, status: u16, seconds: f64);
    fn other_metrics(&self, i: usize);
    fn scrape(&self) -> String;
}

#[cfg(feature = "prometheus-client")]
mod candidate {
    use prometheus_client::{
        encoding::{EncodeLabelSet, text::encode},
        metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
        registry::Registry,
    };

    #[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
    struct Labels {
        method: &'static str,
        route: &'static str,
        status: u16,
    }

    pub struct C {
        registry: Registry,
        requests: Family<Labels, Histogram>,
        jobs: Counter,
        streams: Gauge,
    }

    impl C {
        pub fn new() -> Self {
            let mut registry = Registry::with_prefix("pingvas");
            let requests = Family::<Labels, Histogram>::new_with_constructor(|| {
                Histogram::new(super::BUCKETS.iter().copied())
            });
            registry.register("http_request_duration_seconds", "Request duration", requests.clone());
            let jobs = Counter::default();
            registry.register("jobs_finished", "Jobs finished", jobs.clone());
            let streams = Gauge::default();
            registry.register("event_streams_open", "Open event streams", streams.clone());
            Self { registry, requests, jobs, streams }
        }
    }

    impl super::Candidate for C {
        const NAME: &'static str = "prometheus-client 0.26";
        fn observe(&self, method: &'static str, route: &'static str, status: u16, seconds: f64) {
            self.requests.get_or_create(&Labels { method, route, status }).observe(seconds);
        }
        fn other_metrics(&self, i: usize) {
            self.jobs.inc();
            self.streams.set(i as i64);
        }
        fn scrape(&self) -> String {
            let mut out = String::new();
            encode(&mut out, &self.registry).expect("encodes");
            out
        }
    }
}

#[cfg(feature = "prometheus")]
mod candidate {
    use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntGauge, Registry, TextEncoder};

    pub struct C {
        registry: Registry,
        requests: HistogramVec,
        jobs: IntCounter,
        streams: IntGauge,
    }

    impl C {
        pub fn new() -> Self {
            let registry = Registry::new_custom(Some("pingvas".into()), None).expect("registry");
            let requests = HistogramVec::new(
                HistogramOpts::new("http_request_duration_seconds", "Request duration")
                    .buckets(super::BUCKETS.to_vec()),
                &["method", "route", "status"],
            )
            .expect("histogram");
            registry.register(Box::new(requests.clone())).expect("registers");
            let jobs = IntCounter::new("jobs_finished_total", "Jobs finished").expect("counter");
            registry.register(Box::new(jobs.clone())).expect("registers");
            let streams = IntGauge::new("event_streams_open", "Open event streams").expect("gauge");
            registry.register(Box::new(streams.clone())).expect("registers");
            Self { registry, requests, jobs, streams }
        }
    }

    impl super::Candidate for C {
        const NAME: &'static str = "prometheus 0.14 (no default features)";
        fn observe(&self, method: &'static str, route: &'static str, status: u16, seconds: f64) {
            let buffer = itoa_status(status);
            let status = std::str::from_utf8(&buffer).expect("ascii");
            self.requests.with_label_values(&[method, route, status]).observe(seconds);
        }
        fn other_metrics(&self, i: usize) {
            self.jobs.inc();
            self.streams.set(i as i64);
        }
        fn scrape(&self) -> String {
            let mut out = Vec::new();
            TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("encodes");
            String::from_utf8(out).expect("utf-8")
        }
    }

    fn itoa_status(status: u16) -> [u8; 3] {
        [b'0' + (status / 100) as u8, b'0' + (status / 10 % 10) as u8, b'0' + (status % 10) as u8]
    }
}

#[cfg(feature = "metrics")]
mod candidate {
    use metrics::{Level, Metadata, Recorder};
    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

    pub struct C {
        recorder: PrometheusRecorder,
    }

    impl C {
        pub fn new() -> Self {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&super::BUCKETS)
                .expect("buckets")
                .build_recorder();
            // Without descriptions the exporter writes no HELP lines (promtool's linter wants them).
            recorder.describe_histogram(
                "pingvas_http_request_duration_seconds".into(),
                None,
                "Request duration".into(),
            );
            recorder.describe_counter("pingvas_jobs_finished_total".into(), None, "Jobs finished".into());
            recorder.describe_gauge("pingvas_event_streams_open".into(), None, "Open event streams".into());
            Self { recorder }
        }
    }

    static META: Metadata<'static> = Metadata::new("pick", Level::INFO, None);

    impl super::Candidate for C {
        const NAME: &'static str = "metrics 0.24 + metrics-exporter-prometheus 0.18 (no default features)";
        fn observe(&self, method: &'static str, route: &'static str, status: u16, seconds: f64) {
            let labels = [
                metrics::Label::new("method", method),
                metrics::Label::new("route", route),
                metrics::Label::from_static_parts("status", status_str(status)),
            ];
            let key = metrics::Key::from_parts("pingvas_http_request_duration_seconds", labels.to_vec());
            self.recorder.register_histogram(&key, &META).record(seconds);
        }
        fn other_metrics(&self, i: usize) {
            let key = metrics::Key::from_static_name("pingvas_jobs_finished_total");
            self.recorder.register_counter(&key, &META).increment(1);
            let key = metrics::Key::from_static_name("pingvas_event_streams_open");
            self.recorder.register_gauge(&key, &META).set(i as f64);
        }
        fn scrape(&self) -> String {
            self.recorder.handle().render()
        }
    }

    fn status_str(status: u16) -> &'static str {
        match status {
            200 => "200",
            404 => "404",
            422 => "422",
            _ => "500",
        }
    }
}

fn main() {
    use candidate::C;
    let c = C::new();
    let series = series();
    let started = Instant::now();
    for i in 0..OBSERVATIONS {
        let (method, route, status) = series[i % series.len()];
        c.observe(method, route, status, (i % 1000) as f64 / 1000.0);
    }
    let observe_ns = started.elapsed().as_nanos() as f64 / OBSERVATIONS as f64;
    for i in 0..1000 {
        c.other_metrics(i);
    }
    let mut scrapes = Vec::with_capacity(SCRAPES);
    let mut bytes = 0;
    for _ in 0..SCRAPES {
        let started = Instant::now();
        bytes = black_box(c.scrape()).len();
        scrapes.push(started.elapsed().as_secs_f64() * 1e6);
    }
    scrapes.sort_by(f64::total_cmp);
    if std::env::args().any(|a| a == "--print") {
        print!("{}", c.scrape());
        return;
    }
    println!(
        "{}\t{observe_ns:.0}\t{:.0}\t{bytes}",
        <C as Candidate>::NAME,
        scrapes[SCRAPES / 2]
    );
}
