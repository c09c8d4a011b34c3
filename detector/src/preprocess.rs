//! Frame pixels to a model's input tensor: resize (letterbox or stretch), channel order and
//! normalisation as the manifest says, written straight into an NCHW `ndarray`.

use image::RgbImage;
use image::imageops::{FilterType, resize};
use ndarray::Array4;

use crate::manifest::{ColourOrder, InputSpec, Resize};

/// Maps boxes from model input pixels back to frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputTransform {
    pub scale_x: f32,
    pub scale_y: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl InputTransform {
    /// `[x1, y1, x2, y2]` in input pixels to frame pixels.
    pub fn to_frame(&self, b: [f32; 4]) -> [f32; 4] {
        [
            (b[0] - self.pad_x) / self.scale_x,
            (b[1] - self.pad_y) / self.scale_y,
            (b[2] - self.pad_x) / self.scale_x,
            (b[3] - self.pad_y) / self.scale_y,
        ]
    }
}

/// Where the frame lands inside the input: resized size and offset.
pub fn placement(frame_w: u32, frame_h: u32, spec: &InputSpec) -> (u32, u32, InputTransform) {
    let (in_w, in_h) = (spec.width as f32, spec.height as f32);
    match spec.resize {
        Resize::Stretch => {
            let t = InputTransform {
                scale_x: in_w / frame_w as f32,
                scale_y: in_h / frame_h as f32,
                pad_x: 0.0,
                pad_y: 0.0,
            };
            (spec.width, spec.height, t)
        }
        Resize::LetterboxTopLeft | Resize::LetterboxCentre => {
            let r = (in_w / frame_w as f32).min(in_h / frame_h as f32);
            let w = ((frame_w as f32 * r).round() as u32).clamp(1, spec.width);
            let h = ((frame_h as f32 * r).round() as u32).clamp(1, spec.height);
            let (pad_x, pad_y) = match spec.resize {
                Resize::LetterboxCentre => (((spec.width - w) / 2) as f32, ((spec.height - h) / 2) as f32),
                _ => (0.0, 0.0),
            };
            (w, h, InputTransform { scale_x: r, scale_y: r, pad_x, pad_y })
        }
    }
}

/// Fills `tensor[slot]` (shape `[batch, 3, H, W]`) with `frame` prepared for the model.
pub fn fill_input(
    frame: &RgbImage,
    spec: &InputSpec,
    tensor: &mut Array4<f32>,
    slot: usize,
) -> InputTransform {
    let (w, h, transform) = placement(frame.width(), frame.height(), spec);
    let resized;
    let pixels = if (w, h) == frame.dimensions() {
        frame
    } else {
        resized = resize(frame, w, h, FilterType::Triangle);
        &resized
    };
    // Channel c of the tensor takes this channel of the RGB pixel.
    let source_channel = match spec.colour_order {
        ColourOrder::Rgb => [0, 1, 2],
        ColourOrder::Bgr => [2, 1, 0],
    };
    let mut planes = tensor.index_axis_mut(ndarray::Axis(0), slot);
    for (c, &channel) in source_channel.iter().enumerate() {
        let (scale, mean, std) = (spec.scale, spec.mean[c], spec.std[c]);
        let pad = (spec.pad_value as f32 * scale - mean) / std;
        let mut plane = planes.index_axis_mut(ndarray::Axis(0), c);
        plane.fill(pad);
        let (ox, oy) = (transform.pad_x as usize, transform.pad_y as usize);
        for (y, row) in pixels.rows().enumerate() {
            let mut out_row = plane.row_mut(oy + y);
            for (x, p) in row.enumerate() {
                out_row[ox + x] = (p.0[channel] as f32 * scale - mean) / std;
            }
        }
    }
    transform
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(resize: Resize, colour_order: ColourOrder) -> InputSpec {
        InputSpec {
            name: "images".into(),
            width: 8,
            height: 8,
            colour_order,
            resize,
            pad_value: 114,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
        }
    }

    #[test]
    fn letterbox_top_left_pads_right_and_bottom() {
        let frame = RgbImage::from_pixel(16, 8, image::Rgb([10, 20, 30]));
        let mut t = Array4::zeros((1, 3, 8, 8));
        let tr = fill_input(&frame, &spec(Resize::LetterboxTopLeft, ColourOrder::Bgr), &mut t, 0);
        assert_eq!(tr, InputTransform { scale_x: 0.5, scale_y: 0.5, pad_x: 0.0, pad_y: 0.0 });
        assert_eq!(t[[0, 0, 0, 0]], 30.0, "BGR: blue first");
        assert_eq!(t[[0, 2, 0, 0]], 10.0);
        assert_eq!(t[[0, 0, 3, 7]], 30.0, "last row of the picture");
        assert_eq!(t[[0, 0, 4, 0]], 114.0, "padding below");
    }

    #[test]
    fn letterbox_centre_pads_evenly_and_maps_boxes_back() {
        let frame = RgbImage::from_pixel(16, 8, image::Rgb([255, 0, 0]));
        let mut s = spec(Resize::LetterboxCentre, ColourOrder::Rgb);
        s.scale = 1.0 / 255.0;
        let mut t = Array4::zeros((1, 3, 8, 8));
        let tr = fill_input(&frame, &s, &mut t, 0);
        assert_eq!((tr.pad_x, tr.pad_y), (0.0, 2.0));
        assert!((t[[0, 0, 2, 0]] - 1.0).abs() < 1e-6 && (t[[0, 0, 1, 0]] - 114.0 / 255.0).abs() < 1e-6);
        assert_eq!(tr.to_frame([0.0, 2.0, 8.0, 6.0]), [0.0, 0.0, 16.0, 8.0]);
    }

    #[test]
    fn stretch_normalises_with_mean_and_std() {
        let frame = RgbImage::from_pixel(8, 8, image::Rgb([255, 255, 255]));
        let mut s = spec(Resize::Stretch, ColourOrder::Rgb);
        s.scale = 1.0 / 255.0;
        s.mean = [0.5, 0.5, 0.5];
        s.std = [0.25, 0.5, 1.0];
        let mut t = Array4::zeros((1, 3, 8, 8));
        fill_input(&frame, &s, &mut t, 0);
        assert_eq!([t[[0, 0, 0, 0]], t[[0, 1, 0, 0]], t[[0, 2, 0, 0]]], [2.0, 1.0, 0.5]);
    }
}
