//! Whether every request a rule matches is matched by an earlier rule, which then decides for
//! it: the later rule never applies.
//!
//! Coverage is decided field by field, and a rule is compared with each earlier rule on its
//! own (not with several together), so a rule reported as shadowed surely is, and one that two
//! earlier rules cover only between them is not reported.

use super::PolicyRule;

/// The first earlier rule that takes every request `rules[index]` would match.
pub fn shadowed_by(rules: &[PolicyRule], index: usize) -> Option<usize> {
    let later = rules.get(index)?;
    rules[..index]
        .iter()
        .position(|earlier| covers(earlier, later))
}

/// True when every request `later` matches is matched by `earlier`.
pub fn covers(earlier: &PolicyRule, later: &PolicyRule) -> bool {
    list_covers(&earlier.users, &later.users)
        && list_covers(&earlier.user_groups, &later.user_groups)
        && list_covers(&earlier.verbs, &later.verbs)
        && scope_covers(earlier, later)
}

/// An empty list matches anything; otherwise `later` must list only values `earlier` lists.
fn list_covers(earlier: &[String], later: &[String]) -> bool {
    earlier.is_empty() || (!later.is_empty() && later.iter().all(|v| earlier.contains(v)))
}

fn scope_covers(earlier: &PolicyRule, later: &PolicyRule) -> bool {
    if earlier.is_unscoped() {
        return true;
    }
    if later.is_unscoped() {
        return false;
    }
    let earlier_resources = !earlier.resources.is_empty() || !earlier.namespaces.is_empty();
    let later_resources = !later.resources.is_empty() || !later.namespaces.is_empty();
    if earlier_resources != later_resources {
        return false;
    }
    if !earlier_resources {
        return later.non_resource_urls.iter().all(|url| {
            earlier
                .non_resource_urls
                .iter()
                .any(|spec| url_covers(spec, url))
        });
    }
    if !list_covers(&earlier.namespaces, &later.namespaces) {
        return false;
    }
    if earlier.resources.is_empty() {
        return true;
    }
    if later.resources.is_empty() {
        // Every resource of every group: only an entry for all of them covers that.
        return earlier.resources.iter().any(|e| {
            e.group == "*" && (e.resources.is_empty() || e.resources.iter().any(|r| r == "*"))
        });
    }
    later.resources.iter().all(|l| {
        earlier.resources.iter().any(|e| {
            let group = e.group == "*" || (e.group == l.group && l.group != "*");
            let resources = e.resources.is_empty()
                || (!l.resources.is_empty()
                    && (e.resource_names.is_empty()
                        || (!l.resource_names.is_empty()
                            && l.resource_names
                                .iter()
                                .all(|n| e.resource_names.contains(n))))
                    && l.resources
                        .iter()
                        .all(|p| e.resources.iter().any(|q| pattern_covers(q, p))));
            group && resources
        })
    })
}

/// True when every resource or subresource `later` matches, `earlier` matches.
fn pattern_covers(earlier: &str, later: &str) -> bool {
    if earlier == "*" || earlier == later {
        return true;
    }
    if let Some(resource) = earlier.strip_suffix("/*") {
        let base = later.split('/').next().unwrap_or(later);
        return base == resource && resource != "*";
    }
    if let Some(sub) = earlier.strip_prefix("*/") {
        return later.split_once('/').is_some_and(|(_, s)| s == sub);
    }
    false
}

/// True when every path `later` matches, `earlier` matches.
fn url_covers(earlier: &str, later: &str) -> bool {
    if earlier == "*" || earlier == later {
        return true;
    }
    if later == "*" {
        return false;
    }
    match earlier.strip_suffix('*') {
        Some(_) => later.starts_with(earlier.trim_end_matches('*')),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_what_they_match() {
        assert!(pattern_covers("*", "pods/log"));
        assert!(pattern_covers("pods/*", "pods"));
        assert!(pattern_covers("pods/*", "pods/exec"));
        assert!(pattern_covers("*/status", "nodes/status"));
        assert!(!pattern_covers("*/status", "nodes"));
        assert!(!pattern_covers("pods", "pods/log"));
        assert!(!pattern_covers("pods/*", "podtemplates"));
        assert!(url_covers("/logs*", "/logs/kubelet*"));
        assert!(url_covers("/healthz*", "/healthz"));
        assert!(!url_covers("/healthz", "/healthz*"));
        assert!(!url_covers("/a*", "*"));
    }
}
