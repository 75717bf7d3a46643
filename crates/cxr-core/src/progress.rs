//! Progress of long work. Every bar of the workspace (training epochs and batches, the
//! folder tools, the experiment steps) comes from [`bar`].
//!
//! On a terminal it is an indicatif bar redrawn in place. When standard error is not a
//! terminal (a log file, `nohup`, CI, a batch scheduler, `docker logs`) the same bar
//! writes plain lines instead: one every [`LOG_EVERY`] while it runs and its last state
//! when it ends, so that a run of hours says where it is without filling the log with
//! the many short bars of a quick one. (Indicatif alone draws nothing there.)
//!
//! ```
//! let pb = cxr_core::progress::bar(3, "segmenting", true);
//! for _ in 0..3 {
//!     pb.inc(1);
//! }
//! pb.finish();
//! ```

use std::fmt;
use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{
    HumanDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle, TermLike,
};

/// The most often a bar writes a line when standard error is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(30);

/// A bar of `len` steps (0 when not known yet: `set_length` later) labelled `what`
/// (`epochs`, `segmenting`); its message (`set_message`) follows the counts. Hidden
/// unless `visible` (tests, library use); otherwise drawn on standard error, as a bar on
/// a terminal and as plain lines elsewhere (module documentation).
pub fn bar(len: u64, what: &str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    if io::stderr().is_terminal() {
        ProgressBar::new(len).with_style(style(&format!(
            "{:<12} [{{bar:30}}] {{pos}}/{{len}} ({{elapsed}}<{{eta}}) {{msg}}",
            what.trim()
        )))
    } else {
        log_bar(len, what, Box::new(io::stderr()), LOG_EVERY)
    }
}

/// The bar [`bar`] draws when standard error is not a terminal, writing its lines to `out`:
/// its state once `every` has passed since it started or since its last line, and its
/// last state when it ends (`finish`) or is dropped unfinished; a bar cleared on its end
/// (`finish_and_clear`) writes no last line, as it leaves none on a terminal.
///
/// A state is written once it has held for [`SETTLE`]: a step that updates the count and
/// the message one after the other draws twice within microseconds, and only the second
/// drawing is true. Update the count first (`inc`, then `set_message`): `inc` does not
/// always draw, `set_message` does. A background tick (every [`TICK`]) redraws the bar,
/// so a held state is written even when no step follows.
pub fn log_bar(len: u64, what: &str, out: Box<dyn Write + Send>, every: Duration) -> ProgressBar {
    let lines = LogLines(Mutex::new(LogState {
        out,
        every,
        drawing: String::new(),
        latest: None,
        last_written: Instant::now(),
    }));
    let template = format!("{} {{pos}}/{{len}} ({{timing}}) {{msg}}", what.trim());
    let pb =
        ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::term_like(Box::new(lines)))
            .with_style(style(&template).with_key("timing", timing));
    pb.enable_steady_tick(TICK);
    pb
}

/// How long a drawing of a log bar must hold before it is written ([`log_bar`]).
pub const SETTLE: Duration = Duration::from_millis(100);
/// How often a log bar is redrawn when nothing happens ([`log_bar`]).
pub const TICK: Duration = Duration::from_millis(250);

/// `2 minutes so far, about 5 minutes left`: the time left assumes the remaining steps
/// take as long as the done ones did on average (indicatif's own estimate follows the
/// last few steps, which misleads over a few long epochs).
fn timing(s: &ProgressState, w: &mut dyn fmt::Write) {
    let _ = w.write_str(&timing_text(s.pos(), s.len(), s.elapsed()));
    if s.is_finished() {
        let _ = w.write_char(FINISHED);
    }
}

/// Marks the drawing of a finished log bar, which is written at once ([`LogState::drawn`]).
const FINISHED: char = '\u{1e}';

fn timing_text(pos: u64, len: Option<u64>, elapsed: Duration) -> String {
    match (pos, len) {
        (0, Some(l)) if l > 0 => format!("{} so far", HumanDuration(elapsed)),
        (p, Some(l)) if p < l => format!(
            "{} so far, about {} left",
            HumanDuration(elapsed),
            HumanDuration(elapsed.mul_f64((l - p) as f64 / p as f64))
        ),
        _ => HumanDuration(elapsed).to_string(),
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates above are fixed; only `what` is inserted, as text.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A "terminal" that keeps what indicatif draws and writes it as whole lines, rate-limited.
struct LogLines(Mutex<LogState>);

struct LogState {
    out: Box<dyn Write + Send>,
    every: Duration,
    /// The drawing in progress (indicatif writes a line in pieces, then flushes).
    drawing: String,
    /// The newest whole drawing and when it was drawn; `None` once cleared.
    latest: Option<(String, Instant)>,
    /// When the last line was written, or the bar started.
    last_written: Instant,
}

impl LogState {
    fn write(&mut self, line: &str, now: Instant) -> io::Result<()> {
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        self.last_written = now;
        Ok(())
    }

    /// A new whole drawing (`""`: cleared).
    fn drawn(&mut self, line: String, now: Instant) -> io::Result<()> {
        if line.contains(FINISHED) {
            // `finish`: the last state, written now, before whatever the program prints next.
            self.latest = None;
            return self.write(&line.replace(FINISHED, ""), now);
        }
        if line.is_empty() {
            // Cleared (`finish_and_clear`): nothing is left to show, as on a terminal.
            self.latest = None;
            return Ok(());
        }
        let due = now.duration_since(self.last_written) >= self.every;
        if let Some((previous, at)) = self.latest.take()
            && due
        {
            if now.duration_since(at) >= SETTLE {
                // The previous drawing held: it was true.
                self.write(&previous, now)?;
            } else if now.duration_since(self.last_written) >= self.every + 4 * SETTLE {
                // Drawings that never hold (many quick steps): the newest will do.
                self.write(&line, now)?;
            }
        }
        self.latest = Some((line, now));
        Ok(())
    }
}

impl LogLines {
    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        // A panic while holding the lock leaves only text behind: keep going.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for LogLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogLines").finish_non_exhaustive()
    }
}

impl TermLike for LogLines {
    fn width(&self) -> u16 {
        // Wide enough that indicatif never wraps a line; the padding it adds is trimmed.
        1000
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.state().drawing.push_str(s);
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        let mut st = self.state();
        let line = st.drawing.trim().to_string();
        st.drawing.clear();
        st.drawn(line, Instant::now())
    }
}

impl Drop for LogLines {
    fn drop(&mut self) {
        // The last state (unless cleared). A log that cannot be written to is not worth a
        // panic.
        let mut st = self.state();
        if let Some((line, _)) = st.latest.take() {
            let _ = st.write(&line, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Shared {
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        }
    }

    #[test]
    fn off_a_terminal_a_quick_bar_writes_its_last_state_only() {
        let out = Shared::default();
        let pb = log_bar(
            500,
            "segmenting",
            Box::new(out.clone()),
            Duration::from_secs(3600),
        );
        for _ in 0..500 {
            pb.inc(1);
        }
        pb.set_message("3 rejected");
        pb.finish();
        drop(pb);
        let lines = out.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("segmenting 500/500 ("), "{lines:?}");
        assert!(lines[0].ends_with(" 3 rejected"), "{lines:?}");
        assert!(lines.iter().all(|l| !l.contains('\r') && !l.ends_with(' ')));
    }

    /// The rule itself, on drawings at given times: a drawing overtaken within
    /// [`SETTLE`] is never written; one that held is, at the next drawing (a step or the
    /// background tick); drawings that never hold are written all the same, late.
    #[test]
    fn a_line_is_a_drawing_that_held_never_one_a_step_overtook() {
        let out = Shared::default();
        let t0 = Instant::now();
        let mut st = LogState {
            out: Box::new(out.clone()),
            every: Duration::ZERO,
            drawing: String::new(),
            latest: None,
            last_written: t0,
        };
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // A step: the count, then at once the message.
        st.drawn("epochs 1/3 val_dice -".into(), ms(1)).unwrap();
        st.drawn("epochs 1/3 val_dice 0".into(), ms(1)).unwrap();
        assert!(out.lines().is_empty());
        // The tick finds it held.
        st.drawn("epochs 1/3 val_dice 0".into(), ms(250)).unwrap();
        assert_eq!(out.lines(), ["epochs 1/3 val_dice 0"]);
        // Quick drawings that never hold for 100 ms: the newest is written once `every` and
        // four settles have passed since the last line.
        let mut t = 260;
        while t < 700 {
            st.drawn(format!("batches {t}"), ms(t)).unwrap();
            t += 50;
        }
        assert_eq!(out.lines().len(), 2, "{:?}", out.lines());
        assert!(out.lines()[1].starts_with("batches "));
        // With `every` not yet passed, nothing more.
        st.every = Duration::from_secs(3600);
        st.drawn("epochs 2/3 val_dice 1".into(), ms(800)).unwrap();
        st.drawn("epochs 2/3 val_dice 1".into(), ms(1200)).unwrap();
        assert_eq!(out.lines().len(), 2);
    }

    #[test]
    fn off_a_terminal_a_bar_writes_while_it_runs_and_its_last_state() {
        let out = Shared::default();
        let pb = log_bar(3, "epochs", Box::new(out.clone()), Duration::ZERO);
        for i in 0..3 {
            pb.inc(1);
            pb.set_message(format!("val_dice {i}"));
            // Long enough for a background tick to find the state held.
            std::thread::sleep(TICK * 2 + SETTLE);
        }
        pb.finish();
        drop(pb);
        let lines = out.lines();
        for k in 1..=3 {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("epochs {k}/3 ("))),
                "{lines:?}"
            );
        }
        let last = lines.last().unwrap();
        assert!(
            last.starts_with("epochs 3/3 (") && !last.contains("left"),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("epochs 1/3 (") && l.contains(" so far, about ")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_cleared_bar_writes_no_last_line() {
        let out = Shared::default();
        let pb = log_bar(
            3,
            "batches",
            Box::new(out.clone()),
            Duration::from_secs(3600),
        );
        pb.inc(2);
        pb.inc(1);
        pb.finish_and_clear();
        drop(pb);
        assert!(out.lines().is_empty(), "{:?}", out.lines());
    }

    #[test]
    fn the_time_left_is_the_mean_step_time_the_remaining_steps() {
        let s = Duration::from_secs;
        assert_eq!(timing_text(0, Some(10), s(20)), "20 seconds so far");
        assert_eq!(
            timing_text(1, Some(4), s(120)),
            "2 minutes so far, about 6 minutes left"
        );
        assert_eq!(timing_text(4, Some(4), s(480)), "8 minutes");
        // Length not known yet.
        assert_eq!(timing_text(3, None, s(5)), "5 seconds");
        assert_eq!(timing_text(0, Some(0), s(5)), "5 seconds");
    }

    #[test]
    fn a_hidden_bar_writes_nothing_and_counts_still() {
        let pb = bar(4, "x", false);
        pb.inc(3);
        assert!(pb.is_hidden());
        assert_eq!(pb.position(), 3);
    }
}
