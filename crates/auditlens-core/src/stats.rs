//! Counts of requests by identity, verb, resource, namespace, response code and client: the
//! first look at an unfamiliar log (`auditlens stats`).

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::Analysis;

/// One value and how many requests had it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: String,
    pub count: u64,
}

/// The most frequent values of each dimension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub identities: Vec<Count>,
    pub verbs: Vec<Count>,
    pub resources: Vec<Count>,
    pub namespaces: Vec<Count>,
    pub codes: Vec<Count>,
    pub clients: Vec<Count>,
}

/// Counts every request; each list keeps its `top` most frequent values (ties by value).
pub fn compute(analysis: &Analysis, top: usize) -> Stats {
    let interner = analysis.interner();
    let mut identities = Tally::default();
    let mut verbs = Tally::default();
    let mut resources = Tally::default();
    let mut namespaces = Tally::default();
    let mut codes = Tally::default();
    let mut clients = Tally::default();
    for event in analysis.requests() {
        identities.add(interner.resolve(event.effective_user()));
        verbs.add(interner.resolve(event.verb));
        resources.add(&event.resource_label(interner));
        namespaces.add(match interner.resolve(event.namespace) {
            "" => "(cluster)",
            ns => ns,
        });
        codes.add(&match event.code {
            0 => "(none)".to_string(),
            code => code.to_string(),
        });
        clients.add(match interner.resolve(event.client) {
            "" => "(none)",
            client => client,
        });
    }
    Stats {
        requests: analysis.requests().len() as u64,
        identities: identities.top(top),
        verbs: verbs.top(top),
        resources: resources.top(top),
        namespaces: namespaces.top(top),
        codes: codes.top(top),
        clients: clients.top(top),
    }
}

#[derive(Default)]
struct Tally(HashMap<String, u64>);

impl Tally {
    fn add(&mut self, value: &str) {
        match self.0.get_mut(value) {
            Some(count) => *count += 1,
            None => {
                self.0.insert(value.to_string(), 1);
            }
        }
    }

    fn top(self, n: usize) -> Vec<Count> {
        #[allow(clippy::iter_over_hash_type)] // sorted right below
        let mut counts: Vec<Count> = self
            .0
            .into_iter()
            .map(|(value, count)| Count { value, count })
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        counts.truncate(n);
        counts
    }
}
