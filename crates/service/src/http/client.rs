//! Who sent a request: the source IP and user agent, for per-IP limits and audit events.
//!
//! The source IP is what API Gateway saw: `requestContext.http.sourceIp` (HTTP API) or
//! `requestContext.identity.sourceIp` (REST). `X-Forwarded-For` is anyone's to write, so it is
//! read only when `TRUSTED_PROXY_HOPS` says how many proxies of ours (CloudFront, a load
//! balancer) stand in front of API Gateway, and only on a request that proves it came through
//! them: our proxy adds `X-Origin-Verify` with a secret (`PROXY_ORIGIN_SECRET`, read at init),
//! compared in constant time. API Gateway's endpoint can be called directly, skipping the
//! proxy; such a request is the address API Gateway saw. Then the client is the address the
//! outermost proxy appended, `hops` entries from the right, never an entry the client wrote.

use std::net::{IpAddr, SocketAddr};

use std::sync::Arc;

use http::{HeaderMap, header};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Longest user agent kept (audit lines, session device details).
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// The header our proxy adds to prove a request came through it.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

/// Where `X-Forwarded-For` may be believed.
#[derive(Debug, Clone, Default)]
pub struct SourcePolicy {
    /// Proxies of ours in front of API Gateway; 0 ignores `X-Forwarded-For`.
    pub trusted_proxy_hops: usize,
    /// The value our proxy sends in [`ORIGIN_VERIFY_HEADER`]; required with hops.
    pub origin_secret: Option<Arc<SecretString>>,
}

impl SourcePolicy {
    /// Whether the request carries our proxy's secret header (compared in constant time).
    fn came_through_proxy(&self, headers: &HeaderMap) -> bool {
        let Some(secret) = &self.origin_secret else {
            return false;
        };
        let mut values = headers.get_all(ORIGIN_VERIFY_HEADER).iter();
        match (values.next(), values.next()) {
            (Some(value), None) => value
                .as_bytes()
                .ct_eq(secret.expose_secret().as_bytes())
                .into(),
            _ => false,
        }
    }
}

/// The client of one request, as far as it can be known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The device details a session records.
    pub fn device(&self) -> crate::store::Device {
        crate::store::Device {
            user_agent: self.user_agent.clone(),
            ip_address: self.ip.map(|ip| ip.to_string()),
        }
    }
}

impl SourcePolicy {
    pub fn client(&self, request: &Request) -> ClientInfo {
        let (source_ip, context_agent) = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(context)) => (
                context.http.source_ip.as_deref(),
                context.http.user_agent.as_deref(),
            ),
            Some(RequestContext::ApiGatewayV1(context)) => (
                context.identity.source_ip.as_deref(),
                context.identity.user_agent.as_deref(),
            ),
            _ => (None, None),
        };
        let source_ip = source_ip.and_then(parse_address);
        let header_agent = request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok());
        ClientInfo {
            ip: self.client_ip(source_ip, request.headers()),
            user_agent: header_agent.or(context_agent).map(bounded_user_agent),
        }
    }

    /// The client address given API Gateway's `source_ip` and the forwarded chain.
    pub fn client_ip(&self, source_ip: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        if self.trusted_proxy_hops == 0 || !self.came_through_proxy(headers) {
            return source_ip;
        }
        let mut chain: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        // API Gateway appends the address it saw (our outermost proxy's) itself.
        if let (Some(last), Some(source)) = (chain.last(), source_ip)
            && parse_address(last) == Some(source)
        {
            chain.pop();
        }
        let from_right = chain.len().checked_sub(self.trusted_proxy_hops);
        // A chain shorter than the hops our proxies add means a misconfiguration: fall back to
        // what API Gateway saw rather than guess.
        from_right
            .and_then(|index| chain.get(index))
            .and_then(|entry| parse_address(entry))
            .or(source_ip)
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, with or without a port
/// (`203.0.113.7:443`, `[2001:db8::1]:443`). IPv4-mapped IPv6 is the IPv4 address.
pub fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let ip = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))?;
    Some(ip.to_canonical())
}

fn bounded_user_agent(agent: &str) -> String {
    agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_USER_AGENT_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    const ORIGIN_SECRET: &str = "the-proxy-origin-secret-of-32-bytes-or-more";

    /// A chain as our proxy forwards it: with its secret header.
    fn forwarded(chain: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(chain) {
            headers.insert("x-forwarded-for", value);
        }
        headers.insert(
            ORIGIN_VERIFY_HEADER,
            HeaderValue::from_static(ORIGIN_SECRET),
        );
        headers
    }

    fn behind(hops: usize) -> SourcePolicy {
        SourcePolicy {
            trusted_proxy_hops: hops,
            origin_secret: Some(Arc::new(SecretString::from(ORIGIN_SECRET))),
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        parse_address(text)
    }

    #[test]
    fn without_trusted_hops_the_forwarded_chain_is_ignored() {
        let policy = SourcePolicy::default();
        let headers = forwarded("198.51.100.1, 203.0.113.9");
        assert_eq!(
            policy.client_ip(ip("203.0.113.9"), &headers),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn one_trusted_hop_takes_the_address_our_proxy_appended() {
        let policy = behind(1);
        // spoofed by the client, the viewer as CloudFront saw it, CloudFront as API Gateway saw it
        let headers = forwarded("10.0.0.1, 198.51.100.7, 203.0.113.9");
        assert_eq!(
            policy.client_ip(ip("203.0.113.9"), &headers),
            ip("198.51.100.7")
        );
        // Without API Gateway's own entry the chain means the same.
        let headers = forwarded("10.0.0.1, 198.51.100.7");
        assert_eq!(
            policy.client_ip(ip("203.0.113.9"), &headers),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_request_that_skipped_the_proxy_is_the_address_api_gateway_saw() {
        let policy = behind(1);
        let source = ip("203.0.113.9");
        let mut headers = forwarded("10.0.0.1, 198.51.100.7");
        for wrong in [
            None,
            Some("the-proxy-origin-secret-of-32-bytes-or-mor"),
            Some("the-proxy-origin-secret-of-32-bytes-or-more!"),
            Some(""),
        ] {
            headers.remove(ORIGIN_VERIFY_HEADER);
            if let Some(wrong) = wrong {
                headers.insert(ORIGIN_VERIFY_HEADER, HeaderValue::from_static(wrong));
            }
            assert_eq!(policy.client_ip(source, &headers), source, "{wrong:?}");
        }
        // Two values (the client's and ours) prove nothing.
        let mut twice = forwarded("198.51.100.7");
        twice.append(
            ORIGIN_VERIFY_HEADER,
            HeaderValue::from_static(ORIGIN_SECRET),
        );
        assert_eq!(policy.client_ip(source, &twice), source);
        // Without a configured secret nothing is believed.
        let unconfigured = SourcePolicy {
            trusted_proxy_hops: 1,
            origin_secret: None,
        };
        assert_eq!(
            unconfigured.client_ip(source, &forwarded("198.51.100.7")),
            source
        );
    }

    #[test]
    fn a_short_or_garbled_chain_falls_back_to_the_source_ip() {
        let policy = behind(2);
        let source = ip("203.0.113.9");
        assert_eq!(policy.client_ip(source, &forwarded("198.51.100.7")), source);
        assert_eq!(
            policy.client_ip(source, &forwarded("not-an-ip, 198.51.100.7")),
            source
        );
        assert_eq!(policy.client_ip(source, &HeaderMap::new()), source);
    }

    #[test]
    fn addresses_with_ports_and_mapped_ipv4_are_understood() {
        assert_eq!(ip("203.0.113.7:443"), ip("203.0.113.7"));
        assert_eq!(ip("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(ip("::ffff:203.0.113.7"), ip("203.0.113.7"));
        assert_eq!(ip("2001:db8::zz"), None);
    }

    #[test]
    fn user_agents_are_bounded_and_control_free() {
        let agent = bounded_user_agent(&format!("a\nb\u{7}{}", "é".repeat(400)));
        assert!(agent.starts_with("ab"));
        assert_eq!(agent.chars().count(), MAX_USER_AGENT_CHARS);
    }

    proptest! {
        #[test]
        fn any_forwarded_header_gives_an_address_of_the_chain_or_the_source(
            chain in ".{0,200}",
            hops in 0usize..5,
        ) {
            let policy = behind(hops);
            let source = ip("203.0.113.9");
            let headers = forwarded(&chain);
            let found = policy.client_ip(source, &headers);
            let in_chain = chain.split(',').filter_map(parse_address).any(|entry| Some(entry) == found);
            prop_assert!(found == source || in_chain);
        }

        #[test]
        fn any_text_parses_without_panicking(text in ".{0,64}") {
            let _ = parse_address(&text);
            let _ = bounded_user_agent(&text);
        }
    }
}
