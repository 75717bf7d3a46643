//! The examples' log output: a `tracing` subscriber on standard error, filtered by
//! `RUST_LOG` (default: warnings and errors, so that skipped sources, samples and files
//! are always seen; `RUST_LOG=info` adds each step, `debug` each skipped item). Included
//! by every example with `#[path]`, those of the member crates too.

/// Installs the subscriber; call first in `main`.
#[allow(dead_code)]
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second call (an example that initialises twice) keeps the first subscriber.
    // Colours only on a terminal: a log file gets plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
