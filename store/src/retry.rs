//! Retrying store calls: only failures that can succeed on a later try (an outage, throttling)
//! are retried, with exponential backoff up to a deadline; a refused request, a missing object
//! or unreadable data fails at once.

use std::time::{Duration, Instant};

use crate::StoreError;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Stop retrying once this long has passed since the first attempt.
    pub give_up_after: Duration,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// A worker's writes: long enough to ride out a store restart, short enough that a worker
    /// whose store is gone exits and lets another take its work.
    fn default() -> Self {
        RetryPolicy {
            give_up_after: Duration::from_secs(120),
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or `policy` gives up. `on_retry` sees each
/// transient failure before the wait (for metrics and liveness). The error says what was being
/// done, and for how long it was tried.
pub fn retry<T>(
    policy: &RetryPolicy,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, StoreError>,
    mut on_retry: impl FnMut(&StoreError),
) -> Result<T, StoreError> {
    let started = Instant::now();
    let mut delay = policy.first_delay;
    loop {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(e) if e.is_transient() && started.elapsed() < policy.give_up_after => {
                on_retry(&e);
                tracing::warn!(retry_in_s = delay.as_secs_f64(), "cannot {what}: {e}");
                std::thread::sleep(delay);
                delay = (delay * 2).min(policy.max_delay);
            }
            Err(StoreError::Transient { key, reason }) => {
                let secs = started.elapsed().as_secs();
                return Err(StoreError::Transient {
                    key,
                    reason: format!("cannot {what} (tried for {secs} s, giving up): {reason}"),
                });
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> RetryPolicy {
        RetryPolicy {
            give_up_after: Duration::from_millis(50),
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        }
    }

    fn transient() -> StoreError {
        StoreError::Transient { key: "k".into(), reason: "connection refused".into() }
    }

    #[test]
    fn transient_failures_are_retried_until_one_succeeds() {
        let (mut calls, mut retries) = (0, 0);
        let result = retry(
            &quick(),
            "write k",
            || {
                calls += 1;
                if calls < 3 { Err(transient()) } else { Ok(calls) }
            },
            |_| retries += 1,
        );
        assert_eq!(result.unwrap(), 3);
        assert_eq!(retries, 2);
    }

    #[test]
    fn permanent_failures_and_missing_objects_are_not_retried() {
        for error in [
            StoreError::Permanent { key: "k".into(), reason: "403 AccessDenied".into() },
            StoreError::NotFound("k".into()),
            StoreError::PreconditionFailed("k".into()),
            StoreError::Corrupt("k".into()),
        ] {
            let mut calls = 0;
            let kind = error.kind();
            let mut error = Some(error);
            let result: Result<(), _> = retry(
                &quick(),
                "write k",
                || {
                    calls += 1;
                    Err(error.take().expect("called once"))
                },
                |_| {},
            );
            assert_eq!(calls, 1, "{kind:?} was retried");
            assert_eq!(result.unwrap_err().kind(), kind);
        }
    }

    #[test]
    fn giving_up_says_what_and_for_how_long() {
        let err = retry::<()>(&quick(), "write a segment", || Err(transient()), |_| {}).unwrap_err();
        assert!(err.is_transient());
        let text = err.to_string();
        assert!(text.contains("cannot write a segment") && text.contains("giving up"), "{text}");
        assert!(text.contains("connection refused"), "{text}");
    }
}
