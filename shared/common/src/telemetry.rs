//! Structured JSON logs for CloudWatch. One line per event; the request span (request id, function) is attached to
//! every line logged inside it. `RUST_LOG` filters (default `info`).

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the JSON subscriber on stdout. Safe to call more than once (later calls do nothing).
pub fn init_json_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        // Lambda adds its own timestamps; ours stay for local runs where there is none.
        .with_ansi(false);
    let _ = tracing_subscriber::registry().with(filter).with(layer).try_init();
}

/// The same JSON format written into a caller-supplied sink, so tests can assert what is (and is not) logged.
pub fn json_subscriber_into<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::registry().with(EnvFilter::new("trace")).with(
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_ansi(false)
            .with_writer(writer),
    )
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
