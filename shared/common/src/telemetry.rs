//! Structured JSON logs for CloudWatch. One line per event; the request span (request id, function) is attached to
//! every line logged inside it. `RUST_LOG` filters (default `info`), except that the runtime, HTTP and AWS SDK crates
//! never log at TRACE, whatever `RUST_LOG` says: at TRACE `lambda_runtime` logs each raw invocation event (with the
//! `Authorization` header, client assertions and client secrets in it) and the SDK logs every request and response it
//! sends. Their DEBUG output carries no payloads, so DEBUG stays available for diagnosing them.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Target prefixes held below TRACE. A prefix matches every crate whose name starts with it: `aws` covers
/// `aws_config`, `aws_sdk_*`, `aws_smithy_*`, `aws_sigv4` and `aws_runtime`; `hyper` covers `hyper_util` and
/// `hyper_rustls`; `lambda_runtime` covers `lambda_runtime_api_client`.
pub const TRACE_CAPPED_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_http",
    "hyper",
    "h2",
    "tower",
    "reqwest",
    "rustls",
    "aws",
];

/// Installs the JSON subscriber on stdout, filtered by `RUST_LOG` (default `info`) under the TRACE cap. Safe to call
/// more than once (later calls do nothing).
pub fn init_json_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = json_subscriber(filter, std::io::stdout).try_init();
}

/// The JSON subscriber the functions log through, with `filter` (what `RUST_LOG` says) under the TRACE cap.
pub fn json_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(filter).with(trace_cap()).with(
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true)
            // Lambda adds its own timestamps; ours stay for local runs where there is none.
            .with_ansi(false)
            .with_writer(writer),
    )
}

/// Everything at TRACE, except the capped dependencies at DEBUG.
fn trace_cap() -> Targets {
    TRACE_CAPPED_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |targets, prefix| {
            targets.with_target(*prefix, LevelFilter::DEBUG)
        })
}

/// The production subscriber with `RUST_LOG=trace`, written into a caller-supplied sink, so tests can assert what
/// is (and is not) logged at the most verbose setting.
pub fn json_subscriber_into<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    json_subscriber(EnvFilter::new("trace"), writer)
}

/// A `MakeWriter` over a shared buffer, for log-capture tests.
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What lambda_runtime 1.5 logs at TRACE for every invocation, and what the SDK logs for every call.
    fn log_like_the_dependencies(secret: &str) {
        tracing::trace!(target: "lambda_runtime::layers::api_response", body = secret, "raw JSON event received from Lambda");
        tracing::trace!(target: "lambda_runtime_api_client", body = secret, "request");
        tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", request = secret, "transmitting request");
        tracing::trace!(target: "hyper_util::client::legacy", headers = secret, "sending");
        tracing::debug!(target: "lambda_runtime::runtime", "debug lines of the runtime stay");
        tracing::trace!(target: "wif_auth::service", "our own trace lines stay");
    }

    #[test]
    fn dependencies_never_log_at_trace_whatever_the_filter_says() {
        let secret = "client_assertion=eyJhbGciOiJSUzI1NiJ9.secret.signature";
        for spec in [
            "trace",
            "lambda_runtime=trace,aws_smithy_runtime=trace",
            "lambda_runtime::layers::api_response=trace,hyper_util=trace",
        ] {
            let logs = CapturedLogs::default();
            let subscriber = json_subscriber(EnvFilter::new(spec), logs.clone());
            tracing::subscriber::with_default(subscriber, || log_like_the_dependencies(secret));
            let text = logs.contents();
            assert!(!text.contains(secret), "RUST_LOG={spec} logged a payload: {text}");
            if spec == "trace" {
                assert!(text.contains("debug lines of the runtime stay"), "{text}");
                assert!(text.contains("our own trace lines stay"), "{text}");
            }
        }
        let logs = CapturedLogs::default();
        tracing::subscriber::with_default(json_subscriber_into(logs.clone()), || log_like_the_dependencies(secret));
        assert!(!logs.contents().contains(secret), "{}", logs.contents());
    }
}
