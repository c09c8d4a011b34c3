//! Progress for one input: a bar on a terminal, a log line every few seconds otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use canvass_ingest::Progress;
use indicatif::{ProgressBar, ProgressStyle};

const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct InputProgress {
    name: String,
    bar: Option<ProgressBar>,
    started: Instant,
    last_log: Instant,
}

impl InputProgress {
    /// `bars`: draw a bar on a terminal (off when several inputs run at once: their bars would
    /// overwrite each other); log lines otherwise.
    pub fn new(name: &str, bars: bool) -> Self {
        let bar = (bars && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{prefix} [{bar:30}] {msg}")
                    .expect("template is valid")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar
        });
        InputProgress { name: name.to_string(), bar, started: Instant::now(), last_log: Instant::now() }
    }

    pub fn update(&mut self, p: &Progress) {
        let media_s = p.media_time_us.max(0) as f64 / 1e6;
        let speed = media_s / self.started.elapsed().as_secs_f64().max(1e-3);
        let msg = format!(
            "{} frames decoded, {} sampled, {media_s:.1} s, {speed:.1}x real time",
            p.frames_decoded, p.frames_sampled
        );
        if let Some(bar) = &self.bar {
            if let Some(total) = p.duration_us {
                bar.set_length(total.max(1) as u64);
            }
            bar.set_position(p.media_time_us.max(0) as u64);
            bar.set_message(msg);
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!(input = %self.name, frames_decoded = p.frames_decoded, frames_sampled = p.frames_sampled, media_s, speed, "progress");
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
