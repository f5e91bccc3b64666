//! In-process benchmarks of the hot paths: `cargo bench -p auth-service --bench hot_paths`.
//!
//! The floor for verification is a bare HMAC-SHA256 over the same signing input an HS256
//! token carries; verify should stay within a small factor of it.

// A bench is a harness, not product code: it may panic on a broken set-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;
use std::sync::Arc;

use auth_core::authorizer::Authorizer;
use auth_core::clock::{Clock, SystemClock};
use auth_core::config::{AuthorizerSettings, KeyUse, access_tokens};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::token::{AccessTokens, MAX_REUSE_WALK, RefreshKeys, StoredDigests};
use auth_service::password::{PasswordPolicy, Passwords};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;

const SECRET: &str = "bench-access-secret-with-at-least-32-bytes!";

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.entry("JWT_ISSUER".into())
        .or_insert_with(|| "https://auth.bench".into());
    env.entry("JWT_AUDIENCE".into())
        .or_insert_with(|| "bench-api".into());
    env
}

fn tokens(pairs: &[(&str, &str)]) -> AccessTokens {
    AccessTokens::new(access_tokens(&env(pairs), KeyUse::Sign).expect("bench config"))
}

/// A fresh private key PEM from openssl (RS256: RSA-2048; ES256: P-256; EdDSA: Ed25519).
fn private_key_pem(algorithm: &str) -> String {
    let args: &[&str] = match algorithm {
        "RS256" => &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        "ES256" => &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        _ => &["genpkey", "-algorithm", "ED25519"],
    };
    let output = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed to make bench keys");
    String::from_utf8(output.stdout).expect("PEM is text")
}

fn issue(tokens: &AccessTokens) -> String {
    tokens
        .issue(
            &UserId::generate(),
            &Role::user(),
            &SessionId::generate(),
            false,
            &auth_core::assurance::Assurance::password(),
            SystemClock.now(),
        )
        .expect("issue")
        .token
}

fn verification(c: &mut Criterion) {
    let now = SystemClock.now();
    let hs = tokens(&[("JWT_ACCESS_SECRET", SECRET)]);
    let hs_token = issue(&hs);
    let signing_input = hs_token.rsplit_once('.').expect("jwt").0.to_owned();

    let mut group = c.benchmark_group("verify");
    group.bench_function("hmac_sha256_floor", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
            mac.update(black_box(signing_input.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("hs256", |b| {
        b.iter(|| hs.verify(black_box(&hs_token), now).expect("valid"))
    });
    let mut signers = Vec::new();
    for algorithm in ["RS256", "ES256", "EdDSA"] {
        let pem = private_key_pem(algorithm);
        let signer = tokens(&[("JWT_ALGORITHM", algorithm), ("JWT_PRIVATE_KEY", &pem)]);
        let token = issue(&signer);
        let now = SystemClock.now();
        if let Err(error) = signer.verify(&token, now) {
            panic!("{algorithm}: {error:?}");
        }
        group.bench_function(algorithm.to_lowercase(), |b| {
            b.iter(|| signer.verify(black_box(&token), now).expect("valid"))
        });
        signers.push((algorithm, signer));
    }
    group.finish();

    // What login, refresh and MFA pay per token: the claims, the header and the signature
    // (RS256 through aws-lc-rs, a constant-time signer).
    let mut group = c.benchmark_group("issue");
    group.bench_function("hs256", |b| b.iter(|| black_box(issue(&hs))));
    for (algorithm, signer) in &signers {
        group.bench_function(algorithm.to_lowercase(), |b| {
            b.iter(|| black_box(issue(signer)))
        });
    }
    group.finish();
}

fn authorizer(c: &mut Criterion) {
    let env = env(&[
        ("JWT_ACCESS_SECRET", SECRET),
        (
            "ROUTE_ROLES",
            "GET /admin/users/{id}=admin;DELETE /users/{id}=admin",
        ),
    ]);
    let token = issue(&tokens(&[("JWT_ACCESS_SECRET", SECRET)]));
    let settings = AuthorizerSettings::from_env(&env).expect("config");
    let authorizer = Authorizer::new(
        AccessTokens::new(settings.access),
        settings.options,
        None,
        Arc::new(SystemClock),
    );
    let http_api = serde_json::json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api123/$default/GET/me",
        "identitySource": [format!("Bearer {token}"), "GET /me"], "routeKey": "GET /me", "rawPath": "/me", "rawQueryString": "",
        "headers": { "authorization": format!("Bearer {token}"), "host": "api123.execute-api.us-east-1.amazonaws.com" },
        "requestContext": { "accountId": "123456789012", "apiId": "api123", "domainName": "api123.execute-api.us-east-1.amazonaws.com",
            "http": { "method": "GET", "path": "/me", "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "bench" },
            "requestId": "bench", "routeKey": "GET /me", "stage": "$default", "time": "22/Nov/2026:12:00:00 +0000", "timeEpoch": 1795348800000u64 }
    })
    .to_string();
    let rest_token = serde_json::json!({
        "type": "TOKEN", "authorizationToken": format!("Bearer {token}"),
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:api123/prod/GET/me"
    })
    .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");

    let mut group = c.benchmark_group("authorizer");
    for (name, event) in [
        ("http_api_simple", &http_api),
        ("rest_token_policy", &rest_token),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let response = runtime
                    .block_on(authorizer.handle(black_box(event)))
                    .expect("authorized");
                black_box(serde_json::to_vec(&response).expect("json"))
            })
        });
    }
    group.finish();
}

fn refresh_tokens(c: &mut Criterion) {
    let keys = RefreshKeys::new(
        &SecretString::from("bench-refresh-secret-with-32-bytes-or-more".to_owned()),
        None,
    );
    let first = keys.first(&UserId::generate(), &SessionId::generate());
    let mut group = c.benchmark_group("refresh_token");
    // The worst a forged token can cost: a session rotated past the walk's cap, and a token
    // that is no generation of it, so every step of the bounded walk runs.
    let (current, previous) = ("not-a-digest-of-any-token", "nor-this-one");
    let stored = StoredDigests {
        current,
        previous: Some(previous),
    };
    let mut forged = keys.first(&first.user_id, &first.session_id);
    group.bench_function("forged_token_worst_case_walk", |b| {
        b.iter(|| {
            forged = keys.first(&first.user_id, &first.session_id);
            black_box(keys.is_earlier_generation(black_box(&forged), stored, MAX_REUSE_WALK))
        })
    });
    group.bench_function("successor", |b| {
        b.iter(|| black_box(keys.successor(black_box(&first))))
    });
    group.bench_function("digest", |b| b.iter(|| black_box(first.digest())));
    group.bench_function("parse_and_encode", |b| {
        let text = first.encode();
        b.iter(|| {
            black_box(
                auth_core::token::RefreshToken::parse(black_box(&text))
                    .expect("valid")
                    .encode(),
            )
        })
    });
    group.finish();
}

fn passwords(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let passwords = Passwords::new(PasswordPolicy::default()).expect("policy");
    let password = || SecretString::from("correct horse battery staple".to_owned());
    let hash = runtime.block_on(passwords.hash(password())).expect("hash");
    let mut group = c.benchmark_group("argon2id_default_policy");
    group.sample_size(20);
    group.bench_function("hash", |b| {
        b.iter(|| runtime.block_on(passwords.hash(password())).expect("hash"))
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            runtime
                .block_on(passwords.verify(password(), Some(hash.clone())))
                .expect("verify")
        })
    });
    group.finish();
}

criterion_group!(benches, verification, authorizer, refresh_tokens, passwords);
criterion_main!(benches);
