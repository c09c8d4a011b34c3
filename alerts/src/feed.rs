//! The live feed of alerts that open pages listen to (Server-Sent Events). Each listener
//! filters what it may see; a listener too slow to keep up misses alerts, never blocks them.

use canvass_schemas::Alert;
use tokio::sync::broadcast;

/// Alerts kept for a listener that falls behind before it starts missing them.
const BACKLOG: usize = 256;

#[derive(Clone)]
pub struct AlertFeed {
    sender: broadcast::Sender<Alert>,
}

impl Default for AlertFeed {
    fn default() -> Self {
        AlertFeed { sender: broadcast::channel(BACKLOG).0 }
    }
}

impl AlertFeed {
    pub fn publish(&self, alert: Alert) {
        // No listener is fine: nobody has the page open.
        let _ = self.sender.send(alert);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Alert> {
        self.sender.subscribe()
    }
}
