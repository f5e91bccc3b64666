//! Reading typed values out of DynamoDB items without indexing or unwrapping.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::StoreError;

pub type Item = HashMap<String, AttributeValue>;

pub fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is missing or not a string"
        ))),
    }
}

pub fn optional_string<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(value)) => Ok(Some(value)),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string"
        ))),
    }
}

pub fn number<T: std::str::FromStr>(item: &Item, name: &str) -> Result<T, StoreError> {
    optional_number(item, name)?
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is missing")))
}

pub fn optional_number<T: std::str::FromStr>(
    item: &Item,
    name: &str,
) -> Result<Option<T>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(value)) => value
            .parse()
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not a valid number"))),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a number"
        ))),
    }
}

/// A flag; absent reads as `false` (items written before the attribute existed).
pub fn flag(item: &Item, name: &str) -> Result<bool, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(false),
        Some(AttributeValue::Bool(value)) => Ok(*value),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a boolean"
        ))),
    }
}

pub fn parsed<T>(
    item: &Item,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(string(item, name)?)
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} has an invalid value")))
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string set; absent reads as empty (DynamoDB has no empty sets).
pub fn string_set(item: &Item, name: &str) -> Result<Vec<String>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
        Some(AttributeValue::Ss(values)) => Ok(values.clone()),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string set"
        ))),
    }
}

/// A list of strings; `None` when absent.
pub fn optional_string_list<'a>(
    item: &'a Item,
    name: &str,
) -> Result<Option<Vec<&'a str>>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|value| match value {
                AttributeValue::S(text) => Ok(text.as_str()),
                _ => Err(StoreError::Corrupt(format!(
                    "attribute {name} holds a non-string"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a list"
        ))),
    }
}
