use std::net::SocketAddr;

use e2e::proxy::Proxy;
use e2e::{PASSWORD, TestApp, client, dynamodb_endpoint};

fn dynamodb_address() -> SocketAddr {
    let endpoint = dynamodb_endpoint();
    let authority = endpoint.trim_start_matches("http://").trim_end_matches('/');
    authority
        .parse()
        .expect("DYNAMODB_ENDPOINT is http://host:port")
}

#[tokio::test]
async fn a_dynamodb_outage_is_503_with_retry_after_and_writes_nothing_half_way() {
    let direct = TestApp::spawn().await;
    let (email, registered) = direct.registered_user().await;
    let refresh_token = registered.refresh_token();

    let mut proxy = Proxy::start(dynamodb_address()).await;
    let round_trips = auth_service::store::RoundTripCounter::default();
    let proxied_client = client(&format!("http://{}", proxy.address), &round_trips).await;
    let app = TestApp::with_client(direct.settings.clone(), proxied_client, round_trips);
    assert_eq!(
        app.login(&email, PASSWORD).await.status,
        200,
        "works through the proxy"
    );
    let items_before = direct.all_items().await.len();

    proxy.cut().await;
    let outcomes = [
        app.register("New", "new@example.com", PASSWORD).await,
        app.login(&email, PASSWORD).await,
        app.refresh(&refresh_token).await,
        app.logout(Some(&refresh_token)).await,
        app.logout_all(Some(&registered.access_token())).await,
    ];
    for response in &outcomes {
        response.assert_error(503, "SERVICE_UNAVAILABLE");
        assert_eq!(response.header("retry-after"), Some("1"));
        assert!(
            !response.text.contains("dispatch") && !response.text.contains("127.0.0.1"),
            "no internals: {}",
            response.text
        );
    }

    proxy.restore().await;
    assert_eq!(
        direct.all_items().await.len(),
        items_before,
        "nothing was written during the outage"
    );
    app.login("new@example.com", PASSWORD)
        .await
        .assert_error(401, "INVALID_CREDENTIALS");
    assert_eq!(
        app.refresh(&refresh_token).await.status,
        200,
        "the session survived the outage untouched"
    );
}

#[tokio::test]
async fn a_missing_table_is_an_opaque_500_not_a_leak() {
    let app = TestApp::spawn().await;
    let mut settings = app.settings.clone();
    settings.insert("TABLE_NAME".into(), "no-such-table".into());
    let broken = TestApp::with_client(settings, app.client.clone(), app.round_trips.clone());
    let response = broken.login("a@example.com", PASSWORD).await;
    response.assert_error(500, "INTERNAL_ERROR");
    assert_eq!(response.json["error"], "Internal error");
    assert!(!response.text.contains("no-such-table"));
}
