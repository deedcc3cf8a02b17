//! The granted RBAC held against behaviour, and reading granted RBAC files: `kubectl get
//! roles,clusterroles,rolebindings,clusterrolebindings -A -o json` (a `List`), the same as a
//! manifest of YAML documents, and files that are wrong in every way a person can make them.

#![allow(clippy::unwrap_used)]

mod rbac_support;

use auditlens_core::rbac::compare::GrantedComparison;
use auditlens_core::rbac::{
    least_privilege, GenerateOptions, Granted, LeastPrivilege, Policy, Selection,
};
use rbac_support::analyze;

const CLUSTER: &[u8] = include_bytes!("../../../tests/fixtures/rbac/cluster.ndjson");
const GRANTED_YAML: &str = include_str!("../../../tests/fixtures/rbac/granted.yaml");
const GRANTED_JSON: &str = include_str!("../../../tests/fixtures/rbac/granted.json");

fn compared(granted: &Granted) -> LeastPrivilege {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    least_privilege(
        &analysis,
        &Selection::default(),
        &GenerateOptions::default(),
        Some(granted),
    )
}

fn of<'a>(result: &'a LeastPrivilege, name: &str) -> &'a GrantedComparison {
    result
        .identities
        .iter()
        .find(|i| i.identity == name)
        .and_then(|i| i.granted.as_ref())
        .unwrap_or_else(|| panic!("no comparison for {name}"))
}

#[test]
fn the_kubectl_json_list_and_the_yaml_manifest_are_the_same_policy() {
    let json = Policy::parse("granted.json", GRANTED_JSON).unwrap();
    let yaml = Policy::parse("granted.yaml", GRANTED_YAML).unwrap();
    assert_eq!(json.policy, yaml.policy);
    assert_eq!(
        json.policy.describe(),
        "1 Roles, 11 ClusterRoles, 6 RoleBindings, 7 ClusterRoleBindings"
    );
    assert!(
        json.notes.is_empty() && yaml.notes.is_empty(),
        "{:?}",
        yaml.notes
    );
    // The aggregated `edit` holds the rules of both roles labelled for it, in name order.
    let edit = yaml
        .policy
        .cluster_roles
        .iter()
        .find(|r| r.metadata.name == "edit")
        .unwrap();
    assert_eq!(edit.rules.len(), 3);
    assert_eq!(edit.rules[0].api_groups, ["batch"]);
}

#[test]
fn unused_permissions_are_what_granted_rules_allow_and_no_request_used() {
    let result = compared(&Granted::parse("granted.yaml", GRANTED_YAML).unwrap());
    // web: Role "web" gives get, list, watch on configmaps and secrets in shop (6); it only
    // ever got its configmap.
    let web = of(&result, "system:serviceaccount:shop:web");
    assert_eq!((web.permissions.granted, web.permissions.used), (6, 1));
    let own: Vec<(Vec<String>, Vec<String>, Vec<String>)> = web
        .unused
        .iter()
        .filter(|u| !u.everyone)
        .map(|u| (u.resources.clone(), u.verbs.clone(), u.used_verbs.clone()))
        .collect();
    assert_eq!(
        own,
        [
            (
                vec!["secrets".to_string()],
                vec!["get".into(), "list".into(), "watch".into()],
                vec![]
            ),
            (
                vec!["configmaps".to_string()],
                vec!["list".into(), "watch".into()],
                vec!["get".into()]
            ),
        ]
    );
    // The discovery roles every authenticated client has are counted apart, not as its own.
    assert_eq!(web.permissions.everyone, 11);
    assert!(web
        .bindings
        .iter()
        .any(|b| b.via == "Group \"system:authenticated\"" && b.everyone));
    let by_sa = web.bindings.iter().find(|b| !b.everyone).unwrap();
    assert_eq!(
        (by_sa.binding.as_str(), by_sa.via.as_str(), by_sa.requests),
        ("RoleBinding \"web/shop\"", "ServiceAccount \"web/shop\"", 3)
    );

    // prometheus: nodes, services, endpoints, pods get/list/watch (12), nodes/proxy get (the
    // only one of its verbs the rule names), /metrics get: 14; used list and watch on three
    // resources, get on nodes/proxy and /metrics: 8.
    let prometheus = of(&result, "system:serviceaccount:monitoring:prometheus");
    assert_eq!(
        (prometheus.permissions.granted, prometheus.permissions.used),
        (14, 8)
    );

    // carol: edit in dev, staging and prod (55 each: 24 core, 17 apps, 14 batch), secrets
    // cluster-wide (3), * on the apps group in shop (61 apps permissions): 229. Used: seven
    // in dev, seven in staging, get and create pods in prod.
    let carol = of(&result, "carol");
    assert_eq!(
        (carol.permissions.granted, carol.permissions.used),
        (229, 16)
    );
    assert!((carol.permissions.used_share - 16.0 / 229.0).abs() < 1e-12);
}

#[test]
fn flags_name_cluster_admin_wildcards_and_escalation_with_their_use() {
    let result = compared(&Granted::parse("granted.yaml", GRANTED_YAML).unwrap());
    let flags = |name: &str| -> Vec<(String, String, u64)> {
        of(&result, name)
            .flags
            .iter()
            .map(|f| (f.kind.clone(), f.right.clone(), f.used))
            .collect()
    };
    assert_eq!(
        flags("carol"),
        [
            (
                "escalation".into(),
                "read secrets in every namespace".into(),
                0
            ),
            (
                "escalation".into(),
                "list secrets in every namespace".into(),
                0
            ),
            ("wildcard".into(), "* * (group apps)".into(), 0),
        ]
    );
    assert_eq!(
        flags("ci-bot"),
        [
            ("escalation".into(), "impersonate users".into(), 1),
            ("escalation".into(), "impersonate groups".into(), 1),
            ("escalation".into(), "impersonate serviceaccounts".into(), 4),
        ]
    );
    // The discovery role's prefix paths are no wildcard; the web service account holds nothing
    // worth a flag.
    assert!(flags("system:serviceaccount:shop:web").is_empty());

    // Bound to cluster-admin: one flag for it, none for the rules inside it.
    let admin = format!(
        "{GRANTED_YAML}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n\
         metadata: {{name: carol-admin}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\n\
         subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: carol}}]\n"
    );
    let result = compared(&Granted::parse("admin.yaml", &admin).unwrap());
    let carol = of(&result, "carol");
    let admin_flags: Vec<&str> = carol
        .flags
        .iter()
        .filter(|f| f.binding == "ClusterRoleBinding \"carol-admin\"")
        .map(|f| f.kind.as_str())
        .collect();
    assert_eq!(
        admin_flags,
        [
            "cluster-admin",
            "wildcard",
            "escalation",
            "escalation",
            "escalation",
            "escalation",
            "escalation",
            "escalation",
            "escalation",
            "escalation",
            "escalation"
        ]
    );
    let flag = carol
        .flags
        .iter()
        .find(|f| f.kind == "cluster-admin")
        .unwrap();
    // Every allowed request of carol's (22) falls under cluster-admin.
    assert_eq!(flag.used, 22);
    assert!(
        flag.message.contains("holds cluster-admin"),
        "{}",
        flag.message
    );
}

#[test]
fn requests_another_authorizer_allowed_are_reported_not_hidden() {
    let result = compared(&Granted::parse("granted.json", GRANTED_JSON).unwrap());
    // The kubelet's secrets were allowed by the Node authorizer: RBAC grants them nothing.
    let node = of(&result, "system:node:n1");
    let refused: Vec<String> = node.not_granted.iter().map(|g| g.describe()).collect();
    assert_eq!(
        refused,
        [
            "get secrets/deployer-token in dev",
            "get secrets/prom-tls in monitoring",
            "get secrets/web-token in shop"
        ]
    );
    assert_eq!(node.permissions.granted, 0);
    // Everyone whose every request RBAC explains has nothing there.
    for name in [
        "carol",
        "ci-bot",
        "release",
        "system:anonymous",
        "system:serviceaccount:dev:deployer",
        "system:serviceaccount:monitoring:prometheus",
        "system:serviceaccount:shop:web",
    ] {
        assert!(of(&result, name).not_granted.is_empty(), "{name}");
    }
}

#[test]
fn generated_rbac_given_back_as_granted_explains_every_allowed_request() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let first = least_privilege(
        &analysis,
        &Selection::default(),
        &GenerateOptions::default(),
        None,
    );
    let granted = Granted::parse("generated.yaml", &first.to_yaml()).unwrap();
    let second = least_privilege(
        &analysis,
        &Selection::default(),
        &GenerateOptions::default(),
        Some(&granted),
    );
    for identity in &second.identities {
        let comparison = identity.granted.as_ref().unwrap();
        assert!(comparison.not_granted.is_empty(), "{}", identity.identity);
        assert!(comparison.flags.is_empty(), "{}", identity.identity);
        // Every generated permission was used, and nothing else is granted.
        assert!(
            comparison.unused.is_empty(),
            "{}: {:?}",
            identity.identity,
            comparison.unused
        );
        let p = &comparison.permissions;
        assert_eq!(p.used, p.granted, "{}", identity.identity);
        assert_eq!(
            p.granted > 0,
            !identity.roles.is_empty(),
            "{}",
            identity.identity
        );
    }
}

#[test]
fn a_file_that_is_not_rbac_or_not_readable_says_where() {
    // Broken YAML: the line is named.
    let error = Policy::parse("bad.yaml", "kind: Role\nmetadata:\n  name: [unclosed\n")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("bad.yaml: line "), "{error}");
    // A field of the wrong type, in JSON: the line and column are named.
    let error = Policy::parse(
        "bad.json",
        "{\"kind\": \"List\", \"items\": [\n {\"kind\": \"Role\", \"rules\": \"all\"}]}",
    )
    .unwrap_err()
    .to_string();
    assert!(error.starts_with("bad.json: line 2, column "), "{error}");
    // Valid YAML with no RBAC in it.
    let error = Policy::parse(
        "pods.yaml",
        "kind: Pod\nmetadata: {name: p}\n---\nkind: Pod\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        error,
        "pods.yaml holds no Role, ClusterRole, RoleBinding or ClusterRoleBinding (it holds 2 Pod)"
    );
}

#[test]
fn what_the_api_server_would_change_or_refuse_is_noted() {
    let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
rules: [{verbs: [get], apiGroups: [""], resources: [pods, secrets], resourceNames: [x]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: twice}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: twice}
rules: [{verbs: [list], apiGroups: [""], resources: [pods]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gone}
subjects: [{kind: User, name: alice}]
---
apiVersion: extensions.example.com/v1
kind: Role
metadata: {name: not-rbac}
"#;
    let parsed = Policy::parse("messy.yaml", text).unwrap();
    let notes = parsed.notes.join("\n");
    for expected in [
        "document 1: Role \"r\" has no namespace; taken as namespace \"default\"",
        "Role \"default/r\": rules[0].resourceNames: resource names cannot apply to several resources",
        "objects that are not RBAC objects were skipped (it holds 1 ConfigMap)",
        "document 4: ClusterRole \"twice\" appears more than once; the last one is used",
        "ClusterRoleBinding \"b\" refers to ClusterRole \"gone\", which is not in the file",
        "subjects[0].apiGroup: a User subject has apiGroup rbac.authorization.k8s.io",
        "document 6: Role \"not-rbac\" has apiVersion \"extensions.example.com/v1\"",
    ] {
        assert!(notes.contains(expected), "{expected}\nin:\n{notes}");
    }
    assert_eq!(parsed.policy.roles[0].metadata.namespace, "default");
    let twice = &parsed.policy.cluster_roles[0];
    assert_eq!(twice.rules.len(), 1);
    assert_eq!(parsed.policy.cluster_roles.len(), 1);
}
