use super::*;

/// `/metrics` and `/health` with fixed bodies.
struct Fixed;

impl Pages for Fixed {
    fn page(&self, path: &str) -> Option<Reply> {
        match path {
            "/metrics" => Some(Reply::metrics(Ok("up 1\n".into()))),
            "/health" => Some(Reply {
                status: "503 Service Unavailable",
                content_type: "text/plain",
                body: b"stalled\n".to_vec(),
            }),
            _ => None,
        }
    }
}

fn status(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    text.lines().next().unwrap_or("").to_string()
}

fn len(t: &str) -> Option<String> {
    t.lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map(str::to_string)
}

#[test]
fn get_and_head_with_a_query_string_are_served() {
    let get = answer(
        b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
        true,
        &Fixed,
    );
    let text = String::from_utf8(get).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains(OPENMETRICS) && text.ends_with("up 1\n"),
        "{text}"
    );
    let head = answer(b"HEAD /metrics HTTP/1.1\r\n\r\n", true, &Fixed);
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.ends_with("\r\n\r\n") && !head.contains("up 1"),
        "{head}"
    );
    assert_eq!(len(&head), len(&text));
}

#[test]
fn a_page_status_404_405_and_an_oversized_head() {
    let h = answer(b"HEAD /health HTTP/1.1\r\n\r\n", true, &Fixed);
    assert_eq!(status(&h), "HTTP/1.1 503 Service Unavailable");
    assert!(h.ends_with(b"\r\n\r\n"));
    let nf = answer(b"GET /nope HTTP/1.1\r\n\r\n", true, &Fixed);
    assert_eq!(status(&nf), "HTTP/1.1 404 Not Found");
    let post = answer(b"POST /metrics HTTP/1.1\r\n\r\n", true, &Fixed);
    assert_eq!(status(&post), "HTTP/1.1 405 Method Not Allowed");
    let big = answer(b"GET /metrics", false, &Fixed);
    assert!(status(&big).contains("431"));
}
