//! Parsing the header values that carry credentials: `Authorization: Bearer` and cookies.
//! Strict on purpose: a value that is not exactly one credential is no credential, and the
//! caller refuses the request rather than looking elsewhere.

/// The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1): the scheme is
/// case-insensitive and surrounding spaces are tolerated; the token must be one run of
/// `token68` characters, so `Bearer`, `Basic …`, `Bearer a, Bearer b` or `Bearer a b` are refused.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    let is_token68 = !token.is_empty()
        && token
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    (scheme.eq_ignore_ascii_case("bearer") && is_token68).then_some(token)
}

/// What the `Cookie` header values say about one cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieLookup<'a> {
    Absent,
    Found(&'a str),
    /// The cookie appears more than once with different values (e.g. tossed in by a sibling
    /// subdomain): which one is genuine cannot be told, so neither is used.
    Ambiguous,
}

impl<'a> CookieLookup<'a> {
    pub fn found(self) -> Option<&'a str> {
        match self {
            Self::Found(value) => Some(value),
            Self::Absent | Self::Ambiguous => None,
        }
    }
}

/// Finds cookie `name` in `Cookie` header values (`a=1; b=2`), across every value given.
pub fn find_cookie<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> CookieLookup<'a> {
    let mut found = CookieLookup::Absent;
    let pairs = headers
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"'));
    for value in pairs {
        found = match found {
            CookieLookup::Absent if value.is_empty() => CookieLookup::Absent,
            CookieLookup::Absent => CookieLookup::Found(value),
            CookieLookup::Found(seen) if seen == value || value.is_empty() => found,
            CookieLookup::Found(_) | CookieLookup::Ambiguous => CookieLookup::Ambiguous,
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bearer_tokens_are_read_leniently_but_not_sloppily() {
        assert_eq!(parse_bearer("Bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("bearer abc"), Some("abc"));
        assert_eq!(parse_bearer("  BEARER   abc  "), Some("abc"));
        assert_eq!(parse_bearer("Bearer a.b-c_d"), Some("a.b-c_d"));
        for refused in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "abc",
            "Bearer a,Bearer b",
            "Bearer a, Bearer b",
            "Token abc",
            "Bearer a\tb",
            "Bearer é",
        ] {
            assert_eq!(parse_bearer(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn cookies_are_found_across_headers_and_pairs() {
        let headers = ["theme=dark; refreshToken=tok.en ", "other=1"];
        assert_eq!(
            find_cookie(headers, "refreshToken"),
            CookieLookup::Found("tok.en")
        );
        assert_eq!(
            find_cookie(["refreshTokenX=1; refreshToken=2"], "refreshToken"),
            CookieLookup::Found("2")
        );
        assert_eq!(find_cookie(["a=1"], "refreshToken"), CookieLookup::Absent);
        assert_eq!(
            find_cookie(["refreshToken="], "refreshToken"),
            CookieLookup::Absent
        );
        assert_eq!(
            find_cookie(["garbage;;=;"], "refreshToken"),
            CookieLookup::Absent
        );
    }

    #[test]
    fn two_different_values_of_one_cookie_are_ambiguous_not_first_wins() {
        assert_eq!(
            find_cookie(["refreshToken=a; refreshToken=b"], "refreshToken"),
            CookieLookup::Ambiguous
        );
        assert_eq!(
            find_cookie(["refreshToken=a", "refreshToken=b"], "refreshToken"),
            CookieLookup::Ambiguous
        );
        assert_eq!(
            find_cookie(["refreshToken=a; refreshToken=a"], "refreshToken"),
            CookieLookup::Found("a"),
            "the same value twice is still one credential"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn bearer_parsing_never_panics_and_yields_a_clean_token(value in "\\PC{0,80}") {
            if let Some(token) = parse_bearer(&value) {
                prop_assert!(!token.is_empty());
                prop_assert!(!token.contains([' ', ',', ';']));
            }
        }

        #[test]
        fn cookie_lookup_never_panics(headers in proptest::collection::vec("\\PC{0,60}", 0..4)) {
            let lookup = find_cookie(headers.iter().map(String::as_str), "refreshToken");
            if let CookieLookup::Found(value) = lookup {
                prop_assert!(!value.is_empty());
            }
        }
    }
}
