//! Whether one rule allows one request: the API server's matching of verbs, API groups,
//! resources (with `*` and `*/subresource`), resource names and non-resource URLs (with a
//! trailing `*`), exactly as its RBAC authorizer does it. Matching is case-sensitive and knows
//! no other patterns: `get` is not `GET`, `pod*` is not a prefix.

use super::objects::PolicyRule;

/// What the authorizer is asked about one request: who, which verb, on what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes<'a> {
    pub user: &'a str,
    pub groups: Vec<&'a str>,
    pub verb: &'a str,
    /// Empty for cluster-scoped requests and non-resource URLs.
    pub namespace: &'a str,
    /// A request for a resource (else for a non-resource URL such as `/healthz`).
    pub resource_request: bool,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    /// Empty when the request names no object (list, watch, create, deletecollection).
    pub name: &'a str,
    /// The URL path of a non-resource request, without its query.
    pub path: &'a str,
}

impl<'a> Attributes<'a> {
    /// A resource request.
    pub fn resource(
        user: &'a str,
        verb: &'a str,
        api_group: &'a str,
        resource: &'a str,
        namespace: &'a str,
        name: &'a str,
    ) -> Self {
        Attributes {
            user,
            verb,
            api_group,
            resource,
            namespace,
            name,
            resource_request: true,
            ..Attributes::default()
        }
    }

    /// A non-resource request.
    pub fn non_resource(user: &'a str, verb: &'a str, path: &'a str) -> Self {
        Attributes {
            user,
            verb,
            path,
            ..Attributes::default()
        }
    }

    pub fn with_groups(mut self, groups: &[&'a str]) -> Self {
        self.groups = groups.to_vec();
        self
    }

    pub fn with_subresource(mut self, subresource: &'a str) -> Self {
        self.subresource = subresource;
        self
    }

    /// `pods`, `pods/log`, or the path of a non-resource request.
    pub fn resource_label(&self) -> String {
        if !self.resource_request {
            self.path.to_string()
        } else if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

pub fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| g == "*" || g == group)
}

/// `combined` is `resource` or `resource/subresource`; `subresource` is empty for none.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

pub fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// True when `rule` allows the request (whoever asks: subjects are the bindings' business).
pub fn rule_allows(attributes: &Attributes<'_>, rule: &PolicyRule) -> bool {
    if !verb_matches(rule, attributes.verb) {
        return false;
    }
    if !attributes.resource_request {
        return non_resource_url_matches(rule, attributes.path);
    }
    let combined;
    let resource = if attributes.subresource.is_empty() {
        attributes.resource
    } else {
        combined = format!("{}/{}", attributes.resource, attributes.subresource);
        &combined
    };
    api_group_matches(rule, attributes.api_group)
        && resource_matches(rule, resource, attributes.subresource)
        && resource_name_matches(rule, attributes.name)
}
