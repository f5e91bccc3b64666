//! Cryptographically secure random bytes from the operating system.

/// `N` random bytes. The OS generator failing is unrecoverable (Lambda's sandbox always has it),
/// so this aborts the invocation instead of minting predictable ids or secrets.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buffer = [0u8; N];
    #[allow(
        clippy::expect_used,
        reason = "without the OS generator no id or secret may be minted at all"
    )]
    getrandom::getrandom(&mut buffer)
        .expect("the operating system's random generator is unavailable");
    buffer
}

/// 128 random bits as 32 lowercase hex characters.
pub fn hex_id() -> String {
    hex(&bytes::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}
