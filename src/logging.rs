//! Log output: readable lines by default, one JSON object per line on
//! request. `RUST_LOG` filters as usual; by default alice's own lines from
//! `info` and every dependency's from `warn` (their INFO chatter, such as the
//! scheduler's "Job creator created" per bot, is not for operators).
//!
//! Logging never takes a request down: a line that cannot be written (a
//! closed pipe, a full disk) is dropped and counted, and the count is
//! reported with the next line that gets through.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

/// Dependencies at `warn`, alice at `info`.
pub const DEFAULT_FILTER: &str = "warn,alice=info";

pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Its fallback is `eprintln!`, which panics when stderr is closed.
        .log_internal_errors(false)
        .with_writer(Stderr::default());
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// stderr that drops what it cannot write.
#[derive(Clone, Default)]
pub struct Stderr {
    dropped: Arc<AtomicU64>,
}

impl Stderr {
    /// Lines lost since the last one written.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            dropped: self.dropped.clone(),
        }
    }
}

pub struct LineWriter {
    dropped: Arc<AtomicU64>,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        let lost = self.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let notice = format!("alice: {lost} log lines could not be written and were dropped\n");
            if err.write_all(notice.as_bytes()).is_err() {
                self.dropped.fetch_add(lost, Ordering::Relaxed);
            }
        }
        if err.write_all(buf).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}
