//! The rule configuration a user supplies: which rules run, and what the site trusts or allows.
//!
//! A small TOML (or JSON) document, read by the CLI (`--config`) and by the page, parsed here so
//! both front ends accept exactly the same files:
//!
//! ```toml
//! disabled = ["k8s.activity", "k8s.pod.exec"]   # rule ids, or a family prefix
//! enabled = ["k8s.identity.default_admin"]       # rules that are off unless asked for
//!
//! [trusted]                                      # hits involving these are not reported
//! images = ["registry.example.com/agents/*"]
//! identities = ["system:serviceaccount:ci:deployer"]
//! namespaces = ["sandbox-*"]
//! networks = ["198.51.100.0/24"]                 # system identities may act from these
//!
//! [allowed]                                      # site policy: a list switches its rule on
//! users = ["alice@example.com", "deploy-bot"]
//! images = ["registry.example.com/*"]
//! namespaces = ["default", "kube-system", "kube-public", "shop"]
//! nodes = ["node-*"]
//!
//! [[exceptions]]                                 # narrower: these rules, these requests
//! rules = ["k8s.pod.exec"]
//! identities = ["oncall@example.com"]
//! namespaces = ["staging"]
//!
//! [[indicators]]                                 # requests from these are findings
//! name = "tor-exits"
//! networks = ["185.220.101.0/24"]
//! user_agents = ["*sqlmap*"]
//! ```
//!
//! Patterns are exact strings with `*` matching any run of characters. Image patterns match the
//! repository (tag and digest removed, `docker.io/` and `library/` ignored) or the whole image.
//! [`RuleConfig::parse`] checks every rule id it names, so a typo is an error, not a silent no-op.

use serde::{Deserialize, Serialize};

use super::{catalog, RuleKind, RuleMeta};
use crate::net::NetworkSet;

/// Node agents that need host access by design: the pod rules do not report them unless
/// `builtin_trusted_images = false`.
pub const BUILTIN_TRUSTED_IMAGES: &[&str] = &[
    "registry.k8s.io/kube-proxy",
    "k8s.gcr.io/kube-proxy",
    "gke.gcr.io/kube-proxy",
    "mcr.microsoft.com/oss/kubernetes/kube-proxy",
    "*.amazonaws.com/eks/kube-proxy",
    "calico/node",
    "quay.io/calico/node",
    "quay.io/cilium/cilium",
    "falcosecurity/falco",
    "public.ecr.aws/falcosecurity/falco",
    "quay.io/prometheus/node-exporter",
    "prom/node-exporter",
    "registry.k8s.io/dns/k8s-dns-node-cache",
    "*.amazonaws.com/amazon-k8s-cni",
];

/// What a user can change about the rules. Every field is optional in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    /// Rule ids or family prefixes (`k8s.activity`) to switch off.
    pub disabled: Vec<String>,
    /// Rules that are off by default to switch on.
    pub enabled: Vec<String>,
    /// Whether [`BUILTIN_TRUSTED_IMAGES`] count as trusted.
    pub builtin_trusted_images: bool,
    pub trusted: Trusted,
    pub allowed: Allowed,
    pub exceptions: Vec<Exception>,
    /// Lists of known-bad addresses and clients (`k8s.network.indicator`).
    pub indicators: Vec<Indicator>,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            disabled: Vec::new(),
            enabled: Vec::new(),
            builtin_trusted_images: true,
            trusted: Trusted::default(),
            allowed: Allowed::default(),
            exceptions: Vec::new(),
            indicators: Vec::new(),
        }
    }
}

/// What the site trusts: hits that involve only these are not reported (policy rules excepted,
/// which have their own lists).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Trusted {
    /// Container images allowed to be privileged, mount host paths, use host namespaces.
    pub images: Vec<String>,
    /// Identities (the authenticated actor) whose requests raise no rule hits.
    pub identities: Vec<String>,
    /// Namespaces whose requests raise no rule hits.
    pub namespaces: Vec<String>,
    /// The site's own public networks (CIDR blocks or addresses): system identities acting
    /// from them are not reported by `k8s.network.system_identity_public_ip`. The other rules
    /// still judge requests from them.
    pub networks: NetworkSet,
}

/// Site policy. Each list, when given, switches on the rule that reports anything outside it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Allowed {
    /// Users allowed to use the API (`system:` identities are not judged).
    pub users: Option<Vec<String>>,
    /// Images pods and workloads may run.
    pub images: Option<Vec<String>>,
    /// Namespaces that may be created.
    pub namespaces: Option<Vec<String>>,
    /// Nodes that may join the cluster.
    pub nodes: Option<Vec<String>>,
}

/// Requests some rules should not report. Every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Exception {
    /// Rule ids or family prefixes the exception applies to.
    pub rules: Vec<String>,
    pub identities: Vec<String>,
    pub namespaces: Vec<String>,
    /// Images the rules ignore (pod rules skip containers running these). An exception with
    /// images trusts them; one without suppresses whole hits.
    pub images: Vec<String>,
}

/// A list of indicators the user keeps (an exported Tor exit list, a scanner list): a request
/// from one of its addresses or with one of its user agents is a finding that names the list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Indicator {
    /// The list's name, given in every hit.
    pub name: String,
    /// Addresses and CIDR blocks; any of a request's source IPs may match.
    pub networks: NetworkSet,
    /// User-agent patterns: `*` matches any run of characters, letters match in either case.
    pub user_agents: Vec<String>,
}

impl Indicator {
    /// The user-agent pattern the user agent matches, if any.
    pub fn user_agent_match(&self, user_agent: &str) -> Option<&str> {
        self.user_agents
            .iter()
            .find(|p| glob_ignore_case(p, user_agent))
            .map(String::as_str)
    }
}

/// Why a configuration file could not be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("line {line}, column {column}: {message} ({format})")]
    Syntax {
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "`{field}` names {id:?}, which is not a rule id or family; `auditlens rules` lists them"
    )]
    UnknownRule { field: &'static str, id: String },
    #[error("indicator list {index} ({name:?}): {message}")]
    Indicator {
        /// Its place among the `[[indicators]]`, from 1.
        index: usize,
        name: String,
        message: &'static str,
    },
}

impl RuleConfig {
    /// Parses a configuration file: JSON when it starts with `{`, TOML otherwise. Every rule
    /// id named must exist.
    pub fn parse(text: &str) -> Result<RuleConfig, ConfigError> {
        let config = if text.trim_start().starts_with('{') {
            serde_json::from_str::<RuleConfig>(text).map_err(|e| ConfigError::Syntax {
                format: "JSON",
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?
        } else {
            toml::from_str::<RuleConfig>(text).map_err(|e| {
                let at = e.span().map_or(0, |s| s.start);
                let (line, column) = line_column(text, at);
                ConfigError::Syntax {
                    format: "TOML",
                    line,
                    column,
                    message: e.message().trim().to_string(),
                }
            })?
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks that every rule id or prefix named matches at least one rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let named = self
            .disabled
            .iter()
            .map(|id| ("disabled", id))
            .chain(self.enabled.iter().map(|id| ("enabled", id)))
            .chain(
                self.exceptions
                    .iter()
                    .flat_map(|e| e.rules.iter().map(|id| ("exceptions.rules", id))),
            );
        for (field, id) in named {
            if !catalog().iter().any(|meta| names(id, meta.id)) {
                return Err(ConfigError::UnknownRule {
                    field,
                    id: id.clone(),
                });
            }
        }
        for (i, list) in self.indicators.iter().enumerate() {
            let problem = if list.name.trim().is_empty() {
                Some("has no `name`, which its findings would give")
            } else if list.networks.is_empty() && list.user_agents.is_empty() {
                Some("lists neither `networks` nor `user_agents`")
            } else if list.user_agents.iter().any(|p| p.chars().all(|c| c == '*')) {
                Some("has a user-agent pattern that matches every client")
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(ConfigError::Indicator {
                    index: i + 1,
                    name: list.name.clone(),
                    message,
                });
            }
        }
        Ok(())
    }

    /// Whether a rule runs under this configuration.
    pub fn is_enabled(&self, meta: &RuleMeta) -> bool {
        if self.disabled.iter().any(|d| names(d, meta.id)) {
            return false;
        }
        meta.default_enabled || self.enabled.iter().any(|e| names(e, meta.id))
    }

    /// Whether `image` is trusted for `rule` on a request by `actor` in `namespace`: globally,
    /// or by an exception that lists the image for that rule.
    pub fn image_trusted(&self, rule: &str, image: &str, actor: &str, namespace: &str) -> bool {
        let builtin = self.builtin_trusted_images
            && BUILTIN_TRUSTED_IMAGES
                .iter()
                .any(|p| image_matches(p, image));
        builtin
            || self.trusted.images.iter().any(|p| image_matches(p, image))
            || self.exceptions.iter().any(|e| {
                e.rules.iter().any(|r| names(r, rule))
                    && e.images.iter().any(|p| image_matches(p, image))
                    && e.holds(actor, namespace)
            })
    }

    /// Whether a hit of `meta` on a request by `actor` in `namespace` is suppressed by the
    /// trusted identities and namespaces or by an exception without images.
    pub fn suppresses(&self, meta: &RuleMeta, actor: &str, namespace: &str) -> bool {
        if meta.kind != RuleKind::Policy {
            if self.trusted.identities.iter().any(|p| glob(p, actor)) {
                return true;
            }
            if !namespace.is_empty() && self.trusted.namespaces.iter().any(|p| glob(p, namespace)) {
                return true;
            }
        }
        self.exceptions.iter().any(|e| {
            e.images.is_empty()
                && e.rules.iter().any(|r| names(r, meta.id))
                && e.holds(actor, namespace)
        })
    }
}

impl Exception {
    /// The identity and namespace conditions hold (an empty list is no condition).
    fn holds(&self, actor: &str, namespace: &str) -> bool {
        (self.identities.is_empty() || self.identities.iter().any(|p| glob(p, actor)))
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|p| glob(p, namespace)))
    }
}

/// True when `name` (a rule id or family prefix) names the rule `id`.
fn names(name: &str, id: &str) -> bool {
    id == name
        || id
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// [`glob`] with letters compared without regard to ASCII case (user agents vary in case:
/// `sqlmap`, `SQLMap`).
pub fn glob_ignore_case(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was and how much of the text it has taken, to retry with one more.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        match p.get(i) {
            Some(b'*') => {
                star = Some((i, j));
                i += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&t[j]) => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((si, sj)) => {
                    i = si + 1;
                    j = sj + 1;
                    star = Some((si, sj + 1));
                }
                None => return false,
            },
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// The repository of an image reference: tag and digest removed, `docker.io/` and `library/`
/// dropped, so `docker.io/library/nginx:1.25` and `nginx` compare equal.
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let no_tag = match no_digest[last_slash..].find(':') {
        Some(colon) => &no_digest[..last_slash + colon],
        None => no_digest,
    };
    let short = no_tag.strip_prefix("docker.io/").unwrap_or(no_tag);
    short.strip_prefix("library/").unwrap_or(short)
}

/// Matches an image against a pattern of a repository (`nginx`, `quay.io/calico/*`) or a whole
/// reference (`nginx:1.25`).
pub fn image_matches(pattern: &str, image: &str) -> bool {
    let repository = image_repository(image);
    let pattern_repository = image_repository(pattern);
    glob(pattern_repository, repository) || glob(pattern, image)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_characters() {
        assert!(glob("dev-*", "dev-eu"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("alice", "alice"));
        assert!(!glob("alice", "alice2"));
        assert!(glob("*@example.com", "bob@example.com"));
        assert!(!glob("ab*ba", "aba"));
        // A middle part is used up where it is found: one `x` cannot match both parts.
        assert!(!glob("*x*x", "x"));
        assert!(!glob("a*bc*c", "abc"));
        assert!(glob("*x*x", "xx"));
    }

    #[test]
    fn case_blind_globs_match_like_globs() {
        assert!(glob_ignore_case("*sqlmap*", "SQLMap/1.7.2#stable"));
        assert!(glob_ignore_case("nuclei*", "Nuclei - Open-source project"));
        assert!(!glob_ignore_case("nuclei*", "xnuclei"));
        assert!(glob_ignore_case("a*b*c", "AxxBYYc"));
        assert!(!glob_ignore_case("a*b*c", "axxbyy"));
        assert!(!glob_ignore_case("ab*ba", "aba"));
        assert!(glob_ignore_case("*", ""));
        assert!(!glob_ignore_case("", "x"));
        assert!(glob_ignore_case("**x**", "abcx"));
        assert!(glob_ignore_case("é*", "é!"));
        // Agrees with `glob` where case does not matter.
        for (p, t) in [
            ("dev-*", "dev-eu"),
            ("*@x.com", "b@x.com"),
            ("a*", "b"),
            ("*a", "ab"),
        ] {
            assert_eq!(glob_ignore_case(p, t), glob(p, t), "{p} {t}");
        }
    }

    #[test]
    fn indicator_lists_are_checked() {
        let ok = RuleConfig::parse(
            "[trusted]\nnetworks = [\"198.51.100.0/24\"]\n[[indicators]]\nname = \"tor\"\n\
             networks = [\"185.220.101.0/24\", \"2001:db8::1\"]\nuser_agents = [\"*sqlmap*\"]\n",
        )
        .unwrap();
        assert_eq!(ok.indicators[0].name, "tor");
        assert_eq!(
            ok.indicators[0].user_agent_match("sqlmap/1.7"),
            Some("*sqlmap*")
        );
        assert_eq!(ok.trusted.networks.entries(), ["198.51.100.0/24"]);
        // A bad block is a syntax error at its line.
        let err = RuleConfig::parse("[[indicators]]\nname = \"x\"\nnetworks = [\"10.0.0.0/40\"]\n")
            .unwrap_err();
        match err {
            ConfigError::Syntax { line, message, .. } => {
                assert_eq!(line, 3);
                assert!(message.contains("10.0.0.0/40"), "{message}");
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        for (text, index) in [
            ("[[indicators]]\nnetworks = [\"10.0.0.1\"]\n", 1),
            ("[[indicators]]\nname = \"a\"\nuser_agents = [\"x\"]\n[[indicators]]\nname = \"b\"\n", 2),
            ("[[indicators]]\nname = \"a\"\nuser_agents = [\"**\"]\n", 1),
        ] {
            match RuleConfig::parse(text) {
                Err(ConfigError::Indicator { index: i, .. }) => assert_eq!(i, index, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // JSON reads the same, and writes back the lists as given.
        let json = serde_json::to_string(&ok).unwrap();
        assert_eq!(RuleConfig::parse(&json).unwrap(), ok);
    }

    #[test]
    fn images_compare_by_repository() {
        assert_eq!(image_repository("docker.io/library/nginx:1.25"), "nginx");
        assert_eq!(image_repository("nginx@sha256:abcd"), "nginx");
        assert_eq!(
            image_repository("localhost:5000/team/app:v2"),
            "localhost:5000/team/app"
        );
        // The tag is looked for after the last slash only; a reference may start with one.
        assert_eq!(image_repository("host:/app:v1"), "host:/app");
        assert_eq!(image_repository("/nginx:1"), "/nginx");
        assert!(image_matches("nginx", "nginx:latest"));
        assert!(image_matches("quay.io/calico/*", "quay.io/calico/node:v3"));
        assert!(!image_matches("nginx", "nginx-exporter:1"));
        assert!(image_matches(
            "*.amazonaws.com/eks/kube-proxy",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.29.0"
        ));
    }

    #[test]
    fn families_name_their_rules() {
        assert!(names("k8s.pod", "k8s.pod.privileged"));
        assert!(names("k8s.pod.privileged", "k8s.pod.privileged"));
        assert!(!names("k8s.po", "k8s.pod.privileged"));
    }

    #[test]
    fn errors_point_at_the_line() {
        let err =
            RuleConfig::parse("disabled = [\"k8s.pod\"]\n[trusted]\nimagez = []\n").unwrap_err();
        match err {
            ConfigError::Syntax { line, format, .. } => {
                assert_eq!(format, "TOML");
                assert_eq!(line, 3);
            }
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let err = RuleConfig::parse("{\"disabled\": [\"k8s.pod.priviledged\"]}").unwrap_err();
        assert!(matches!(
            err,
            ConfigError::UnknownRule {
                field: "disabled",
                ..
            }
        ));
        let json = RuleConfig::parse("{\"trusted\": {\"images\": [\"nginx\"]}}").unwrap();
        assert_eq!(json.trusted.images, vec!["nginx".to_string()]);
    }
}
