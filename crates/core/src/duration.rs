//! Human-friendly durations as the seed's tutorial writes them: `30s`, `15m`, `2h`, `7d`, `1y`,
//! or a plain number of seconds.

use std::time::Duration;

/// Why a duration string was refused; the caller adds the variable's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration such as 30s, 15m, 2h, 7d, 1y or a number of seconds, got {0:?}")]
pub struct InvalidDuration(pub String);

/// Parses `30s`, `15m`, `2h`, `7d`, `1y` (365 days) or plain seconds (`3600`).
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let invalid = || InvalidDuration(text.to_owned());
    let trimmed = text.trim();
    let split_at = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split_at);
    if digits.is_empty() {
        return Err(invalid());
    }
    let amount: u64 = digits.parse().map_err(|_| invalid())?;
    let unit_seconds: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "y" => 365 * 86_400,
        _ => return Err(invalid()),
    };
    amount
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn parsing_never_panics(text in "\\PC{0,30}") {
            let _ = parse_duration(&text);
        }

        #[test]
        fn every_unit_scales_its_amount(amount in 0u64..1_000_000, unit in prop::sample::select(vec![("", 1u64), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("y", 31_536_000)])) {
            let parsed = parse_duration(&format!("{amount}{}", unit.0));
            prop_assert_eq!(parsed, Ok(Duration::from_secs(amount * unit.1)));
        }
    }

    #[test]
    fn accepts_every_format_the_seed_documents() {
        let cases = [
            ("30s", 30),
            ("15m", 900),
            ("2h", 7_200),
            ("7d", 604_800),
            ("1y", 31_536_000),
            ("3600", 3_600),
            (" 10s ", 10),
            ("0", 0),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(seconds)),
                "{text}"
            );
        }
    }

    #[test]
    fn refuses_anything_else() {
        for text in [
            "",
            "s",
            "-5s",
            "1.5h",
            "10 m",
            "7w",
            "15M",
            "99999999999999999999y",
            "1e3",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} should be refused");
        }
    }
}
