//! A real Stripe-compatible server for the billing tests: localstripe (PyPI; `scripts/test`
//! installs it into `~/.cache/pingvas-localstripe`), with the add-ons in
//! `scripts/localstripe_pingvas.py`. It keeps its state in one fixed file, so one
//! instance serves the whole test binary: started on first use on a free port, stopped when the
//! binary exits (a shell holding its stdin kills it when that pipe closes). Tests stay apart by
//! their own customers; each test's app gets its own webhook registration and secret.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Mutex, OnceLock},
    time::Duration,
};

use axum::Router;
use serde_json::Value;

use super::mail_server::free_port;

/// The running server.
pub struct LocalStripe {
    /// `http://127.0.0.1:port`.
    pub url: String,
    // Held until the process exits: closing it stops the server.
    _keep: Mutex<(Child, ChildStdin)>,
}

/// The secret key the tests use (localstripe takes any `sk_…`).
pub const SECRET_KEY: &str = "sk_test_pingvas";
/// The browser key.
pub const PUBLISHABLE_KEY: &str = "pk_test_pingvas";
/// The prices on offer, made once per server.
pub const PRO_MONTHLY: &str = "pingvas_pro_monthly";
/// The Studio plan's monthly price.
pub const STUDIO_MONTHLY: &str = "pingvas_studio_monthly";

/// localstripe with our add-ons (`scripts/localstripe`, which runs `scripts/localstripe_pingvas.py`
/// in localstripe's own environment): idempotency keys, and price changes charged at once with
/// `pending_if_incomplete`, as Stripe does them.
fn localstripe_bin() -> PathBuf {
    let bin = std::env::var_os("PINGVAS_LOCALSTRIPE").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/localstripe"),
        PathBuf::from,
    );
    let venv = PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
        .join(".cache/pingvas-localstripe/bin/python");
    assert!(
        bin.is_file() && (std::env::var_os("PINGVAS_LOCALSTRIPE_VENV").is_some() || venv.is_file()),
        "no localstripe at {}: run ./scripts/test once (it installs it)",
        bin.display()
    );
    bin
}

/// One blocking HTTP/1.0 exchange, for start-up before any runtime is involved.
fn answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v1/plans HTTP/1.0\r\nAuthorization: Bearer {SECRET_KEY}\r\n\r\n");
    let mut reply = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut reply).is_ok()
        && reply.contains(" 200 ")
}

/// The binary's localstripe, started on first use.
// It is never waited for: it lives as long as the test binary, whose exit stops it.
#[allow(clippy::zombie_processes)]
pub fn local_stripe() -> &'static LocalStripe {
    static SERVER: OnceLock<LocalStripe> = OnceLock::new();
    SERVER.get_or_init(|| {
        let port = free_port();
        let mut child = Command::new("sh")
            .args([
                "-c",
                r#""$0" --port "$1" --from-scratch >/dev/null 2>&1 & child=$!; cat >/dev/null; kill $child"#,
            ])
            .arg(localstripe_bin())
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("sh starts localstripe");
        let stdin = child.stdin.take().expect("piped stdin");
        for _ in 0..600 {
            if answers(port) {
                return LocalStripe {
                    url: format!("http://127.0.0.1:{port}"),
                    _keep: Mutex::new((child, stdin)),
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("localstripe did not start on port {port}");
    })
}

impl LocalStripe {
    /// Calls the API with the secret key and a form body; the JSON answer, whatever its status.
    pub async fn call(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let request = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.url))
            .bearer_auth(SECRET_KEY);
        let request = if method == reqwest::Method::GET { request.query(form) } else { request.form(form) };
        let response = request.send().await.expect("localstripe answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Makes the product and the monthly prices on offer, once per server (later calls find them).
    pub async fn ensure_prices(&self) {
        for (id, name, amount) in [(PRO_MONTHLY, "Pro", "1200"), (STUDIO_MONTHLY, "Studio", "3900")] {
            if self.call(reqwest::Method::GET, &format!("/v1/plans/{id}"), &[]).await.0 == 200 {
                continue;
            }
            let (_, product) = self.call(reqwest::Method::POST, "/v1/products", &[("name", name)]).await;
            let product = product["id"].as_str().expect("a product id").to_owned();
            let (status, plan) = self
                .call(
                    reqwest::Method::POST,
                    "/v1/plans",
                    &[
                        ("id", id),
                        ("product", &product),
                        ("amount", amount),
                        ("currency", "usd"),
                        ("interval", "month"),
                    ],
                )
                .await;
            // Another test may have made it meanwhile.
            assert!(
                status == 200
                    || self.call(reqwest::Method::GET, &format!("/v1/plans/{id}"), &[]).await.0 == 200,
                "{plan}"
            );
        }
    }

    /// Sends the provider's events to `url`, signed with `secret`.
    pub async fn register_webhook(&self, url: &str, secret: &str) {
        let name = format!("test{}", uuid::Uuid::new_v4().simple());
        let response = reqwest::Client::new()
            .post(format!("{}/_config/webhooks/{name}", self.url))
            .form(&[("url", url), ("secret", secret)])
            .send()
            .await
            .expect("localstripe answers");
        assert!(response.status().is_success(), "webhook not registered: {}", response.status());
    }

    /// Confirms a card setup the way the provider's script does in a browser (the card goes to
    /// the provider, never to us); the saved payment method's id.
    pub async fn confirm_card(&self, client_secret: &str, number: &str) -> String {
        let setup = client_secret.split("_secret_").next().expect("a setup intent secret");
        let body = serde_json::json!({
            "key": PUBLISHABLE_KEY,
            "client_secret": client_secret,
            "payment_method_data": {
                "type": "card",
                "card": { "number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123" },
            },
        });
        let response = reqwest::Client::new()
            .post(format!("{}/v1/setup_intents/{setup}/confirm", self.url))
            .body(body.to_string())
            .send()
            .await
            .expect("localstripe answers");
        let confirmed: Value = response.json().await.unwrap();
        assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
        confirmed["payment_method"].as_str().expect("a payment method").to_owned()
    }
}

/// The answers the served app gave to the provider's webhook deliveries, so a test can wait for a
/// delivery itself rather than for a while.
#[derive(Debug, Default)]
pub struct Deliveries {
    answers: Mutex<Vec<axum::http::StatusCode>>,
    answered: tokio::sync::Notify,
}

impl Deliveries {
    /// Waits until at least `count` deliveries have been answered (at most 60 s: generous on a
    /// loaded machine); their statuses.
    pub async fn answered(&self, count: usize) -> Vec<axum::http::StatusCode> {
        let wait = async {
            loop {
                let notified = self.answered.notified();
                let answers = self.answers.lock().unwrap().clone();
                if answers.len() >= count {
                    return answers;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("the provider delivered fewer than {count} webhooks within 60 s"))
    }
}

/// Serves `app` on a free local port (the provider's webhooks need a real address); its base URL
/// and the answers it gives to webhook deliveries.
pub async fn serve(app: Router) -> (String, std::sync::Arc<Deliveries>) {
    let deliveries = std::sync::Arc::new(Deliveries::default());
    let watched = deliveries.clone();
    let app = app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let watched = watched.clone();
            async move {
                let webhook = request.uri().path() == "/api/v1/billing/webhook";
                let response = next.run(request).await;
                if webhook {
                    watched.answers.lock().unwrap().push(response.status());
                    watched.answered.notify_waiters();
                }
                response
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ =
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await;
    });
    (format!("http://{address}"), deliveries)
}

/// The billing variables for a server using `stripe` with `webhook_secret`.
pub fn billing_vars(stripe: &LocalStripe, webhook_secret: &str) -> Vec<(String, String)> {
    [
        ("STRIPE_SECRET_KEY", SECRET_KEY.to_owned()),
        ("STRIPE_PUBLISHABLE_KEY", PUBLISHABLE_KEY.to_owned()),
        ("STRIPE_WEBHOOK_SECRET", webhook_secret.to_owned()),
        ("STRIPE_API_BASE", stripe.url.clone()),
        ("STRIPE_JS_URL", format!("{}/js.stripe.com/v3/", stripe.url)),
        ("STRIPE_PRICE_PRO_MONTHLY", PRO_MONTHLY.to_owned()),
        ("STRIPE_PRICE_STUDIO_MONTHLY", STUDIO_MONTHLY.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
