//! Output decoders: raw output tensors of one image to scored boxes in model input pixels.
//! Each checks the tensor shapes against the manifest first, so a manifest that does not match
//! its model is a clear error rather than garbage boxes.

mod gfl;
mod ultralytics;
mod yolox;

use ndarray::ArrayViewD;

use crate::manifest::{InputSpec, OutputFormat, OutputSpec};
use crate::nms::Candidate;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("model output does not match the manifest: {0}")]
pub struct OutputMismatch(pub String);

/// The anchor-point grid the model's heads predict on: `(x, y, stride)` in head order.
pub(crate) fn grid(input: &InputSpec, strides: &[u32]) -> Vec<(f32, f32, f32)> {
    let mut points = Vec::new();
    for &s in strides {
        let (gw, gh) = (input.width.div_ceil(s), input.height.div_ceil(s));
        for y in 0..gh {
            for x in 0..gw {
                points.push((x as f32, y as f32, s as f32));
            }
        }
    }
    points
}

/// Decodes the outputs of one image (batch index already taken) into candidates scoring at
/// least `min_score`.
pub fn decode(
    outputs: &[ArrayViewD<'_, f32>],
    output: &OutputSpec,
    input: &InputSpec,
    num_classes: usize,
    min_score: f32,
) -> Result<Vec<Candidate>, OutputMismatch> {
    match output.format {
        OutputFormat::Yolox => yolox::decode(outputs, output, input, num_classes, min_score),
        OutputFormat::Gfl => gfl::decode(outputs, output, input, num_classes, min_score),
        OutputFormat::Ultralytics => ultralytics::decode(outputs, num_classes, min_score),
    }
}

fn best_class(scores: impl Iterator<Item = f32>) -> (usize, f32) {
    scores.enumerate().fold((0, f32::MIN), |best, (i, s)| if s > best.1 { (i, s) } else { best })
}

#[cfg(test)]
mod tests;
