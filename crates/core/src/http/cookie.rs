//! The refresh-token cookie.
//!
//! `Path=/auth` reaches both `/auth/refresh` and `/auth/logout` (the seed's `Path=/api/refresh`
//! never reached logout, so logout could not revoke anything). `HttpOnly` keeps it from scripts,
//! `Secure` from plain HTTP, `SameSite=Strict` from cross-site requests.

pub const REFRESH_COOKIE: &str = "refreshToken";
pub const REFRESH_COOKIE_PATH: &str = "/auth";

/// `Set-Cookie` value carrying a refresh token for `max_age_seconds`.
pub fn refresh_cookie(token: &str, max_age_seconds: i64) -> String {
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age={}",
        max_age_seconds.max(0)
    )
}

/// `Set-Cookie` value that deletes the refresh cookie (same name and path, `Max-Age=0`).
pub fn cleared_refresh_cookie() -> String {
    format!(
        "{REFRESH_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age=0"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_cookie_has_every_protective_attribute() {
        let cookie = refresh_cookie("abc.def", 604_800);
        assert_eq!(
            cookie,
            "refreshToken=abc.def; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=604800"
        );
    }

    #[test]
    fn the_cleared_cookie_has_the_same_name_and_path_and_no_lifetime() {
        let cookie = cleared_refresh_cookie();
        assert!(cookie.starts_with("refreshToken=;"));
        assert!(cookie.contains("Path=/auth"));
        assert!(cookie.ends_with("Max-Age=0"));
    }

    #[test]
    fn a_negative_lifetime_becomes_zero() {
        assert!(refresh_cookie("x", -5).ends_with("Max-Age=0"));
    }
}
