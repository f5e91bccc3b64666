//! The SAM-ready build `scripts/package` leaves in `.aws-sam/build`: which binary each function
//! of the template runs, the architecture it is built for, and the template `sam deploy` reads
//! there, identical to `template.yaml` but for each function's `CodeUri`, which names the
//! directory holding its `bootstrap` (as `sam build` writes it).

use std::collections::BTreeMap;

use serde_yaml::Value;

use crate::resolve::Resolver;
use crate::template::TemplateError;

/// One function of the template and the binary (`Metadata.BuildProperties.Binary`) it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedFunction {
    pub logical_id: String,
    pub binary: String,
    /// `MemorySize` as the template writes it (its own, else the Globals', else Lambda's 128).
    pub memory_size: u32,
}

/// Every `AWS::Serverless::Function`, conditional ones included (the build holds each, so one
/// build serves every parameter choice).
pub fn functions(text: &str) -> Result<Vec<PackagedFunction>, TemplateError> {
    let template: Value = serde_yaml::from_str(text)?;
    let resources = template["Resources"]
        .as_mapping()
        .ok_or_else(|| TemplateError::Shape("no Resources".into()))?;
    let global_memory = &template["Globals"]["Function"]["MemorySize"];
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(id, resource)| {
            let logical_id = id.as_str().unwrap_or_default().to_owned();
            let binary = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .filter(|binary| is_name(binary))
                .ok_or_else(|| {
                    TemplateError::Shape(format!(
                        "{logical_id}: Metadata.BuildProperties.Binary must name a binary"
                    ))
                })?
                .to_owned();
            if !is_name(&logical_id) {
                return Err(TemplateError::Shape(format!(
                    "{logical_id:?} is not a logical id"
                )));
            }
            let memory = &resource["Properties"]["MemorySize"];
            let memory = if memory.is_null() {
                global_memory
            } else {
                memory
            };
            let memory_size = match memory {
                Value::Null => 128,
                value => value
                    .as_u64()
                    .and_then(|mb| u32::try_from(mb).ok())
                    .ok_or_else(|| {
                        TemplateError::Shape(format!("{logical_id}: MemorySize is not a number"))
                    })?,
            };
            Ok(PackagedFunction {
                logical_id,
                binary,
                memory_size,
            })
        })
        .collect()
}

/// A logical id or binary name is also a directory name in the build: nothing else is let in.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The `Architecture` parameter under these overrides (its default otherwise).
pub fn architecture(
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let template: Value = serde_yaml::from_str(text)?;
    let resolver = Resolver::new(&template, overrides, &BTreeMap::new());
    let architecture = resolver
        .text(&Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
            tag: serde_yaml::value::Tag::new("Ref"),
            value: Value::String("Architecture".into()),
        })))
        .ok_or_else(|| TemplateError::Shape("no Architecture parameter".into()))?;
    let allowed = template["Parameters"]["Architecture"]["AllowedValues"]
        .as_sequence()
        .is_none_or(|values| {
            values
                .iter()
                .any(|value| value.as_str() == Some(&architecture))
        });
    if !allowed {
        return Err(TemplateError::Shape(format!(
            "Architecture {architecture} is not among the parameter's AllowedValues"
        )));
    }
    Ok(architecture)
}

/// `value` as JSON, each short-form intrinsic (`!Ref X`, `!GetAtt A.B`, `!If [...]`) in its
/// long form (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::If": [...]}`).
fn long_form(value: &Value) -> Result<serde_json::Value, TemplateError> {
    use serde_json::Value as Json;
    Ok(match value {
        Value::Null => Json::Null,
        Value::Bool(flag) => Json::Bool(*flag),
        Value::Number(number) => serde_json::to_value(number)
            .map_err(|error| TemplateError::Shape(format!("number {number}: {error}")))?,
        Value::String(text) => Json::String(text.clone()),
        Value::Sequence(items) => {
            Json::Array(items.iter().map(long_form).collect::<Result<_, _>>()?)
        }
        Value::Mapping(mapping) => {
            let mut object = serde_json::Map::new();
            for (key, value) in mapping {
                let key = key.as_str().ok_or_else(|| {
                    TemplateError::Shape(format!("a key that is not text: {key:?}"))
                })?;
                object.insert(key.to_owned(), long_form(value)?);
            }
            Json::Object(object)
        }
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let argument = match (name, &tagged.value) {
                // `!GetAtt A.B` is the list [A, B] in long form.
                ("GetAtt", Value::String(text)) => match text.split_once('.') {
                    Some((resource, attribute)) => serde_json::json!([resource, attribute]),
                    None => return Err(TemplateError::Shape(format!("!GetAtt {text}"))),
                },
                (_, inner) => long_form(inner)?,
            };
            let key = match name {
                "Ref" | "Condition" => name.to_owned(),
                other => format!("Fn::{other}"),
            };
            serde_json::json!({ key: argument })
        }
    })
}

/// The template of the build: each function's `CodeUri` is its logical id (a directory beside
/// the template holding `bootstrap`), and the `Architecture` parameter allows only the one
/// `architecture` the binaries were built for (so a deploy cannot put them on the other);
/// nothing else changes. Written as JSON (which is YAML), intrinsics in long form: YAML 1.1
/// readers such as SAM's would otherwise take an unquoted `2010-09-09` for a date or `on`/`no`
/// for booleans.
pub fn packaged_template(text: &str, architecture: &str) -> Result<String, TemplateError> {
    let mut template: Value = serde_yaml::from_str(text)?;
    let parameter = template
        .get_mut("Parameters")
        .and_then(|parameters| parameters.get_mut("Architecture"))
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| TemplateError::Shape("no Architecture parameter".into()))?;
    parameter.insert("Default".into(), Value::String(architecture.to_owned()));
    parameter.insert(
        "AllowedValues".into(),
        Value::Sequence(vec![Value::String(architecture.to_owned())]),
    );
    let ids: Vec<String> = functions(text)?
        .into_iter()
        .map(|function| function.logical_id)
        .collect();
    for id in ids {
        let properties = template
            .get_mut("Resources")
            .and_then(|resources| resources.get_mut(id.as_str()))
            .and_then(Value::as_mapping_mut)
            .ok_or_else(|| TemplateError::Shape(format!("{id} vanished")))?
            .entry(Value::String("Properties".into()))
            .or_insert_with(|| Value::Mapping(serde_yaml::Mapping::new()));
        let properties = properties
            .as_mapping_mut()
            .ok_or_else(|| TemplateError::Shape(format!("{id}: Properties is not a mapping")))?;
        properties.insert(Value::String("CodeUri".into()), Value::String(id));
    }
    let json = long_form(&template)?;
    serde_json::to_string_pretty(&json)
        .map_err(|error| TemplateError::Shape(format!("cannot write JSON: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Architecture: {Type: String, Default: x86_64, AllowedValues: [x86_64, arm64]}
  Strict: {Type: String, Default: "false"}
Conditions:
  IsStrict: !Equals [!Ref Strict, "true"]
Globals:
  Function:
    CodeUri: .
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Lean:
    Type: AWS::Serverless::Function
    Metadata: {BuildMethod: rust-cargolambda, BuildProperties: {Binary: authorizer}}
    Properties:
      Environment: {Variables: {TABLE: !Ref Table}}
  Strict:
    Type: AWS::Serverless::Function
    Condition: IsStrict
    Metadata: {BuildProperties: {Binary: authorizer-strict}}
    Properties: {MemorySize: 512}
"#;

    #[test]
    fn every_function_is_built_conditional_ones_too() {
        let names: Vec<(String, String, u32)> = functions(TEMPLATE)
            .expect("functions")
            .into_iter()
            .map(|f| (f.logical_id, f.binary, f.memory_size))
            .collect();
        assert_eq!(
            names,
            [
                ("Lean".to_owned(), "authorizer".to_owned(), 128),
                ("Strict".to_owned(), "authorizer-strict".to_owned(), 512)
            ]
        );
    }

    #[test]
    fn the_packaged_template_points_each_function_at_its_directory_and_keeps_the_rest() {
        let packaged = packaged_template(TEMPLATE, "x86_64").expect("packaged");
        let mut value: serde_json::Value = serde_json::from_str(&packaged).expect("JSON");
        let original = long_form(&serde_yaml::from_str(TEMPLATE).expect("yaml")).expect("long");
        for id in ["Lean", "Strict"] {
            let properties = value["Resources"][id]["Properties"]
                .as_object_mut()
                .expect("Properties");
            assert_eq!(properties.remove("CodeUri"), Some(serde_json::json!(id)));
        }
        assert_eq!(
            value["Parameters"]["Architecture"],
            serde_json::json!({"Type": "String", "Default": "x86_64", "AllowedValues": ["x86_64"]})
        );
        value["Parameters"]["Architecture"] = original["Parameters"]["Architecture"].clone();
        assert_eq!(value, original, "nothing else changes");
        let arm = packaged_template(TEMPLATE, "arm64").expect("arm64");
        let arm: serde_json::Value = serde_json::from_str(&arm).expect("JSON");
        assert_eq!(
            arm["Parameters"]["Architecture"]["AllowedValues"],
            serde_json::json!(["arm64"])
        );
        assert_eq!(
            value["Conditions"]["IsStrict"],
            serde_json::json!({"Fn::Equals": [{"Ref": "Strict"}, "true"]})
        );
    }

    #[test]
    fn intrinsics_take_their_long_form_and_nothing_is_left_to_yaml_1_1_guessing() {
        let text = "AWSTemplateFormatVersion: \"2010-09-09\"\nParameters:\n  Architecture: {Type: String}\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildProperties: {Binary: f}}\n    Properties:\n      Arn: !GetAtt T.Arn\n      Name: !Sub \"${AWS::StackName}-x\"\n      Pick: !If [C, !Ref A, !Ref \"AWS::NoValue\"]\n      Flag: \"on\"\n";
        let packaged = packaged_template(text, "x86_64").expect("packaged");
        let json: serde_json::Value = serde_json::from_str(&packaged).expect("JSON");
        let properties = &json["Resources"]["F"]["Properties"];
        assert_eq!(json["AWSTemplateFormatVersion"], "2010-09-09");
        assert_eq!(
            properties["Arn"],
            serde_json::json!({"Fn::GetAtt": ["T", "Arn"]})
        );
        assert_eq!(
            properties["Name"],
            serde_json::json!({"Fn::Sub": "${AWS::StackName}-x"})
        );
        assert_eq!(
            properties["Pick"],
            serde_json::json!({"Fn::If": ["C", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(properties["Flag"], "on");
        assert_eq!(properties["CodeUri"], "F");
    }

    #[test]
    fn the_architecture_is_the_parameter_and_only_an_allowed_one() {
        assert_eq!(
            architecture(TEMPLATE, &BTreeMap::new()).expect("default"),
            "x86_64"
        );
        let arm = BTreeMap::from([("Architecture".to_owned(), "arm64".to_owned())]);
        assert_eq!(architecture(TEMPLATE, &arm).expect("arm64"), "arm64");
        let odd = BTreeMap::from([("Architecture".to_owned(), "mips".to_owned())]);
        assert!(architecture(TEMPLATE, &odd).is_err());
    }

    #[test]
    fn a_binary_that_is_not_a_plain_name_is_refused() {
        let odd = TEMPLATE.replace("Binary: authorizer}", "Binary: ../../etc}");
        assert!(functions(&odd).is_err());
    }

    #[test]
    fn the_projects_template_packages_every_function() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let text = std::fs::read_to_string(path).expect("template.yaml");
        let binaries: Vec<String> = functions(&text)
            .expect("functions")
            .into_iter()
            .map(|f| f.binary)
            .collect();
        assert!(binaries.contains(&"authorizer".to_owned()));
        assert!(binaries.contains(&"authorizer-strict".to_owned()));
        packaged_template(&text, "x86_64").expect("packaged");
    }
}
