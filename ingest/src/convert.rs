//! Scales a decoded frame straight to the detector's working size in RGB (one swscale pass,
//! only for the frames the sampler keeps) and encodes it as JPEG.

use ffmpeg_next::Rational;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::util::frame::video::Video;
use image::codecs::jpeg::JpegEncoder;

/// Output size that fits in `max_side` x `max_side`, keeps the display aspect ratio (honouring a
/// non-square sample aspect ratio), never upscales, and has even sides. `max_side` 0 keeps
/// the display size.
pub fn target_size(width: u32, height: u32, sample_aspect: Rational, max_side: u32) -> (u32, u32) {
    let sar = if sample_aspect.numerator() > 0 && sample_aspect.denominator() > 0 {
        sample_aspect.numerator() as f64 / sample_aspect.denominator() as f64
    } else {
        1.0
    };
    let display_w = width as f64 * sar;
    let display_h = height as f64;
    let longest = display_w.max(display_h);
    let scale = if max_side == 0 || longest <= max_side as f64 { 1.0 } else { max_side as f64 / longest };
    let even = |v: f64| (((v * scale) / 2.0).round() as u32 * 2).max(2);
    (even(display_w), even(display_h))
}

/// A scaler for one input geometry; rebuilt when a stream changes resolution mid-way.
pub struct FrameConverter {
    scaler: scaling::Context,
    input: (Pixel, u32, u32),
    output_size: (u32, u32),
    rgb: Video,
}

impl FrameConverter {
    pub fn new(
        format: Pixel,
        width: u32,
        height: u32,
        output_size: (u32, u32),
    ) -> Result<Self, ffmpeg_next::Error> {
        let scaler = scaling::Context::get(
            format,
            width,
            height,
            Pixel::RGB24,
            output_size.0,
            output_size.1,
            scaling::Flags::BILINEAR,
        )?;
        Ok(FrameConverter { scaler, input: (format, width, height), output_size, rgb: Video::empty() })
    }

    pub fn matches(&self, frame: &Video) -> bool {
        self.input == (frame.format(), frame.width(), frame.height())
    }

    pub fn output_size(&self) -> (u32, u32) {
        self.output_size
    }

    /// Scales `frame` and returns tightly packed RGB24 rows.
    pub fn scale_to_rgb(&mut self, frame: &Video) -> Result<Vec<u8>, ffmpeg_next::Error> {
        self.scaler.run(frame, &mut self.rgb)?;
        let (w, h) = self.output_size;
        let row_bytes = w as usize * 3;
        let stride = self.rgb.stride(0);
        let data = self.rgb.data(0);
        let mut packed = Vec::with_capacity(row_bytes * h as usize);
        for row in 0..h as usize {
            packed.extend_from_slice(&data[row * stride..row * stride + row_bytes]);
        }
        Ok(packed)
    }
}

/// Packed RGB24 rows as a baseline JPEG.
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality).encode(
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_long_side_and_keeps_aspect() {
        assert_eq!(target_size(1920, 1080, Rational::new(1, 1), 640), (640, 360));
        assert_eq!(target_size(1080, 1920, Rational::new(1, 1), 640), (360, 640));
        assert_eq!(target_size(1280, 676, Rational::new(0, 1), 640), (640, 338));
    }

    #[test]
    fn never_upscales_and_zero_keeps_size() {
        assert_eq!(target_size(320, 240, Rational::new(1, 1), 640), (320, 240));
        assert_eq!(target_size(1920, 1080, Rational::new(1, 1), 0), (1920, 1080));
    }

    #[test]
    fn anamorphic_video_is_shown_at_display_aspect() {
        // DVD PAL 16:9: 720x576 stored, 64:45 sample aspect, displayed ~1024x576.
        assert_eq!(target_size(720, 576, Rational::new(64, 45), 0), (1024, 576));
    }

    #[test]
    fn sides_are_even() {
        let (w, h) = target_size(1001, 777, Rational::new(1, 1), 333);
        assert_eq!((w % 2, h % 2), (0, 0));
    }
}
