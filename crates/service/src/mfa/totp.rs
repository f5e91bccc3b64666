//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, six digits,
//! 30-second steps, the only settings Google and Microsoft Authenticator honour. A code is
//! accepted for the current step and one either side (clock drift), and only for a step after
//! the last one accepted (RFC 6238 §5.2: no code is accepted twice).

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq as _;

/// Bytes of a new secret: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;
pub const DIGITS: usize = 6;
pub const STEP_SECONDS: i64 = 30;
/// Steps accepted either side of the current one.
pub const DRIFT_STEPS: i64 = 1;

/// The time step `now` falls in (0 before the epoch: nothing earlier is ever accepted).
pub fn step_at(now: i64) -> u64 {
    u64::try_from(now.div_euclid(STEP_SECONDS)).unwrap_or(0)
}

/// The HOTP value of `secret` at `counter`, as a zero-padded six-digit code.
pub fn code_at(secret: &[u8], counter: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let digest = tag.as_ref();
    // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks four bytes.
    let offset = usize::from(digest.last().copied().unwrap_or(0) & 0x0f);
    let word = digest
        .get(offset..offset + 4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, u32::from_be_bytes)
        & 0x7fff_ffff;
    format!("{:06}", word % 1_000_000)
}

/// A code as a user typed it: six ASCII digits, spaces allowed between them.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode([u8; DIGITS]);

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(<redacted>)")
    }
}

impl TotpCode {
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() > 32 {
            return None;
        }
        let mut digits = [0u8; DIGITS];
        let mut count = 0;
        for byte in raw.bytes().filter(|byte| *byte != b' ') {
            if !byte.is_ascii_digit() {
                return None;
            }
            *digits.get_mut(count)? = byte;
            count += 1;
        }
        (count == DIGITS).then_some(Self(digits))
    }
}

/// The step `code` is valid for around `now`, if any after `last_step` (the latest step
/// already accepted for this secret). Every candidate is computed and compared in constant
/// time, so the answer's timing does not say which step matched.
pub fn matching_step(
    secret: &[u8],
    code: &TotpCode,
    now: i64,
    last_step: Option<u64>,
) -> Option<u64> {
    let current = step_at(now);
    let mut matched = None;
    for delta in -DRIFT_STEPS..=DRIFT_STEPS {
        let Some(step) = current.checked_add_signed(delta) else {
            continue;
        };
        let equal: bool = code_at(secret, step).as_bytes().ct_eq(&code.0).into();
        let fresh = last_step.is_none_or(|last| step > last);
        if equal && fresh {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B's SHA-1 secret: the ASCII string "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_appendix_b_sha1_vectors_mod_one_million() {
        // (time, eight-digit TOTP from the RFC); six digits are its last six (mod 10^6).
        for (time, eight_digits) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let six = eight_digits.get(2..).expect("eight digits");
            assert_eq!(code_at(RFC_SECRET, step_at(time)), six, "T = {time}");
            let code = TotpCode::parse(six).expect("six digits");
            assert_eq!(
                matching_step(RFC_SECRET, &code, time, None),
                Some(step_at(time))
            );
        }
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_never_at_or_before_the_last_step() {
        let now = 1_800_000_000;
        let step = step_at(now);
        for (delta, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let counter = step.checked_add_signed(delta).expect("step");
            let code = TotpCode::parse(&code_at(RFC_SECRET, counter)).expect("code");
            assert_eq!(
                matching_step(RFC_SECRET, &code, now, None),
                accepted.then_some(counter),
                "delta {delta}"
            );
        }
        let current = TotpCode::parse(&code_at(RFC_SECRET, step)).expect("code");
        assert_eq!(
            matching_step(RFC_SECRET, &current, now, Some(step)),
            None,
            "replay"
        );
        assert_eq!(
            matching_step(RFC_SECRET, &current, now, Some(step + 1)),
            None
        );
        assert_eq!(
            matching_step(RFC_SECRET, &current, now, Some(step - 1)),
            Some(step)
        );
    }

    #[test]
    fn codes_parse_as_six_digits_with_optional_spaces_only() {
        assert!(TotpCode::parse("123456").is_some());
        assert!(TotpCode::parse("123 456").is_some());
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            "١٢٣٤٥٦",
            "123-456",
            &"1".repeat(40),
        ] {
            assert!(TotpCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics_the_parser_or_the_check(raw in "\\PC{0,40}", now in proptest::num::i64::ANY) {
            if let Some(code) = TotpCode::parse(&raw) {
                let _ = matching_step(RFC_SECRET, &code, now, Some(u64::MAX));
                let _ = matching_step(RFC_SECRET, &code, now, None);
            }
        }
    }
}
