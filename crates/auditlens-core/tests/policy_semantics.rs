//! The audit policy's semantics, case by case, beyond the API server's own tests (those are in
//! `policy_server_cases.rs`): which apiVersions and kinds load, how values decode, how each field
//! matches, and which attributes the server evaluated a request on, read from its audit event.
#![allow(clippy::unwrap_used)]

mod policy_support;

use auditlens_core::model::Level;
use auditlens_core::policy::{self, Decision, RequestAttributes};
use auditlens_core::{Analysis, Limits};
use policy_support::{refusals, with_rules, Req};

use Level::{Metadata, None as LevelNone, Request, RequestResponse};

#[test]
fn only_audit_k8s_io_v1_policies_load() {
    let rules = "rules:\n- level: Metadata\n";
    for (head, loads, reason) in [
        ("apiVersion: audit.k8s.io/v1\nkind: Policy\n", true, ""),
        // A missing kind is taken from the type the server decodes into.
        ("apiVersion: audit.k8s.io/v1\n", true, ""),
        (
            "apiVersion: audit.k8s.io/v1beta1\nkind: Policy\n",
            false,
            "1.24 and later load only audit.k8s.io/v1",
        ),
        (
            "apiVersion: audit.k8s.io/v1alpha1\nkind: Policy\n",
            false,
            "v1beta1 and v1alpha1 were removed",
        ),
        (
            "apiVersion: v1\nkind: Policy\n",
            false,
            "no kind \"Policy\" is registered for version \"v1\"",
        ),
        ("kind: Policy\n", false, "unknown group version field"),
        (
            "apiVersion: audit.k8s.io/v1\nkind: Event\n",
            false,
            "not a Policy",
        ),
        (
            "apiVersion: audit.k8s.io/v1\nkind: policy\n",
            false,
            "not a Policy",
        ),
        (
            "apiVersion: 1\nkind: Policy\n",
            false,
            "apiVersion: expected a string, found a number",
        ),
    ] {
        let file = policy::read(&format!("{head}{rules}"));
        assert_eq!(file.loads(), loads, "{head}: {}", refusals(&file));
        assert!(
            refusals(&file).contains(reason),
            "{head}: {}",
            refusals(&file)
        );
    }
}

/// Decoding cases of our own: (policy text, loads, what the first rule holds or why refused).
#[test]
fn values_decode_as_json_decodes_them() {
    let head = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";
    // Field names are exact: `Level` is not `level` (and the rule then has none).
    let file = policy::read(&format!("{head}rules:\n- Level: Metadata\n"));
    assert!(refusals(&file).contains("rules[0].level: Required value"));
    assert_eq!(file.ignored[0].suggestion, Some("level"));
    // The last of two equal keys wins.
    let file = policy::read(&format!("{head}rules:\n- level: None\n  level: Metadata\n"));
    assert_eq!(file.loaded().unwrap().rules[0].level, Metadata);
    assert_eq!((file.repeated[0].first_line, file.repeated[0].line), (4, 5));
    // A string where a list belongs, a number where a string belongs: refused.
    let file = policy::read(&format!("{head}rules:\n- level: None\n  verbs: get\n"));
    assert!(refusals(&file).contains("rules[0].verbs: expected a list of strings, found a string"));
    let file = policy::read(&format!(
        "{head}rules:\n- level: None\n  namespaces: [2024]\n"
    ));
    assert!(refusals(&file).contains("rules[0].namespaces[0]: expected a string, found a number"));
    // YAML 1.1 as the server reads it: `on` is a boolean, so this is refused...
    let file = policy::read(&format!("{head}rules:\n- level: None\n  users: [on]\n"));
    assert!(
        refusals(&file).contains("found a boolean"),
        "{}",
        refusals(&file)
    );
    // ...and `yes` is true.
    let file = policy::read(&format!(
        "{head}omitManagedFields: yes\nrules:\n- level: None\n"
    ));
    assert!(file.loaded().unwrap().omit_managed_fields);
    // null leaves the zero value: a null resources entry is the whole core group.
    let file = policy::read(&format!(
        "{head}rules:\n- level: Metadata\n  resources: [~]\n  users: [~]\n"
    ));
    let rule = &file.loaded().unwrap().rules[0];
    assert_eq!(
        (rule.resources.len(), rule.resources[0].group.as_str()),
        (1, "")
    );
    assert_eq!(rule.users, [""]);
    // JSON loads the same as YAML.
    let json = r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments"]}]}]}"#;
    let yaml = format!("{head}omitStages: [RequestReceived]\nrules:\n- level: Metadata\n  resources: [{{group: apps, resources: [deployments]}}]\n");
    let (a, b) = (policy::read(json), policy::read(&yaml));
    let strip = |mut p: policy::Policy| {
        for rule in &mut p.rules {
            rule.line = 0;
            for entry in &mut rule.resources {
                entry.line = 0;
            }
        }
        p
    };
    assert_eq!(strip(a.policy.unwrap()), strip(b.policy.unwrap()));
    // A `*` anywhere but at the end of a path is refused, whatever the characters around it.
    let file = policy::read(&with_rules("- level: None\n  nonResourceURLs: [\"/*é\"]\n"));
    assert!(refusals(&file).contains("wildcards '*' must be the final character"));
    assert!(policy::read(&with_rules(
        "- level: None\n  nonResourceURLs: [\"/é\", \"/ü*\"]\n"
    ))
    .loads());
    // Only the first YAML document is read.
    let file = policy::read(&format!(
        "{head}rules:\n- level: None\n---\n{head}rules:\n- level: Metadata\n"
    ));
    assert_eq!(
        (file.loaded().unwrap().rules[0].level, file.extra_documents),
        (LevelNone, 1)
    );
    // Not a mapping, not YAML, not UTF-8.
    assert!(refusals(&policy::read("- level: None\n")).contains("not a Policy mapping"));
    assert!(refusals(&policy::read("rules: [\n")).contains("not valid YAML"));
    assert!(refusals(&policy::read_bytes(b"rules: \xff\n")).contains("not UTF-8"));
}

/// A request of our own cases: its differences from a person's `get pods` in `default`.
fn req(change: impl FnOnce(&mut Req)) -> Req {
    let mut r = Req {
        user: Some("alice"),
        groups: &["dev", "system:authenticated"],
        verb: "get",
        resource_request: true,
        group: "",
        resource: "pods",
        subresource: "",
        namespace: "default",
        name: "web-1",
        path: "/api/v1/namespaces/default/pods/web-1",
    };
    change(&mut r);
    r
}

fn non_resource(path: &'static str) -> Req {
    req(|r| {
        r.resource_request = false;
        r.resource = "";
        r.namespace = "";
        r.name = "";
        r.path = path;
    })
}

/// Our own cases: (rules, request, expected level, expected rule index).
#[test]
fn matching_follows_the_servers_semantics_field_by_field() {
    let cases: Vec<(&str, Req, Level, Option<usize>)> = vec![
        // `pods` matches pods, not their subresources; `pods/*` matches both.
        (
            "- level: Request\n  resources: [{resources: [pods]}]\n",
            req(|r| r.subresource = "exec"),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|r| r.subresource = "exec"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"pods/*\"]}]\n",
            req(|r| r.resource = "podtemplates"),
            LevelNone,
            None,
        ),
        // `*/status` matches a status subresource of anything, never the resource itself.
        (
            "- level: Request\n  resources: [{group: \"*\", resources: [\"*/status\"]}]\n",
            req(|r| {
                r.group = "apps";
                r.resource = "deployments";
                r.subresource = "status"
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{group: \"*\", resources: [\"*/status\"]}]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        // `*` is every resource and subresource, of the entry's group only.
        (
            "- level: Request\n  resources: [{resources: [\"*\"]}]\n",
            req(|r| r.subresource = "log"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [\"*\"]}]\n",
            req(|r| r.group = "apps"),
            LevelNone,
            None,
        ),
        // An entry without resources is its whole group.
        (
            "- level: Request\n  resources: [{group: apps}]\n",
            req(|r| {
                r.group = "apps";
                r.resource = "deployments";
                r.subresource = "scale"
            }),
            Request,
            Some(0),
        ),
        // resourceNames restrict by name.
        (
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n",
            req(|r| {
                r.resource = "configmaps";
                r.name = "leader"
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n",
            req(|r| {
                r.resource = "configmaps";
                r.name = "other"
            }),
            LevelNone,
            None,
        ),
        // Namespaces: "" is cluster-scoped; a namespaces-only rule is for resources only.
        (
            "- level: Request\n  namespaces: [\"\"]\n",
            req(|r| {
                r.resource = "nodes";
                r.namespace = ""
            }),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  namespaces: [\"\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  namespaces: [default]\n",
            non_resource("/healthz"),
            LevelNone,
            None,
        ),
        // Non-resource URLs: exact, a trailing `*`, or `*`; never a resource request.
        (
            "- level: Request\n  nonResourceURLs: [/healthz]\n",
            non_resource("/healthz"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [/healthz]\n",
            non_resource("/healthz/etcd"),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"/healthz*\"]\n",
            non_resource("/healthz/etcd"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"*\"]\n",
            non_resource("/apis"),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  nonResourceURLs: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        // A rule with none of them matches resource and non-resource requests alike.
        (
            "- level: Request\n  verbs: [get]\n",
            non_resource("/version"),
            Request,
            Some(0),
        ),
        // Users and groups: exact strings; `*` is literal; no user matches neither.
        (
            "- level: Request\n  users: [alice]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  users: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  userGroups: [\"*\"]\n",
            req(|_| {}),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  userGroups: [dev]\n",
            req(|_| {}),
            Request,
            Some(0),
        ),
        (
            "- level: Request\n  userGroups: [\"\"]\n",
            req(|r| {
                r.user = None;
                r.groups = &[""]
            }),
            LevelNone,
            None,
        ),
        (
            "- level: Request\n  users: [\"\"]\n",
            req(|r| r.user = None),
            LevelNone,
            None,
        ),
        // Verbs are exact.
        (
            "- level: Request\n  verbs: [list]\n",
            req(|r| r.verb = "watch"),
            LevelNone,
            None,
        ),
        // The first match wins, even when a later rule is more specific.
        (
            "- level: Metadata\n- level: RequestResponse\n  users: [alice]\n",
            req(|_| {}),
            Metadata,
            Some(0),
        ),
        (
            "- level: None\n  users: [bob]\n- level: RequestResponse\n  users: [alice]\n",
            req(|_| {}),
            RequestResponse,
            Some(1),
        ),
        // A rule at None that matches still matches (its index is reported).
        (
            "- level: None\n  verbs: [get]\n- level: Metadata\n",
            req(|_| {}),
            LevelNone,
            Some(0),
        ),
    ];
    for (rules, request, level, rule) in cases {
        let file = policy::read(&with_rules(rules));
        let policy = file
            .loaded()
            .unwrap_or_else(|| panic!("{rules}: {}", refusals(&file)));
        let decision = policy.evaluate(&request.attributes());
        assert_eq!((decision.level, decision.rule), (level, rule), "{rules}");
    }
}

#[test]
fn an_ignored_groups_field_leaves_the_entry_at_the_core_group() {
    // The example that circulates: `groups` is no field, so both entries are group "".
    let file = policy::read(&with_rules(
        "- level: Metadata\n  resources:\n  - groups: [\"*\"]\n    resources: [\"*\"]\n  verbs: [get, list, watch]\n- level: RequestResponse\n  resources:\n  - groups: [apps]\n    resources: [deployments]\n  verbs: [create, update, delete]\n",
    ));
    let policy = file.loaded().unwrap();
    let deployment = |verb| {
        req(move |r| {
            r.verb = verb;
            r.group = "apps";
            r.resource = "deployments"
        })
    };
    assert_eq!(
        policy.evaluate(&deployment("get").attributes()).level,
        LevelNone
    );
    assert_eq!(
        policy.evaluate(&deployment("create").attributes()).level,
        LevelNone
    );
    assert_eq!(policy.evaluate(&req(|_| {}).attributes()).level, Metadata);
    assert_eq!(file.ignored.len(), 2);
}

fn event(id: &str, fields: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"ResponseComplete","requestReceivedTimestamp":"2026-01-01T00:00:00.000000Z",{fields}}}"#
    ) + "\n"
}

/// Evaluates `policy` on every request of `log`, by auditID.
fn evaluate_log(policy: &str, log: &str) -> Vec<(String, Decision)> {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("a.log");
    analysis.push(file, log.as_bytes());
    analysis.finish();
    // Fields these hand-made events leave out are said once per file; nothing else.
    assert!(
        analysis
            .diagnostics()
            .iter()
            .all(|d| d.kind == auditlens_core::DiagnosticKind::MissingFields),
        "{:?}",
        analysis.diagnostics()
    );
    let policy = policy::read(&with_rules(policy));
    let policy = policy.loaded().unwrap();
    analysis
        .requests()
        .iter()
        .map(|e| {
            let id = analysis.interner().audit_id_text(e.audit_id).into_owned();
            let attributes = RequestAttributes::of_event(e, analysis.interner());
            (id, policy.evaluate(&attributes))
        })
        .collect()
}

#[test]
fn events_give_the_attributes_the_server_evaluated() {
    let log = [
        // Impersonation: the policy saw the sender (carol), not system:admin.
        event("imp", r#""verb":"get","requestURI":"/api/v1/namespaces/kube-system/secrets/x","user":{"username":"carol","groups":["system:authenticated"]},"impersonatedUser":{"username":"system:admin","groups":["system:masters"]},"objectRef":{"resource":"secrets","namespace":"kube-system","name":"x","apiVersion":"v1"}"#),
        // A create names its object in the body only: the policy saw no name.
        event("create", r#""verb":"create","requestURI":"/api/v1/namespaces/kube-system/configmaps","user":{"username":"bob","groups":["system:authenticated"]},"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"leader","apiVersion":"v1"}"#),
        // An update names it in the URL.
        event("update", r#""verb":"update","requestURI":"/api/v1/namespaces/kube-system/configmaps/leader","user":{"username":"bob","groups":["system:authenticated"]},"objectRef":{"resource":"configmaps","namespace":"kube-system","name":"leader","apiVersion":"v1"}"#),
        // A non-resource request: the path without its query.
        event("probe", r#""verb":"get","requestURI":"/healthz?verbose=1","user":{"username":"system:anonymous","groups":["system:unauthenticated"]}"#),
        // Failed authentication: no user at all.
        event("anon", r#""verb":"list","requestURI":"/api/v1/pods","user":{},"objectRef":{"resource":"pods","apiVersion":"v1"}"#),
    ]
    .concat();
    let decisions = evaluate_log(
        "- level: None\n  users: [\"system:admin\"]\n- level: RequestResponse\n  users: [carol]\n- level: Request\n  resources: [{resources: [configmaps], resourceNames: [leader]}]\n- level: None\n  nonResourceURLs: [/healthz]\n- level: Metadata\n  userGroups: [\"system:unauthenticated\"]\n- level: Metadata\n  resources: [{resources: [configmaps]}]\n",
        &log,
    );
    let by_id = |id: &str| decisions.iter().find(|(i, _)| i == id).unwrap().1;
    assert_eq!(
        (by_id("imp").level, by_id("imp").rule),
        (RequestResponse, Some(1))
    );
    assert_eq!(
        (by_id("create").level, by_id("create").rule),
        (Metadata, Some(5))
    );
    assert_eq!(
        (by_id("update").level, by_id("update").rule),
        (Request, Some(2))
    );
    assert_eq!(
        (by_id("probe").level, by_id("probe").rule),
        (LevelNone, Some(3))
    );
    assert_eq!((by_id("anon").level, by_id("anon").rule), (LevelNone, None));
}
