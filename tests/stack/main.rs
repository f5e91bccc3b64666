//! The whole local stack, started as a developer starts it (`scripts/dev`): flows over HTTP
//! through the dev gateway, then the demo page in headless Chromium. One stack for all of them,
//! stopped at the end whatever happened, so this is a plain `main` rather than libtest.
//! `cargo test -p stack-tests -- <words>` runs only the flows whose names contain them.

// Test code: a failed expectation panics, and the runner reports it as that flow's failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod account_pages;
mod browser;
mod federation_pages;
mod flows;
mod http;
mod mail;
mod mfa_pages;
mod stack;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use browser::Browser;
use http::Api;
use stack::Stack;

struct Runner {
    filters: Vec<String>,
    failures: Vec<String>,
    passed: usize,
}

impl Runner {
    fn wants(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|filter| name.contains(filter))
    }

    async fn run(&mut self, name: &str, flow: impl Future<Output = ()> + Send + 'static) {
        if !self.wants(name) {
            return;
        }
        let started = Instant::now();
        let outcome = tokio::spawn(flow).await;
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => {
                self.passed += 1;
                println!("flow {name} ... ok ({seconds:.2} s)");
            }
            Err(error) => {
                let reason = error.try_into_panic().map_or_else(
                    |error| error.to_string(),
                    |payload| {
                        payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_default()
                    },
                );
                println!("flow {name} ... FAILED ({seconds:.2} s)\n    {reason}");
                self.failures.push(name.to_owned());
            }
        }
    }

    fn fail(&mut self, name: &str, reason: &str) {
        println!("flow {name} ... FAILED\n    {reason}");
        self.failures.push(name.to_owned());
    }
}

async fn run_all(runner: &mut Runner, stack: Arc<Stack>) {
    let api = Api::new(&stack.base);
    let base = stack.base.clone();
    runner
        .run(
            "gateway: register, me, refresh, logout-all, then refused",
            flows::register_me_refresh_logout_all_then_refused(api.clone()),
        )
        .await;
    runner
        .run(
            "gateway: admin route denied to a user, allowed after set-role and refresh",
            flows::admin_route_is_denied_to_a_user_and_allowed_after_set_role_and_refresh(
                api.clone(),
                Arc::clone(&stack),
            ),
        )
        .await;
    runner
        .run(
            "gateway: CORS preflight and the JWKS document",
            flows::cors_preflight_and_the_jwks_document_are_served_as_deployed(
                api.clone(),
                base.clone(),
            ),
        )
        .await;

    runner
        .run(
            "gateway: the cookie routes refuse other origins (CSRF)",
            flows::the_cookie_routes_refuse_other_origins_as_deployed(api.clone(), base.clone()),
        )
        .await;

    let browser_flows = [
        "browser: the refresh cookie is HttpOnly and a reload restores the session",
        "browser: two windows refreshing at the same moment both stay signed in",
        "browser: a cross-site page cannot use the cookie",
        "browser: logout clears the cookie and /me then fails",
        "browser: a mailed reset link sets a new password, once",
        "browser: the verification link marks the address verified",
        "browser: the verification link asks for the password when signed out",
        "browser: the sessions screen shows devices and signs one out; a password change ends the others",
        "browser: deleting the account signs out and frees the email",
        "browser: MFA enrolment with the QR code, then a second-step login with a code and with a recovery code",
        "browser: sign in with the local OpenID provider from the demo page; an unverified address is refused",
    ];
    if !browser_flows.iter().any(|name| runner.wants(name)) {
        return;
    }
    let started = Instant::now();
    let browser = match Browser::start().await {
        Ok(browser) => Arc::new(browser),
        Err(reason) => {
            for name in browser_flows {
                runner.fail(name, &reason);
            }
            return;
        }
    };
    println!(
        "headless Chromium up in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let [
        cookie,
        tabs,
        cross_site,
        logout,
        reset,
        verify,
        verify_signed_out,
        sessions,
        delete,
        mfa,
        federated,
    ] = browser_flows;
    runner
        .run(
            cookie,
            browser::the_refresh_cookie_is_httponly_and_a_reload_restores_the_session(
                Arc::clone(&browser),
                base.clone(),
            ),
        )
        .await;
    runner
        .run(
            tabs,
            browser::two_tabs_refreshing_at_the_same_moment_both_stay_signed_in(
                Arc::clone(&browser),
                base.clone(),
            ),
        )
        .await;
    runner
        .run(
            cross_site,
            browser::a_cross_site_page_cannot_use_the_cookie(Arc::clone(&browser), base.clone()),
        )
        .await;
    runner
        .run(
            logout,
            browser::logout_clears_the_cookie_and_me_then_fails(Arc::clone(&browser), base.clone()),
        )
        .await;
    runner
        .run(
            reset,
            account_pages::a_mailed_reset_link_sets_a_new_password_once(
                Arc::clone(&browser),
                base.clone(),
                stack.root.clone(),
            ),
        )
        .await;
    runner
        .run(
            verify,
            account_pages::the_verification_link_marks_the_address_verified(
                Arc::clone(&browser),
                base.clone(),
                stack.root.clone(),
            ),
        )
        .await;
    runner
        .run(
            verify_signed_out,
            account_pages::the_verification_link_asks_for_the_password_when_signed_out(
                Arc::clone(&browser),
                base.clone(),
                stack.root.clone(),
                api.clone(),
            ),
        )
        .await;
    runner
        .run(
            sessions,
            account_pages::the_sessions_screen_shows_devices_and_signs_one_out(
                Arc::clone(&browser),
                base.clone(),
                api.clone(),
            ),
        )
        .await;
    runner
        .run(
            mfa,
            mfa_pages::enrolment_then_a_second_step_login_with_a_code_and_with_a_recovery_code(
                Arc::clone(&browser),
                base.clone(),
                stack.root.clone(),
            ),
        )
        .await;
    runner
        .run(
            federated,
            federation_pages::signing_in_with_the_local_provider_from_the_demo_page(
                Arc::clone(&browser),
                base.clone(),
            ),
        )
        .await;
    runner
        .run(
            delete,
            account_pages::deleting_the_account_signs_out_and_frees_the_email(
                Arc::clone(&browser),
                base,
                api,
            ),
        )
        .await;
    if let Ok(browser) = Arc::try_unwrap(browser) {
        browser.stop().await;
    }
    println!(
        "browser flows took {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// The flows of a stack in confirm-first registration mode: a stack of their own.
async fn run_confirm_first(runner: &mut Runner) {
    const NAME: &str =
        "browser (confirm-first): a sign-up becomes an account with its link and password";
    if !runner.wants(NAME) {
        return;
    }
    let stack = match Stack::start_with(
        &["--param", "RegistrationMode=confirm-first"],
        "dev-confirm-first.log",
    ) {
        Ok(stack) => stack,
        Err(reason) => return runner.fail(NAME, &reason),
    };
    let browser = match Browser::start().await {
        Ok(browser) => Arc::new(browser),
        Err(reason) => return runner.fail(NAME, &reason),
    };
    runner
        .run(
            NAME,
            account_pages::a_confirm_first_sign_up_becomes_an_account_with_its_link_and_password(
                Arc::clone(&browser),
                stack.base.clone(),
                stack.root.clone(),
                Api::new(&stack.base),
            ),
        )
        .await;
    if let Ok(browser) = Arc::try_unwrap(browser) {
        browser.stop().await;
    }
}

/// The gateway flows on a stack whose protected routes are on API Gateway's built-in JWT
/// authorizer (emulated by the dev gateway): a stack of their own, signing RS256.
async fn run_built_in_authorizer(runner: &mut Runner) {
    const NAMES: [&str; 6] = [
        "gateway (built-in JWT authorizer): discovery, keys and an independent verifier",
        "gateway (built-in JWT authorizer): register, me, refresh, logout-all, then refused",
        "gateway (built-in JWT authorizer): the admin scope is denied to a user, allowed after set-role and refresh",
        "browser (built-in JWT authorizer): the sessions screen shows devices and signs one out",
        "browser (built-in JWT authorizer): MFA enrolment, then a second-step login with a code and with a recovery code",
        "browser (built-in JWT authorizer): deleting the account signs out and frees the email",
    ];
    if !NAMES.iter().any(|name| runner.wants(name)) {
        return;
    }
    let stack = match Stack::start_with(
        &["--param", "AuthorizerKind=builtin-jwt"],
        "dev-builtin-jwt.log",
    ) {
        Ok(stack) => Arc::new(stack),
        Err(reason) => {
            for name in NAMES {
                runner.fail(name, &reason);
            }
            return;
        }
    };
    let api = Api::new(&stack.base);
    let [discovery, lifecycle, admin, sessions, mfa, delete] = NAMES;
    runner
        .run(
            discovery,
            flows::the_built_in_authorizer_trusts_the_issuer_and_so_does_an_independent_verifier(
                api.clone(),
                stack.base.clone(),
                stack.root.clone(),
            ),
        )
        .await;
    runner
        .run(
            lifecycle,
            flows::register_me_refresh_logout_all_then_refused(api.clone()),
        )
        .await;
    runner
        .run(
            admin,
            flows::admin_route_is_denied_to_a_user_and_allowed_after_set_role_and_refresh(
                api.clone(),
                Arc::clone(&stack),
            ),
        )
        .await;
    // The routes that read the caller from the built-in authorizer's string claims, through the
    // demo page: sessions, the second factor (enrolment, confirmation, status, step-up), deletion.
    let browser_flows = [sessions, mfa, delete];
    if !browser_flows.iter().any(|name| runner.wants(name)) {
        return;
    }
    let browser = match Browser::start().await {
        Ok(browser) => Arc::new(browser),
        Err(reason) => {
            for name in browser_flows {
                runner.fail(name, &reason);
            }
            return;
        }
    };
    runner
        .run(
            sessions,
            account_pages::the_sessions_screen_shows_devices_and_signs_one_out(
                Arc::clone(&browser),
                stack.base.clone(),
                api.clone(),
            ),
        )
        .await;
    runner
        .run(
            mfa,
            mfa_pages::enrolment_then_a_second_step_login_with_a_code_and_with_a_recovery_code(
                Arc::clone(&browser),
                stack.base.clone(),
                stack.root.clone(),
            ),
        )
        .await;
    runner
        .run(
            delete,
            account_pages::deleting_the_account_signs_out_and_frees_the_email(
                Arc::clone(&browser),
                stack.base.clone(),
                api,
            ),
        )
        .await;
    if let Ok(browser) = Arc::try_unwrap(browser) {
        browser.stop().await;
    }
}

fn main() -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|argument| !argument.starts_with("--"))
        .collect();
    let mut runner = Runner {
        filters,
        failures: Vec::new(),
        passed: 0,
    };
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let started = Instant::now();
    let stack = match Stack::start() {
        Ok(stack) => Arc::new(stack),
        Err(reason) => {
            eprintln!("{reason}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_all(&mut runner, Arc::clone(&stack)));
    // The last reference: stopping the stack stops everything scripts/dev started.
    drop(stack);
    runtime.block_on(run_confirm_first(&mut runner));
    runtime.block_on(run_built_in_authorizer(&mut runner));
    drop(runtime);
    println!(
        "\nstack result: {} passed, {} failed, {:.1} s with start and stop",
        runner.passed,
        runner.failures.len(),
        started.elapsed().as_secs_f64()
    );
    if runner.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for name in &runner.failures {
            println!("    failed: {name}");
        }
        ExitCode::FAILURE
    }
}
