//! The demo page's files, served for GET requests no route takes (local only: a deployed API
//! has no such fallback).

use std::path::Path;

use http::{HeaderMap, HeaderValue, StatusCode};

use crate::gateway::Answer;

/// The file under `root` for `path` (`/` is `index.html`, and a path without an extension is
/// that name with `.html`, as the mailed `/reset-password` and `/verify-email` links expect);
/// `None` for anything else, including any path with a segment that is empty, hidden or `..`.
pub fn serve(root: &Path, path: &str) -> Option<Answer> {
    let relative = match path.strip_prefix('/').unwrap_or(path) {
        "" => "index.html".to_owned(),
        page if !page.contains('.') => format!("{page}.html"),
        other => other.to_owned(),
    };
    let safe = relative.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
    });
    if !safe {
        return None;
    }
    let file = root.join(&relative);
    let body = std::fs::read(&file).ok()?;
    let content_type = match file.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Some(Answer {
        status: StatusCode::OK,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_files_under_the_root_are_served() {
        let root = std::env::temp_dir().join(format!("dev-gateway-statics-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("dir");
        std::fs::write(root.join("index.html"), "<h1>hi</h1>").expect("write");
        let index = serve(&root, "/").expect("index");
        assert_eq!(index.body, b"<h1>hi</h1>");
        assert_eq!(index.headers["content-type"], "text/html; charset=utf-8");
        std::fs::write(root.join("reset-password.html"), "<h1>reset</h1>").expect("write");
        let page = serve(&root, "/reset-password").expect("a page without its extension");
        assert_eq!(page.body, b"<h1>reset</h1>");
        assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
        for path in [
            "/../etc/passwd",
            "/.env",
            "//index.html",
            "/a/../index.html",
            "/missing.js",
            "/%2e%2e/x",
            "/reset-password/",
            "/missing",
        ] {
            assert!(serve(&root, path).is_none(), "{path}");
        }
        let _ = std::fs::remove_dir_all(&root);
    }
}
