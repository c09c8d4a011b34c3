//! Detector throughput: per model, milliseconds per frame for inference alone and for the whole
//! detect step (pre-processing, inference, decoding, NMS), on frames of the traffic sample clip.
//!
//! `benches/detect-bench` runs this and then the same models in Python onnxruntime on the very
//! same input tensors (written here to `target/bench-inputs/`) as the reference.
//!
//! `cargo run --release -p canvass-benches --bin detect-bench [-- ASSETS_DIR [THREADS]]`

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use canvass_detector::{Manifest, Model};
use canvass_ingest::{IngestConfig, InputSpec};
use canvass_transport::memory::MemorySink;

const MODELS: &[&str] = &["yolox_nano_coco", "picodet_s_416_coco", "arcis_ultralight_weapons_256"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let assets = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| "assets".into()));
    let threads: usize = args.get(2).map_or(0, |t| t.parse().expect("THREADS is a number"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let clip = assets.join("media/video/opencv4nodejs_traffic.mp4");
    let mut frames = MemorySink::default();
    let spec = InputSpec::parse(clip.to_str().unwrap());
    canvass_ingest::ingest(&spec, "bench", &IngestConfig::default(), &mut frames, &mut |_| {})
        .expect("ingest");
    let images: Vec<image::RgbImage> =
        frames.frames.iter().map(|f| image::load_from_memory(&f.image).expect("jpeg").to_rgb8()).collect();
    let out_dir = repo.join("target/bench-inputs");
    std::fs::create_dir_all(&out_dir).unwrap();
    println!(
        "{} frames of {} ({}x{}), ONNX Runtime intra-op threads: {}",
        images.len(),
        clip.display(),
        images[0].width(),
        images[0].height(),
        if threads == 0 { "all cores".to_string() } else { threads.to_string() }
    );
    println!("| model | input | inference ms/frame (median) | whole detect step ms/frame | frames/s |");
    println!("|---|---|---|---|---|");
    for name in MODELS {
        let manifest = Manifest::load(&repo.join("models").join(format!("{name}.toml"))).expect("manifest");
        let mut model = Model::load(manifest, &assets.join("models"), threads).expect("model");
        let spec = model.manifest.input.clone();
        // Inputs for the Python reference: every prepared tensor, raw little-endian f32.
        let mut raw = std::fs::File::create(out_dir.join(format!("{name}.f32"))).unwrap();
        let tensors: Vec<_> = images.iter().map(|img| model.prepare(&[img]).0).collect();
        for t in &tensors {
            for v in t.iter() {
                raw.write_all(&v.to_le_bytes()).unwrap();
            }
        }
        model.infer(&tensors[0]).expect("warm-up");
        let mut inference = Vec::new();
        for t in &tensors {
            let started = Instant::now();
            model.infer(t).expect("inference");
            inference.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let started = Instant::now();
        for img in &images {
            model.detect(img).expect("detect");
        }
        let whole = started.elapsed().as_secs_f64() * 1e3 / images.len() as f64;
        println!(
            "| {name} | {}x{} | {:.1} | {whole:.1} | {:.1} |",
            spec.width,
            spec.height,
            median(inference),
            1e3 / whole
        );
    }
}
