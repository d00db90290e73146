//! The key a per-source rate limit counts under. One IPv6 customer usually holds a whole /64 (often far more), so
//! counting single IPv6 addresses would give an attacker 2^64 buckets; IPv4 addresses count one by one.

use std::net::{IpAddr, Ipv6Addr};

/// `address` itself for IPv4, its /64 (`2001:db8:1:2::/64`) for IPv6, and the text unchanged if it is no address
/// (the counters still work; nothing is trusted from it).
pub fn rate_limit_bucket(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.to_string(),
        Ok(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let prefix = u128::from(ip) & !((1u128 << 64) - 1);
                format!("{}/64", Ipv6Addr::from(prefix))
            }
        },
        Err(_) => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_64_share_a_bucket() {
        let a = rate_limit_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(rate_limit_bucket("2001:db8:1:2::1"), a);
        assert_ne!(rate_limit_bucket("2001:db8:1:3::1"), a);
        assert_eq!(rate_limit_bucket("203.0.113.9"), "203.0.113.9");
        assert_eq!(rate_limit_bucket("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(rate_limit_bucket("not an address"), "not an address");
    }
}
