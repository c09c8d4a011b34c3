//! Vehicle colour from a crop of the frame.
//!
//! Each pixel of the body region votes for a palette colour by hue, saturation and value, with
//! value normalised by the frame's own bright level: at dusk a white car is darker in absolute
//! terms but still among the brightest things in the frame, and a blue car's paint is dim but
//! still clearly blue. Low-saturation pixels vote for the achromatic colours; specular glare and
//! deep shadow count less. Windows, tyres, shadow and road reflections in the box are grey or
//! black whatever the paint, so a painted colour wins as soon as it holds a good part of the
//! votes (`CHROMATIC_SHARE`); otherwise the achromatic majority does. The winner's share of its
//! group's votes, scaled by how clear the group was, is the confidence.

use canvass_schemas::{Colour, ColourAttribute};
use image::RgbImage;

/// Saturation below which a pixel is grey-scale.
const ACHROMATIC_SATURATION: f32 = 0.28;
/// Chroma (saturation x exposure-normalised brightness) below which a hue is not trusted: grey
/// paint at dusk picks up the tint of the sky or street lights.
const MIN_CHROMA: f32 = 0.12;
/// Share of the votes a painted (chromatic) colour needs to beat the greys of glass and shadow.
const CHROMATIC_SHARE: f32 = 0.3;

fn hsv(p: [u8; 3]) -> (f32, f32, f32) {
    let [r, g, b] = p.map(|c| c as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let saturation = if max > 0.0 { delta / max } else { 0.0 };
    let hue = if delta == 0.0 {
        0.0
    } else if max == r {
        60.0 * (((g - b) / delta).rem_euclid(6.0))
    } else if max == g {
        60.0 * ((b - r) / delta + 2.0)
    } else {
        60.0 * ((r - g) / delta + 4.0)
    };
    (hue, saturation, max)
}

/// The palette colour of one pixel: `value` exposure-normalised, `chroma` absolute.
fn classify(hue: f32, saturation: f32, value: f32, chroma: f32) -> Colour {
    if value < 0.18 {
        return Colour::Black;
    }
    if saturation < ACHROMATIC_SATURATION || value < 0.25 || chroma < MIN_CHROMA {
        return match value {
            v if v >= 0.72 => Colour::White,
            v if v >= 0.32 => Colour::Grey,
            _ => Colour::Black,
        };
    }
    let (red, orange, yellow) = names(saturation, value);
    match hue {
        // Red paint runs from orange-red to a magenta-red (hue 320+) under street light; sunlit
        // red washes out to saturation ~0.4; only paler reds read as pink.
        h if !(15.0..320.0).contains(&h) => red,
        h if h < 22.0 => orange,
        // Taxi and school-bus "yellow" is an amber at hue 25-45 in real photos; most people
        // call it yellow, so orange is kept for the redder oranges (and shares amber below).
        h if h < 70.0 => yellow,
        h if h < 165.0 => Colour::Green,
        h if h < 255.0 => Colour::Blue,
        h if h < 285.0 => Colour::Purple,
        _ => Colour::Pink,
    }
}

/// What red, orange and yellow hues are called at this saturation and brightness: pale red is
/// pink, dark orange and dark yellow are brown.
fn names(saturation: f32, value: f32) -> (Colour, Colour, Colour) {
    let red = if saturation < 0.3 && value > 0.8 { Colour::Pink } else { Colour::Red };
    let orange = if value < 0.55 { Colour::Brown } else { Colour::Orange };
    let yellow = if value < 0.45 { Colour::Brown } else { Colour::Yellow };
    (red, orange, yellow)
}

/// A pixel's votes: `classify`'s colour, shared with the neighbouring name across the hues
/// where people disagree (orange-red, amber), so a search for either finds the vehicle: a
/// linear ramp from all of one name to all of the other across `RED_ORANGE` and `AMBER`.
fn soft_votes(hue: f32, saturation: f32, value: f32, chroma: f32) -> [(Colour, f32); 2] {
    let hard = classify(hue, saturation, value, chroma);
    let (red, orange, yellow) = names(saturation, value);
    let ramp = |(a, b): (Colour, Colour), (from, to): (f32, f32)| {
        let t = (hue - from) / (to - from);
        [(a, 1.0 - t), (b, t)]
    };
    if !hard.is_chromatic() {
        return [(hard, 1.0), (hard, 0.0)];
    }
    if (RED_ORANGE.0..RED_ORANGE.1).contains(&hue) {
        return ramp((red, orange), RED_ORANGE);
    }
    if (RED_ORANGE.1..AMBER.1).contains(&hue) {
        return ramp((orange, yellow), AMBER);
    }
    [(hard, 1.0), (hard, 0.0)]
}

/// Hues (degrees) shared by red and orange, and by orange and yellow (the amber ramp starts
/// inside orange so that 22, where orange ends, is already part yellow).
const RED_ORANGE: (f32, f32) = (8.0, 22.0);
const AMBER: (f32, f32) = (18.0, 38.0);

/// The value (brightness) at the 95th percentile of `frame`: what "bright" means in this light.
pub fn exposure_reference(frame: &RgbImage) -> f32 {
    let mut histogram = [0u32; 256];
    // Every 4th pixel is plenty for a percentile.
    for p in frame.pixels().step_by(4) {
        histogram[*p.0.iter().max().expect("3 channels") as usize] += 1;
    }
    let total: u32 = histogram.iter().sum();
    let mut seen = 0;
    for (v, count) in histogram.iter().enumerate() {
        seen += count;
        if seen as f32 >= total as f32 * 0.95 {
            return (v as f32 / 255.0).max(0.35);
        }
    }
    1.0
}

const PALETTE: [Colour; 11] = Colour::ALL;

/// A vehicle's colour: the most likely one, and the distribution it was chosen from.
#[derive(Debug, Clone, PartialEq)]
pub struct ColourReading {
    pub top: ColourAttribute,
    /// Each palette colour's share (`Colour::ALL` order), summing to 1; `top` holds the most.
    pub scores: [f32; 11],
}

/// Colour of the vehicle in `bbox` (`[x1, y1, x2, y2]` in frame pixels). `None` for a box too
/// small to judge.
///
/// The distribution gives the winning group (paint, or white/grey/black) the winner's
/// confidence-scaled share and the other group what is left, each split by votes: a taxi whose
/// pixels split between orange and red answers both, in proportion.
pub fn vehicle_colour(frame: &RgbImage, bbox: [f32; 4], exposure: f32) -> Option<ColourReading> {
    let (w, h) = (bbox[2] - bbox[0], bbox[3] - bbox[1]);
    // Body panels: the middle of the box, below the windows and above the wheels and road.
    let x1 = (bbox[0] + w * 0.2).max(0.0) as u32;
    let x2 = ((bbox[2] - w * 0.2) as u32).min(frame.width());
    let y1 = (bbox[1] + h * 0.35).max(0.0) as u32;
    let y2 = ((bbox[3] - h * 0.2) as u32).min(frame.height());
    if x2 <= x1 + 2 || y2 <= y1 + 2 {
        return None;
    }
    let mut votes = [0f32; 11];
    // Pixels near the middle count most: a neighbouring vehicle that overlaps the box does so
    // from an edge.
    let tent = |i: u32, lo: u32, hi: u32| 1.0 - ((2 * (i - lo) + 1) as f32 / (hi - lo) as f32 - 1.0).abs();
    for y in y1..y2 {
        for x in x1..x2 {
            let (hue, saturation, value) = hsv(frame.get_pixel(x, y).0);
            let normalised = (value / exposure).min(1.0);
            // Glare and deep shadow say little about the paint.
            let reliability =
                if (normalised > 0.97 && saturation < 0.1) || normalised < 0.1 { 0.3 } else { 1.0 };
            let weight = reliability * tent(x, x1, x2) * tent(y, y1, y2);
            for (colour, share) in soft_votes(hue, saturation, normalised, saturation * normalised) {
                votes[colour.index()] += weight * share;
            }
        }
    }
    let total: f32 = votes.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let chromatic: f32 = PALETTE.iter().zip(&votes).filter(|(c, _)| c.is_chromatic()).map(|(_, v)| v).sum();
    let chromatic_share = chromatic / total;
    let painted = chromatic_share >= CHROMATIC_SHARE;
    let (best, score) = PALETTE
        .iter()
        .zip(&votes)
        .filter(|(c, _)| c.is_chromatic() == painted)
        .fold((Colour::Black, 0.0), |b, (c, &v)| if v > b.1 { (*c, v) } else { b });
    let (group_total, clarity) = if painted {
        (chromatic, (chromatic_share / 0.6).min(1.0))
    } else {
        (total - chromatic, 1.0 - chromatic_share)
    };
    let other_total = total - group_total;
    let mut scores = [0f32; 11];
    for ((colour, votes), share) in PALETTE.iter().zip(votes).zip(&mut scores) {
        *share = if colour.is_chromatic() == painted {
            votes / group_total * clarity
        } else if other_total > 0.0 {
            votes / other_total * (1.0 - clarity)
        } else {
            0.0
        };
    }
    Some(ColourReading {
        top: ColourAttribute { value: best, confidence: score / group_total * clarity },
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(rgb: [u8; 3]) -> RgbImage {
        RgbImage::from_pixel(40, 40, image::Rgb(rgb))
    }

    /// A 40 px patch: `left` in its first `columns` columns, `right` in the rest.
    fn split(left: [u8; 3], columns: u32, right: [u8; 3]) -> RgbImage {
        RgbImage::from_fn(40, 40, |x, _| image::Rgb(if x < columns { left } else { right }))
    }

    fn colour_of(rgb: [u8; 3], exposure: f32) -> Colour {
        vehicle_colour(&patch(rgb), [0.0, 0.0, 40.0, 40.0], exposure).unwrap().top.value
    }

    #[test]
    fn saturated_colours_hold_from_bright_to_dim() {
        for brightness in [1.0f32, 0.75, 0.5] {
            let scale = |c: [u8; 3]| c.map(|v| (v as f32 * brightness) as u8);
            assert_eq!(colour_of(scale([200, 20, 25]), 1.0), Colour::Red, "{brightness}");
            assert_eq!(colour_of(scale([20, 60, 200]), 1.0), Colour::Blue, "{brightness}");
            assert_eq!(colour_of(scale([30, 160, 40]), 1.0), Colour::Green, "{brightness}");
        }
        assert_eq!(colour_of([240, 200, 20], 1.0), Colour::Yellow);
        assert_eq!(colour_of([240, 90, 20], 1.0), Colour::Orange);
        assert_eq!(colour_of([247, 181, 41], 1.0), Colour::Yellow, "taxi amber");
        assert_eq!(colour_of([110, 60, 30], 1.0), Colour::Brown);
        assert_eq!(colour_of([255, 182, 193], 1.0), Colour::Pink);
        assert_eq!(colour_of([150, 30, 90], 1.0), Colour::Red, "magenta-red under street light");
        assert_eq!(colour_of([240, 150, 150], 1.0), Colour::Red, "sunlit red");
    }

    #[test]
    fn white_at_dusk_is_still_white_relative_to_the_scene() {
        // In a dusk frame whose brightest pixels reach 0.6, a 0.55 grey-white panel is white.
        assert_eq!(colour_of([140, 140, 145], 0.6), Colour::White);
        // The same panel in daylight is grey/silver.
        assert_eq!(colour_of([140, 140, 145], 1.0), Colour::Grey);
        assert_eq!(colour_of([20, 20, 22], 1.0), Colour::Black);
    }

    #[test]
    fn paint_beats_the_greys_of_glass_and_shadow() {
        // Half red paint, half grey glass: the paint wins, with less than full confidence.
        let img = split([128, 128, 128], 20, [200, 20, 25]);
        let reading = vehicle_colour(&img, [0.0, 0.0, 40.0, 40.0], 1.0).unwrap();
        let c = &reading.top;
        assert_eq!(c.value, Colour::Red);
        let sum: f32 = reading.scores.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "a distribution: {sum}");
        assert!((reading.scores[0] - c.confidence).abs() < 1e-6, "red's share is its confidence");
        assert!(reading.scores[9] > 0.1, "the glass's grey keeps what is left: {:?}", reading.scores);
        assert!(c.confidence < 0.9 && c.confidence > 0.5, "{c:?}");
        // A few coloured pixels (a tail light) do not make a grey car red.
        let img = split([128, 128, 128], 36, [200, 20, 25]);
        assert_eq!(vehicle_colour(&img, [0.0, 0.0, 40.0, 40.0], 1.0).unwrap().top.value, Colour::Grey);
    }

    #[test]
    fn an_orange_red_taxi_answers_both_orange_and_red() {
        // Half the body reads orange, half a redder orange: both colours keep a real share.
        let img = split([220, 45, 25], 20, [235, 95, 20]);
        let scores = vehicle_colour(&img, [0.0, 0.0, 40.0, 40.0], 1.0).unwrap().scores;
        let (red, orange) = (scores[0], scores[1]);
        assert!(red > 0.3 && orange > 0.3, "red {red}, orange {orange}");
    }

    #[test]
    fn exposure_reference_follows_the_scene() {
        assert!((exposure_reference(&patch([120, 120, 120])) - 120.0 / 255.0).abs() < 0.01);
        assert_eq!(exposure_reference(&patch([10, 10, 10])), 0.35, "never amplifies noise in the dark");
    }
}
