//! IAM policies for API Gateway that stay correct when API Gateway caches them per token.
//!
//! A cached policy is applied to every route the token is used on, so it never names only the
//! route being authorized: it allows the whole stage and explicitly denies each route the
//! caller's role may not call. An explicit Deny beats the Allow, so the next, different route
//! gets the right answer from the cache too.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};

use super::rules::RouteKey;

/// The parts of an `execute-api` ARN: `arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/{method}/{path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteArn<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
    api: &'a str,
    stage: &'a str,
    pub method: &'a str,
    /// The request path without the stage, starting with `/`.
    pub path: String,
}

impl<'a> RouteArn<'a> {
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (prefix, partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if prefix != "arn"
            || service != "execute-api"
            || partition.is_empty()
            || region.is_empty()
            || account.is_empty()
        {
            return None;
        }
        let mut segments = resource.splitn(4, '/');
        let (api, stage, method) = (segments.next()?, segments.next()?, segments.next()?);
        if api.is_empty() || stage.is_empty() || method.is_empty() {
            return None;
        }
        let path = format!("/{}", segments.next().unwrap_or_default());
        Some(Self {
            partition,
            region,
            account,
            api,
            stage,
            method,
            path,
        })
    }

    fn resource(&self, method: &str, path_pattern: &str) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/{}/{}",
            self.partition,
            self.region,
            self.account,
            self.api,
            self.stage,
            method,
            path_pattern.trim_start_matches('/')
        )
    }

    /// Every method and path of this API's stage.
    pub fn stage_wide(&self) -> String {
        self.resource("*", "*")
    }
}

fn statement(effect: IamPolicyEffect, resources: Vec<String>) -> IamPolicyStatement {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = resources;
    statement
}

fn document(statements: Vec<IamPolicyStatement>) -> ApiGatewayCustomAuthorizerPolicy {
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = statements;
    policy
}

/// Allow the whole stage, then deny each route the caller may not call (a role rule it fails,
/// a `ROUTE_MFA` route without a second factor).
pub fn allow_stage_except<'r>(
    arn: &RouteArn<'_>,
    denied: impl Iterator<Item = &'r RouteKey>,
) -> ApiGatewayCustomAuthorizerPolicy {
    let denied: Vec<String> = denied
        .filter_map(RouteKey::arn_pattern)
        .map(|(method, path)| arn.resource(&method, &path))
        .collect();
    let mut statements = vec![statement(IamPolicyEffect::Allow, vec![arn.stage_wide()])];
    if !denied.is_empty() {
        statements.push(statement(IamPolicyEffect::Deny, denied));
    }
    document(statements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorizer::rules::RouteRules;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/me";

    #[test]
    fn arns_parse_into_their_parts() {
        let arn = RouteArn::parse(ARN).expect("valid");
        assert_eq!((arn.method, arn.path.as_str()), ("GET", "/me"));
        assert_eq!(
            arn.stage_wide(),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"
        );
        let nested = RouteArn::parse(
            "arn:aws-cn:execute-api:cn-north-1:1:api/$default/DELETE/users/42/roles",
        )
        .expect("valid");
        assert_eq!(nested.path, "/users/42/roles");
        assert_eq!(
            nested.stage_wide(),
            "arn:aws-cn:execute-api:cn-north-1:1:api/$default/*/*"
        );
        assert_eq!(
            RouteArn::parse("arn:aws:execute-api:r:1:api/stage/GET")
                .expect("root")
                .path,
            "/"
        );
    }

    #[test]
    fn malformed_arns_do_not_parse_and_never_panic() {
        for arn in [
            "",
            "arn",
            "arn:aws:s3:::bucket",
            "arn:aws:execute-api:r:1:api",
            "arn:aws:execute-api:r:1:api/stage",
            "arn:aws:execute-api:::api/s/GET/x",
            "x:aws:execute-api:r:1:a/s/GET/",
        ] {
            assert!(RouteArn::parse(arn).is_none(), "{arn}");
        }
    }

    #[test]
    fn one_cached_policy_allows_user_routes_and_denies_admin_routes() {
        let rules = RouteRules::parse(
            "GET /admin/users/{id}=admin;DELETE /users/{id}=admin",
            crate::authorizer::ResponseMode::Iam,
        )
        .expect("rules");
        let arn = RouteArn::parse(ARN).expect("arn");
        let policy = allow_stage_except(&arn, rules.denied_for("user").map(|rule| &rule.route));
        let json = serde_json::to_value(&policy).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": ["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"]},
                    {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [
                        "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/admin/users/*",
                        "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/DELETE/users/*"
                    ]}
                ]
            })
        );
        let admin = allow_stage_except(&arn, rules.denied_for("admin").map(|rule| &rule.route));
        assert_eq!(admin.statement.len(), 1, "an admin's policy has no Deny");
    }
}
