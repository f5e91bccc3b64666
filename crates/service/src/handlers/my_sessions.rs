use auth_core::calendar::rfc3339;
use auth_core::domain::{InvalidField, SessionId};
use http::{Method, StatusCode};
use lambda_http::RequestExt as _;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::{SessionManagement, respond};
use crate::audit::{AuditEvent, Subject};
use crate::error::ApiError;
use crate::http::caller::{Caller, caller};
use crate::http::client::ClientInfo;
use crate::http::response::{json, no_content};
use crate::store::revocation::is_revoked;
use crate::store::{SessionPage, SessionRecord};

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

/// `?limit=N&cursor=C` → 200 `{"sessions": [...], "next": C | null}`: up to `limit` (1 to
/// 100, default 20) live sessions, newest first, the caller's own first on the first page;
/// `next` continues the list. Sessions a credential event revoked are left out even while
/// their items await the clean-up.
async fn list(state: &SessionManagement, request: &Request) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let caller = caller(request)?;
    let paging = Paging::from_query(request)?;
    let now = state.clock.now();
    let store = &state.store;
    let first_page = paging.cursor.is_none();
    // The first page keeps a place for the caller's own session; with room for nothing else,
    // its `next` starts the list from the top.
    let query_limit = if first_page {
        paging.limit - 1
    } else {
        paging.limit
    };
    let page = async {
        match query_limit {
            0 => Ok(SessionPage {
                sessions: Vec::new(),
                next: Some(SessionId::after_newest()),
            }),
            limit => {
                store
                    .session_page(
                        &caller.user,
                        now,
                        limit,
                        paging.cursor.as_ref(),
                        Some(&caller.session),
                    )
                    .await
            }
        }
    };
    let current = async {
        match first_page {
            true => store.session(&caller.user, &caller.session).await,
            false => Ok(None),
        }
    };
    let (account, current, page) = tokio::join!(store.profile_record(&caller.user), current, page);
    let (account, page) = (account?, page?);
    let standing =
        |record: &SessionRecord| record.is_live(now) && !is_revoked(record, account.as_ref());
    let sessions: Vec<SessionView> = current?
        .into_iter()
        .chain(page.sessions)
        .filter(standing)
        .map(|record| SessionView::of(record, &caller))
        .collect();
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "sessions": sessions,
            "next": page.next.as_ref().map(SessionId::as_str),
        }),
    ))
}

/// The sessions list's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Paging {
    limit: i32,
    cursor: Option<SessionId>,
}

const DEFAULT_PAGE: i32 = 20;
const MAX_PAGE: i32 = 100;

impl Paging {
    fn from_query(request: &Request) -> Result<Self, ApiError> {
        let query = request.query_string_parameters_ref();
        let limit = match query.and_then(|query| query.first("limit")) {
            None => DEFAULT_PAGE,
            Some(raw) => raw
                .parse::<i32>()
                .ok()
                .filter(|limit| (1..=MAX_PAGE).contains(limit))
                .ok_or_else(|| {
                    InvalidField::new("limit", "limit must be a whole number from 1 to 100")
                })?,
        };
        let cursor = query
            .and_then(|query| query.first("cursor"))
            .map(|raw| {
                SessionId::parse(raw).ok_or_else(|| {
                    InvalidField::new("cursor", "cursor must be a `next` value this list returned")
                })
            })
            .transpose()?;
        Ok(Self { limit, cursor })
    }
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
