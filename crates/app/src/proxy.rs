//! The client's address behind trusted reverse proxies, as the login throttle counts it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The address the login throttle counts for a request from `peer`.
///
/// Forwarding headers are read only when the TCP peer is a trusted proxy; then the client is
/// the right-most entry that is not a trusted proxy (the one the last trusted hop saw), since
/// everything left of it was written by the client and may be forged. `X-Forwarded-For` and
/// `Forwarded` are both read: a proxy appends to one of them, and a client could forge the
/// other, so when both name a client and they differ, the peer itself is counted (a forger
/// only ends up sharing the proxy's counters, never in someone else's). Addresses are
/// bucketed: IPv6 by /64, the block one subscriber usually holds.
#[must_use]
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<String> {
    let peer = peer.map(canonical)?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(bucket(peer));
    }
    let from_xff =
        chain(headers, "x-forwarded-for", xff_entries).map(|c| rightmost(&c, &is_trusted));
    let from_fwd =
        chain(headers, "forwarded", forwarded_entries).map(|c| rightmost(&c, &is_trusted));
    let client = match (from_xff, from_fwd) {
        (Some(a), Some(b)) if a == b => a,
        (Some(_), Some(_)) => None,
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => None,
    };
    Some(bucket(client.unwrap_or(peer)))
}

/// Every value of header `name`, in order, split into entries by `split`; `None` when absent.
fn chain(
    headers: &HeaderMap,
    name: &str,
    split: fn(&str) -> Vec<Option<IpAddr>>,
) -> Option<Vec<Option<IpAddr>>> {
    let mut values = headers.get_all(name).peekable();
    values.peek()?;
    Some(
        values
            // An unreadable value is an entry that is not an address.
            .flat_map(|v| v.to_str().map_or_else(|_| vec![None], split))
            .collect(),
    )
}

/// The right-most entry that is not a trusted proxy; `None` when that entry is not an
/// address (`unknown`, an obfuscated name), so that the peer is counted instead. When every
/// entry is trusted, the left-most.
fn rightmost(chain: &[Option<IpAddr>], is_trusted: &impl Fn(&IpAddr) -> bool) -> Option<IpAddr> {
    for entry in chain.iter().rev() {
        match entry {
            Some(ip) if is_trusted(ip) => {}
            other => return *other,
        }
    }
    chain.first().copied().flatten()
}

fn xff_entries(value: &str) -> Vec<Option<IpAddr>> {
    value.split(',').map(|e| parse_node(e.trim())).collect()
}

/// `for=` of each element of a `Forwarded` header (RFC 7239); an element without one is not
/// an address.
fn forwarded_entries(value: &str) -> Vec<Option<IpAddr>> {
    value
        .split(',')
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (name, node) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_node(node.trim().trim_matches('"')))
                    .flatten()
            })
        })
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711` or `[2001:db8::1]`.
fn parse_node(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
        })
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// An IPv4 address as it is; an IPv6 address as its /64, which one subscriber usually holds
/// whole (counting single IPv6 addresses would give an attacker endless fresh counters).
fn bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| IpNet::from(n.parse::<IpAddr>().unwrap()))
            })
            .collect()
    }

    fn client(peer: &str, pairs: &[(&str, &str)], trusted: &[&str]) -> String {
        client_address(Some(peer.parse().unwrap()), &headers(pairs), &nets(trusted)).unwrap()
    }

    #[test]
    fn headers_from_a_peer_that_is_not_trusted_are_ignored() {
        let forged = [
            ("x-forwarded-for", "198.51.100.9"),
            ("forwarded", "for=198.51.100.9"),
        ];
        assert_eq!(client("203.0.113.7", &forged, &[]), "203.0.113.7");
        assert_eq!(
            client("203.0.113.7", &forged, &["10.0.0.0/8"]),
            "203.0.113.7"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        // The client forged the first entry; the proxy appended the address it saw.
        let xff = [("x-forwarded-for", "198.51.100.9, 203.0.113.7, 10.0.0.3")];
        assert_eq!(client("10.0.0.2", &xff, &trusted), "203.0.113.7");
        let two_headers = [
            ("x-forwarded-for", "198.51.100.9"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client("10.0.0.2", &two_headers, &trusted), "203.0.113.7");
        let fwd = [(
            "forwarded",
            r#"for=198.51.100.9, For="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.3"#,
        )];
        assert_eq!(client("10.0.0.2", &fwd, &trusted), "2001:db8:cafe::/64");
        assert_eq!(client("10.0.0.2", &[], &trusted), "10.0.0.2");
        let all_trusted = [("x-forwarded-for", "10.0.0.9, 10.0.0.3")];
        assert_eq!(client("10.0.0.2", &all_trusted, &trusted), "10.0.0.9");
    }

    #[test]
    fn a_forged_second_header_or_a_non_address_entry_falls_back_to_the_peer() {
        let trusted = ["10.0.0.2"];
        let both = [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=198.51.100.9"),
        ];
        assert_eq!(client("10.0.0.2", &both, &trusted), "10.0.0.2");
        let agreeing = [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7"),
        ];
        assert_eq!(client("10.0.0.2", &agreeing, &trusted), "203.0.113.7");
        let hidden = [("x-forwarded-for", "203.0.113.7, unknown")];
        assert_eq!(client("10.0.0.2", &hidden, &trusted), "10.0.0.2");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            client("2001:db8:1:2:aaaa::1", &[], &[]),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client("2001:db8:1:2:bbbb::9", &[], &[]),
            "2001:db8:1:2::/64"
        );
        assert_eq!(client("::ffff:192.0.2.1", &[], &[]), "192.0.2.1");
        let xff = [("x-forwarded-for", "192.0.2.1:4711")];
        assert_eq!(client("::1", &xff, &["::1"]), "192.0.2.1");
    }
}
