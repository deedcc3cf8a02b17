//! Least-privilege RBAC over simulated traffic: every identity of a simulated cluster (control
//! plane, kubelets, add-ons, people, CI, attacks), generated and replayed against the log in
//! both directions (see `rbac_support`).

#![allow(clippy::unwrap_used)]

mod rbac_support;

use auditlens_core::rbac::{least_privilege, GenerateOptions, Selection};
use auditlens_sim::{SimConfig, Simulator};
use rbac_support::{analyze, replay};

#[test]
fn every_identity_of_a_simulated_cluster_replays_exactly() {
    let mut config = SimConfig::demo();
    config.seed = 31;
    let mut simulator = Simulator::new(config);
    let mut log = Vec::new();
    while simulator.next_line(&mut log) {}
    let analysis = analyze("simulated.log", &log);
    let options = GenerateOptions::default();
    let result = least_privilege(&analysis, &Selection::default(), &options, None);
    assert!(result.identities.len() > 30, "{}", result.identities.len());
    for identity in &result.identities {
        assert!(
            identity.notes.iter().all(|n| !n.contains("would refuse")),
            "{:?}",
            identity.notes
        );
    }
    let checked = replay(&analysis, &result, options.max_names);
    // Each allowed request, and the check behind each impersonated request (its groups'
    // checks aside, which the replay leaves to the impersonation tests).
    let allowed: u64 = result
        .identities
        .iter()
        .map(|i| i.requests.allowed + i.impersonated_by.iter().map(|a| a.count).sum::<u64>())
        .sum();
    assert_eq!(checked.allowed, allowed);
    assert!(checked.outside > 10 * checked.allowed, "{checked:?}");
}
