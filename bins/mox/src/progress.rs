//! Progress bars for long commands (import, export, backup, verifydata): drawn on stderr when it
//! is a terminal, hidden otherwise so scripts and logs stay clean.

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A [`store::Progress`] that draws an indicatif bar.
#[derive(Debug, Default)]
pub(crate) struct Bar {
    bar: Mutex<Option<ProgressBar>>,
}

impl Bar {
    fn with(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        let mut bar = self.bar.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut bar);
    }
}

impl store::Progress for Bar {
    fn start(&self, what: &str, total: Option<u64>) {
        // stderr() hides the bar when stderr is not a terminal.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = match total {
            Some(_) => "{msg} [{bar:40}] {percent}% {human_pos}/{human_len} ({eta} left)",
            None => "{spinner} {msg} {human_pos}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        self.with(|b| *b = Some(bar));
    }

    fn advance(&self, n: u64) {
        self.with(|b| {
            if let Some(bar) = b {
                bar.inc(n);
            }
        });
    }

    fn finish(&self) {
        self.with(|b| {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// Shows progress the server reports over the control socket on a local bar.
pub(crate) fn forward_progress(bar: &Bar, p: &crate::ctl::Progress) {
    use store::Progress as _;
    match p {
        crate::ctl::Progress::Start { what, total } => bar.start(what, *total),
        crate::ctl::Progress::Advance { n } => bar.advance(*n),
        crate::ctl::Progress::Finish => bar.finish(),
    }
}
