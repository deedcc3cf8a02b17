//! Least privilege from observed behaviour: RBAC that grants what each identity used, and what
//! it holds but never uses.
//!
//! ```text
//! Analysis ─▶ observe  (per identity: what the authorizer was asked, allowed or refused)
//!                │
//!                ├─▶ generate ─▶ Role/ClusterRole + bindings covering the allowed requests
//!                │                 └─▶ Authorizer over them: refused requests it would allow
//!                └─▶ compare  ─▶ with the granted RBAC (Policy from a file, Authorizer):
//!                                  unused permissions, over-privilege, flags, requests
//!                                  another authorizer allowed
//! report ─▶ one serde schema (CLI --format json, the page)   yaml ─▶ applicable manifest
//! ```
//!
//! The [`Authorizer`] follows the API server's RBAC authorizer rule for rule ([`matching`]
//! for one rule, [`authorizer`] for bindings and subjects, [`aggregate`] for aggregated
//! cluster roles); its tests are the API server's own cases as data
//! (`tests/fixtures/rbac/authorizer-cases.yaml`). Generation and comparison use it: the
//! generated RBAC is replayed against the identity's refused requests, and the granted RBAC
//! against its allowed ones.
//!
//! This module is not [`crate::rules::rbac`], the detection rules about changes to RBAC
//! objects in the logs.

pub mod aggregate;
pub mod authorizer;
pub mod catalog;
pub mod compare;
pub mod flags;
pub mod generate;
pub mod matching;
pub mod naming;
pub mod objects;
pub mod observe;
pub mod policy;
pub mod report;
pub mod validate;
pub mod yaml;

pub use authorizer::{Authorizer, Decision};
pub use generate::GenerateOptions;
pub use matching::Attributes;
pub use objects::{Object, PolicyRule};
pub use observe::{Outcome, Selection};
pub use policy::{ParsedPolicy, Policy};
pub use report::{least_privilege, Granted, IdentityPrivilege, LeastPrivilege};

/// A file of RBAC objects that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RbacError {
    message: String,
}

impl RbacError {
    pub fn new(message: impl Into<String>) -> RbacError {
        RbacError {
            message: message.into(),
        }
    }
}
