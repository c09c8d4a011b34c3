//! YOLOX: one tensor `[anchors, 5 + classes]` (batch dropped); per anchor x, y offsets from its
//! grid cell and log width/height, in strides; objectness and class scores already sigmoided.

use ndarray::ArrayViewD;

use super::{OutputMismatch, best_class, grid};
use crate::manifest::{InputSpec, OutputSpec};
use crate::nms::Candidate;

pub(super) fn decode(
    outputs: &[ArrayViewD<'_, f32>],
    output: &OutputSpec,
    input: &InputSpec,
    num_classes: usize,
    min_score: f32,
) -> Result<Vec<Candidate>, OutputMismatch> {
    let [tensor] = outputs else {
        return Err(OutputMismatch(format!("yolox expects 1 output, the model has {}", outputs.len())));
    };
    let points = grid(input, &output.strides);
    let shape = tensor.shape();
    if shape != [points.len(), 5 + num_classes] {
        return Err(OutputMismatch(format!(
            "yolox output shape {shape:?}, expected [{}, {}] for {num_classes} classes and strides {:?}",
            points.len(),
            5 + num_classes,
            output.strides
        )));
    }
    let mut found = Vec::new();
    for (row, &(gx, gy, s)) in tensor.outer_iter().zip(&points) {
        let objectness = row[4];
        if objectness < min_score {
            continue;
        }
        let (class_index, class_score) = best_class((0..num_classes).map(|c| row[5 + c]));
        let score = objectness * class_score;
        if score < min_score {
            continue;
        }
        let (cx, cy) = ((row[0] + gx) * s, (row[1] + gy) * s);
        let (w, h) = (row[2].exp() * s, row[3].exp() * s);
        found.push(Candidate {
            class_index,
            score,
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
        });
    }
    Ok(found)
}
