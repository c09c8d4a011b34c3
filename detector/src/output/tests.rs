//! Decoders against tensors whose answers are known by construction.

use ndarray::{Array2, ArrayD};

use super::*;
use crate::manifest::{ColourOrder, Resize};

fn input(size: u32) -> InputSpec {
    InputSpec {
        name: "images".into(),
        width: size,
        height: size,
        colour_order: ColourOrder::Rgb,
        resize: Resize::Stretch,
        pad_value: 114,
        scale: 1.0,
        mean: [0.0; 3],
        std: [1.0; 3],
    }
}

fn spec(format: OutputFormat, strides: &[u32]) -> OutputSpec {
    OutputSpec { format, strides: strides.to_vec() }
}

fn assert_box(c: &Candidate, expected: [f32; 4]) {
    for (got, want) in c.bbox.iter().zip(expected) {
        assert!((got - want).abs() < 1e-3, "{:?} vs {expected:?}", c.bbox);
    }
}

#[test]
fn yolox_decodes_grid_offsets_and_log_sizes() {
    // 32x32 input, strides 8/16/32: 16 + 4 + 1 anchors, 2 classes.
    let mut t = Array2::<f32>::zeros((21, 7));
    // Anchor 5 is stride 8, cell (1, 1): centre (1 + 0.5) * 8 = 12; size exp(ln 2) * 8 = 16.
    t.row_mut(5).assign(&ndarray::arr1(&[0.5, 0.5, 2f32.ln(), 2f32.ln(), 0.9, 0.1, 0.8]));
    // Anchor 20 is stride 32, below the score floor (0.5 * 0.5).
    t.row_mut(20).assign(&ndarray::arr1(&[0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.0]));
    let t = t.into_dyn();
    let found = decode(&[t.view()], &spec(OutputFormat::Yolox, &[8, 16, 32]), &input(32), 2, 0.3).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].class_index, 1);
    assert!((found[0].score - 0.72).abs() < 1e-6);
    assert_box(&found[0], [4.0, 4.0, 20.0, 20.0]);
}

#[test]
fn ultralytics_decodes_centre_sizes_in_pixels() {
    let mut t = Array2::<f32>::zeros((4 + 3, 10));
    for (row, v) in [100.0, 50.0, 40.0, 20.0, 0.1, 0.2, 0.7].iter().enumerate() {
        t[[row, 6]] = *v;
    }
    let t = t.into_dyn();
    let found = decode(&[t.view()], &spec(OutputFormat::Ultralytics, &[8]), &input(256), 3, 0.5).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].class_index, found[0].score), (2, 0.7));
    assert_box(&found[0], [80.0, 40.0, 120.0, 60.0]);
}

#[test]
fn gfl_decodes_distance_distributions() {
    // 32x32 input, strides 16/32: 4 + 1 points, 1 class, 4 bins per side.
    let mut s16 = Array2::<f32>::zeros((4, 1));
    let s32 = Array2::<f32>::zeros((1, 1));
    let mut b16 = Array2::<f32>::from_elem((4, 16), -50.0);
    let b32 = Array2::<f32>::zeros((1, 16));
    // Point 3 is cell (1, 1) of stride 16: centre 24, 24. Distances: bins 1, 2, 0, 3 (x16).
    s16[[3, 0]] = 0.9;
    for (side, bin) in [1usize, 2, 0, 3].iter().enumerate() {
        b16[[3, side * 4 + bin]] = 50.0;
    }
    let outputs: Vec<ArrayD<f32>> = vec![s16.into_dyn(), s32.into_dyn(), b16.into_dyn(), b32.into_dyn()];
    let views: Vec<_> = outputs.iter().map(|o| o.view()).collect();
    let found = decode(&views, &spec(OutputFormat::Gfl, &[16, 32]), &input(32), 1, 0.5).unwrap();
    assert_eq!(found.len(), 1);
    assert_box(&found[0], [24.0 - 16.0, 24.0 - 32.0, 24.0, 24.0 + 48.0]);
}

#[test]
fn shape_mismatches_are_errors_that_say_what_was_expected() {
    let t = Array2::<f32>::zeros((21, 90)).into_dyn();
    let err = decode(&[t.view()], &spec(OutputFormat::Yolox, &[8, 16, 32]), &input(32), 80, 0.3).unwrap_err();
    assert!(err.0.contains("expected [21, 85]"), "{err}");
    let err = decode(&[t.view()], &spec(OutputFormat::Ultralytics, &[8]), &input(32), 4, 0.3).unwrap_err();
    assert!(err.0.contains("expected [8, anchors]"), "{err}");
    let err = decode(&[t.view()], &spec(OutputFormat::Gfl, &[8, 16]), &input(32), 80, 0.3).unwrap_err();
    assert!(err.0.contains("expects 4 outputs"), "{err}");
}
