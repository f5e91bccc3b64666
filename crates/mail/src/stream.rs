//! The DynamoDB stream event Lambda hands the mailer, read as far as the mailer needs it: each
//! record's sequence number (to report a failure), its event name, and its new image turned
//! into the SDK's attribute values so the store's own parser reads the outbox item.
//!
//! Typed here rather than through `aws_lambda_events`' `dynamodb` feature, which pulls in
//! `serde_dynamo` for images this function reads five attributes of.

use std::collections::HashMap;

use auth_service::store::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    #[serde(default)]
    pub dynamodb: Change,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Change {
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: String,
    #[serde(rename = "NewImage", default)]
    pub new_image: HashMap<String, Value>,
}

/// The partial-batch answer (`ReportBatchItemFailures`): Lambda retries from the first listed
/// record, so nothing after a failure is lost.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// One attribute in DynamoDB's JSON (`{"S": "..."}`) as the SDK's type; `None` for a shape
/// that is not a DynamoDB attribute value. Outbox items hold strings, numbers and booleans;
/// maps and lists are read too so any item of the table converts.
pub fn attribute(value: &Value) -> Option<AttributeValue> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let (kind, inner) = object.iter().next()?;
    match (kind.as_str(), inner) {
        ("S", Value::String(text)) => Some(AttributeValue::S(text.clone())),
        ("N", Value::String(number)) => Some(AttributeValue::N(number.clone())),
        ("BOOL", Value::Bool(flag)) => Some(AttributeValue::Bool(*flag)),
        ("NULL", Value::Bool(true)) => Some(AttributeValue::Null(true)),
        ("SS", Value::Array(items)) => strings(items).map(AttributeValue::Ss),
        ("NS", Value::Array(items)) => strings(items).map(AttributeValue::Ns),
        ("L", Value::Array(items)) => items
            .iter()
            .map(attribute)
            .collect::<Option<Vec<_>>>()
            .map(AttributeValue::L),
        ("M", Value::Object(fields)) => fields
            .iter()
            .map(|(name, value)| Some((name.clone(), attribute(value)?)))
            .collect::<Option<HashMap<_, _>>>()
            .map(AttributeValue::M),
        _ => None,
    }
}

fn strings(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

impl StreamRecord {
    /// The new image as an item; `None` when an attribute is not DynamoDB JSON.
    pub fn item(&self) -> Option<Item> {
        self.dynamodb
            .new_image
            .iter()
            .map(|(name, value)| Some((name.clone(), attribute(value)?)))
            .collect()
    }

    pub fn is_insert(&self) -> bool {
        self.event_name == "INSERT"
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn attribute_values_convert_by_their_type_tag() {
        assert_eq!(
            attribute(&json!({"S": "a"})),
            Some(AttributeValue::S("a".into()))
        );
        assert_eq!(
            attribute(&json!({"N": "12"})),
            Some(AttributeValue::N("12".into()))
        );
        assert_eq!(
            attribute(&json!({"BOOL": true})),
            Some(AttributeValue::Bool(true))
        );
        assert_eq!(
            attribute(&json!({"NULL": true})),
            Some(AttributeValue::Null(true))
        );
        assert_eq!(
            attribute(&json!({"M": {"a": {"L": [{"S": "x"}]}}})),
            Some(AttributeValue::M(HashMap::from([(
                "a".to_owned(),
                AttributeValue::L(vec![AttributeValue::S("x".into())])
            )])))
        );
        for bad in [
            json!("S"),
            json!({"S": 1}),
            json!({"S": "a", "N": "1"}),
            json!({}),
            json!({"B": "AA=="}),
        ] {
            assert_eq!(attribute(&bad), None, "{bad}");
        }
    }

    #[test]
    fn an_event_without_records_or_with_odd_records_still_parses() {
        let event: StreamEvent = serde_json::from_value(json!({})).expect("empty");
        assert!(event.records.is_empty());
        let event: StreamEvent =
            serde_json::from_value(json!({"Records": [{"eventName": "REMOVE"}]})).expect("odd");
        assert!(!event.records[0].is_insert());
        assert_eq!(event.records[0].item(), Some(Item::new()));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::hash_map("S|N|BOOL|NULL|M|L|SS|NS|.{0,3}", inner, 0..3)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_converts_or_is_refused_without_panicking(value in json_value()) {
            let _ = attribute(&value);
            let record = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {"a": value}}});
            if let Ok(event) = serde_json::from_value::<StreamEvent>(json!({"Records": [record]})) {
                let _ = event.records.first().and_then(StreamRecord::item);
            }
        }
    }
}
