//! Alert rules beside the detector, in either mode: each track event (`opened`/`updated` as
//! the detector announces them, `closed` as it writes them) goes through the rules, and
//! what they raise goes to the mode's bus: the notifier in this process (embedded), or the
//! alerts topic (a distributed detector worker).

use canvass_alerts::{Alert, AlertEngine, TrackPhase};
use canvass_detector::DetectedEvent;

pub struct Alerting {
    engine: AlertEngine,
    raise: Box<dyn FnMut(Alert) + Send>,
}

impl Alerting {
    pub fn new(engine: AlertEngine, raise: impl FnMut(Alert) + Send + 'static) -> Self {
        Alerting { engine, raise: Box::new(raise) }
    }

    /// Applies the rules to one track event.
    pub fn track(&mut self, phase: TrackPhase, detected: &DetectedEvent) {
        for alert in self.engine.on_track(phase, &detected.event, &detected.thumbnail, detected.confirmed_at)
        {
            (self.raise)(alert);
        }
    }
}
