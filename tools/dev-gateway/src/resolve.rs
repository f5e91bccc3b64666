//! CloudFormation's intrinsic functions, as far as the local gateway needs them: `Ref` to a
//! parameter, a resource or a pseudo parameter (resources and pseudo parameters by their local
//! values), `Fn::Sub`, `Fn::Join`, `Fn::If` over the template's `Conditions` (`Fn::Equals`, `Fn::Not`,
//! `Fn::And`, `Fn::Or`, `Condition`), and `AWS::NoValue`. Short (`!Ref`) and long (`Ref:`)
//! forms both. Anything else is an error naming it, never a guess.

use std::collections::BTreeMap;

use serde_yaml::Value;

/// `AWS::StackName` when no local value names the stack.
const LOCAL_STACK_NAME: &str = "local";

pub(crate) struct Resolver<'a> {
    parameters: BTreeMap<String, String>,
    /// Local values of resources and pseudo parameters (`AuthTable`, `AWS::Region`).
    locals: BTreeMap<String, String>,
    template: &'a Value,
}

/// The intrinsic function a value calls, if it is one: `!If [...]` or `Fn::If: [...]`.
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((
            tagged.tag.to_string().trim_start_matches('!').to_owned(),
            &tagged.value,
        )),
        Value::Mapping(mapping) if mapping.len() == 1 => {
            let (key, argument) = mapping.iter().next()?;
            let key = key.as_str()?;
            let name = key
                .strip_prefix("Fn::")
                .or(matches!(key, "Ref" | "Condition").then_some(key))?;
            Some((name.to_owned(), argument))
        }
        _ => None,
    }
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(
        template: &'a Value,
        overrides: &BTreeMap<String, String>,
        locals: &BTreeMap<String, String>,
    ) -> Self {
        let mut parameters: BTreeMap<String, String> = template["Parameters"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(name, parameter)| {
                Some((name.as_str()?.to_owned(), scalar(&parameter["Default"])?))
            })
            .collect();
        parameters.extend(overrides.clone());
        Self {
            parameters,
            locals: locals.clone(),
            template,
        }
    }

    /// The value as text, `None` when it cannot be resolved or is `AWS::NoValue`.
    pub(crate) fn text(&self, value: &Value) -> Option<String> {
        self.evaluate(value).ok().flatten()
    }

    /// The value as text; `Ok(None)` for `AWS::NoValue`.
    pub(crate) fn evaluate(&self, value: &Value) -> Result<Option<String>, String> {
        let Some((function, argument)) = intrinsic(value) else {
            return scalar(value)
                .map(Some)
                .ok_or_else(|| format!("expected a scalar, found {value:?}"));
        };
        match function.as_str() {
            "Ref" => self.reference(argument),
            "Sub" => self.substitute(argument).map(Some),
            "If" => self.evaluate(self.branch(argument)?),
            "Join" => match argument.as_sequence().map(Vec::as_slice) {
                Some([delimiter, items]) => {
                    let delimiter = delimiter.as_str().ok_or("!Join's delimiter is a string")?;
                    Ok(Some(self.list(items).join(delimiter)))
                }
                _ => Err("!Join takes [delimiter, list]".into()),
            },
            other => Err(format!("!{other} is not emulated locally")),
        }
    }

    /// Whether the value is there at all (not `AWS::NoValue` after its `!If`s), without
    /// resolving it: enough for a secret's ARN, which is never used locally.
    pub(crate) fn is_present(&self, value: &Value) -> Result<bool, String> {
        match intrinsic(value) {
            Some((function, argument)) if function == "If" => {
                self.is_present(self.branch(argument)?)
            }
            Some((function, argument)) if function == "Ref" => {
                Ok(argument.as_str() != Some("AWS::NoValue"))
            }
            _ => Ok(true),
        }
    }

    /// The value itself, or the branch its `!If`s choose (e.g. which function a `FunctionArn`
    /// names under these parameters).
    pub(crate) fn chosen<'v>(&self, value: &'v Value) -> Result<&'v Value, String> {
        match intrinsic(value) {
            Some((function, argument)) if function == "If" => self.chosen(self.branch(argument)?),
            _ => Ok(value),
        }
    }

    /// The branch `!If [condition, value, value]` takes.
    fn branch<'v>(&self, argument: &'v Value) -> Result<&'v Value, String> {
        let Some([condition, when_true, when_false]) = argument.as_sequence().map(Vec::as_slice)
        else {
            return Err("!If takes [condition, value, value]".into());
        };
        let name = condition
            .as_str()
            .ok_or("!If names its condition with a string")?;
        Ok(if self.condition(name)? {
            when_true
        } else {
            when_false
        })
    }

    fn reference(&self, argument: &Value) -> Result<Option<String>, String> {
        let name = argument.as_str().ok_or("!Ref takes a name")?;
        if name == "AWS::NoValue" {
            return Ok(None);
        }
        let found = self
            .parameters
            .get(name)
            .or_else(|| self.locals.get(name))
            .cloned();
        // Locally there is no stack: its name is `local` unless a local value says otherwise.
        let found = found.or_else(|| (name == "AWS::StackName").then(|| LOCAL_STACK_NAME.into()));
        found
            .map(Some)
            .ok_or_else(|| format!("!Ref {name}: no parameter and no local value by that name"))
    }

    /// `!Sub "text ${Name}"` or `!Sub ["text ${Name}", {Name: value}]`; `${!Literal}` escapes.
    fn substitute(&self, argument: &Value) -> Result<String, String> {
        let (text, variables) = match argument {
            Value::String(text) => (text.as_str(), None),
            Value::Sequence(items) => match items.as_slice() {
                [text, variables] => (
                    text.as_str().ok_or("!Sub's first item is its text")?,
                    variables.as_mapping(),
                ),
                _ => return Err("!Sub takes a string or [string, variables]".into()),
            },
            _ => return Err("!Sub takes a string or [string, variables]".into()),
        };
        let mut output = String::with_capacity(text.len());
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("${") {
            output.push_str(before);
            let (name, tail) = after.split_once('}').ok_or("!Sub: unclosed ${")?;
            rest = tail;
            if let Some(literal) = name.strip_prefix('!') {
                output.push_str("${");
                output.push_str(literal);
                output.push('}');
                continue;
            }
            let given = variables.and_then(|variables| variables.get(name));
            let value = match given {
                Some(value) => self.evaluate(value)?,
                None => self.reference(&Value::String(name.to_owned()))?,
            };
            output.push_str(&value.unwrap_or_default());
        }
        output.push_str(rest);
        Ok(output)
    }

    /// A condition of the template's `Conditions`, by name.
    pub(crate) fn condition(&self, name: &str) -> Result<bool, String> {
        let definition = &self.template["Conditions"][name];
        if definition.is_null() {
            return Err(format!("no condition named {name}"));
        }
        self.truth(definition)
    }

    fn truth(&self, value: &Value) -> Result<bool, String> {
        let (function, argument) =
            intrinsic(value).ok_or_else(|| format!("not a condition: {value:?}"))?;
        let items = || {
            argument
                .as_sequence()
                .ok_or_else(|| format!("!{function} takes a list"))
        };
        match function.as_str() {
            "Equals" => match items()?.as_slice() {
                [left, right] => Ok(self.evaluate(left)?.unwrap_or_default()
                    == self.evaluate(right)?.unwrap_or_default()),
                _ => Err("!Equals takes two values".into()),
            },
            "Not" => match items()?.as_slice() {
                [inner] => Ok(!self.truth(inner)?),
                _ => Err("!Not takes one condition".into()),
            },
            "And" => items()?
                .iter()
                .try_fold(true, |all, inner| Ok(all && self.truth(inner)?)),
            "Or" => items()?
                .iter()
                .try_fold(false, |any, inner| Ok(any || self.truth(inner)?)),
            "Condition" => self.condition(argument.as_str().ok_or("!Condition takes a name")?),
            other => Err(format!("!{other} is not a condition function")),
        }
    }

    /// A list, or a `!Ref` to a CommaDelimitedList parameter.
    pub(crate) fn list(&self, value: &Value) -> Vec<String> {
        match value {
            Value::Sequence(items) => items.iter().filter_map(|item| self.text(item)).collect(),
            _ => {
                let is_list = intrinsic(value).is_some_and(|(function, argument)| {
                    function == "Ref"
                        && argument.as_str().is_some_and(|name| {
                            self.template["Parameters"][name]["Type"] == "CommaDelimitedList"
                        })
                });
                let Some(text) = self.text(value) else {
                    return Vec::new();
                };
                if is_list {
                    text.split(',').map(|item| item.trim().to_owned()).collect()
                } else {
                    vec![text]
                }
            }
        }
    }
}

pub(crate) fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Algorithm: {Type: String, Default: EdDSA}
  Stage: {Type: String, Default: staging}
  Origins: {Type: CommaDelimitedList, Default: "https://a.example, https://b.example"}
Conditions:
  IsHs256: !Equals [!Ref Algorithm, HS256]
  Asymmetric: !Not [!Condition IsHs256]
  StagingAsymmetric: {"Fn::And": [{"Condition": "Asymmetric"}, !Equals [!Ref Stage, staging]]}
Values:
  key: !If [IsHs256, shared, !Ref "AWS::NoValue"]
  public: !If [Asymmetric, !Ref Algorithm, none]
  long: {"Fn::If": [StagingAsymmetric, {"Ref": "Table"}, other]}
  path: !Sub "/${Stage}/auth/${!kept}}"
  listed: !Sub ["${Region}-${Stage}", {Region: !Ref "AWS::Region"}]
  joined: !Join [",", !Ref Origins]
  unknown: !Ref Nothing
  getatt: !GetAtt Table.Arn
"#;

    fn resolve(overrides: &[(&str, &str)], name: &str) -> Result<Option<String>, String> {
        let template: Value = serde_yaml::from_str(TEMPLATE).expect("yaml");
        let overrides = overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let locals = BTreeMap::from([
            ("Table".to_owned(), "local-table".to_owned()),
            ("AWS::Region".to_owned(), "eu-west-1".to_owned()),
        ]);
        let resolver = Resolver::new(&template, &overrides, &locals);
        resolver.evaluate(&template["Values"][name])
    }

    #[test]
    fn conditions_pick_the_branch_the_parameters_choose() {
        assert_eq!(resolve(&[], "key"), Ok(None));
        assert_eq!(
            resolve(&[("Algorithm", "HS256")], "key"),
            Ok(Some("shared".into()))
        );
        assert_eq!(resolve(&[], "public"), Ok(Some("EdDSA".into())));
        assert_eq!(
            resolve(&[("Algorithm", "HS256")], "public"),
            Ok(Some("none".into()))
        );
        assert_eq!(resolve(&[], "long"), Ok(Some("local-table".into())));
        assert_eq!(
            resolve(&[("Stage", "prod")], "long"),
            Ok(Some("other".into()))
        );
    }

    #[test]
    fn sub_replaces_names_and_keeps_escaped_ones() {
        assert_eq!(
            resolve(&[("Stage", "prod")], "path"),
            Ok(Some("/prod/auth/${kept}}".into()))
        );
        assert_eq!(resolve(&[], "listed"), Ok(Some("eu-west-1-staging".into())));
    }

    #[test]
    fn what_cannot_be_resolved_is_an_error_naming_it() {
        let unknown = resolve(&[], "unknown").expect_err("unknown ref");
        assert!(unknown.contains("Nothing"), "{unknown}");
        let getatt = resolve(&[], "getatt").expect_err("getatt");
        assert!(getatt.contains("GetAtt"), "{getatt}");
    }
}
