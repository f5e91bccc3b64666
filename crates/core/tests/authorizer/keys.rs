//! Keys: RS256, ES256 and EdDSA tokens verify with public keys only and the JWKS publishes
//! exactly those; rotation of key pairs and of the HS256 secret (`JWT_ACCESS_SECRET_PREVIOUS`).

use auth_core::authorizer::Denial;
use auth_core::config::{AuthorizerSettings, JwksSettings, KeyUse, access_tokens, key_set};
use auth_core::domain::{Role, SessionId, UserId};
use auth_core::token::Rejection;
use serde_json::{Value, json};

use crate::support::{
    NOW, SECRET, assert_unauthorized, authorizer, claims, decide, env, issue, issue_with, issuer,
    key_pair, kid_of, rest_token_event, run,
};

fn jwks(pairs: &[(&str, &str)]) -> Value {
    let settings = JwksSettings::from_env(&env(pairs)).expect("JWKS settings");
    serde_json::to_value(settings.keys.jwks()).expect("jwks")
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kid"].as_str().expect("kid").to_owned())
        .collect()
}

async fn assert_accepted(pairs: &[(&str, &str)], token: &str, what: &str) {
    let (answer, denial) = decide(
        &authorizer(pairs),
        &rest_token_event(&format!("Bearer {token}")),
    )
    .await;
    assert_eq!(denial, None, "{what}");
    assert_eq!(
        answer.unwrap_or_else(|error| panic!("{what}: {error}"))["principalId"],
        claims(token)["sub"],
        "{what}"
    );
}

#[tokio::test]
async fn asymmetric_tokens_verify_with_public_keys_only_and_the_jwks_publishes_them() {
    for (algorithm, kty) in [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")] {
        let (private, public) = key_pair(algorithm);
        // The login side holds the private key and signs.
        let signer_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", private.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let token = issue_with(&issuer(&signer_env), "user");
        let token_header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(
            format!("{:?}", token_header.alg),
            algorithm,
            "{algorithm}: the token names the configured algorithm"
        );
        // The authorizer holds only the public key.
        let verifier_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        assert_accepted(&verifier_env, &token, algorithm).await;
        let verifier = access_tokens(&env(&verifier_env), KeyUse::Verify).expect("verifier");
        assert!(
            !verifier.keys.can_sign(),
            "{algorithm}: a verifier holds no private key"
        );
        assert!(
            auth_core::token::AccessTokens::new(verifier)
                .issue(
                    &UserId::generate(),
                    &Role::user(),
                    &SessionId::generate(),
                    false,
                    &auth_core::assurance::Assurance::password(),
                    NOW
                )
                .is_err(),
            "{algorithm}: a verifier cannot issue"
        );
        // Even given the private key, a verifier does not read it.
        let both = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", public.as_str()),
            ("JWT_PRIVATE_KEY", private.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        let settings = AuthorizerSettings::from_env(&env(&both)).expect("settings");
        assert!(!settings.access.keys.can_sign(), "{algorithm}");

        let published = jwks(&verifier_env);
        assert_eq!(
            published["keys"].as_array().map(Vec::len),
            Some(1),
            "{algorithm}"
        );
        let key = &published["keys"][0];
        assert_eq!(
            key["kid"],
            token_header.kid.as_deref().expect("kid"),
            "{algorithm}: the JWKS names the key the token names"
        );
        assert_eq!(key["kty"], kty, "{algorithm}");
        assert_eq!(key["use"], "sig");
        for private_part in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(
                key.get(private_part).is_none(),
                "{algorithm} JWKS leaks {private_part}"
            );
        }
        let signer_jwks = serde_json::to_value(
            key_set(&env(&signer_env), KeyUse::Sign)
                .expect("keys")
                .jwks(),
        )
        .expect("jwks");
        assert_eq!(
            signer_jwks, published,
            "{algorithm}: the public key derived from the private key is the one published"
        );

        // Rotation: a new pair signs, the old public key stays as the previous one for a while.
        let (next_private, next_public) = key_pair(algorithm);
        let next_signer = issuer(&[
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PRIVATE_KEY", &next_private),
            ("JWT_PUBLIC_KEY_PREVIOUS", &public),
            ("JWT_ACCESS_SECRET", ""),
        ]);
        let next_token = issue_with(&next_signer, "user");
        assert_ne!(kid_of(&next_token), kid_of(&token), "{algorithm}");
        let grace_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", next_public.as_str()),
            ("JWT_PUBLIC_KEY_PREVIOUS", public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        for (which, presented) in [("old", &token), ("new", &next_token)] {
            assert_accepted(
                &grace_env,
                presented,
                &format!("{algorithm}: the {which} key's token verifies during rotation"),
            )
            .await;
        }
        assert_eq!(
            kids(&jwks(&grace_env)),
            [kid_of(&next_token), kid_of(&token)],
            "{algorithm}: both keys are published, the current one first"
        );

        let retired_env = [
            ("JWT_ALGORITHM", algorithm),
            ("JWT_PUBLIC_KEY", next_public.as_str()),
            ("JWT_ACCESS_SECRET", ""),
        ];
        assert_accepted(&retired_env, &next_token, algorithm).await;
        assert_unauthorized(
            &authorizer(&retired_env),
            &rest_token_event(&format!("Bearer {token}")),
            Denial::Token(Rejection::UnknownKey),
            &format!("{algorithm}: once the previous key is removed its tokens are refused"),
        )
        .await;
        assert_eq!(
            kids(&jwks(&retired_env)),
            [kid_of(&next_token)],
            "{algorithm}"
        );

        let mismatched = access_tokens(
            &env(&[
                ("JWT_ALGORITHM", algorithm),
                ("JWT_PRIVATE_KEY", &private),
                ("JWT_PUBLIC_KEY", &next_public),
                ("JWT_ACCESS_SECRET", ""),
            ]),
            KeyUse::Sign,
        )
        .expect_err("a public key of another pair");
        assert!(
            mismatched.to_string().contains("JWT_PUBLIC_KEY"),
            "{algorithm}: {mismatched}"
        );
    }
}

#[test]
fn verifiers_and_the_jwks_function_never_read_a_private_key() {
    let (private, _) = key_pair("ES256");
    let private_only = [
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY", private.as_str()),
        ("JWT_ACCESS_SECRET", ""),
    ];
    for purpose in [KeyUse::Verify, KeyUse::Publish] {
        let error = key_set(&env(&private_only), purpose).expect_err("no public key");
        assert!(
            error.to_string().contains("JWT_PUBLIC_KEY"),
            "{purpose:?}: {error}"
        );
    }
    let error = AuthorizerSettings::from_env(&env(&private_only)).expect_err("no public key");
    assert!(error.to_string().contains("JWT_PUBLIC_KEY"), "{error}");
    let error = JwksSettings::from_env(&env(&private_only)).expect_err("no public key");
    assert!(error.to_string().contains("JWT_PUBLIC_KEY"), "{error}");
    assert!(key_set(&env(&private_only), KeyUse::Sign).is_ok_and(|keys| keys.can_sign()));

    // A key of the wrong algorithm is refused at init, naming the variable.
    let (_, rsa_public) = key_pair("RS256");
    let error = AuthorizerSettings::from_env(&env(&[
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY", &rsa_public),
        ("JWT_ACCESS_SECRET", ""),
    ]))
    .expect_err("an RSA key for ES256");
    assert!(error.to_string().contains("JWT_PUBLIC_KEY"), "{error}");
    let error = AuthorizerSettings::from_env(&env(&[("JWT_ALGORITHM", "HS512")]))
        .expect_err("unsupported algorithm");
    assert!(error.to_string().contains("JWT_ALGORITHM"), "{error}");
}

#[tokio::test]
async fn hs256_rotation_accepts_the_previous_secret_until_it_is_removed() {
    let old_token = issue("user");
    let new_secret = "the-next-access-secret-of-at-least-32-bytes";
    let rotating = [
        ("JWT_ACCESS_SECRET", new_secret),
        ("JWT_ACCESS_SECRET_PREVIOUS", SECRET),
    ];
    let new_token = issue_with(&issuer(&rotating), "user");
    assert_ne!(
        kid_of(&new_token),
        kid_of(&old_token),
        "the new secret signs"
    );
    for token in [&old_token, &new_token] {
        assert_accepted(&rotating, token, "during rotation").await;
    }
    let after = [("JWT_ACCESS_SECRET", new_secret)];
    assert_unauthorized(
        &authorizer(&after),
        &rest_token_event(&format!("Bearer {old_token}")),
        Denial::Token(Rejection::UnknownKey),
        "the previous secret was removed",
    )
    .await;
    assert_eq!(
        issuer(&after).verify(&old_token, NOW).map(|_| ()),
        Err(Rejection::UnknownKey)
    );
    assert_accepted(&after, &new_token, "after rotation").await;

    // A short previous secret is refused like a short current one, without echoing it.
    let error =
        AuthorizerSettings::from_env(&env(&[("JWT_ACCESS_SECRET_PREVIOUS", "tiny-secret")]))
            .expect_err("short previous secret");
    assert!(
        error.to_string().contains("JWT_ACCESS_SECRET_PREVIOUS"),
        "{error}"
    );
    assert!(!error.to_string().contains("tiny-secret"), "{error}");

    // A shared secret is never published, and the JWKS function needs none.
    assert_eq!(jwks(&[]), json!({ "keys": [] }));
    assert_eq!(jwks(&rotating), json!({ "keys": [] }));
    assert_eq!(jwks(&[("JWT_ACCESS_SECRET", "")]), json!({ "keys": [] }));
    let answer = run(
        &authorizer(&rotating),
        &rest_token_event(&format!("Bearer {new_token}")),
    )
    .await
    .expect("allowed");
    assert_eq!(answer["context"]["role"], "user");
}

/// A rollover from EdDSA to RS256 in three deploys, as the README describes it: the next key is
/// published (and accepted) before it signs, becomes the current key while the old one stays as
/// the previous key, then the old key is retired. No token valid at one step fails at the next.
#[tokio::test]
async fn a_rollover_to_another_algorithm_publishes_the_next_key_first_and_logs_nobody_out() {
    let (old_private, old_public) = key_pair("EdDSA");
    let (new_private, new_public) = key_pair("RS256");

    // Step 1: EdDSA signs; the RS256 key is published as the next one.
    let step1 = [
        ("JWT_ALGORITHM", "EdDSA"),
        ("JWT_PUBLIC_KEY", old_public.as_str()),
        ("JWT_PUBLIC_KEY_NEXT", new_public.as_str()),
        ("JWT_NEXT_ALGORITHM", "RS256"),
        ("JWT_ACCESS_SECRET", ""),
    ];
    let old_token = issue_with(
        &issuer(&[
            ("JWT_ALGORITHM", "EdDSA"),
            ("JWT_PRIVATE_KEY", old_private.as_str()),
            ("JWT_PUBLIC_KEY_NEXT", new_public.as_str()),
            ("JWT_NEXT_ALGORITHM", "RS256"),
            ("JWT_ACCESS_SECRET", ""),
        ]),
        "user",
    );
    let published = jwks(&step1);
    assert_eq!(published["keys"].as_array().map(Vec::len), Some(2));
    let algorithms: Vec<&str> = published["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|key| key["kty"].as_str().expect("kty"))
        .collect();
    assert_eq!(
        algorithms,
        ["OKP", "RSA"],
        "current first, then the next key"
    );
    let settings = JwksSettings::from_env(&env(&step1)).expect("JWKS settings");
    assert_eq!(settings.keys.published_algorithms(), ["EdDSA", "RS256"]);
    assert_accepted(&step1, &old_token, "step 1: the current key's token").await;
    // Each key verifies only with its own algorithm, whatever the header claims: the EdDSA key's
    // signature under the RS256 key's kid, and the RS256 key's under the EdDSA key's kid.
    let published_kids = kids(&published);
    let body = claims(&old_token);
    for (algorithm, kid, key) in [
        (
            jsonwebtoken::Algorithm::EdDSA,
            &published_kids[1],
            jsonwebtoken::EncodingKey::from_ed_pem(old_private.as_bytes()).expect("ed key"),
        ),
        (
            jsonwebtoken::Algorithm::RS256,
            &published_kids[0],
            jsonwebtoken::EncodingKey::from_rsa_pem(new_private.as_bytes()).expect("rsa key"),
        ),
    ] {
        let mut header = jsonwebtoken::Header::new(algorithm);
        header.kid = Some(kid.clone());
        header.typ = Some("at+jwt".into());
        let swapped = jsonwebtoken::encode(&header, &body, &key).expect("sign");
        assert_unauthorized(
            &authorizer(&step1),
            &rest_token_event(&format!("Bearer {swapped}")),
            Denial::Token(Rejection::AlgorithmMismatch),
            &format!("{algorithm:?} under another key's kid"),
        )
        .await;
    }

    // Step 2: RS256 signs; EdDSA stays as the previous key. A verifier still on step 1's
    // settings already accepts the new tokens (it had the next key), so the order in which
    // functions update during a deploy does not matter.
    let new_issuer = issuer(&[
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PRIVATE_KEY", new_private.as_str()),
        ("JWT_PUBLIC_KEY_PREVIOUS", old_public.as_str()),
        ("JWT_PREVIOUS_ALGORITHM", "EdDSA"),
        ("JWT_ACCESS_SECRET", ""),
    ]);
    let new_token = issue_with(&new_issuer, "user");
    assert_eq!(kid_of(&new_token), kids(&published)[1]);
    assert_accepted(
        &step1,
        &new_token,
        "step 1's verifier, the next key's token",
    )
    .await;
    let step2 = [
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PUBLIC_KEY", new_public.as_str()),
        ("JWT_PUBLIC_KEY_PREVIOUS", old_public.as_str()),
        ("JWT_PREVIOUS_ALGORITHM", "EdDSA"),
        ("JWT_ACCESS_SECRET", ""),
    ];
    assert_accepted(&step2, &new_token, "step 2: the current key's token").await;
    assert_accepted(&step2, &old_token, "step 2: the previous key's token").await;

    // Step 3: the previous key is retired once its tokens have expired.
    let step3 = [
        ("JWT_ALGORITHM", "RS256"),
        ("JWT_PUBLIC_KEY", new_public.as_str()),
        ("JWT_ACCESS_SECRET", ""),
    ];
    assert_accepted(&step3, &new_token, "step 3: the current key's token").await;
    assert_unauthorized(
        &authorizer(&step3),
        &rest_token_event(&format!("Bearer {old_token}")),
        Denial::Token(Rejection::UnknownKey),
        "step 3: the retired key's token",
    )
    .await;
}

#[test]
fn a_next_key_must_be_public_new_and_of_its_stated_algorithm() {
    let (_, current) = key_pair("ES256");
    let (_, other) = key_pair("RS256");
    let base = [
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PUBLIC_KEY", current.as_str()),
        ("JWT_ACCESS_SECRET", ""),
    ];
    let with = |extra: &[(&'static str, &str)]| {
        let mut pairs: Vec<(&str, &str)> = base.to_vec();
        pairs.extend_from_slice(extra);
        key_set(&env(&pairs), KeyUse::Verify)
            .err()
            .map(|error| error.to_string())
    };
    let same = with(&[("JWT_PUBLIC_KEY_NEXT", current.as_str())]).expect("the current key again");
    assert!(same.contains("JWT_PUBLIC_KEY_NEXT"), "{same}");
    let wrong_algorithm =
        with(&[("JWT_PUBLIC_KEY_NEXT", other.as_str())]).expect("an RSA key read as ES256");
    assert!(
        wrong_algorithm.contains("JWT_PUBLIC_KEY_NEXT"),
        "{wrong_algorithm}"
    );
    let shared = with(&[
        ("JWT_PUBLIC_KEY_NEXT", other.as_str()),
        ("JWT_NEXT_ALGORITHM", "HS256"),
    ])
    .expect("a shared secret cannot be published");
    assert!(shared.contains("JWT_NEXT_ALGORITHM"), "{shared}");
    assert_eq!(
        with(&[
            ("JWT_PUBLIC_KEY_NEXT", other.as_str()),
            ("JWT_NEXT_ALGORITHM", "RS256"),
        ]),
        None
    );
}
