//! Mock web sites on loopback (wiremock): what the crawler and the fetcher
//! are pointed at, and what they asked for.

use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Answers every `GET p` (`p` a path, matched exactly) on `server` with
/// `response`, for as long as the server runs.
pub async fn mount(server: &MockServer, p: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(response)
        .mount(server)
        .await;
}

/// A site on a loopback port answering each `GET path` with its response.
pub async fn site<P: AsRef<str>>(
    answers: impl IntoIterator<Item = (P, ResponseTemplate)>,
) -> MockServer {
    let server = MockServer::start().await;
    for (p, response) in answers {
        mount(&server, p.as_ref(), response).await;
    }
    server
}

/// Answers `GET /robots.txt` on `server` with `body`.
pub async fn robots(server: &MockServer, body: &str) {
    mount(
        server,
        "/robots.txt",
        ResponseTemplate::new(200).set_body_string(body),
    )
    .await;
}

/// `p` (a path, with any query) on `server`.
pub fn url(server: &MockServer, p: &str) -> Url {
    Url::parse(&format!("{}{}", server.uri(), p)).unwrap()
}

/// The paths `server` was asked for, in the order the requests arrived.
pub async fn paths(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect()
}

/// `status` with `body` as its text.
pub fn text(status: u16, body: impl AsRef<str>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(body.as_ref())
}

/// A redirect (`status`: 301, 302…) to `location`.
pub fn redirect(status: u16, location: impl AsRef<str>) -> ResponseTemplate {
    ResponseTemplate::new(status).insert_header("Location", location.as_ref())
}
