//! Interop with the seed's Node stack: tokens signed by Node's `jsonwebtoken@9` pass the
//! authorizer, and Node verifies ours. Runs on the wall clock, as Node does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use auth_core::clock::{Clock, SystemClock};
use serde_json::Value;

use crate::support::{
    AUDIENCE, ISSUER, SECRET, authorizer_with_clock, claims, http_api_bearer_event, issue_at,
    issuer, kid_of, rest_token_event, run,
};

/// Node's `jsonwebtoken@9`, installed once under the workspace's target/ from npm (shared with
/// `tests/e2e`).
fn node_jsonwebtoken() -> PathBuf {
    let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/npm-jsonwebtoken");
    if !prefix
        .join("node_modules/jsonwebtoken/package.json")
        .exists()
    {
        std::fs::create_dir_all(&prefix).expect("create target/npm-jsonwebtoken");
        let status = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("jsonwebtoken@9")
            .status()
            .expect("npm is required for the interop test (install Node.js with npm)");
        assert!(status.success(), "npm install jsonwebtoken@9 failed");
    }
    prefix.join("node_modules")
}

fn node(script: &str, vars: &[(&str, &str)]) -> String {
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .env("NODE_PATH", node_jsonwebtoken())
        .envs(vars.iter().copied())
        .output()
        .expect("node is required for the interop test");
    assert!(
        output.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn tokens_interoperate_with_node_jsonwebtoken_in_both_directions() {
    let now = SystemClock.now();
    let tokens = issuer(&[]);
    let authorizer = authorizer_with_clock(&[], Arc::new(SystemClock));
    let kid = kid_of(&issue_at(&tokens, "user", now));
    let from_node = node(
        "const jwt = require('jsonwebtoken');
         process.stdout.write(jwt.sign(
           { sub: '0123456789abcdef0123456789abcdef', role: 'user', sid: 'fedcba9876543210fedcba9876543210' },
           process.env.SECRET,
           { algorithm: 'HS256', expiresIn: '15m', notBefore: 0, issuer: process.env.ISSUER, audience: process.env.AUDIENCE,
             keyid: process.env.KID, header: { typ: 'at+jwt' } }));",
        &[("SECRET", SECRET), ("ISSUER", ISSUER), ("AUDIENCE", AUDIENCE), ("KID", &kid)],
    );
    let node_header = jsonwebtoken::decode_header(&from_node).expect("Node's header");
    assert_eq!(node_header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(node_header.kid.as_deref(), Some(kid.as_str()));
    let node_claims = claims(&from_node);
    assert_eq!(node_claims["nbf"], node_claims["iat"], "notBefore: 0");
    let authorization = format!("Bearer {from_node}");
    let response = run(&authorizer, &rest_token_event(&authorization))
        .await
        .expect("Node's token is accepted");
    assert_eq!(response["principalId"], "0123456789abcdef0123456789abcdef");
    assert_eq!(
        response["context"]["sessionId"],
        "fedcba9876543210fedcba9876543210"
    );
    assert_eq!(response["context"]["expiresAt"], node_claims["exp"]);
    let simple = run(&authorizer, &http_api_bearer_event(&authorization))
        .await
        .expect("Node's token is accepted by HTTP API answers too");
    assert_eq!(simple["isAuthorized"], true);
    assert_eq!(simple["context"], response["context"]);
    assert_eq!(
        tokens.verify(&from_node, now).map(|claims| claims.jti),
        Ok(None),
        "Node sets no jti, which is optional"
    );

    let ours = issue_at(&tokens, "user", now);
    let verified = node(
        "const jwt = require('jsonwebtoken');
         const claims = jwt.verify(process.env.TOKEN, process.env.SECRET,
           { algorithms: ['HS256'], issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
         process.stdout.write(JSON.stringify(claims));",
        &[
            ("TOKEN", &ours),
            ("SECRET", SECRET),
            ("ISSUER", ISSUER),
            ("AUDIENCE", AUDIENCE),
        ],
    );
    let node_claims: Value = serde_json::from_str(&verified).expect("claims from Node");
    assert_eq!(node_claims, claims(&ours), "Node reads the same claims");

    // Control: Node's verify really checks, so the acceptance above means something.
    let refused = node(
        "const jwt = require('jsonwebtoken');
         try {
           jwt.verify(process.env.TOKEN, process.env.SECRET,
             { algorithms: ['HS256'], issuer: process.env.ISSUER, audience: 'another-api' });
           process.stdout.write('accepted');
         } catch (error) { process.stdout.write(error.name); }",
        &[("TOKEN", &ours), ("SECRET", SECRET), ("ISSUER", ISSUER)],
    );
    assert_eq!(refused, "JsonWebTokenError");
}
