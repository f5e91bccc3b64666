//! Epoch seconds as calendar text, without a date library: RFC 3339 for API responses and
//! RFC 5322 for mail headers, both in UTC.

/// Year, month (1-12), day (1-31) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, valid for every `i64` day count that fits a year in `i64`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era.saturating_mul(400) + i64::from(month <= 2);
    // Both are in range by construction (1..=31, 1..=12).
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: usize,
}

fn parts(epoch_seconds: i64) -> Parts {
    let days = epoch_seconds.div_euclid(86_400);
    let seconds = epoch_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: seconds / 3600,
        minute: seconds % 3600 / 60,
        second: seconds % 60,
        // 1970-01-01 was a Thursday (index 4 with Sunday as 0).
        weekday: usize::try_from(days.saturating_add(4).rem_euclid(7)).unwrap_or(0),
    }
}

/// `2026-11-24T17:09:33Z`
pub fn rfc3339(epoch_seconds: i64) -> String {
    let p = parts(epoch_seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// `Tue, 24 Nov 2026 17:09:33 +0000`
pub fn rfc5322(epoch_seconds: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(epoch_seconds);
    let weekday = DAYS.get(p.weekday).copied().unwrap_or("Sun");
    let month = MONTHS
        .get(usize::try_from(p.month.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} +0000",
        p.day, p.year, p.hour, p.minute, p.second
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn known_instants_format_as_their_calendars_say() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc5322(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_348_800), "2026-11-22T12:00:00Z");
        assert_eq!(rfc5322(1_795_348_800), "Sun, 22 Nov 2026 12:00:00 +0000");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    proptest! {
        #[test]
        fn any_instant_formats_without_panicking_and_days_advance_by_one(seconds in -1_000_000_000_000i64..1_000_000_000_000) {
            let today = rfc3339(seconds);
            prop_assert_eq!(today.len() >= 20, true);
            let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
            let (next_year, next_month, next_day) = civil_from_days(seconds.div_euclid(86_400) + 1);
            prop_assert!(
                (next_year, next_month, next_day) > (year, month, day),
                "{} then {}-{}-{}", today, next_year, next_month, next_day
            );
            let _ = rfc5322(seconds);
        }
    }
}
