//! Parsing the header values that carry credentials: `Authorization: Bearer` and cookies.

/// The token of an `Authorization: Bearer <token>` value: scheme case-insensitive, surrounding
/// spaces tolerated, anything else refused.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The value of cookie `name` in `Cookie` header values (`a=1; b=2`), first occurrence wins.
pub fn find_cookie<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_leniently_but_not_sloppily() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("  BEARER   abc  "), Some("abc"));
        assert_eq!(parse_bearer("Basic abc"), None);
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Bearer a b"), None);
        assert_eq!(parse_bearer("abc"), None);
    }

    #[test]
    fn cookies_are_found_across_headers_and_pairs() {
        let headers = ["theme=dark; refreshToken=tok.en ", "other=1"];
        assert_eq!(find_cookie(headers, "refreshToken"), Some("tok.en"));
        assert_eq!(
            find_cookie(["refreshTokenX=1; refreshToken=2"], "refreshToken"),
            Some("2")
        );
        assert_eq!(find_cookie(["a=1"], "refreshToken"), None);
        assert_eq!(find_cookie(["refreshToken="], "refreshToken"), None);
        assert_eq!(find_cookie(["garbage;;=;"], "refreshToken"), None);
    }
}
