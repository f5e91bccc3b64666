use auth_core::calendar::rfc3339;
use auth_core::domain::SessionId;
use http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{SessionManagement, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::{Caller, caller};
use crate::http::client::ClientInfo;
use crate::http::response::{json, no_content};
use crate::store::SessionRecord;

/// Serves `GET /auth/sessions` and `DELETE /auth/sessions/{id}` (both authorized).
pub async fn sessions(state: &SessionManagement, request: Request) -> Response<Body> {
    let client = state.sources.client(&request);
    if request.method() == Method::DELETE {
        respond("session-revoke", revoke(state, &request, &client).await)
    } else {
        respond("sessions", list(state, &request).await)
    }
}

/// One session as its owner sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    user_agent: Option<String>,
    ip_address: Option<String>,
    /// The session of the access token that asked.
    current: bool,
}

impl SessionView {
    fn of(record: SessionRecord, caller: &Caller) -> Self {
        Self {
            current: record.session_id == caller.session,
            id: record.session_id.as_str().to_owned(),
            created_at: rfc3339(record.created_at),
            last_used_at: rfc3339(record.last_used_at),
            expires_at: rfc3339(record.expires_at.min(record.absolute_expires_at)),
            user_agent: record.device.user_agent,
            ip_address: record.device.ip_address,
        }
    }
}

/// → 200 `{"sessions": [...]}`, newest first.
async fn list(state: &SessionManagement, request: &Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let caller = caller(request)?;
    let sessions: Vec<SessionView> = state
        .store
        .list_sessions(&caller.user, state.clock.now())
        .await?
        .into_iter()
        .map(|record| SessionView::of(record, &caller))
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "sessions": sessions }),
    ))
}

/// → 204 once the caller's session `{id}` has ended; 404 when the caller has no such live
/// session (another user's id included).
async fn revoke(
    state: &SessionManagement,
    request: &Request,
    client: &ClientInfo,
) -> Result<Response<Body>, ApiError> {
    let caller = caller(request)?;
    let id = request
        .uri()
        .path()
        .trim_end_matches('/')
        .rsplit_once("/sessions/")
        .and_then(|(_, id)| SessionId::parse(id))
        .ok_or(ApiError::NotFound)?;
    let ended = state
        .store
        .delete_session_of(&caller.user, &id, state.clock.now())
        .await?;
    if !ended {
        return Err(ApiError::NotFound);
    }
    state.audit.record(
        AuditEvent::SessionRevoked,
        Subject::session(caller.user.as_str(), id.as_str()),
        client,
    );
    Ok(no_content())
}
