//! Ultralytics YOLOv8/YOLO11: one tensor `[4 + classes, anchors]` (batch dropped); per anchor
//! centre x, y, width, height in input pixels, then class scores (already sigmoided).

use ndarray::ArrayViewD;

use super::{OutputMismatch, best_class};
use crate::nms::Candidate;

pub(super) fn decode(
    outputs: &[ArrayViewD<'_, f32>],
    num_classes: usize,
    min_score: f32,
) -> Result<Vec<Candidate>, OutputMismatch> {
    let [tensor] = outputs else {
        return Err(OutputMismatch(format!("ultralytics expects 1 output, the model has {}", outputs.len())));
    };
    let shape = tensor.shape();
    if shape.len() != 2 || shape[0] != 4 + num_classes {
        return Err(OutputMismatch(format!(
            "ultralytics output shape {shape:?}, expected [{}, anchors] for {num_classes} classes",
            4 + num_classes
        )));
    }
    let mut found = Vec::new();
    for anchor in 0..shape[1] {
        let (class_index, score) = best_class((0..num_classes).map(|c| tensor[[4 + c, anchor]]));
        if score < min_score {
            continue;
        }
        let (cx, cy, w, h) =
            (tensor[[0, anchor]], tensor[[1, anchor]], tensor[[2, anchor]], tensor[[3, anchor]]);
        found.push(Candidate {
            class_index,
            score,
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
        });
    }
    Ok(found)
}
