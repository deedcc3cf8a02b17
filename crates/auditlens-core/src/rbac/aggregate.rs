//! Aggregated cluster roles: a cluster role with an `aggregationRule` holds the rules of every
//! other cluster role its label selectors pick, as the API server's aggregation controller keeps
//! it. The controller takes the selectors in order, the picked roles by name, and each rule once,
//! in the order first met; the result replaces the role's own rules. Roles that aggregate other
//! aggregated roles (`admin` picks `edit`, which picks `view`'s helpers) are settled by running
//! the same step until nothing changes.

use std::collections::BTreeMap;

use super::objects::{ClusterRole, LabelSelector, PolicyRule};

/// Why a label selector cannot be used (the controller then leaves the role as it is).
pub fn selector_error(selector: &LabelSelector) -> Option<String> {
    for (i, requirement) in selector.match_expressions.iter().enumerate() {
        let at = format!("matchExpressions[{i}]");
        match requirement.operator.as_str() {
            "In" | "NotIn" if requirement.values.is_empty() => {
                return Some(format!(
                    "{at}: operator {} needs at least one value",
                    requirement.operator
                ))
            }
            "Exists" | "DoesNotExist" if !requirement.values.is_empty() => {
                return Some(format!(
                    "{at}: operator {} takes no values",
                    requirement.operator
                ))
            }
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => return Some(format!("{at}: unknown operator {other:?}")),
        }
    }
    None
}

/// True when `labels` satisfy the selector. An empty selector matches every set of labels.
/// A selector with an error matches nothing (see [`selector_error`]).
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    if selector_error(selector).is_some() {
        return false;
    }
    let labels_match = selector
        .match_labels
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value));
    labels_match
        && selector.match_expressions.iter().all(|requirement| {
            let value = labels.get(&requirement.key);
            let listed = value.is_some_and(|v| requirement.values.contains(v));
            match requirement.operator.as_str() {
                "In" => listed,
                "NotIn" => !listed,
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        })
}

/// Replaces the rules of every aggregating cluster role with what it aggregates, until they
/// settle. Returns a message per role that could not be aggregated or did not settle.
pub fn aggregate(roles: &mut [ClusterRole]) -> Vec<String> {
    let mut notes = Vec::new();
    let mut by_name: Vec<usize> = (0..roles.len()).collect();
    by_name.sort_by(|&a, &b| roles[a].metadata.name.cmp(&roles[b].metadata.name));
    let aggregating: Vec<usize> = by_name
        .iter()
        .copied()
        .filter(|&i| roles[i].aggregation_rule.is_some())
        .collect();
    let mut usable = Vec::new();
    for &i in &aggregating {
        let rule = roles[i].aggregation_rule.as_ref();
        let error = rule
            .into_iter()
            .flat_map(|r| r.cluster_role_selectors.iter().enumerate())
            .find_map(|(k, s)| selector_error(s).map(|e| format!("clusterRoleSelectors[{k}].{e}")));
        match error {
            Some(error) => notes.push(format!(
                "ClusterRole \"{}\": aggregationRule.{error}; its rules are used as they are",
                roles[i].metadata.name
            )),
            None => usable.push(i),
        }
    }
    // Each round can carry rules one aggregation level further.
    for _ in 0..=roles.len() {
        let mut changed = false;
        for &i in &usable {
            let rules = aggregated_rules(roles, &by_name, i);
            if rules != roles[i].rules {
                roles[i].rules = rules;
                changed = true;
            }
        }
        if !changed {
            return notes;
        }
    }
    notes.push(
        "aggregated ClusterRoles pick each other and never settle; their last rules are used"
            .to_string(),
    );
    notes
}

/// What the controller would set as the rules of role `i`.
fn aggregated_rules(roles: &[ClusterRole], by_name: &[usize], i: usize) -> Vec<PolicyRule> {
    let mut rules: Vec<PolicyRule> = Vec::new();
    let Some(aggregation) = &roles[i].aggregation_rule else {
        return roles[i].rules.clone();
    };
    for selector in &aggregation.cluster_role_selectors {
        for &j in by_name {
            if roles[j].metadata.name == roles[i].metadata.name
                || !selector_matches(selector, &roles[j].metadata.labels)
            {
                continue;
            }
            for rule in &roles[j].rules {
                if !rules.contains(rule) {
                    rules.push(rule.clone());
                }
            }
        }
    }
    rules
}
