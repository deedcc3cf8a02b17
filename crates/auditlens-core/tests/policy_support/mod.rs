//! What the policy semantics tests share: a request as the API server's tests write one, and
//! policies built from rules.

#![allow(dead_code)]

use std::borrow::Cow;

use auditlens_core::policy::{Groups, PolicyFile, RequestAttributes};

/// A request, as the server's tests write `authorizer.AttributesRecord`.
#[derive(Clone, Copy)]
pub struct Req {
    pub user: Option<&'static str>,
    pub groups: &'static [&'static str],
    pub verb: &'static str,
    pub resource_request: bool,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: &'static str,
    pub namespace: &'static str,
    pub name: &'static str,
    pub path: &'static str,
}

impl Req {
    pub fn attributes(&self) -> RequestAttributes<'static> {
        RequestAttributes {
            user: self.user,
            groups: Groups::Strs(self.groups),
            verb: self.verb,
            resource_request: self.resource_request,
            api_group: self.group,
            resource: self.resource,
            subresource: self.subresource,
            namespace: self.namespace,
            name: self.name,
            path: Cow::Borrowed(self.path),
        }
    }
}

pub fn with_rules(rules: &str) -> String {
    format!("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n{rules}")
}

pub fn refusals(file: &PolicyFile) -> String {
    file.refused
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
