//! Recovery codes: ten single-use codes shown once at enrolment, for a user who lost the
//! device. Each is 10 symbols of Crockford's base32 (50 random bits), shown as `xxxxx-xxxxx`;
//! what the user types back is normalized the same way (case, separators, and the letters
//! Crockford reads as digits), then compared by keyed digest (`keys`).

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;
const SYMBOLS: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A code as shown to the user.
pub fn generate() -> String {
    let random = auth_core::random::bytes::<SYMBOLS>();
    let mut code = String::with_capacity(SYMBOLS + 1);
    for (index, byte) in random.iter().enumerate() {
        if index == SYMBOLS / 2 {
            code.push('-');
        }
        if let Some(symbol) = ALPHABET.get(usize::from(byte & 0x1f)) {
            code.push(char::from(*symbol));
        }
    }
    code
}

/// A fresh set of codes, all different.
pub fn generate_set() -> Vec<String> {
    let mut codes: Vec<String> = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        let code = generate();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    codes
}

/// The canonical form of a typed code (what is digested), or `None` if it cannot be one.
pub fn normalize(raw: &str) -> Option<String> {
    if raw.len() > 40 {
        return None;
    }
    let mut normalized = String::with_capacity(SYMBOLS);
    for symbol in raw.chars().filter(|c| !matches!(c, '-' | ' ')) {
        let symbol = match symbol.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        };
        if !symbol.is_ascii() || !ALPHABET.contains(&u8::try_from(symbol).ok()?) {
            return None;
        }
        normalized.push(symbol);
    }
    (normalized.chars().count() == SYMBOLS).then_some(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_look_as_documented_and_normalize_to_themselves_without_the_dash() {
        let set = generate_set();
        assert_eq!(set.len(), CODES_PER_SET);
        for code in &set {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(code.chars().nth(5), Some('-'), "{code}");
            assert_eq!(normalize(code), Some(code.replace('-', "")));
        }
    }

    #[test]
    fn typing_variants_normalize_alike_and_junk_is_refused() {
        assert_eq!(normalize("ABCDE-FGH0K").as_deref(), Some("abcdefgh0k"));
        assert_eq!(normalize("abcde fghOk").as_deref(), Some("abcdefgh0k"));
        assert_eq!(normalize("l1iI0-oOabc").as_deref(), Some("1111000abc"));
        for bad in [
            "",
            "abcde",
            "abcde-fgh0k1",
            "abcde-fgh0u",
            "ábcde-fgh0k",
            &"a".repeat(50),
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn normalizing_never_panics(raw in "\\PC{0,60}") {
            let _ = normalize(&raw);
        }
    }
}
