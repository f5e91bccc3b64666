//! RFC 4648 base32 (upper case, no padding): how authenticator apps take a TOTP secret.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            push(&mut out, (buffer >> bits) & 0x1f);
        }
    }
    if bits > 0 {
        push(&mut out, (buffer << (5 - bits)) & 0x1f);
    }
    out
}

fn push(out: &mut String, index: u32) {
    if let Some(symbol) = usize::try_from(index)
        .ok()
        .and_then(|index| ALPHABET.get(index))
    {
        out.push(char::from(*symbol));
    }
}

/// Decodes upper- or lower-case base32, padding and spaces ignored; `None` on any other symbol.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for symbol in text.bytes().filter(|byte| !matches!(byte, b'=' | b' ')) {
        let upper = symbol.to_ascii_uppercase();
        let value = ALPHABET.iter().position(|known| *known == upper)?;
        buffer = (buffer << 5) | u32::try_from(value).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(decode("mzxw6ytboi======").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(decode("MZ1W"), None);
    }

    proptest::proptest! {
        #[test]
        fn encoding_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            proptest::prop_assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }

        #[test]
        fn decoding_never_panics(text in "\\PC{0,80}") {
            let _ = decode(&text);
        }
    }
}
