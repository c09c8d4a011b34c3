//! Alerts as they happen, for the page (Server-Sent Events), and the webhook dead letters.
//! A user hears only alerts of their agency's rules about sources in its jurisdiction; each
//! `opened` alert shown is audited and counted against their disclosure budget.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use canvass_alerts::{Alert, AlertRule, DeadLetter, RuleBook, TrackPhase};
use canvass_governance::{Principal, Role};
use tokio::sync::broadcast::error::RecvError;

use super::blocking;
use crate::error::{ApiError, Body};
use crate::state::{Caller, Service};

/// Whether `who` may hear of `alert`: its rule is their agency's (or has none) and the
/// source lies in their jurisdiction.
fn visible(who: &Principal, alert: &Alert) -> bool {
    let agency = who.agency.as_ref().map(|a| a.name.as_str());
    who.may_see(&alert.event.source_id) && alert.agency.as_deref().is_none_or(|rule| Some(rule) == agency)
}

#[utoipa::path(get, path = "/v1/alerts/stream",
    responses((status = 200, description = "text/event-stream of `alert` events (alert.v2 JSON)"),
        (status = 204, description = "no alert rules are configured: nothing will come (an EventSource stops)")))]
pub async fn stream(State(service): State<Arc<Service>>, caller: Caller) -> Result<Response, ApiError> {
    let who =
        caller.require(caller.0.role.sees_events(), "watch alerts: investigators and supervisors")?.clone();
    let Some(feed) = service.alert_feed.as_ref() else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let alerts = feed.subscribe();
    let (audited, for_audit) = (service.clone(), who.clone());
    blocking(move || audited.audit(&for_audit, "alerts_watch", None, serde_json::json!({}), None)).await?;
    let events =
        futures_util::stream::unfold((alerts, service, who), |(mut alerts, service, who)| async move {
            loop {
                let event = match alerts.recv().await {
                    Ok(alert) if visible(&who, &alert) => match shown(&service, &who, alert).await {
                        Some(alert) => {
                            Event::default().event("alert").id(alert.alert_id.clone()).json_data(&alert)
                        }
                        None => continue,
                    },
                    Ok(_) => continue,
                    // Too slow a reader misses alerts rather than holding them up: it is told so.
                    Err(RecvError::Lagged(missed)) => {
                        Ok(Event::default().event("missed").data(missed.to_string()))
                    }
                    Err(RecvError::Closed) => return None,
                };
                match event {
                    Ok(event) => {
                        return Some((Ok::<_, std::convert::Infallible>(event), (alerts, service, who)));
                    }
                    Err(e) => tracing::error!("cannot encode an alert: {e}"),
                }
            }
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response())
}

/// Audits an `opened` alert shown to `who` and spends one event of their budget; over
/// budget, they hear that it happened but not what it shows. Unauditable: not shown.
async fn shown(service: &Arc<Service>, who: &Principal, mut alert: Alert) -> Option<Alert> {
    if alert.phase != TrackPhase::Opened {
        return Some(alert);
    }
    let (service, who_, detail) = (
        service.clone(),
        who.clone(),
        serde_json::json!({ "rule": alert.rule, "alert_id": alert.alert_id,
            "event_id": alert.event.event_id, "source_id": alert.event.source_id }),
    );
    let outcome = blocking(move || {
        service.audit(&who_, "alert_shown", None, detail, Some(1))?;
        Ok(service.disclose(&who_, 1).is_ok())
    })
    .await;
    match outcome {
        Ok(true) => Some(alert),
        Ok(false) => {
            alert.thumbnail_jpeg_base64.clear();
            Some(alert)
        }
        Err(e) => {
            tracing::error!(user = %who.name, "alert not shown: it cannot be audited ({})", e.message);
            None
        }
    }
}

#[utoipa::path(get, path = "/v1/alerts/dead", responses((status = 200, description = "alerts no webhook accepted")))]
pub async fn dead(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let who =
        caller.require(caller.0.role.sees_holds(), "read dead letters: supervisors and admins")?.clone();
    blocking(move || {
        let store = service.lake.store().clone();
        let mine = |letter: &DeadLetter| {
            who.role == Role::Admin
                || (letter.alert.agency.as_deref() == who.agency.as_ref().map(|a| a.name.as_str())
                    && who.may_see(&letter.alert.event.source_id))
        };
        let mut letters: Vec<DeadLetter> =
            canvass_alerts::dead_letters(&store)?.into_iter().filter(|l| mine(l)).collect();
        for letter in &mut letters {
            letter.alert.thumbnail_jpeg_base64.clear();
        }
        service.audit(&who, "alerts_dead_read", None, serde_json::json!({}), Some(letters.len()))?;
        Ok(Json(letters))
    })
    .await
}

#[utoipa::path(get, path = "/v1/live", responses((status = 200, description = "each live camera's health")))]
pub async fn live(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<Vec<canvass_schemas::CameraHealth>>, ApiError> {
    let who =
        caller.require(caller.0.role.sees_events() || caller.0.role == Role::Admin, "see live cameras")?;
    let cameras = service.live.as_ref().map(|live| live.cameras()).unwrap_or_default();
    Ok(Json(cameras.into_iter().filter(|c| who.role == Role::Admin || who.may_see(&c.source_id)).collect()))
}

/// A rule as the API shows it: never its secret.
#[derive(Debug, serde::Serialize)]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: AlertRule,
    /// `config` (the config file's: changed there) or `api`.
    pub origin: &'static str,
}

fn book(service: &Service) -> Result<&RuleBook, ApiError> {
    service
        .alert_rules
        .as_ref()
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "alerts are not run by this service"))
}

fn view(mut rule: AlertRule, origin: &'static str) -> RuleView {
    rule.secret = rule.secret.map(|_| "(set)".into());
    RuleView { rule, origin }
}

#[utoipa::path(get, path = "/v1/alerts/rules", responses((status = 200, description = "the alert rules the caller's agency has (admins: all), without secrets")))]
pub async fn rules(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<Vec<RuleView>>, ApiError> {
    let who = caller.require(caller.0.role.sees_holds(), "see alert rules: supervisors and admins")?.clone();
    blocking(move || {
        let book = book(&service)?;
        let agency = who.agency.as_ref().map(|a| a.name.as_str());
        let mine = |rule: &AlertRule| who.role == Role::Admin || rule.agency.as_deref() == agency;
        let configured = book.configured().iter().filter(|r| mine(r)).map(|r| view(r.clone(), "config"));
        let stored: Vec<RuleView> =
            book.stored()?.into_iter().filter(|r| mine(r)).map(|r| view(r, "api")).collect();
        Ok(Json(configured.chain(stored).collect()))
    })
    .await
}

#[utoipa::path(put, path = "/v1/alerts/rules/{name}", params(("name" = String, Path)),
    responses((status = 200, description = "saved; detectors and notifiers follow within seconds"),
        (status = 400, description = "a rule that cannot work, said why"), (status = 403, description = "not a supervisor of the rule's agency")))]
pub async fn put_rule(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
    Body(mut rule): Body<AlertRule>,
) -> Result<Json<RuleView>, ApiError> {
    let who = caller
        .require(caller.0.role.places_holds(), "make alert rules: supervisors, for their agency")?
        .clone();
    let agency = who.agency.as_ref().map(|a| a.name.clone());
    if rule.name != name {
        return Err(ApiError::bad_request(format!(
            "the rule is named '{}' but the path says '{name}'",
            rule.name
        )));
    }
    if rule.agency.is_some() && rule.agency != agency {
        return Err(ApiError::forbidden("a supervisor makes rules for their own agency only"));
    }
    // The service's environment is not the caller's to name, and a hook made through the API
    // gets TLS: alerts carry event data.
    if rule.secret_env.is_some() {
        return Err(ApiError::bad_request("secret_env is for the config file: give secret"));
    }
    if rule.webhook.as_deref().is_some_and(|url| !url.starts_with("https://")) {
        return Err(ApiError::bad_request("a webhook made through the API must be https://"));
    }
    rule.agency = agency;
    blocking(move || {
        let book = book(&service)?;
        let agencies = &service.access.agencies;
        if let Some(existing) = book.get(&name)?
            && existing.agency != rule.agency
        {
            return Err(ApiError::forbidden("that rule belongs to another agency"));
        }
        book.put(&rule, agencies).map_err(|e| match e {
            canvass_alerts::AlertError::Store(e) => ApiError::from(e),
            rule_error => ApiError::bad_request(rule_error.to_string()),
        })?;
        let shown = view(rule, "api");
        service.audit(
            &who,
            "alert_rule_set",
            None,
            serde_json::to_value(&shown).unwrap_or_default(),
            None,
        )?;
        Ok(Json(shown))
    })
    .await
}

#[utoipa::path(delete, path = "/v1/alerts/rules/{name}", params(("name" = String, Path)), responses((status = 204)))]
pub async fn delete_rule(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let who = caller
        .require(caller.0.role.places_holds(), "remove alert rules: supervisors, for their agency")?
        .clone();
    blocking(move || {
        let book = book(&service)?;
        let agency = who.agency.as_ref().map(|a| a.name.clone());
        if book.configured().iter().any(|r| r.name == name) {
            return Err(ApiError::new(StatusCode::CONFLICT, "a rule of the config file: remove it there"));
        }
        match book.get(&name)? {
            Some(rule) if rule.agency == agency => {}
            // Another agency's rule is not there, as far as this caller can tell.
            _ => return Err(ApiError::not_found(format!("no alert rule {name}"))),
        }
        book.remove(&name)?;
        service.audit(&who, "alert_rule_removed", None, serde_json::json!({ "rule": name }), None)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
