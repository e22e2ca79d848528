//! Log output: readable lines by default, one JSON object per line on
//! request. `RUST_LOG` filters as usual; by default alice's own lines from
//! `info` and every dependency's from `warn` (their INFO chatter, such as the
//! scheduler's "Job creator created" per bot, is not for operators).
//!
//! Lines are written by one thread of their own: a request's thread only
//! appends its line to a shared buffer, so it never waits for stderr (a
//! write per line was a system call on every request, and a reader that
//! stops reading — a full pipe — stalled every request). The writer wakes
//! when a buffer starts, lets lines gather for [`GATHER`], and writes them
//! all at once.
//!
//! Logging never takes a request down: a line that does not fit in the
//! buffer (the writer is behind by [`BUFFERED`] bytes) or cannot be written
//! (a closed pipe, a full disk) is dropped and counted, and the count is
//! reported with the next line that gets through. Without a terminal the
//! lines carry no colour codes.

use parking_lot::{Condvar, Mutex};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
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

/// Bytes of lines the writer may be behind before new ones are dropped.
const BUFFERED: usize = 512 * 1024;

/// How long the writer lets lines gather once a buffer starts.
const GATHER: Duration = Duration::from_millis(10);

/// Keep it until the process ends: dropping it writes out the buffered lines.
#[must_use]
pub struct LogGuard(Stderr);

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.0.write_out();
    }
}

pub fn init(format: LogFormat) -> LogGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let writer = Stderr::start();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes are for a terminal, not for a file or a collector.
        .with_ansi(std::io::stderr().is_terminal())
        // Its fallback is `eprintln!`, which panics when stderr is closed.
        .log_internal_errors(false)
        .with_writer(writer.clone());
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    LogGuard(writer)
}

/// stderr through the writer thread, dropping what it cannot write.
#[derive(Clone)]
pub struct Stderr(Arc<Shared>);

struct Shared {
    /// Lines not written yet.
    lines: Mutex<Vec<u8>>,
    /// Wakes the writer when `lines` starts filling.
    started: Condvar,
    /// The output and a spare buffer; held while writing, so lines keep
    /// their order whoever writes them out.
    out: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
    /// Lines lost since the last one written.
    dropped: AtomicU64,
}

impl Stderr {
    /// Starts the writer thread, writing to the process's stderr.
    pub fn start() -> Self {
        Self::start_with(Box::new(std::io::stderr()))
    }

    fn start_with(out: Box<dyn Write + Send>) -> Self {
        let shared = Arc::new(Shared {
            lines: Mutex::new(Vec::new()),
            started: Condvar::new(),
            out: Mutex::new((out, Vec::new())),
            dropped: AtomicU64::new(0),
        });
        let writer = Self(shared);
        let this = writer.clone();
        // Without the thread lines gather until the buffer is full, then
        // are dropped and counted; the final `write_out` still writes them.
        let _ = std::thread::Builder::new()
            .name("alice-log-writer".into())
            .spawn(move || loop {
                {
                    let mut lines = this.0.lines.lock();
                    while lines.is_empty() {
                        this.0.started.wait(&mut lines);
                    }
                }
                std::thread::sleep(GATHER);
                this.write_out();
            });
        writer
    }

    /// Lines lost since the last one written.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Writes out the lines buffered so far, after the count of those lost.
    pub fn write_out(&self) {
        let mut out = self.0.out.lock();
        let (out, batch) = &mut *out;
        std::mem::swap(batch, &mut *self.0.lines.lock());
        let lost = self.0.dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            let notice = format!("alice: {lost} log lines could not be written and were dropped\n");
            batch.splice(0..0, notice.into_bytes());
        }
        if !batch.is_empty() && (out.write_all(batch).is_err() || out.flush().is_err()) {
            let lines = batch.iter().filter(|&&b| b == b'\n').count() as u64;
            // The notice's own count goes back too.
            let lost_again = lines.saturating_sub(u64::from(lost > 0)) + lost;
            self.0.dropped.fetch_add(lost_again, Ordering::Relaxed);
        }
        batch.clear();
    }
}

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

/// One line on its way to the writer thread.
pub struct LineWriter<'a>(&'a Stderr);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let shared = &self.0 .0;
        let mut lines = shared.lines.lock();
        if lines.len() + buf.len() > BUFFERED {
            drop(lines);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            let was_empty = lines.is_empty();
            lines.extend_from_slice(buf);
            drop(lines);
            if was_empty {
                shared.started.notify_one();
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// An output that fails while `broken` is set and keeps what it got.
    #[derive(Clone, Default)]
    struct Output {
        broken: Arc<AtomicBool>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Output {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.broken.load(Ordering::Relaxed) {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.got.lock().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log(writer: &Stderr, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    #[test]
    fn lines_lost_to_a_broken_or_full_output_are_counted_in_the_next_one() {
        let output = Output::default();
        let writer = Stderr::start_with(Box::new(output.clone()));
        output.broken.store(true, Ordering::Relaxed);
        log(&writer, "one\n");
        log(&writer, "two\n");
        writer.write_out();
        assert_eq!(writer.dropped(), 2);
        // A line too many for the buffer is dropped at once.
        log(&writer, &"x".repeat(BUFFERED + 1));
        assert_eq!(writer.dropped(), 3);
        output.broken.store(false, Ordering::Relaxed);
        log(&writer, "three\n");
        writer.write_out();
        assert_eq!(
            String::from_utf8_lossy(&output.got.lock()),
            "alice: 3 log lines could not be written and were dropped\nthree\n"
        );
        assert_eq!(writer.dropped(), 0);
    }
}
