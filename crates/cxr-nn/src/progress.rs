//! Progress bars of the training loops.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `what` (`epochs`, `batches`): shown when `visible`,
/// otherwise hidden (tests, library use).
pub fn progress_bar(len: usize, what: &str, visible: bool) -> ProgressBar {
    let pb = if visible {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:30}} {{pos}}/{{len}} {{msg}} ({{elapsed}}<{{eta}})"
        ))
        .expect("static template"),
    );
    pb
}
