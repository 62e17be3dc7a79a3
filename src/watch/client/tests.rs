use super::*;
use crate::detect::Dur;
use std::sync::mpsc;
use std::thread;

/// A server answering each request with `(status, body)` after `delay`,
/// reporting each request's URL and headers.
fn serve(
    status: u16,
    body: &'static str,
    delay: Duration,
) -> (String, mpsc::Receiver<(String, Vec<String>)>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for req in server.incoming_requests() {
            let headers = req
                .headers()
                .iter()
                .map(|h| format!("{}: {}", h.field, h.value))
                .collect();
            let _ = tx.send((req.url().to_string(), headers));
            thread::sleep(delay);
            let _ = req.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (url, rx)
}

fn datasource(url: &str, extra: impl FnOnce(&mut WatchConfig)) -> Datasource {
    let mut cfg = WatchConfig {
        url: url.to_string(),
        selector: "{job=\"node\"}".into(),
        timeout: Dur::from_millis(300),
        ..WatchConfig::default()
    };
    extra(&mut cfg);
    cfg.validate().unwrap();
    Datasource::build(&cfg).unwrap()
}

const MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"instance":"a"},"values":[[1700000000,"5"]]}]}}"#;

#[test]
fn a_query_carries_the_selector_window_time_and_token() {
    let (url, rx) = serve(200, MATRIX, Duration::ZERO);
    let ds = datasource(&url, |c| c.token = Some(Secret::new("tok-123")));
    let hosts = ds
        .fetch(Field::MemTotal, 30_000, 1_700_000_000_500)
        .unwrap();
    assert_eq!(hosts["a"], vec![(1_700_000_000_000, 5.0)]);
    let (path, headers) = rx.recv().unwrap();
    assert_eq!(
        path,
        "/api/v1/query?query=node_memory_MemTotal_bytes%7Bjob%3D%22node%22%7D%5B30s%5D&time=1700000000.500"
    );
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("Authorization: Bearer tok-123")),
        "{headers:?}"
    );
}

#[test]
fn basic_auth_and_extra_headers_are_sent() {
    let (url, rx) = serve(200, MATRIX, Duration::ZERO);
    let ds = datasource(&url, |c| {
        c.username = Some("Aladdin".into());
        c.password = Some(Secret::new("open sesame"));
        c.headers
            .insert("X-Scope-OrgID".into(), Secret::new("tenant-1"));
    });
    ds.fetch(Field::MemTotal, 30_000, 0).unwrap();
    let (_, headers) = rx.recv().unwrap();
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")),
        "{headers:?}"
    );
    assert!(
        headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case("X-Scope-OrgID: tenant-1")),
        "{headers:?}"
    );
}

#[test]
fn a_503_is_a_status_error_with_the_start_of_the_body() {
    let (url, _rx) = serve(
        503,
        "Service Unavailable: tok-123 overloaded",
        Duration::ZERO,
    );
    let ds = datasource(&url, |c| c.token = Some(Secret::new("tok-123")));
    let e = ds.fetch(Field::MemTotal, 30_000, 0).unwrap_err();
    let QueryError::Status { status, head } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*status, 503);
    assert!(!head.contains("tok-123"), "secrets are scrubbed: {head}");
}

#[test]
fn an_html_page_with_200_is_an_answer_error() {
    let (url, _rx) = serve(200, "<!DOCTYPE html><html>login</html>", Duration::ZERO);
    let e = datasource(&url, |_| {})
        .fetch(Field::MemTotal, 30_000, 0)
        .unwrap_err();
    assert!(
        matches!(e, QueryError::Answer(AnswerError::NotJson { .. })),
        "{e:?}"
    );
}

#[test]
fn a_hanging_server_times_out() {
    let (url, _rx) = serve(200, MATRIX, Duration::from_secs(3));
    let t = crate::clock::mono();
    let e = datasource(&url, |_| {})
        .fetch(Field::MemTotal, 30_000, 0)
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let QueryError::Unreachable(text) = &e else {
        panic!("{e:?}")
    };
    assert!(text.contains("timed out"), "{text}");
}

#[test]
fn a_refused_connection_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = datasource(&format!("http://127.0.0.1:{port}"), |_| {})
        .fetch(Field::MemTotal, 1000, 0)
        .unwrap_err();
    assert!(matches!(e, QueryError::Unreachable(_)), "{e:?}");
}

#[test]
fn the_display_name_keeps_scheme_host_and_port_only() {
    assert_eq!(
        display_name("http://vm:8428/select/0/prometheus"),
        "http://vm:8428"
    );
    assert_eq!(display_name("https://prom.example"), "https://prom.example");
    assert_eq!(display_name("http://[::1]:9090"), "http://[::1]:9090");
}

#[test]
fn base64_pads() {
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"abc"), "YWJj");
}

#[test]
fn a_ca_file_without_certificates_is_an_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a pem").unwrap();
    let cfg = WatchConfig {
        url: "https://vm".into(),
        ca_file: Some(path),
        ..WatchConfig::default()
    };
    let e = Datasource::build(&cfg).unwrap_err().to_string();
    assert!(
        e.starts_with("watch.ca_file: ") && e.ends_with("holds no PEM certificate"),
        "{e}"
    );
}
