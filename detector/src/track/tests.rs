use canvass_schemas::Colour;

use super::*;

fn obs(class: ObjectClass, score: f32, x: f32, sequence: u64) -> Observation {
    Observation {
        class,
        model_class: format!("{class:?}"),
        score,
        bbox: [x, 10.0, x + 40.0, 40.0],
        colour: Some(ColourAttribute { value: Colour::Red, confidence: 0.8 }),
        colours: Vec::new(),
        sequence,
        media_time_us: sequence as i64 * 500_000,
        wall_time: "2026-01-01T00:00:00Z".parse().unwrap(),
    }
}

fn step(tracker: &mut Tracker, frame: Vec<Observation>, sequence: u64) -> FrameUpdate {
    tracker.update(frame, sequence, sequence as i64 * 500_000, &TrackerConfig::default())
}

#[test]
fn a_moving_object_is_one_track_with_its_best_frame() {
    let mut tracker = Tracker::default();
    for (seq, (x, score)) in [(0.0, 0.5), (5.0, 0.9), (10.0, 0.6)].into_iter().enumerate() {
        let update = step(&mut tracker, vec![obs(ObjectClass::Car, score, x, seq as u64)], seq as u64);
        assert!(update.closed.is_empty());
    }
    let tracks = tracker.finish(&TrackerConfig::default());
    assert_eq!(tracks.len(), 1);
    let t = &tracks[0];
    assert_eq!((t.frames, t.first.sequence, t.last.sequence, t.best.sequence), (3, 0, 2, 1));
    assert!((t.score_sum / t.frames as f32 - 2.0 / 3.0).abs() < 1e-6);
    assert_eq!(t.best.colour.as_ref().unwrap().value, Colour::Red, "the best frame's colour");
}

#[test]
fn tracks_close_after_the_gap_and_far_objects_do_not_merge() {
    let mut tracker = Tracker::default();
    step(&mut tracker, vec![obs(ObjectClass::Car, 0.8, 0.0, 0), obs(ObjectClass::Pickup, 0.7, 200.0, 0)], 0);
    assert_eq!(tracker.open_tracks().len(), 2);
    assert_eq!(tracker.open_tracks()[1].ordinal, 1, "second track to start in frame 0, whatever its class");
    // Default gap is 2 s: at 2.5 s with nothing seen, both close.
    let update = step(&mut tracker, vec![], 5);
    assert_eq!(update.closed.len(), 2);
    assert!(tracker.open_tracks().is_empty());
}

#[test]
fn flickering_vehicle_class_stays_one_track_with_the_majority_class() {
    let mut tracker = Tracker::default();
    step(&mut tracker, vec![obs(ObjectClass::Truck, 0.6, 0.0, 0)], 0);
    step(&mut tracker, vec![obs(ObjectClass::Car, 0.4, 2.0, 1)], 1);
    step(&mut tracker, vec![obs(ObjectClass::Truck, 0.7, 4.0, 2)], 2);
    let tracks = tracker.finish(&TrackerConfig::default());
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].class(), ObjectClass::Truck);
}

#[test]
fn short_weapon_detections_are_not_events() {
    let mut tracker = Tracker::default();
    step(&mut tracker, vec![obs(ObjectClass::Firearm, 0.9, 0.0, 0)], 0);
    assert!(tracker.finish(&TrackerConfig::default()).is_empty());
    step(&mut tracker, vec![obs(ObjectClass::Firearm, 0.9, 0.0, 0)], 0);
    step(&mut tracker, vec![obs(ObjectClass::Firearm, 0.9, 1.0, 1)], 1);
    assert!(tracker.finish(&TrackerConfig::default()).is_empty(), "two frames are not enough");
    for seq in 0..3 {
        step(&mut tracker, vec![obs(ObjectClass::Firearm, 0.9, seq as f32, seq)], seq);
    }
    assert_eq!(tracker.finish(&TrackerConfig::default()).len(), 1);
}

#[test]
fn improved_lists_tracks_whose_best_frame_is_the_current_one() {
    let mut tracker = Tracker::default();
    let update = step(&mut tracker, vec![obs(ObjectClass::Car, 0.5, 0.0, 0)], 0);
    assert_eq!(update.improved, vec![0]);
    let update = step(&mut tracker, vec![obs(ObjectClass::Car, 0.4, 1.0, 1)], 1);
    assert!(update.improved.is_empty());
    let update = step(&mut tracker, vec![obs(ObjectClass::Car, 0.9, 2.0, 2)], 2);
    assert_eq!(update.improved, vec![0]);
}

#[test]
fn a_track_is_opened_when_confirmed_updated_at_most_every_interval_and_closed_once() {
    let config = TrackerConfig { update_interval_us: 2_000_000, ..TrackerConfig::default() };
    let mut tracker = Tracker::default();
    let mut opened_at = Vec::new();
    let mut updated_at = Vec::new();
    // A pistol in view for 5 s at 2 fps (frames 0..10), then gone.
    for seq in 0..16u64 {
        let frame = if seq < 10 { vec![obs(ObjectClass::Handgun, 0.7, seq as f32, seq)] } else { vec![] };
        let update = tracker.update(frame, seq, seq as i64 * 500_000, &config);
        if !update.opened.is_empty() {
            opened_at.push(seq);
        }
        if !update.updated.is_empty() {
            updated_at.push(seq);
        }
        if seq == 14 {
            assert_eq!(update.closed.len(), 1, "closed once the gap has passed");
            let confirmed = update.closed[0].confirmed.as_ref().expect("closed tracks were confirmed");
            assert_eq!(confirmed.class, ObjectClass::Handgun);
        }
    }
    assert_eq!(opened_at, [2], "a weapon is confirmed by its third frame, announced at once");
    assert_eq!(updated_at, [6], "then every 2 s of media time while it is seen (frames 6; 10 is empty)");
}
