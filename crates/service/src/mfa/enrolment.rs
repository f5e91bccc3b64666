//! What an authenticator app is given at enrolment: the secret in base32 and the `otpauth://`
//! URI (Google's Key Uri Format), also drawn as a QR code in SVG so no page needs an external
//! QR service.

use qrcode::{Color, QrCode};

use super::base32;

/// Characters a URI component may carry as they are (RFC 3986 unreserved); the rest are
/// percent-encoded.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits=6&period=30",
        account = percent_encode(account),
        secret = base32::encode(secret),
    )
}

/// The URI as a QR code: a standalone SVG of dark modules on white, with the quiet zone.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = QrCode::new(uri.as_bytes()).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (index, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (index % width + quiet, index / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_issuer_and_account_percent_encoded_with_the_base32_secret() {
        let uri = otpauth_uri("Acme Corp", "ada+mfa@example.com", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Corp:ada%2Bmfa%40example.com?secret=MZXW6YTBOI&issuer=Acme%20Corp&algorithm=SHA1&digits=6&period=30"
        );
        let hostile = otpauth_uri("a:b&c=d", "x?y#z", b"k");
        assert!(
            hostile.starts_with("otpauth://totp/a%3Ab%26c%3Dd:x%3Fy%23z?"),
            "{hostile}"
        );
    }

    #[test]
    fn the_qr_code_is_a_self_contained_svg() {
        let svg = qr_svg(&otpauth_uri("Acme", "ada@example.com", &[7; 20])).expect("svg");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(
            !svg.contains("http://") || svg.matches("http://").count() == 1,
            "only the namespace"
        );
        assert!(
            svg.contains("M4 4h1v1h-1z"),
            "the finder pattern's corner, inside the quiet zone"
        );
    }
}
