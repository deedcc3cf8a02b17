//! IP addresses as the rules judge them: whether an address can come from the internet, sets of
//! networks (CIDR blocks) with a fast membership test, and the cloud providers' published ranges.
//!
//! Addresses of both families share one number line: an IPv4 address is its IPv4-mapped IPv6
//! form (`::ffff:a.b.c.d`), so one sorted list of ranges holds both.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// An address as one number: IPv4 addresses map into `::ffff:0:0/96`.
fn number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Reads an address as logs and lists write it: surrounding spaces, `[...]` around IPv6 and a
/// zone (`%eth0`) are dropped; an IPv4-mapped IPv6 address is the IPv4 address.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let text = text.split('%').next().unwrap_or(text);
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    })
}

/// Whether an address can be the source of a request that came over the internet: not private
/// (RFC 1918, unique-local IPv6), loopback, link-local, shared (carrier-grade NAT), multicast,
/// reserved, nor one of the ranges set aside for documentation and benchmarks, which are never
/// routed (IANA's special-purpose registries).
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_global_v4(v4),
            None => is_global_v6(v6),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_documentation()
        || a >= 240
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation 2001:db8::/32
        || (first == 0x0100 && ip.segments()[1..4] == [0, 0, 0]) // discard 100::/64
        || first == 0) // ::/16 holds only the special forms (::1, ::, mapped, compatible)
}

/// A CIDR block or a single address that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (like 203.0.113.7 or 198.51.100.0/24)")]
pub struct BadNetwork(pub String);

/// A set of networks, written as CIDR blocks or single addresses, kept as sorted, merged ranges.
/// In a rules configuration it reads from and writes back to the list of strings it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct NetworkSet {
    /// The entries as written.
    entries: Vec<String>,
    /// Inclusive ranges on the common number line, sorted, not overlapping, not adjacent.
    ranges: Vec<(u128, u128)>,
}

impl NetworkSet {
    /// Reads CIDR blocks and addresses; the first that is neither is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<NetworkSet, BadNetwork> {
        let mut ranges = Vec::with_capacity(entries.len());
        for entry in entries {
            ranges.push(range_of(entry.as_ref()).ok_or_else(|| BadNetwork(entry.as_ref().into()))?);
        }
        ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        Ok(NetworkSet {
            entries: entries.iter().map(|e| e.as_ref().to_string()).collect(),
            ranges: merged,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The entries as written.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// Whether the address lies in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = number(ip);
        let after = self.ranges.partition_point(|&(start, _)| start <= x);
        after > 0 && self.ranges.get(after - 1).is_some_and(|&(_, end)| x <= end)
    }
}

impl TryFrom<Vec<String>> for NetworkSet {
    type Error = BadNetwork;

    fn try_from(entries: Vec<String>) -> Result<Self, Self::Error> {
        NetworkSet::parse(&entries)
    }
}

impl From<NetworkSet> for Vec<String> {
    fn from(set: NetworkSet) -> Self {
        set.entries
    }
}

/// The inclusive range of a CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or an address.
fn range_of(entry: &str) -> Option<(u128, u128)> {
    let (address, bits) = match entry.trim().split_once('/') {
        Some((address, bits)) => (address, Some(bits.trim().parse::<u32>().ok()?)),
        None => (entry.trim(), None),
    };
    let ip = parse_ip(address)?;
    let width = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let bits = bits.unwrap_or(width);
    if bits > width {
        return None;
    }
    let host_bits = width - bits;
    let mask = if host_bits == 0 {
        0
    } else {
        u128::MAX >> (128 - host_bits)
    };
    // An IPv4 block stays inside ::ffff:0:0/96: its mask is at most 32 bits wide.
    let start = number(ip) & !mask;
    Some((start, start | mask))
}

/// A cloud provider whose published ranges the core carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloudRanges {
    /// `aws`, `google` or `azure`.
    pub provider: &'static str,
    /// The provider's name for people.
    pub title: &'static str,
}

/// The providers' ranges: a snapshot taken on [`cloud_ranges_taken`], refreshed by
/// `scripts/refresh-cloud-ranges.py`.
const CLOUD_RANGES: &str = include_str!("../data/cloud-ranges.txt");

/// When the snapshot of the providers' ranges was taken (its `# Taken: YYYY-MM-DD` line), or
/// `"an unknown date"`.
pub fn cloud_ranges_taken() -> &'static str {
    CLOUD_RANGES
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.split_once("Taken: "))
        .and_then(|(_, rest)| rest.get(..10))
        .unwrap_or("an unknown date")
}

const PROVIDERS: [CloudRanges; 3] = [
    CloudRanges {
        provider: "aws",
        title: "AWS",
    },
    CloudRanges {
        provider: "google",
        title: "Google Cloud",
    },
    CloudRanges {
        provider: "azure",
        title: "Azure",
    },
];

/// The snapshot, read once: `[provider]` headers, then one CIDR block per line; `#` comments.
fn cloud_sets() -> &'static [(CloudRanges, NetworkSet)] {
    static SETS: OnceLock<Vec<(CloudRanges, NetworkSet)>> = OnceLock::new();
    SETS.get_or_init(|| parse_cloud_ranges(CLOUD_RANGES))
}

fn parse_cloud_ranges(text: &str) -> Vec<(CloudRanges, NetworkSet)> {
    let mut sections: Vec<(CloudRanges, Vec<&str>)> = Vec::new();
    // Lines under a header the core does not know are skipped.
    let mut known = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let provider = PROVIDERS.iter().find(|p| p.provider == name);
            known = provider.is_some();
            if let Some(provider) = provider {
                sections.push((*provider, Vec::new()));
            }
            continue;
        }
        if let (true, Some((_, entries))) = (known, sections.last_mut()) {
            entries.push(line);
        }
    }
    sections
        .into_iter()
        .map(|(provider, entries)| {
            // An entry that does not read is skipped rather than losing the provider.
            let good: Vec<&str> = entries
                .into_iter()
                .filter(|e| range_of(e).is_some())
                .collect();
            let set = NetworkSet::parse(&good).unwrap_or_default();
            (provider, set)
        })
        .collect()
}

/// The cloud provider whose published ranges hold the address, if any.
pub fn cloud_provider_of(ip: IpAddr) -> Option<CloudRanges> {
    cloud_sets()
        .iter()
        .find(|(_, set)| set.contains(ip))
        .map(|(provider, _)| *provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        parse_ip(text).unwrap()
    }

    #[test]
    fn addresses_read_as_logs_write_them() {
        assert_eq!(ip(" 10.1.2.3 "), IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(ip("::ffff:8.8.8.8"), IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!(
            ip("[2001:db8::1]"),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(ip("fe80::1%eth0"), "fe80::1".parse::<IpAddr>().unwrap());
        assert!(parse_ip("10.1.2").is_none());
        assert!(parse_ip("").is_none());
        assert!(parse_ip("example.com").is_none());
    }

    #[test]
    fn only_routable_addresses_are_global() {
        for public in [
            "8.8.8.8",
            "45.33.12.9",
            "185.220.101.4",
            "2a01:4f8::1",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_global(ip(public)), "{public}");
        }
        for local in [
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "192.0.0.8",
            "192.0.2.91",
            "198.51.100.7",
            "203.0.113.10",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "2001:db8::5",
            "ff02::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_global(ip(local)), "{local}");
        }
        // The edges of the blocks.
        assert!(is_global(ip("172.32.0.1")));
        assert!(is_global(ip("100.128.0.1")));
        assert!(is_global(ip("198.20.0.1")));
        assert!(is_global(ip("11.0.0.1")));
    }

    #[test]
    fn network_sets_hold_their_blocks_and_nothing_else() {
        let set = NetworkSet::parse(&[
            "198.51.100.0/24",
            "203.0.113.7",
            "2001:db8:1::/48",
            "10.0.0.0/8",
            "10.1.0.0/16",
        ])
        .unwrap();
        assert!(set.contains(ip("198.51.100.0")));
        assert!(set.contains(ip("198.51.100.255")));
        assert!(!set.contains(ip("198.51.101.0")));
        assert!(!set.contains(ip("198.51.99.255")));
        assert!(set.contains(ip("203.0.113.7")));
        assert!(!set.contains(ip("203.0.113.8")));
        assert!(!set.contains(ip("203.0.113.6")));
        assert!(set.contains(ip("10.1.2.3")));
        assert!(set.contains(ip("2001:db8:1:ffff::1")));
        assert!(!set.contains(ip("2001:db8:2::1")));
        // An IPv4 block never holds IPv6 addresses outside the mapped range, and back.
        assert!(!set.contains(ip("::a00:1")));
        assert_eq!(set.entries().len(), 5);
        assert!(NetworkSet::parse(&["0.0.0.0/0"])
            .unwrap()
            .contains(ip("8.8.8.8")));
        assert!(!NetworkSet::parse(&["0.0.0.0/0"])
            .unwrap()
            .contains(ip("2a01::1")));
        assert!(NetworkSet::parse(&["::/0"])
            .unwrap()
            .contains(ip("2a01::1")));
        assert!(NetworkSet::default().is_empty());
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "tor",
            "1.2.3.4/x",
            "/8",
        ] {
            assert_eq!(
                NetworkSet::parse(&[bad]),
                Err(BadNetwork(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn adjacent_and_nested_blocks_merge() {
        let set = NetworkSet::parse(&["10.0.0.0/25", "10.0.0.128/25", "10.0.0.5"]).unwrap();
        assert_eq!(set.ranges.len(), 1);
        assert!(set.contains(ip("10.0.0.200")));
        assert!(!set.contains(ip("10.0.1.0")));
    }

    #[test]
    fn the_snapshot_names_each_provider_and_their_own_addresses() {
        let sets = cloud_sets();
        let names: Vec<&str> = sets.iter().map(|(p, _)| p.provider).collect();
        assert_eq!(names, ["aws", "google", "azure"]);
        for (provider, set) in sets {
            assert!(
                set.ranges.len() > 10,
                "{}: {}",
                provider.provider,
                set.ranges.len()
            );
        }
        // Every line of the snapshot reads: none was dropped as unreadable.
        let lines = CLOUD_RANGES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
            .count();
        let entries: usize = sets.iter().map(|(_, s)| s.entries().len()).sum();
        assert_eq!(lines, entries);
        assert_eq!(cloud_ranges_taken(), "2026-08-22");
        // Well-known addresses: an EC2 instance, a Google Cloud one, an Azure one.
        assert_eq!(
            cloud_provider_of(ip("3.5.140.2")).map(|p| p.provider),
            Some("aws")
        );
        assert_eq!(
            cloud_provider_of(ip("34.64.0.1")).map(|p| p.provider),
            Some("google")
        );
        assert_eq!(
            cloud_provider_of(ip("20.36.0.1")).map(|p| p.provider),
            Some("azure")
        );
        assert_eq!(cloud_provider_of(ip("45.33.12.9")), None);
        assert_eq!(cloud_provider_of(ip("185.220.101.4")), None);
    }

    #[test]
    fn a_damaged_snapshot_keeps_what_reads() {
        let sets = parse_cloud_ranges(
            "# x\n[aws]\n3.0.0.0/15\nnot-a-block\n[moon]\n1.2.3.0/24\n[azure]\n",
        );
        assert_eq!(sets.len(), 2);
        assert!(sets[0].1.contains(ip("3.1.2.3")));
        assert!(
            !sets[0].1.contains(ip("1.2.3.4")),
            "lines under an unknown header count"
        );
        assert!(sets[1].1.is_empty());
    }
}
