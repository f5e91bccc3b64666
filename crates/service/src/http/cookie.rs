//! The refresh-token cookie.
//!
//! `Path=/auth` reaches both `/auth/refresh` and `/auth/logout` (the seed's `Path=/api/refresh`
//! never reached logout, so logout could not revoke anything). `HttpOnly` keeps it from scripts,
//! `Secure` from plain HTTP, `SameSite=Strict` from cross-site requests.

pub const REFRESH_COOKIE: &str = "refreshToken";
/// The default cookie path; `REFRESH_COOKIE_PATH` changes it when the API is mounted elsewhere.
pub const DEFAULT_REFRESH_COOKIE_PATH: &str = "/auth";

/// `Set-Cookie` value carrying a refresh token for `max_age_seconds`.
pub fn refresh_cookie(token: &str, max_age_seconds: i64, path: &str) -> String {
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path={path}; Max-Age={}",
        max_age_seconds.max(0)
    )
}

/// `Set-Cookie` value that deletes the refresh cookie (same name and path, `Max-Age=0`).
pub fn cleared_refresh_cookie(path: &str) -> String {
    format!("{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={path}; Max-Age=0")
}

/// A cookie path must start with `/` and hold only characters that cannot break the header.
pub fn is_valid_cookie_path(path: &str) -> bool {
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_cookie_has_every_protective_attribute() {
        let cookie = refresh_cookie("abc.def", 604_800, DEFAULT_REFRESH_COOKIE_PATH);
        assert_eq!(
            cookie,
            "refreshToken=abc.def; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"
        );
    }

    #[test]
    fn the_cleared_cookie_has_the_same_name_and_path_and_no_lifetime() {
        let cookie = cleared_refresh_cookie(DEFAULT_REFRESH_COOKIE_PATH);
        assert!(cookie.starts_with("refreshToken=;"));
        assert!(cookie.contains("Path=/auth"));
        assert!(cookie.ends_with("Max-Age=0"));
    }

    #[test]
    fn a_negative_lifetime_becomes_zero() {
        assert!(refresh_cookie("x", -5, "/auth").ends_with("Max-Age=0"));
    }

    #[test]
    fn cookie_paths_that_could_break_the_header_are_refused() {
        assert!(is_valid_cookie_path("/auth"));
        assert!(is_valid_cookie_path("/api/v1/auth"));
        for path in [
            "",
            "auth",
            "/a b",
            "/a;Domain=evil.example",
            "/a,b",
            "/\u{e9}",
        ] {
            assert!(!is_valid_cookie_path(path), "{path}");
        }
    }
}
