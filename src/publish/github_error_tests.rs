//! Failure tests for `upsert_comment`: what is retried, what is not, what the messages say,
//! and that the token never shows up in any of them.

use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::*;

#[tokio::test]
async fn plain_403_fails_at_once_and_asks_for_write_permission() {
    let server = MockServer::start().await;
    serve(&server, list_first_page(), ok_json(json!([])), 1).await;
    serve(
        &server,
        authed("POST", COMMENTS),
        ResponseTemplate::new(403)
            .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        1,
    )
    .await;

    let error = upsert(&server, "body").await.expect_err("forbidden");

    let message = error.to_string();
    assert!(matches!(error, PublishError::Forbidden { .. }), "{error:?}");
    assert!(message.contains("pull-requests: write"), "{message}");
    assert!(message.contains("workflow_run"), "{message}");
    assert!(
        message.contains(&format!("POST {}{COMMENTS}", server.uri())),
        "{message}"
    );
    assert!(
        message.contains("Resource not accessible by integration"),
        "{message}"
    );
}

#[tokio::test]
async fn persistent_5xx_gives_up_after_max_attempts_and_says_so() {
    let server = MockServer::start().await;
    serve(&server, list_first_page(), ResponseTemplate::new(503), 4).await;

    let error = upsert(&server, "body").await.expect_err("gave up");

    assert!(matches!(
        error,
        PublishError::RetriesExhausted {
            attempts: 4,
            status: 503,
            ..
        }
    ));
    assert!(error.to_string().contains("4 attempt"), "{error}");
}

#[tokio::test]
async fn unreachable_server_is_a_network_error_after_all_attempts() {
    // Take a free port, then close it: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let target = target_at(format!("http://{address}"));

    let error = upsert_comment(&target, &token(), MARKER, "body", &fast(), LIMIT)
        .await
        .expect_err("nobody there");

    assert!(
        matches!(error, PublishError::Network { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("GITHUB_API_URL"), "{error}");
}

#[tokio::test]
async fn not_found_and_unauthorized_explain_themselves() {
    let server = MockServer::start().await;
    serve(
        &server,
        list_first_page(),
        ResponseTemplate::new(404).set_body_json(json!({ "message": "Not Found" })),
        1,
    )
    .await;
    serve(
        &server,
        list_first_page(),
        ResponseTemplate::new(401).set_body_json(json!({ "message": "Bad credentials" })),
        1,
    )
    .await;

    let not_found = upsert(&server, "body").await.expect_err("404");
    let unauthorized = upsert(&server, "body").await.expect_err("401");

    assert!(
        matches!(not_found, PublishError::NotFound { .. }),
        "{not_found:?}"
    );
    assert!(
        not_found.to_string().contains("cannot see it"),
        "{not_found}"
    );
    assert!(
        matches!(unauthorized, PublishError::Unauthorized { .. }),
        "{unauthorized:?}"
    );
    assert!(
        unauthorized.to_string().contains("invalid or expired"),
        "{unauthorized}"
    );
}

#[tokio::test]
async fn the_token_never_appears_in_outcomes_or_errors() {
    let server = MockServer::start().await;
    let echo =
        json!({ "message": format!("token {TOKEN} rejected"), "errors": [{ "message": TOKEN }] });
    serve(&server, list_first_page(), ok_json(json!([])), 3).await;
    serve(
        &server,
        authed("POST", COMMENTS),
        ResponseTemplate::new(422).set_body_json(echo.clone()),
        1,
    )
    .await;
    serve(
        &server,
        authed("POST", COMMENTS),
        ResponseTemplate::new(401).set_body_string(format!("Bearer {TOKEN}")),
        1,
    )
    .await;
    serve(&server, authed("POST", COMMENTS), written(9, 201), 1).await;

    let unprocessable = upsert(&server, "body").await.expect_err("422");
    let unauthorized = upsert(&server, "body").await.expect_err("401");
    let created = upsert(&server, "body").await.expect("created");

    for text in [
        unprocessable.to_string(),
        format!("{unprocessable:?}"),
        unauthorized.to_string(),
        format!("{unauthorized:?}"),
        format!("{created:?}"),
        format!("{:?} {} {:?}", token(), token(), target(&server)),
    ] {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
    }
    assert!(
        unprocessable.to_string().contains("token *** rejected"),
        "{unprocessable}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_bounded_and_the_step_is_named() {
    let server = MockServer::start().await;
    // Accepts the request and answers far later than the publish may take.
    serve(
        &server,
        list_first_page(),
        ok_json(json!([])).set_delay(Duration::from_secs(30)),
        1,
    )
    .await;
    let error = upsert_comment(
        &target(&server),
        &token(),
        MARKER,
        "body",
        &fast(),
        Duration::from_millis(300),
    )
    .await
    .expect_err("timed out");
    let message = error.to_string();
    assert!(matches!(error, PublishError::Timeout { .. }), "{error:?}");
    assert!(
        message.contains("gave up after 0.3 s")
            && message.contains(&format!("waiting for the answer to GET {}", server.uri())),
        "{message}"
    );
}

#[test]
fn credentials_in_printed_urls_are_redacted() {
    assert_eq!(
        redact_url_credentials("GET https://user:s3cret@ghe.example/api/v3/x failed"),
        "GET https://***@ghe.example/api/v3/x failed"
    );
    assert_eq!(
        redact_url_credentials("a http://tok@h b https://plain.example/p?q=@x"),
        "a http://***@h b https://plain.example/p?q=@x"
    );
}
