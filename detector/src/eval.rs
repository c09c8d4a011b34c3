//! Accuracy of the models on labelled images: per-class recall and precision at IoU 0.5, and
//! colour accuracy where the labels name a colour. The matching is COCO's: per image and class,
//! detections by score (highest first) each take the still-unmatched labelled box of the class
//! they overlap most, if that overlap is at least `IOU_THRESHOLD`.

use std::collections::BTreeMap;

use canvass_schemas::{Colour, ObjectClass};
use serde::{Deserialize, Serialize};

pub const IOU_THRESHOLD: f32 = 0.5;

/// A labelled box: `[x, y, width, height]` in pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub image: u64,
    pub class: ObjectClass,
    pub bbox: [f32; 4],
    pub colour: Option<Colour>,
}

/// A detection on a labelled image, as `--predictions` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub image_id: u64,
    #[serde(with = "class_name")]
    pub class: ObjectClass,
    /// `[x, y, width, height]` in pixels.
    pub bbox: [f32; 4],
    pub score: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
}

mod class_name {
    use canvass_schemas::ObjectClass;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(class: &ObjectClass, s: S) -> Result<S::Ok, S::Error> {
        class.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectClass, D::Error> {
        ObjectClass::deserialize(d)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    pub labelled: usize,
    pub detected: usize,
    pub true_positives: usize,
    /// `true_positives / labelled`; absent when nothing is labelled.
    pub recall: Option<f64>,
    /// `true_positives / detected`; absent when nothing was detected.
    pub precision: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ColourScore {
    /// Matched boxes whose label names a colour.
    pub labelled: usize,
    /// Of those, how many the detection named the same.
    pub correct: usize,
    pub accuracy: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub images: usize,
    /// By class name (`car`, `handgun`, ...).
    pub classes: BTreeMap<String, ClassScore>,
    pub colour: ColourScore,
}

/// IoU of two `[x, y, w, h]` boxes.
pub fn iou_xywh(a: [f32; 4], b: [f32; 4]) -> f32 {
    let iw = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let ih = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    let union = a[2] * a[3] + b[2] * b[3] - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Scores `predictions` against `labels` over `images` images.
pub fn evaluate(images: usize, labels: &[Labelled], predictions: &[Prediction]) -> Report {
    let mut report = Report { images, ..Default::default() };
    let name = canvass_schemas::wire_name::<ObjectClass>;
    for l in labels {
        report.classes.entry(name(&l.class)).or_default().labelled += 1;
    }
    for p in predictions {
        report.classes.entry(name(&p.class)).or_default().detected += 1;
    }
    // Highest score first; ties keep the predictions' order (a stable sort).
    let mut order: Vec<&Prediction> = predictions.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut taken = vec![false; labels.len()];
    for p in order {
        let best = labels
            .iter()
            .enumerate()
            .filter(|(i, l)| !taken[*i] && l.image == p.image_id && l.class == p.class)
            .map(|(i, l)| (i, iou_xywh(l.bbox, p.bbox)))
            // The first labelled box wins a tie.
            .fold(None, |best: Option<(usize, f32)>, (i, v)| match best {
                Some((_, bv)) if bv >= v => best,
                _ => Some((i, v)),
            });
        let Some((i, _)) = best.filter(|(_, v)| *v >= IOU_THRESHOLD) else { continue };
        taken[i] = true;
        report.classes.get_mut(&name(&p.class)).expect("counted above").true_positives += 1;
        if let Some(truth) = labels[i].colour {
            report.colour.labelled += 1;
            report.colour.correct += usize::from(p.colour == Some(truth));
        }
    }
    for score in report.classes.values_mut() {
        score.recall = ratio(score.true_positives, score.labelled);
        score.precision = ratio(score.true_positives, score.detected);
    }
    report.colour.accuracy = ratio(report.colour.correct, report.colour.labelled);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(image: u64, class: ObjectClass, bbox: [f32; 4]) -> Labelled {
        Labelled { image, class, bbox, colour: Some(Colour::Red) }
    }

    fn prediction(image: u64, class: ObjectClass, bbox: [f32; 4], score: f32) -> Prediction {
        Prediction { image_id: image, class, bbox, score, colour: Some(Colour::Red) }
    }

    #[test]
    fn matches_count_once_by_score_and_class() {
        use ObjectClass::*;
        let labels = [label(1, Car, [0.0, 0.0, 10.0, 10.0]), label(1, Car, [100.0, 0.0, 10.0, 10.0])];
        let predictions = [
            // Exact, and a duplicate of it with a lower score: one true positive, one false.
            prediction(1, Car, [0.0, 0.0, 10.0, 10.0], 0.9),
            prediction(1, Car, [1.0, 0.0, 10.0, 10.0], 0.8),
            // IoU 0.43 with the second box: a miss.
            prediction(1, Car, [104.0, 0.0, 10.0, 10.0], 0.7),
            // The right place but another class, or another image.
            prediction(1, Truck, [100.0, 0.0, 10.0, 10.0], 0.95),
            prediction(2, Car, [100.0, 0.0, 10.0, 10.0], 0.95),
        ];
        let report = evaluate(2, &labels, &predictions);
        let car = &report.classes["car"];
        assert_eq!((car.labelled, car.detected, car.true_positives), (2, 4, 1));
        assert_eq!((car.recall, car.precision), (Some(0.5), Some(0.25)));
        let truck = &report.classes["truck"];
        assert_eq!((truck.labelled, truck.true_positives, truck.recall), (0, 0, None));
        assert_eq!((report.colour.labelled, report.colour.correct), (1, 1));
    }

    #[test]
    fn half_overlap_counts() {
        // Two 10x10 boxes offset by a third: IoU exactly 0.5.
        let a = [0.0, 0.0, 10.0, 10.0];
        let b = [0.0, 10.0 / 3.0, 10.0, 10.0];
        assert!((iou_xywh(a, b) - 0.5).abs() < 1e-6);
    }
}
