//! Timing properties, in their own test binary: cargo runs test binaries one at a time, so
//! no other test competes for the two cores while these compare wall times.

use std::time::{Duration, Instant};

use e2e::{TestApp, settings};

/// Median wall time of `runs` calls of `login`.
async fn median_login_time<F, Fut>(runs: usize, mut login: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        assert_eq!(login().await, 401);
        times.push(started.elapsed());
    }
    times.sort_unstable();
    times[runs / 2]
}

#[tokio::test]
async fn an_account_with_an_old_cheap_hash_answers_a_wrong_password_as_slowly_as_an_unknown_email()
{
    // The account's hash predates a parameter change: 1/38th of the current policy's work.
    let old =
        TestApp::spawn_with(&[("ARGON2_MEMORY_KIB", "1024"), ("ARGON2_ITERATIONS", "1")]).await;
    let (address, _) = old.registered_user().await;
    // Many wrong passwords in a row: the login backoff would answer them 429 without argon2.
    let mut current_settings = settings(
        &old.table,
        &[("LOGIN_MAX_FAILURES", "1000000"), ("IP_MAX_FAILURES", "0")],
    );
    for key in ["JWT_ACCESS_SECRET", "JWT_REFRESH_SECRET"] {
        current_settings.insert(key.into(), old.settings[key].clone());
    }
    let current = TestApp::with_client(
        current_settings,
        old.client.clone(),
        old.round_trips.clone(),
    );

    // Interleaved, so load from other tests falls on both alike.
    let mut old_hash = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        old_hash.push(
            median_login_time(3, || async {
                current.login(&address, "wrong password").await.status
            })
            .await,
        );
        unknown.push(
            median_login_time(3, || async {
                current
                    .login("nobody@example.com", "wrong password")
                    .await
                    .status
            })
            .await,
        );
    }
    old_hash.sort_unstable();
    unknown.sort_unstable();
    let ratio = old_hash[1].as_secs_f64() / unknown[1].as_secs_f64();
    // Without padding the old-hash account answers in about 0.4 of the time (DynamoDB Local's
    // round trips make up the rest).
    assert!(
        (0.75..1.33).contains(&ratio),
        "old-hash account {:?} vs unknown email {:?} (ratio {ratio:.2})",
        old_hash[1],
        unknown[1]
    );
}
