//! Classes a detector confuses, checked against its own other detections: one object boxed as
//! two classes (a car and a truck on the same pixels) keeps its more confident box, and a
//! motorbike's rider read as a car (box over the rider and the bike) is dropped when the same
//! model also boxed the bike inside it. Both would otherwise be events of their own.

use canvass_schemas::ObjectClass;

use crate::RawDetection;

/// Boxes of one category overlapping this much are one object (NMS is per class, so a model can
/// keep a car and a truck box on the same vehicle).
const SAME_OBJECT_IOU: f32 = 0.7;

/// How much of the two-wheeler's box the car's box must cover.
const COVER: f32 = 0.7;
/// A car box more than this many times the two-wheeler's area is a real car the bike passes.
const MAX_AREA_RATIO: f32 = 3.0;

fn area(b: [f32; 4]) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

fn intersection(a: [f32; 4], b: [f32; 4]) -> f32 {
    area([a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])])
}

/// `detections` with one box per object: of boxes of one category overlapping by
/// `SAME_OBJECT_IOU`, the most confident (order kept otherwise).
pub fn one_box_per_object(detections: Vec<RawDetection>) -> Vec<RawDetection> {
    let mut by_score: Vec<usize> = (0..detections.len()).collect();
    by_score.sort_by(|&a, &b| detections[b].score.total_cmp(&detections[a].score));
    let mut kept: Vec<usize> = Vec::new();
    for i in by_score {
        let d = &detections[i];
        let duplicate = kept.iter().any(|&k| {
            let other = &detections[k];
            other.class.category() == d.class.category()
                && crate::nms::iou(other.bbox, d.bbox) >= SAME_OBJECT_IOU
        });
        if !duplicate {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    let mut keep = vec![false; detections.len()];
    kept.into_iter().for_each(|i| keep[i] = true);
    detections.into_iter().zip(keep).filter(|(_, k)| *k).map(|(d, _)| d).collect()
}

/// What a model saw, with the confusions above resolved.
pub fn resolve(detections: Vec<RawDetection>) -> Vec<RawDetection> {
    one_box_per_object(drop_riders_read_as_cars(detections))
}

/// `detections` without the car-like boxes that are a rider on a two-wheeler the model also saw.
pub fn drop_riders_read_as_cars(detections: Vec<RawDetection>) -> Vec<RawDetection> {
    use ObjectClass::*;
    let two_wheelers: Vec<[f32; 4]> =
        detections.iter().filter(|d| matches!(d.class, Motorcycle | Bicycle)).map(|d| d.bbox).collect();
    if two_wheelers.is_empty() {
        return detections;
    }
    detections
        .into_iter()
        .filter(|d| {
            !matches!(d.class, Car | Van | Pickup | Truck | Bus)
                || !two_wheelers.iter().any(|&t| {
                    intersection(d.bbox, t) >= COVER * area(t) && area(d.bbox) <= MAX_AREA_RATIO * area(t)
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class: ObjectClass, bbox: [f32; 4]) -> RawDetection {
        RawDetection { class, model_class: String::new(), score: 0.8, bbox }
    }

    #[test]
    fn one_object_boxed_as_two_classes_keeps_its_best_box() {
        use ObjectClass::*;
        let car = RawDetection { score: 0.6, ..det(Car, [100.0, 100.0, 200.0, 160.0]) };
        let truck = RawDetection { score: 0.7, ..det(Truck, [102.0, 100.0, 202.0, 162.0]) };
        let neighbour = det(Car, [210.0, 100.0, 310.0, 160.0]);
        let knife = det(Knife, [100.0, 100.0, 200.0, 160.0]);
        let kept = one_box_per_object(vec![car, truck.clone(), neighbour.clone(), knife.clone()]);
        assert_eq!(kept, vec![truck, neighbour, knife], "another category is another object");
    }

    #[test]
    fn a_rider_read_as_a_car_is_dropped_and_a_car_behind_a_bike_is_kept() {
        use ObjectClass::*;
        // Rider + bike box (100x160) over the bike's own box (100x80, its lower half).
        let rider = det(Car, [100.0, 100.0, 200.0, 260.0]);
        let bike = det(Motorcycle, [100.0, 180.0, 200.0, 260.0]);
        // A real car (400x150) that the bike passes in front of.
        let car = det(Car, [0.0, 120.0, 400.0, 270.0]);
        let kept = drop_riders_read_as_cars(vec![rider, bike.clone(), car.clone()]);
        assert_eq!(kept, vec![bike, car]);
        // Without the bike's box there is nothing to check against.
        let alone = det(Car, [100.0, 100.0, 200.0, 260.0]);
        assert_eq!(drop_riders_read_as_cars(vec![alone.clone()]), vec![alone]);
    }
}
