//! `canvass eval`: how accurate the configured models are on the agency's own labelled images
//! (COCO instances JSON, or YOLO txt folders), per class at IoU 0.5, with colour accuracy where
//! labelled; `--compare` runs a second model set on the same images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use canvass_detector::DetectorConfig;
use canvass_detector::classifier::{fold_class, fold_colour};
use canvass_detector::colour::exposure_reference;
use canvass_detector::confusions;
use canvass_detector::eval::{Labelled, Prediction, Report, evaluate};
use canvass_schemas::{Colour, ObjectClass, colour_distribution};

use crate::config::FileConfig;
use crate::detector_args::DetectorArgs;

#[derive(clap::Args)]
pub struct EvalArgs {
    #[command(flatten)]
    detector: DetectorArgs,
    /// COCO instances file (images, categories named as canvass classes: car, pickup, van,
    /// truck, bus, motorcycle, bicycle, firearm, handgun, long_gun, knife; optional
    /// `attributes.colour` per annotation).
    #[arg(long, value_name = "FILE", requires = "images", conflicts_with = "yolo")]
    coco: Option<PathBuf>,
    /// Folder of the COCO file's images.
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// YOLO folder: `images/`, `labels/` (one `class cx cy w h` line per box, normalised) and
    /// `classes.txt` (one canvass class name per line, in index order).
    #[arg(long, value_name = "DIR")]
    yolo: Option<PathBuf>,
    /// A second model set to compare with, by manifest name; repeat for several. [default: the
    /// same models, when only --compare-classifier is given]
    #[arg(long, value_name = "NAME")]
    compare: Vec<String>,
    /// The second set's crop classifiers, by manifest name. [default: none]
    #[arg(long, value_name = "NAME")]
    compare_classifier: Vec<String>,
    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write every detection (image id, class, box, score, colour) here, for checking by
    /// another tool (scripts/eval_check.py).
    #[arg(long, value_name = "FILE")]
    predictions: Option<PathBuf>,
}

/// A labelled set: each image's id and path, and the boxes.
struct LabelledSet {
    images: Vec<(u64, PathBuf)>,
    labels: Vec<Labelled>,
}

pub fn run(args: EvalArgs, file: &FileConfig) -> anyhow::Result<ExitCode> {
    let set = match (&args.coco, &args.images, &args.yolo) {
        (Some(coco), Some(images), None) => read_coco(coco, images)?,
        (None, None, Some(yolo)) => read_yolo(yolo)?,
        _ => bail!("give --coco FILE --images DIR, or --yolo DIR"),
    };
    let config = args.detector.config(file);
    let (report, predictions) = run_set(&config, &set)?;
    let mut reports = vec![("models".to_string(), report)];
    let mut names = vec![set_name(&config)];
    if !args.compare.is_empty() || !args.compare_classifier.is_empty() {
        let mut other = args.detector.clone();
        if !args.compare.is_empty() {
            other.models = args.compare.clone();
        }
        other.classifiers = args.compare_classifier.clone();
        let mut other_config = other.config(file);
        // `config` falls back to the file's classifiers when none are named: the second set
        // has exactly those given.
        other_config.classifiers.retain(|p| args.compare_classifier.contains(&stem(p)));
        let (compared, _) = run_set(&other_config, &set)?;
        reports.push(("compared".to_string(), compared));
        names.push(set_name(&other_config));
    }
    print_table(&reports, &names);
    if let Some(path) = &args.predictions {
        std::fs::write(path, serde_json::to_vec_pretty(&predictions)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let json = match reports.as_slice() {
            [(_, only)] => serde_json::to_value(only)?,
            _ => serde_json::json!({ "models": reports[0].1, "compared": reports[1].1,
                "model_names": names[0], "compared_names": names[1] }),
        };
        std::fs::write(path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The models and classifiers of a set, as the table names it.
fn set_name(config: &DetectorConfig) -> String {
    let models: Vec<String> = config.manifests.iter().map(|m| stem(m)).collect();
    let classifiers: Vec<String> = config.classifiers.iter().map(|m| stem(m)).collect();
    match classifiers.is_empty() {
        true => models.join(", "),
        false => format!("{} + classifiers {}", models.join(", "), classifiers.join(", ")),
    }
}

fn stem(path: &Path) -> String {
    path.file_stem().unwrap_or_default().to_string_lossy().into_owned()
}

/// Runs every model of `config` on every image as the pipeline would on a sampled frame (the
/// manifests' thresholds, riders read as cars dropped, colour where the box is big enough, the
/// crop classifiers; no tracking) and scores the detections.
fn run_set(config: &DetectorConfig, set: &LabelledSet) -> anyhow::Result<(Report, Vec<Prediction>)> {
    let (mut models, mut classifiers) = config.load_models()?;
    let mut predictions = Vec::new();
    for (id, path) in &set.images {
        let image =
            image::open(path).with_context(|| format!("cannot read the image {}", path.display()))?.to_rgb8();
        let exposure = exposure_reference(&image);
        for model in &mut models {
            for d in confusions::resolve(model.detect(&image)?) {
                let b = d.bbox;
                let named = config.colour_of(&image, &d, exposure);
                // As the pipeline names it: the namer's colour, or the first of the fused
                // distribution where a classifier spoke.
                let mut colour = named.as_ref().map(|r| r.top.value);
                let mut scores = named.map(|r| r.scores);
                let mut class = d.class;
                let crop = image::imageops::crop_imm(
                    &image,
                    b[0] as u32,
                    b[1] as u32,
                    (b[2] - b[0]) as u32,
                    (b[3] - b[1]) as u32,
                )
                .to_image();
                for classifier in classifiers.iter_mut().filter(|c| c.reads(d.class, &crop)) {
                    let answer = classifier.classify(&[&crop])?.remove(0);
                    if answer.colour.is_some() {
                        scores = fold_colour(scores, &answer);
                        colour = scores.and_then(|s| colour_distribution(s).first().map(|c| c.colour));
                    }
                    class = fold_class(class, &answer);
                }
                predictions.push(Prediction {
                    image_id: *id,
                    class,
                    bbox: [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                    score: d.score,
                    colour,
                });
            }
        }
    }
    Ok((evaluate(set.images.len(), &set.labels, &predictions), predictions))
}

fn class_of(name: &str, at: &str) -> anyhow::Result<ObjectClass> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
        let known: Vec<String> = ObjectClass::ALL.iter().map(canvass_schemas::wire_name).collect();
        anyhow::anyhow!("{at}: '{name}' is not a canvass class ({})", known.join(", "))
    })
}

fn read_coco(path: &Path, images_dir: &Path) -> anyhow::Result<LabelledSet> {
    #[derive(serde::Deserialize)]
    struct Coco {
        images: Vec<Image>,
        categories: Vec<Category_>,
        annotations: Vec<Annotation>,
    }
    #[derive(serde::Deserialize)]
    struct Image {
        id: u64,
        file_name: String,
    }
    #[derive(serde::Deserialize)]
    struct Category_ {
        id: u64,
        name: String,
    }
    #[derive(serde::Deserialize)]
    struct Annotation {
        image_id: u64,
        category_id: u64,
        bbox: [f32; 4],
        #[serde(default)]
        iscrowd: u8,
        #[serde(default)]
        attributes: Option<serde_json::Value>,
    }
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let coco: Coco = serde_json::from_slice(&text)
        .with_context(|| format!("{}: not a COCO instances file", path.display()))?;
    let categories: BTreeMap<u64, &str> = coco.categories.iter().map(|c| (c.id, c.name.as_str())).collect();
    let images: Vec<(u64, PathBuf)> =
        coco.images.iter().map(|i| (i.id, images_dir.join(&i.file_name))).collect();
    let mut labels = Vec::new();
    for (n, a) in coco.annotations.iter().enumerate() {
        let at = format!("{}: annotation {n}", path.display());
        if a.iscrowd != 0 {
            bail!("{at}: crowd boxes are not supported");
        }
        if !images.iter().any(|(id, _)| *id == a.image_id) {
            bail!("{at}: no image {}", a.image_id);
        }
        let name = categories
            .get(&a.category_id)
            .ok_or_else(|| anyhow::anyhow!("{at}: no category {}", a.category_id))?;
        let colour = match a.attributes.as_ref().and_then(|v| v.get("colour")) {
            None => None,
            Some(v) => Some(
                serde_json::from_value::<Colour>(v.clone())
                    .map_err(|_| anyhow::anyhow!("{at}: colour {v} is not a palette colour"))?,
            ),
        };
        labels.push(Labelled { image: a.image_id, class: class_of(name, &at)?, bbox: a.bbox, colour });
    }
    Ok(LabelledSet { images, labels })
}

fn read_yolo(dir: &Path) -> anyhow::Result<LabelledSet> {
    let classes_path = dir.join("classes.txt");
    let classes: Vec<ObjectClass> = std::fs::read_to_string(&classes_path)
        .with_context(|| format!("cannot read {}", classes_path.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, name)| class_of(name, &format!("{} line {}", classes_path.display(), i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("images"))
        .with_context(|| format!("cannot list {}", dir.join("images").display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| {
                ["jpg", "jpeg", "png"].contains(&e.to_string_lossy().to_lowercase().as_str())
            })
        })
        .collect();
    files.sort();
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for (n, path) in files.into_iter().enumerate() {
        let id = n as u64 + 1;
        let (w, h) =
            image::image_dimensions(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let label_path = dir.join("labels").join(format!("{}.txt", stem(&path)));
        // An image without a label file has nothing in it to find.
        let text = std::fs::read_to_string(&label_path).unwrap_or_default();
        for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = format!("{} line {}", label_path.display(), line_no + 1);
            let v: Vec<f32> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .map_err(|_| anyhow::anyhow!("{at}: not numbers"))?;
            let [class, cx, cy, bw, bh] = v[..] else { bail!("{at}: expected 'class cx cy w h'") };
            let class = *classes
                .get(class as usize)
                .ok_or_else(|| anyhow::anyhow!("{at}: class {class} is not in classes.txt"))?;
            let (w, h) = (w as f32, h as f32);
            labels.push(Labelled {
                image: id,
                class,
                bbox: [(cx - bw / 2.0) * w, (cy - bh / 2.0) * h, bw * w, bh * h],
                colour: None,
            });
        }
        images.push((id, path));
    }
    if images.is_empty() {
        bail!("{}: no images", dir.join("images").display());
    }
    Ok(LabelledSet { images, labels })
}

fn percent(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{:.0}%", v * 100.0))
}

fn print_table(reports: &[(String, Report)], names: &[String]) {
    let first = &reports[0].1;
    println!("{} images; models: {}", first.images, names[0]);
    if let Some(other) = names.get(1) {
        println!("compared with: {other}");
    }
    let mut classes: Vec<&String> = reports.iter().flat_map(|(_, r)| r.classes.keys()).collect();
    classes.sort();
    classes.dedup();
    let mut header = format!("{:<12} {:>8}", "class", "labelled");
    for (name, _) in reports {
        header.push_str(&format!("  {:>8} {:>4} {:>7} {:>9}", "detected", "tp", "recall", "precision"));
        if reports.len() > 1 {
            header.push_str(&format!(" [{name}]"));
        }
    }
    println!("{header}");
    for class in classes {
        let labelled = first.classes.get(class).map_or(0, |s| s.labelled);
        let mut line = format!("{class:<12} {labelled:>8}");
        for (_, report) in reports {
            let s = report.classes.get(class).cloned().unwrap_or_default();
            line.push_str(&format!(
                "  {:>8} {:>4} {:>7} {:>9}",
                s.detected,
                s.true_positives,
                percent(s.recall),
                percent(s.precision)
            ));
        }
        println!("{line}");
    }
    for (name, report) in reports {
        let c = &report.colour;
        println!(
            "colour [{name}]: {} of {} matched boxes named right ({})",
            c.correct,
            c.labelled,
            percent(c.accuracy)
        );
    }
}
