//! Class-wise non-maximum suppression.

/// A scored box in some pixel space, `[x1, y1, x2, y2]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub class_index: usize,
    pub score: f32,
    pub bbox: [f32; 4],
}

pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |r: [f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Keeps the best box of each cluster of same-class boxes overlapping by more than `iou_threshold`,
/// best first, at most `max_kept`.
pub fn nms(mut candidates: Vec<Candidate>, iou_threshold: f32, max_kept: usize) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in candidates {
        if kept.len() >= max_kept {
            break;
        }
        let suppressed =
            kept.iter().any(|k| k.class_index == c.class_index && iou(k.bbox, c.bbox) > iou_threshold);
        if !suppressed {
            kept.push(c);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cand(class_index: usize, score: f32, bbox: [f32; 4]) -> Candidate {
        Candidate { class_index, score, bbox }
    }

    #[test]
    fn iou_of_known_boxes() {
        assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]), 1.0);
        assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [10.0, 10.0, 20.0, 20.0]), 0.0);
        assert!((iou([0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn overlapping_boxes_of_one_class_collapse_to_the_best() {
        let kept = nms(
            vec![
                cand(0, 0.5, [0.0, 0.0, 10.0, 10.0]),
                cand(0, 0.9, [1.0, 1.0, 11.0, 11.0]),
                cand(1, 0.4, [0.0, 0.0, 10.0, 10.0]), // another class: kept
                cand(0, 0.3, [50.0, 50.0, 60.0, 60.0]), // far away: kept
            ],
            0.45,
            100,
        );
        let scores: Vec<f32> = kept.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.9, 0.4, 0.3]);
    }

    proptest! {
        #[test]
        fn survivors_of_one_class_never_overlap_past_the_threshold(
            boxes in proptest::collection::vec((0usize..3, 0.0f32..1.0, 0.0f32..100.0, 0.0f32..100.0, 1.0f32..50.0, 1.0f32..50.0), 0..60)
        ) {
            let cands = boxes.iter().map(|&(c, s, x, y, w, h)| cand(c, s, [x, y, x + w, y + h])).collect();
            let kept = nms(cands, 0.5, 1000);
            for (i, a) in kept.iter().enumerate() {
                for b in &kept[i + 1..] {
                    prop_assert!(a.class_index != b.class_index || iou(a.bbox, b.bbox) <= 0.5);
                }
            }
            prop_assert!(kept.windows(2).all(|w| w[0].score >= w[1].score));
        }
    }
}
