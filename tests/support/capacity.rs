//! Measures the DynamoDB capacity units an operation consumes: every request asks for
//! `ReturnConsumedCapacity: TOTAL` (added to its JSON before signing), and every answer's
//! `ConsumedCapacity` is added up as reads or writes by operation.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde_json::Value;

/// Capacity units consumed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub read_units: f64,
    pub write_units: f64,
}

#[derive(Debug, Clone, Default)]
pub struct CapacityMeter {
    consumed: Arc<Mutex<Capacity>>,
}

/// The operation of the request in flight (`DynamoDB_20120810.PutItem` → `PutItem`).
#[derive(Debug, Clone)]
struct Operation(String);

impl Storable for Operation {
    type Storer = StoreReplace<Self>;
}

impl CapacityMeter {
    /// The capacity consumed so far, resetting it.
    pub fn take(&self) -> Capacity {
        std::mem::take(&mut *self.consumed.lock().expect("lock"))
    }
}

fn is_write(operation: &str) -> bool {
    matches!(
        operation,
        "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem"
    )
}

fn units(consumed: &Value) -> f64 {
    match consumed {
        Value::Array(each) => each.iter().map(units).sum(),
        Value::Object(one) => one
            .get("CapacityUnits")
            .and_then(Value::as_f64)
            .unwrap_or_default(),
        _ => 0.0,
    }
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let operation = crate::requests::operation(request);
        let Some(mut body) = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        else {
            return Ok(());
        };
        if let Some(object) = body.as_object_mut() {
            object.insert("ReturnConsumedCapacity".into(), Value::from("TOTAL"));
        }
        let bytes = serde_json::to_vec(&body)?;
        request
            .headers_mut()
            .insert("content-length", bytes.len().to_string());
        *request.body_mut() = SdkBody::from(bytes);
        cfg.interceptor_state().store_put(Operation(operation));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Some(Operation(operation)) = cfg.load::<Operation>().cloned() else {
            return Ok(());
        };
        let consumed = context
            .response()
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
            .map(|answer| units(&answer["ConsumedCapacity"]))
            .unwrap_or_default();
        let mut total = self.consumed.lock().expect("lock");
        if is_write(&operation) {
            total.write_units += consumed;
        } else {
            total.read_units += consumed;
        }
        Ok(())
    }
}
