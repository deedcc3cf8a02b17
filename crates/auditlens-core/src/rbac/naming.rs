//! How generated objects are named and whom they bind: `auditlens:<identity>` with the identity
//! made a valid object name, unique among the identities generated together, and the subject
//! the API server saw (a ServiceAccount by namespace and name, else a User).

use std::collections::BTreeSet;

use super::authorizer::SERVICE_ACCOUNT_PREFIX;
use super::objects::Subject;

/// The subject a binding names for a username: its ServiceAccount, or the User.
pub fn subject_for(identity: &str) -> Subject {
    match identity
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .and_then(|rest| rest.split_once(':'))
    {
        Some((namespace, name))
            if !namespace.is_empty() && !name.is_empty() && !name.contains(':') =>
        {
            Subject::service_account(namespace, name)
        }
        _ => Subject::user(identity),
    }
}

/// The part of object names that stands for an identity: lowercase letters, digits, `-`, `.`
/// and `:` (`system:serviceaccount:ns1:sa1` gives `sa:ns1:sa1`).
pub fn slug(identity: &str) -> String {
    let short = identity
        .strip_prefix(SERVICE_ACCOUNT_PREFIX)
        .map(|rest| format!("sa:{rest}"))
        .unwrap_or_else(|| identity.to_string());
    let mut out = String::with_capacity(short.len());
    for c in short.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ':' | '.') {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.' || c == ':');
    let slug: String = trimmed.chars().take(200).collect();
    if slug.is_empty() {
        format!("identity-{:08x}", fnv32(identity))
    } else if slug.len() < trimmed.len() {
        // Shortened: a hash of the whole name keeps long names apart.
        format!("{slug}-{:08x}", fnv32(identity))
    } else {
        slug
    }
}

/// FNV-1a, 32 bits: a short, stable tag for a name.
pub fn fnv32(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

/// The distinct names that `generated` roles use for slugs, for callers that check
/// uniqueness.
pub fn unique_slugs<'a>(identities: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut slugs = Vec::new();
    for identity in identities {
        let mut candidate = slug(identity);
        if used.contains(&candidate) {
            candidate = format!("{candidate}-{:08x}", fnv32(identity));
        }
        let mut n = 2;
        while used.contains(&candidate) {
            candidate = format!("{}-{n}", slug(identity));
            n += 1;
        }
        used.insert(candidate.clone());
        slugs.push(candidate);
    }
    slugs
}
