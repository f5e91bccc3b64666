//! Which mail addresses an account may be registered with, and the form mail is sent to.
//!
//! SES sends only to 7-bit ASCII addresses: an internationalised domain must travel in its
//! ASCII (punycode, "xn--") form, and it cannot send to a non-ASCII local part at all (no
//! SMTPUTF8). So a new registration refuses a non-ASCII local part and stores an IDN domain in
//! its punycode form, the one canonical key for that mailbox (`ada@bücher.de` and
//! `ada@xn--bcher-kva.de` are one account). Accounts registered before this rule keep the
//! form they were stored under: sign-in and reset find them by it ([`lookup_keys`]), and mail
//! goes to its punycode form ([`sendable`]).

use auth_core::domain::{Email, InvalidField};

/// The address a new account is stored under: [`Email::parse`], an ASCII local part, and the
/// domain in its ASCII form (UTS #46 processing, as browsers and mail clients apply it).
pub fn registration_email(raw: &str) -> Result<Email, InvalidField> {
    let email = Email::parse(raw)?;
    let (local, domain) = email
        .as_str()
        .rsplit_once('@')
        .ok_or_else(|| InvalidField::new("email", "email must contain an @"))?;
    if !local.is_ascii() {
        return Err(InvalidField::new(
            "email",
            "the part of the address before the @ must use ASCII letters, digits and symbols only: mail cannot be delivered to it",
        ));
    }
    let ascii_domain = ascii_domain(domain).ok_or_else(|| {
        InvalidField::new("email", "the address's domain is not a valid domain name")
    })?;
    Email::parse(&format!("{local}@{ascii_domain}"))
}

/// The keys an address typed at sign-in or reset may be stored under, in the order to try:
/// the canonical (punycode) form, then, for an IDN domain (typed either way), its Unicode form
/// as accounts registered before canonicalisation stored it.
pub fn lookup_keys(email: &Email) -> Vec<Email> {
    let canonical = email
        .as_str()
        .rsplit_once('@')
        .and_then(|(local, domain)| Some(format!("{local}@{}", ascii_domain(domain)?)))
        .and_then(|raw| Email::parse(&raw).ok())
        .unwrap_or_else(|| email.clone());
    let mut keys = vec![canonical.clone()];
    if let Some(legacy) = legacy_form(&canonical) {
        keys.push(legacy);
    }
    if !keys.contains(email) {
        keys.push(email.clone());
    }
    keys
}

/// The form an account with this canonical address would have been stored under before
/// canonicalisation: its domain in Unicode. `None` for a domain with no IDN label.
pub fn legacy_form(canonical: &Email) -> Option<Email> {
    let (local, domain) = canonical.as_str().rsplit_once('@')?;
    if !domain.split('.').any(|label| label.starts_with("xn--")) {
        return None;
    }
    let (unicode, result) = idna::domain_to_unicode(domain);
    result.ok()?;
    (unicode != domain)
        .then(|| Email::parse(&format!("{local}@{unicode}")).ok())
        .flatten()
}

/// The address as SES accepts it, `None` when it cannot be sent to (a non-ASCII local part,
/// possible only for accounts registered before [`registration_email`]).
pub fn sendable(email: &Email) -> Option<String> {
    let (local, domain) = email.as_str().rsplit_once('@')?;
    if !local.is_ascii() {
        return None;
    }
    Some(format!("{local}@{}", ascii_domain(domain)?))
}

fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii(domain).ok()?;
    let well_formed = !ascii.is_empty()
        && ascii.len() <= 253
        && ascii.contains('.')
        && ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    well_formed.then_some(ascii)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn email(raw: &str) -> Email {
        Email::parse(raw).expect("a valid address")
    }

    #[test]
    fn idn_domains_are_stored_in_punycode_and_non_ascii_local_parts_refused() {
        assert_eq!(
            registration_email("Ada@Bücher.DE").map(|e| e.as_str().to_owned()),
            Ok("ada@xn--bcher-kva.de".to_owned())
        );
        assert_eq!(
            registration_email("ada@xn--bcher-kva.de").map(|e| e.as_str().to_owned()),
            Ok("ada@xn--bcher-kva.de".to_owned())
        );
        assert_eq!(
            registration_email("ada@example.com").map(|e| e.as_str().to_owned()),
            Ok("ada@example.com".to_owned())
        );
        let refused = registration_email("zoë@example.com").expect_err("non-ASCII local part");
        assert_eq!(refused.field, "email");
        assert!(
            refused.message.contains("before the @"),
            "{}",
            refused.message
        );
        for bad in [
            "ada@exa_mple.com",
            "ada@-bad.com",
            "ada@a..b",
            "ada@\u{200b}.com",
        ] {
            assert!(registration_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookups_try_the_canonical_form_then_the_form_older_accounts_used() {
        assert_eq!(
            lookup_keys(&email("ada@bücher.de")),
            vec![email("ada@xn--bcher-kva.de"), email("ada@bücher.de")]
        );
        assert_eq!(
            lookup_keys(&email("ada@example.com")),
            vec![email("ada@example.com")]
        );
        assert_eq!(
            lookup_keys(&email("ada@xn--bcher-kva.de")),
            vec![email("ada@xn--bcher-kva.de"), email("ada@bücher.de")],
            "a legacy account is found whichever form is typed"
        );
        assert_eq!(
            legacy_form(&email("ada@xn--bcher-kva.de")),
            Some(email("ada@bücher.de"))
        );
        assert_eq!(legacy_form(&email("ada@example.com")), None);
    }

    #[test]
    fn mail_goes_to_the_ascii_form_or_nowhere() {
        assert_eq!(
            sendable(&email("ada@bücher.de")).as_deref(),
            Some("ada@xn--bcher-kva.de")
        );
        assert_eq!(
            sendable(&email("ada@example.com")).as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(sendable(&email("zoë@example.com")), None);
    }

    proptest! {
        #[test]
        fn any_input_is_refused_or_yields_an_ascii_address_that_stays_put(raw in "\\PC{0,80}") {
            if let Ok(email) = registration_email(&raw) {
                prop_assert!(email.as_str().is_ascii());
                prop_assert_eq!(registration_email(email.as_str()), Ok(email.clone()));
                prop_assert_eq!(sendable(&email), Some(email.as_str().to_owned()));
                prop_assert_eq!(lookup_keys(&email).first().cloned(), Some(email.clone()));
            }
            if let Ok(email) = Email::parse(&raw) {
                let _ = lookup_keys(&email);
                let _ = sendable(&email);
            }
        }
    }
}
