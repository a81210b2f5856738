//! The HTTP JSON API (plain HTTP; keep it on loopback or behind a TLS reverse proxy):
//!
//! - `GET /api/v1/alerts?sensor=&since=&until=&sid=&severity=&limit=`: `{"count", "alerts"}`;
//! - `GET /api/v1/alerts.eve?...`: EVE JSON lines (`application/x-ndjson`);
//! - `GET /api/v1/sensors`: `{"sensors": [...]}`;
//! - `GET /api/v1/stix?...`: a STIX 2.1 bundle.
//!
//! `since`/`until` take RFC 3339 or a duration before now (`1h`). Every query opens its own
//! store connection on a blocking thread, so queries never wait on the ingest thread.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::config::{ApiSection, StorageSection};
use crate::query;
use crate::store::{self, AlertFilter};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    storage: Arc<StorageSection>,
    api: Arc<ApiSection>,
}

impl ApiState {
    /// State over the configured storage.
    pub fn new(storage: StorageSection, api: ApiSection) -> Self {
        Self {
            storage: Arc::new(storage),
            api: Arc::new(api),
        }
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v1/alerts", get(alerts))
        .route("/api/v1/alerts.eve", get(alerts_eve))
        .route("/api/v1/sensors", get(sensors))
        .route("/api/v1/stix", get(stix))
        .with_state(state)
}

/// An API error: a status and a message, sent as `{"error": message}`.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

fn problem(status: StatusCode, msg: impl Into<String>) -> ApiError {
    ApiError(status, msg.into())
}

fn authorise(state: &ApiState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.api.token.is_empty() {
        return Ok(());
    }
    let want = format!("Bearer {}", state.api.token);
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) if v == want => Ok(()),
        _ => Err(problem(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token",
        )),
    }
}

/// Builds a filter from query parameters; unknown parameters are refused.
pub fn filter_from_params(
    p: &HashMap<String, String>,
    max_limit: usize,
    now_us: i64,
) -> Result<AlertFilter, String> {
    let mut f = AlertFilter {
        limit: Some(max_limit),
        ..AlertFilter::default()
    };
    for (k, v) in p {
        match k.as_str() {
            "sensor" => f.sensor = Some(v.clone()),
            "since" => f.since_us = Some(query::parse_time(v, now_us)?),
            "until" => f.until_us = Some(query::parse_time(v, now_us)?),
            "sid" => {
                f.sid = Some(
                    v.parse()
                        .map_err(|_| format!("sid: {v:?} is not a number"))?,
                )
            }
            "severity" => {
                f.severity = Some(
                    v.parse()
                        .map_err(|_| format!("severity: {v:?} is not a number"))?,
                )
            }
            "limit" => {
                let l: usize = v
                    .parse()
                    .map_err(|_| format!("limit: {v:?} is not a number"))?;
                f.limit = Some(l.min(max_limit));
            }
            other => {
                return Err(format!(
                "unknown parameter {other:?} (valid: sensor, since, until, sid, severity, limit)"
            ))
            }
        }
    }
    Ok(f)
}

async fn run_query(
    state: &ApiState,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<Vec<store::StoredAlert>, ApiError> {
    authorise(state, headers)?;
    let f = filter_from_params(params, state.api.max_limit, store::sqlite::now_us())
        .map_err(|e| problem(StatusCode::BAD_REQUEST, e))?;
    let cfg = Arc::clone(&state.storage);
    tokio::task::spawn_blocking(move || store::open(&cfg).and_then(|mut s| s.query_alerts(&f)))
        .await
        .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

async fn alerts(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    match run_query(&state, &headers, &p).await {
        Ok(a) => Json(query::json_doc(&a)).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn alerts_eve(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    match run_query(&state, &headers, &p).await {
        Ok(a) => (
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            query::eve_lines(&a),
        )
            .into_response(),
        Err(r) => r.into_response(),
    }
}

async fn stix(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Query(p): Query<HashMap<String, String>>,
) -> Response {
    match run_query(&state, &headers, &p).await {
        Ok(a) => Json(crate::stix::bundle(&a, "tapwatch-center")).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn sensors(State(state): State<ApiState>, headers: HeaderMap) -> Response {
    if let Err(r) = authorise(&state, &headers) {
        return r.into_response();
    }
    let cfg = Arc::clone(&state.storage);
    match tokio::task::spawn_blocking(move || store::open(&cfg).and_then(|mut s| s.sensors())).await
    {
        Ok(Ok(s)) => Json(json!({ "sensors": s })).into_response(),
        Ok(Err(e)) => problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
