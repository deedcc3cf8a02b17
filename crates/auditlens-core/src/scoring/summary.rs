//! Identity profiles for people: what the baseline says is normal for each identity, in the
//! output schema ([`IdentityProfile`]) that the CLI and the page show next to its findings.

use std::collections::BTreeMap;

use crate::baseline::profile::{Dim, DistinctDim, Profile};
use crate::baseline::Model;
use crate::identity;
use crate::intern::Interner;
use crate::report::{Finding, IdentityProfile, Incident, Severity, ValueCount};
use crate::time::format_rfc3339;

/// Values listed per dimension.
const TOP: usize = 5;

fn top_values(p: &Profile, dim: Dim, interner: &Interner) -> Vec<ValueCount> {
    let mut out: Vec<ValueCount> = p
        .dim(dim)
        .entries()
        .iter()
        .map(|e| ValueCount {
            value: match interner.resolve(e.key.0) {
                "" if dim == Dim::Namespace => "(cluster-wide)".to_string(),
                v => v.to_string(),
            },
            count: e.count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(TOP);
    out
}

/// One profile per identity, sorted by username.
pub fn profiles(
    model: &Model,
    interner: &Interner,
    findings: &[Finding],
    incidents: &[Incident],
) -> Vec<IdentityProfile> {
    // Per actor: findings, highest severity; incidents by actor.
    let mut per_identity: BTreeMap<&str, (u32, Option<Severity>)> = BTreeMap::new();
    for f in findings {
        let actor = if f.actor.is_empty() {
            f.identity.as_str()
        } else {
            f.actor.as_str()
        };
        let entry = per_identity.entry(actor).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(Some(f.severity));
    }
    let mut incident_counts: BTreeMap<&str, u32> = BTreeMap::new();
    for i in incidents {
        *incident_counts.entry(i.identity.as_str()).or_default() += 1;
    }
    let mut out: Vec<IdentityProfile> = model
        .identities
        .iter()
        .map(|r| {
            let p = &r.profile;
            let name = interner.resolve(r.user);
            let (findings, max_severity) = per_identity.get(name).copied().unwrap_or_default();
            let any = p.requests > 0;
            let denied = p.responses[4] + p.responses[5];
            IdentityProfile {
                identity: name.to_string(),
                canonical: identity::canonical(name, r.kind),
                class: r.class.as_str().to_string(),
                peer_group: interner.resolve(r.group).to_string(),
                requests: p.requests,
                first: any.then(|| format_rfc3339(p.first)),
                last: any.then(|| format_rfc3339(p.last)),
                active_hours: p
                    .active_hours(0.95)
                    .map(|(from, to)| format!("{from:02}-{to:02}")),
                verbs: top_values(p, Dim::Verb, interner),
                resources: top_values(p, Dim::Resource, interner),
                namespaces: top_values(p, Dim::Namespace, interner),
                source_ips: top_values(p, Dim::SourceIp, interner),
                clients: top_values(p, Dim::Client, interner),
                distinct_source_ips: p.distinct[DistinctDim::SourceIps as usize].estimate(),
                distinct_namespaces: p.distinct[DistinctDim::Namespaces as usize].estimate(),
                distinct_resources: p.distinct[DistinctDim::Resources as usize].estimate(),
                denied_share: if any {
                    denied as f64 / p.requests as f64
                } else {
                    0.0
                },
                findings,
                incidents: incident_counts.get(name).copied().unwrap_or(0),
                max_severity,
            }
        })
        .collect();
    out.sort_by(|a, b| a.identity.cmp(&b.identity));
    out
}
