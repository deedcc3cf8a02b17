//! From a document tree to a [`Policy`], the way kube-apiserver decodes a policy file.
//!
//! The server (`k8s.io/apiserver/pkg/audit/policy/reader.go`) decodes strictly first; when the
//! only complaints are unknown or repeated fields it decodes again leniently, logs a warning and
//! starts with what it got: unknown fields are dropped, and of a repeated key the last value is
//! kept. Everything else is fatal: a value of the wrong JSON type, an `apiVersion` other than
//! `audit.k8s.io/v1` (`v1beta1` and `v1alpha1` were removed in Kubernetes 1.24), a `kind` other
//! than `Policy` (a missing `kind` is taken as `Policy`), then the validation of `validate.rs`
//! and a policy with no rules. Field names are matched exactly (`Level` is not `level`).
//!
//! JSON's `null` leaves a field at its zero value, as Go's decoder does: `level: ~` is a missing
//! level, `users: [~]` is one empty user name, and a `~` in `resources` is an entry that
//! matches the whole core group.

use super::document::{self, Key, Node, Value};
use super::{
    validate, GroupResources, IgnoredField, Policy, PolicyError, PolicyFile, PolicyRule,
    RepeatedField, API_VERSION,
};
use crate::model::{Level, Stage};

const POLICY_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "rules",
    "omitStages",
    "omitManagedFields",
];
const RULE_FIELDS: &[&str] = &[
    "level",
    "users",
    "userGroups",
    "verbs",
    "resources",
    "namespaces",
    "nonResourceURLs",
    "omitStages",
    "omitManagedFields",
];
const RESOURCE_FIELDS: &[&str] = &["group", "resources", "resourceNames"];

/// Reads a policy file's text.
pub(crate) fn decode(text: &str) -> PolicyFile {
    let parsed = match document::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            return refused(
                e.line,
                format!("failed decoding: {}", e.message),
                "fix the syntax at that line",
            )
        }
    };
    let Some(root) = parsed.first else {
        return refused(
            1,
            "failed decoding: the file holds no policy (kube-apiserver refuses an empty policy \
             file)"
                .to_string(),
            "write a Policy: apiVersion: audit.k8s.io/v1, kind: Policy, and rules",
        );
    };
    let mut decoder = Decoder::default();
    let policy = decoder.policy(&root);
    // Values of the wrong type stop the server's decoding; an apiVersion or kind it does not
    // take stops it too, but the validation's findings are worth knowing at the same time.
    let decoded = decoder.errors.is_empty();
    decoder.errors.append(&mut decoder.type_errors);
    let decoder_stage_texts = std::mem::take(&mut decoder.stage_texts);
    let mut file = PolicyFile {
        policy,
        refused: decoder.errors,
        ignored: decoder.ignored,
        repeated: decoder.repeated,
        extra_documents: parsed.documents.saturating_sub(1),
    };
    if let Some(policy) = &file.policy {
        if decoded {
            file.refused
                .extend(validate::validate_named(policy, &decoder_stage_texts));
            if policy.rules.is_empty() {
                file.refused.push(PolicyError {
                    field: "rules".to_string(),
                    rule: None,
                    line: root.line.max(1),
                    message: "loaded illegal policy with 0 rules".to_string(),
                    fix: "add rules; a policy whose last rule is `- level: Metadata` logs every \
                          request that no earlier rule takes"
                        .to_string(),
                });
            }
        }
    }
    file
}

fn refused(line: u32, message: String, fix: &str) -> PolicyFile {
    PolicyFile {
        refused: vec![PolicyError {
            field: String::new(),
            rule: None,
            line,
            message,
            fix: fix.to_string(),
        }],
        ..PolicyFile::default()
    }
}

#[derive(Default)]
struct Decoder {
    errors: Vec<PolicyError>,
    ignored: Vec<IgnoredField>,
    repeated: Vec<RepeatedField>,
    /// The text of each omitted stage that is not a stage, by field.
    stage_texts: Vec<(String, String)>,
    /// An apiVersion or kind the server does not take.
    type_errors: Vec<PolicyError>,
}

/// Where a value sits: its field path and rule.
#[derive(Clone, Copy)]
struct At<'a> {
    path: &'a str,
    rule: Option<usize>,
}

impl Decoder {
    fn type_error(&mut self, at: At<'_>, node: &Node, expected: &str) {
        let found = node.value.kind();
        let fix = match (&node.value, expected) {
            (Value::Bool(_) | Value::Number(_), "a string") => {
                "quote the value, e.g. \"yes\" or \"8080\": unquoted, YAML reads it as a \
                 boolean or a number"
                    .to_string()
            }
            (Value::String(_), "a list of strings") => {
                "write a list: [value] or one `- value` per line".to_string()
            }
            _ => format!("write {expected} here"),
        };
        self.errors.push(PolicyError {
            field: at.path.to_string(),
            rule: at.rule,
            line: node.line,
            message: format!(
                "failed decoding: {}: expected {expected}, found {found}",
                at.path
            ),
            fix,
        });
    }

    /// The entries of a mapping, the last of repeated keys winning, each key at the place of
    /// its first appearance (as a Go decoder fills a struct).
    fn fields<'n>(&mut self, at: At<'_>, entries: &'n [(Key, Node)]) -> Vec<(&'n Key, &'n Node)> {
        let mut out: Vec<(&Key, &Node)> = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            match out.iter_mut().find(|(k, _)| k.text == key.text) {
                Some(slot) => {
                    self.repeated.push(RepeatedField {
                        field: join(at.path, &key.text),
                        rule: at.rule,
                        line: key.line,
                        first_line: slot.0.line,
                    });
                    slot.1 = value;
                }
                None => out.push((key, value)),
            }
        }
        out
    }

    fn ignore(&mut self, at: At<'_>, key: &Key, within: &'static str, known: &[&'static str]) {
        self.ignored.push(IgnoredField {
            field: join(at.path, &key.text),
            key: key.text.clone(),
            rule: at.rule,
            line: key.line,
            suggestion: suggestion(&key.text, within, known),
            within,
        });
    }

    fn policy(&mut self, root: &Node) -> Option<Policy> {
        let entries = match &root.value {
            Value::Map(entries) => entries,
            _ => {
                self.errors.push(PolicyError {
                    field: String::new(),
                    rule: None,
                    line: root.line.max(1),
                    message: format!(
                        "failed decoding: the document is {}, not a Policy mapping",
                        root.value.kind()
                    ),
                    fix: "write a mapping: apiVersion: audit.k8s.io/v1, kind: Policy, rules: …"
                        .to_string(),
                });
                return None;
            }
        };
        let top = At {
            path: "",
            rule: None,
        };
        let mut policy = Policy::default();
        let mut api_version: Option<(String, u32)> = None;
        let mut kind: Option<(String, u32)> = None;
        for (key, value) in self.fields(top, entries) {
            let at = At {
                path: &key.text,
                rule: None,
            };
            match key.text.as_str() {
                "apiVersion" => api_version = self.string(at, value).map(|s| (s, value.line)),
                "kind" => kind = self.string(at, value).map(|s| (s, value.line)),
                "metadata" => {
                    if !matches!(value.value, Value::Map(_) | Value::Null) {
                        self.type_error(at, value, "a mapping");
                    }
                }
                "rules" => {
                    for (index, item) in self.list(at, value).iter().enumerate() {
                        let path = format!("rules[{index}]");
                        let at = At {
                            path: &path,
                            rule: Some(index),
                        };
                        policy.rules.push(self.rule(at, item));
                    }
                }
                "omitStages" => policy.omit_stages = self.stages(at, value),
                "omitManagedFields" => {
                    policy.omit_managed_fields = self.boolean(at, value).unwrap_or(false)
                }
                _ => self.ignore(top, key, "policy", POLICY_FIELDS),
            }
        }
        self.check_type(api_version.as_ref(), kind.as_ref(), root.line.max(1));
        Some(policy)
    }

    /// The server's checks of `apiVersion` and `kind`.
    fn check_type(
        &mut self,
        api_version: Option<&(String, u32)>,
        kind: Option<&(String, u32)>,
        line: u32,
    ) {
        let version = api_version.map(|(v, _)| v.as_str()).unwrap_or("");
        let version_line = api_version.map_or(line, |(_, l)| *l);
        let error = |field: &str, line: u32, message: String, fix: &str| PolicyError {
            field: field.to_string(),
            rule: None,
            line,
            message,
            fix: fix.to_string(),
        };
        if version.is_empty() {
            self.type_errors.push(error(
                "apiVersion",
                version_line,
                "unknown group version field audit.k8s.io/__internal, Kind=Policy in policy: \
                 the file has no apiVersion"
                    .to_string(),
                "add `apiVersion: audit.k8s.io/v1` and `kind: Policy` at the top",
            ));
        } else if version != API_VERSION {
            let removed = matches!(version, "audit.k8s.io/v1beta1" | "audit.k8s.io/v1alpha1");
            let message = format!(
                "failed decoding: no kind \"Policy\" is registered for version \"{version}\"{}",
                if removed {
                    " (kube-apiserver 1.24 and later load only audit.k8s.io/v1; v1beta1 and \
                     v1alpha1 were removed)"
                } else {
                    ""
                }
            );
            self.type_errors.push(error(
                "apiVersion",
                version_line,
                message,
                "write `apiVersion: audit.k8s.io/v1`; the fields are the same",
            ));
        }
        if let Some((kind, kind_line)) = kind {
            if !kind.is_empty() && kind != "Policy" {
                self.type_errors.push(error(
                    "kind",
                    *kind_line,
                    format!(
                        "failed decoding: the file is a {kind:?}, not a Policy (kube-apiserver \
                         cannot convert it)"
                    ),
                    "write `kind: Policy`",
                ));
            }
        }
    }

    fn rule(&mut self, at: At<'_>, node: &Node) -> PolicyRule {
        let mut rule = PolicyRule {
            line: node.line,
            ..PolicyRule::default()
        };
        let entries = match &node.value {
            Value::Map(entries) => entries,
            // A null rule decodes to the empty rule, whose missing level the validation reports.
            Value::Null => return rule,
            _ => {
                self.type_error(at, node, "a mapping");
                return rule;
            }
        };
        for (key, value) in self.fields(at, entries) {
            let path = join(at.path, &key.text);
            let field = At {
                path: &path,
                rule: at.rule,
            };
            match key.text.as_str() {
                "level" => {
                    let text = self.string(field, value).unwrap_or_default();
                    rule.level = level(&text);
                    rule.level_text = text;
                }
                "users" => rule.users = self.strings(field, value),
                "userGroups" => rule.user_groups = self.strings(field, value),
                "verbs" => rule.verbs = self.strings(field, value),
                "namespaces" => rule.namespaces = self.strings(field, value),
                "nonResourceURLs" => rule.non_resource_urls = self.strings(field, value),
                "omitStages" => rule.omit_stages = self.stages(field, value),
                "omitManagedFields" => rule.omit_managed_fields = self.boolean(field, value),
                "resources" => {
                    for (index, item) in self.list(field, value).iter().enumerate() {
                        let path = format!("{path}[{index}]");
                        let at = At {
                            path: &path,
                            rule: at.rule,
                        };
                        rule.resources.push(self.group_resources(at, item));
                    }
                }
                _ => self.ignore(at, key, "rule", RULE_FIELDS),
            }
        }
        rule
    }

    fn group_resources(&mut self, at: At<'_>, node: &Node) -> GroupResources {
        let mut entry = GroupResources {
            line: node.line,
            ..GroupResources::default()
        };
        let entries = match &node.value {
            Value::Map(entries) => entries,
            Value::Null => return entry,
            _ => {
                self.type_error(at, node, "a mapping");
                return entry;
            }
        };
        for (key, value) in self.fields(at, entries) {
            let path = join(at.path, &key.text);
            let field = At {
                path: &path,
                rule: at.rule,
            };
            match key.text.as_str() {
                "group" => entry.group = self.string(field, value).unwrap_or_default(),
                "resources" => entry.resources = self.strings(field, value),
                "resourceNames" => entry.resource_names = self.strings(field, value),
                _ => self.ignore(at, key, "resources", RESOURCE_FIELDS),
            }
        }
        entry
    }

    /// A string; `None` for null (the zero value) or a value of another type (an error).
    fn string(&mut self, at: At<'_>, node: &Node) -> Option<String> {
        match &node.value {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => {
                self.type_error(at, node, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, at: At<'_>, node: &Node) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.type_error(at, node, "true or false");
                None
            }
        }
    }

    fn list<'n>(&mut self, at: At<'_>, node: &'n Node) -> &'n [Node] {
        match &node.value {
            Value::List(items) => items,
            Value::Null => &[],
            _ => {
                self.type_error(at, node, "a list");
                &[]
            }
        }
    }

    fn strings(&mut self, at: At<'_>, node: &Node) -> Vec<String> {
        if matches!(node.value, Value::String(_)) {
            self.type_error(at, node, "a list of strings");
            return Vec::new();
        }
        let items = self.list(at, node);
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = format!("{}[{index}]", at.path);
            let at = At {
                path: &path,
                rule: at.rule,
            };
            out.push(self.string(at, item).unwrap_or_default());
        }
        out
    }

    fn stages(&mut self, at: At<'_>, node: &Node) -> Vec<Stage> {
        let texts = self.strings(at, node);
        let mut stages = Vec::with_capacity(texts.len());
        for (index, text) in texts.into_iter().enumerate() {
            let stage = Stage::parse(&text);
            if stage == Stage::Unknown {
                self.stage_texts
                    .push((format!("{}[{index}]", at.path), text));
            }
            stages.push(stage);
        }
        stages
    }
}

/// A level by its exact name (`Unknown` for anything else, which the validation refuses).
fn level(text: &str) -> Level {
    match text {
        "None" => Level::None,
        "Metadata" => Level::Metadata,
        "Request" => Level::Request,
        "RequestResponse" => Level::RequestResponse,
        _ => Level::Unknown,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The field an unknown key was probably meant to be.
fn suggestion(key: &str, within: &'static str, known: &[&'static str]) -> Option<&'static str> {
    let lower = key.to_ascii_lowercase();
    // Mistakes seen in published policies, by where they are written.
    let common: &[(&str, &str)] = match within {
        "resources" => &[
            ("groups", "group"),
            ("apigroups", "group"),
            ("apigroup", "group"),
            ("resource", "resources"),
            ("resourcename", "resourceNames"),
            ("names", "resourceNames"),
            ("verbs", "verbs (a field of the rule, one level up)"),
            (
                "namespaces",
                "namespaces (a field of the rule, one level up)",
            ),
        ],
        "rule" => &[
            ("groups", "userGroups"),
            ("user", "users"),
            ("usergroup", "userGroups"),
            ("verb", "verbs"),
            ("namespace", "namespaces"),
            ("resource", "resources"),
            ("nonresourceurl", "nonResourceURLs"),
            ("stages", "omitStages"),
            ("omitstage", "omitStages"),
            ("group", "resources: [{group: …}]"),
            ("apigroups", "resources: [{group: …}]"),
        ],
        _ => &[
            ("rule", "rules"),
            ("omitstage", "omitStages"),
            ("stages", "omitStages"),
        ],
    };
    if let Some((_, meant)) = common.iter().find(|(wrong, _)| *wrong == lower) {
        return Some(meant);
    }
    known
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(key))
        .or_else(|| {
            known
                .iter()
                .copied()
                .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), k))
                .filter(|&(d, _)| d <= 2)
                .min()
                .map(|(_, k)| k)
        })
}

/// Levenshtein distance over bytes (field names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_follow_the_place_of_the_key() {
        assert_eq!(
            suggestion("groups", "resources", RESOURCE_FIELDS),
            Some("group")
        );
        assert_eq!(
            suggestion("groups", "rule", RULE_FIELDS),
            Some("userGroups")
        );
        assert_eq!(suggestion("Level", "rule", RULE_FIELDS), Some("level"));
        assert_eq!(
            suggestion("nonResourceUrls", "rule", RULE_FIELDS),
            Some("nonResourceURLs")
        );
        assert_eq!(
            suggestion("omitStage", "rule", RULE_FIELDS),
            Some("omitStages")
        );
        assert_eq!(
            suggestion("resourceName", "resources", RESOURCE_FIELDS),
            Some("resourceNames")
        );
        assert_eq!(suggestion("description", "policy", POLICY_FIELDS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
