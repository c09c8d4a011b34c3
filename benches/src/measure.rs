//! Whole-process measurements for the benches that compare canvass with other tools: wall time
//! and the CPU seconds the child (and whatever it waited for) used.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::bail;

#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall_s: f64,
    pub cpu_s: f64,
}

/// Runs `cmd` to its end (stderr passed through); its measure and stdout. A failing command is
/// an error: a bench must not time a run that did not do the work.
pub fn run_measured(cmd: &mut Command) -> anyhow::Result<(Measured, Vec<u8>)> {
    let before = children_cpu_s();
    let started = Instant::now();
    let out = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output()?;
    let wall_s = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", out.status);
    }
    Ok((Measured { wall_s, cpu_s: children_cpu_s() - before }, out.stdout))
}

/// User plus system CPU seconds of every child this process has waited for.
fn children_cpu_s() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The median (NaN for none).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}
