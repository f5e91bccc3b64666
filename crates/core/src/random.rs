//! Cryptographically secure random bytes from the operating system.

/// `N` random bytes. The OS generator failing is unrecoverable (Lambda's sandbox always has it),
/// so this aborts the invocation instead of minting predictable ids or secrets.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buffer = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::getrandom(&mut buffer)
        .expect("the operating system's random generator is unavailable");
    buffer
}

/// 128 random bits as 32 lowercase hex characters.
pub fn hex_id() -> String {
    hex(&bytes::<16>())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}
