//! `canvass probe`: what an input holds.

use std::process::ExitCode;

use canvass_ingest::{InputSpec, ProbeReport};

#[derive(clap::Args)]
pub struct ProbeArgs {
    /// Print JSON (an array, one object per input) instead of text.
    #[arg(long)]
    json: bool,
    /// Video files or stream URLs.
    #[arg(required = true, value_name = "FILE_OR_URL")]
    inputs: Vec<String>,
}

pub fn run(args: ProbeArgs) -> anyhow::Result<ExitCode> {
    let mut reports = Vec::new();
    let mut failed = false;
    for input in &args.inputs {
        let spec = InputSpec::parse(input);
        match canvass_ingest::probe(&spec) {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("error: {}: {e}", spec.display_name());
                failed = true;
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        for report in &reports {
            print!("{}", render(report));
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn render(report: &ProbeReport) -> String {
    let mut out = format!("{}\n  container  {}\n", report.input, report.container);
    match report.duration_s {
        Some(d) => out += &format!("  duration   {d:.3} s (starts at {:.3} s)\n", report.start_s),
        None => out += "  duration   unknown (live or unindexed)\n",
    }
    if let Some(rate) = report.bit_rate {
        out += &format!("  bit rate   {:.0} kb/s\n", rate as f64 / 1000.0);
    }
    if let Some(created) = &report.creation_time {
        out += &format!("  created    {created}\n");
    }
    for s in &report.streams {
        out += &format!("  #{} {:<9} {}", s.index, s.kind, s.codec);
        if let (Some(w), Some(h)) = (s.width, s.height) {
            out += &format!(" {w}x{h}");
        }
        if let Some(pix) = &s.pixel_format {
            out += &format!(" {pix}");
        }
        if let Some(fps) = s.frame_rate {
            out += &format!(" {fps:.3} fps");
        }
        if let Some(frames) = s.frames {
            out += &format!(" {frames} frames");
        }
        if let Some(rate) = s.sample_rate {
            out += &format!(" {rate} Hz");
        }
        if let Some(ch) = s.channels {
            out += &format!(" {ch} ch");
        }
        out += "\n";
    }
    out
}
