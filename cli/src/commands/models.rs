//! `canvass models list | verify`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use canvass_detector::classifier::{Classifier, ClassifierManifest};
use canvass_detector::{Manifest, Model};

use crate::config::FileConfig;
use crate::detector_args::DetectorArgs;

#[derive(clap::Subcommand)]
pub enum ModelsCommand {
    /// List every manifest in the manifests folder: name, role, version, file, licence, classes.
    List(DetectorArgs),
    /// For each manifest: check the file's checksum, load it and run one inference.
    Verify(DetectorArgs),
}

fn manifest_paths(args: &DetectorArgs, file: &FileConfig) -> anyhow::Result<Vec<PathBuf>> {
    let dir = args.manifests_dir(file);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read the manifests folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// The manifest at `path` if it is a crop classifier's (`kind = "classifier"`).
fn classifier(path: &std::path::Path) -> Option<ClassifierManifest> {
    let text = std::fs::read_to_string(path).ok()?;
    let is_classifier =
        text.parse::<toml::Table>().ok()?.get("kind").and_then(|k| k.as_str()) == Some("classifier");
    // A classifier manifest that does not parse is reported as one, with its reason.
    is_classifier
        .then(|| ClassifierManifest::load(path))
        .and_then(|r| r.map_err(|e| eprintln!("error: {e}")).ok())
}

pub fn run(command: ModelsCommand, file: &FileConfig) -> anyhow::Result<ExitCode> {
    match command {
        ModelsCommand::List(args) => list(&args, file),
        ModelsCommand::Verify(args) => verify(&args, file),
    }
}

fn list(args: &DetectorArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for path in manifest_paths(args, file)? {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if let Some(c) = classifier(&path) {
            let outputs: Vec<String> = c
                .outputs
                .iter()
                .map(|o| format!("{} -> {} ({} labels)", o.name, o.attribute.name(), o.labels.len()))
                .collect();
            let applies: Vec<String> = c.applies_to.iter().map(canvass_schemas::wire_name).collect();
            println!("{name}");
            println!("  {} {} (crop classifier), reads {}", c.name, c.version, applies.join(", "));
            println!(
                "  file {} (sha256 {}...), licence {}",
                c.file.display(),
                &c.sha256[..12.min(c.sha256.len())],
                c.licence
            );
            println!("  outputs {}", outputs.join(", "));
            continue;
        }
        match Manifest::load(&path) {
            Ok(m) => {
                let mut mapped: Vec<String> = m.taxonomy.iter().map(|(k, v)| format!("{k}->{v:?}")).collect();
                mapped.sort();
                println!("{name}");
                println!(
                    "  {} {} ({:?}), {} classes, {:?} output",
                    m.name,
                    m.version,
                    m.role,
                    m.classes.len(),
                    m.output.format
                );
                println!(
                    "  file {} (sha256 {}...), licence {}",
                    m.file.display(),
                    &m.sha256[..12.min(m.sha256.len())],
                    m.licence
                );
                println!("  maps {}", mapped.join(", ").to_lowercase());
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn verify(args: &DetectorArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let config = args.config(file);
    let mut failed = false;
    for path in manifest_paths(args, file)? {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if let Some(manifest) = classifier(&path) {
            let started = Instant::now();
            let result =
                Classifier::load(manifest, &config.models_dir, config.intra_threads).and_then(|mut c| {
                    let crop = image::RgbImage::from_pixel(64, 48, image::Rgb([128, 128, 128]));
                    c.classify(&[&crop]).map(|_| ())
                });
            match result {
                Ok(()) => println!(
                    "ok     {name}: checksum matches, loaded and one crop classified in {:.0} ms",
                    started.elapsed().as_secs_f64() * 1e3
                ),
                Err(e) => {
                    println!("FAILED {name}: {e:#}");
                    failed = true;
                }
            }
            continue;
        }
        let result = Manifest::load(&path).map_err(anyhow::Error::from).and_then(|m| {
            let started = Instant::now();
            let mut model = Model::load(m, &config.models_dir, config.intra_threads)?;
            let loaded = started.elapsed();
            let grey = image::RgbImage::from_pixel(640, 360, image::Rgb([128, 128, 128]));
            let started = Instant::now();
            model.detect(&grey)?;
            Ok((model.class_map.stripped.clone(), loaded, started.elapsed()))
        });
        match result {
            Ok((stripped, loaded, inference)) => {
                let stripped = if stripped.is_empty() {
                    String::new()
                } else {
                    format!(", face classes stripped: {stripped:?}")
                };
                println!(
                    "ok     {name}: checksum matches, loaded in {:.0} ms, one inference in {:.1} ms{stripped}",
                    loaded.as_secs_f64() * 1e3,
                    inference.as_secs_f64() * 1e3
                );
            }
            Err(e) => {
                println!("FAILED {name}: {e:#}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
