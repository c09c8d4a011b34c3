//! PicoDet/NanoDet (GFL head): per stride a score tensor `[points, classes]` (sigmoided) and a
//! box tensor `[points, 4 * bins]`: for each side (left, top, right, bottom) a distribution over
//! `bins` distances; softmax, expectation, times the stride gives the distance from the point.

use ndarray::ArrayViewD;

use super::{OutputMismatch, best_class};
use crate::manifest::{InputSpec, OutputSpec};
use crate::nms::Candidate;

pub(super) fn decode(
    outputs: &[ArrayViewD<'_, f32>],
    output: &OutputSpec,
    input: &InputSpec,
    num_classes: usize,
    min_score: f32,
) -> Result<Vec<Candidate>, OutputMismatch> {
    let levels = output.strides.len();
    if outputs.len() != 2 * levels {
        return Err(OutputMismatch(format!(
            "gfl expects {} outputs (scores and boxes for strides {:?}), the model has {}",
            2 * levels,
            output.strides,
            outputs.len()
        )));
    }
    let mut found = Vec::new();
    for (level, &stride) in output.strides.iter().enumerate() {
        let (scores, boxes) = (&outputs[level], &outputs[levels + level]);
        let (gw, gh) = (input.width.div_ceil(stride) as usize, input.height.div_ceil(stride) as usize);
        let points = gw * gh;
        if scores.shape() != [points, num_classes] || boxes.shape().len() != 2 || boxes.shape()[0] != points {
            return Err(OutputMismatch(format!(
                "gfl stride {stride}: scores {:?} and boxes {:?}, expected [{points}, {num_classes}] and [{points}, 4 * bins]",
                scores.shape(),
                boxes.shape()
            )));
        }
        let bins = boxes.shape()[1] / 4;
        if bins == 0 || boxes.shape()[1] % 4 != 0 {
            return Err(OutputMismatch(format!("gfl box tensor width {} is not 4 * bins", boxes.shape()[1])));
        }
        let s = stride as f32;
        for p in 0..points {
            let (class_index, score) = best_class((0..num_classes).map(|c| scores[[p, c]]));
            if score < min_score {
                continue;
            }
            let (cx, cy) = (((p % gw) as f32 + 0.5) * s, ((p / gw) as f32 + 0.5) * s);
            let mut distance = [0f32; 4];
            for (side, d) in distance.iter_mut().enumerate() {
                let logits: Vec<f32> = (0..bins).map(|b| boxes[[p, side * bins + b]]).collect();
                *d = expectation(&logits) * s;
            }
            found.push(Candidate {
                class_index,
                score,
                bbox: [cx - distance[0], cy - distance[1], cx + distance[2], cy + distance[3]],
            });
        }
    }
    Ok(found)
}

/// Softmax over `logits`, then the expected bin index.
fn expectation(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let weights: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = weights.iter().sum();
    weights.iter().enumerate().map(|(i, w)| i as f32 * w).sum::<f32>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expectation_of_a_peaked_distribution_is_its_bin() {
        assert!((expectation(&[0.0, 0.0, 50.0, 0.0]) - 2.0).abs() < 1e-4);
        assert!((expectation(&[1.0, 1.0]) - 0.5).abs() < 1e-6);
    }
}
