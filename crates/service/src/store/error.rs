use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Store failures, typed by what the caller must do: retry later, or give up.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached, timed out, or is throttling: answer 503 with Retry-After.
    #[error("DynamoDB is unavailable or throttling")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or misconfiguration (missing table, no permission).
    #[error("unexpected DynamoDB error")]
    Unexpected(#[source] BoxError),
    /// An item that does not have the shape this code writes.
    #[error("item is malformed: {0}")]
    Corrupt(String),
}

/// Error codes that mean "try again later" rather than "this request is wrong".
const RETRYABLE_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
];

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(error: SdkError<E, R>) -> Self {
        let unavailable = match &error {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => service
                .err()
                .code()
                .is_some_and(|code| RETRYABLE_CODES.contains(&code)),
            _ => false,
        };
        if unavailable {
            Self::Unavailable(Box::new(error))
        } else {
            Self::Unexpected(Box::new(error))
        }
    }
}

/// A conditional write's outcome: `Ok(true)` when it happened, `Ok(false)` when its condition
/// failed (an expected answer, not an error), any other failure as a [`StoreError`].
pub(super) fn condition_held<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}
