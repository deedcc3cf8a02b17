//! Least-privilege RBAC generated from logs: audit2rbac's demo log (alice, bob and the
//! ns1:sa1 service account, all impersonated by system:admin) and `tests/fixtures/rbac/
//! cluster.ndjson` (a narrow service account, a developer across namespaces, impersonation, a
//! kubelet, anonymous requests, a hostile username). Each result is replayed against its log in
//! both directions (see `rbac_support`).

#![allow(clippy::unwrap_used)]

mod rbac_support;

use auditlens_core::rbac::objects::{ObjectMeta, PolicyRule, Role, RoleBinding, RoleRef, Subject};
use auditlens_core::rbac::{
    least_privilege, GenerateOptions, IdentityPrivilege, LeastPrivilege, Object, Policy, Selection,
};
use auditlens_core::Analysis;
use rbac_support::{analyze, replay};

const AUDIT2RBAC: &[u8] =
    include_bytes!("../../../tests/fixtures/third-party/audit2rbac/demo.v1beta1.ndjson");
const CLUSTER: &[u8] = include_bytes!("../../../tests/fixtures/rbac/cluster.ndjson");

fn generate(analysis: &Analysis, identities: &[&str]) -> LeastPrivilege {
    let selection = Selection {
        identities: identities.iter().map(|s| s.to_string()).collect(),
        ..Selection::default()
    };
    least_privilege(analysis, &selection, &GenerateOptions::default(), None)
}

fn identity<'a>(result: &'a LeastPrivilege, name: &str) -> &'a IdentityPrivilege {
    result
        .identities
        .iter()
        .find(|i| i.identity == name)
        .unwrap_or_else(|| panic!("no {name} in the result"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn rule(groups: &[&str], resources: &[&str], names: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: strings(groups),
        resources: strings(resources),
        resource_names: strings(names),
        verbs: strings(verbs),
        non_resource_urls: Vec::new(),
    }
}

#[test]
fn audit2rbac_log_gives_alice_bob_and_sa1_what_they_were_allowed() {
    let analysis = analyze("demo.v1beta1.ndjson", AUDIT2RBAC);
    let result = generate(&analysis, &["alice", "bob", "ns1:sa1"]);
    assert!(result.unmatched.is_empty());
    let names: Vec<&str> = result
        .identities
        .iter()
        .map(|i| i.identity.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob", "system:serviceaccount:ns1:sa1"]);

    // alice was refused everything she tried: nothing to grant, three refusals listed.
    let alice = identity(&result, "alice");
    assert!(alice.roles.is_empty());
    assert_eq!(alice.requests.allowed, 0);
    let refused: Vec<String> = alice.denied.iter().map(|d| d.describe()).collect();
    assert_eq!(
        refused,
        [
            "list configmaps in ns1",
            "list pods in ns1",
            "list secrets in ns1"
        ]
    );
    assert_eq!(alice.impersonated_by[0].value, "system:admin");

    // bob: discovery paths cluster-wide, and list pods in default only.
    let bob = identity(&result, "bob");
    let kinds: Vec<(&str, &str)> = bob
        .roles
        .iter()
        .map(|r| (r.kind.as_str(), r.namespace.as_str()))
        .collect();
    assert_eq!(kinds, [("ClusterRole", ""), ("Role", "default")]);
    let paths = &bob.roles[0].rules[0].rule;
    assert_eq!(paths.verbs, ["get"]);
    assert_eq!(paths.non_resource_urls.len(), 23);
    assert!(paths
        .non_resource_urls
        .contains(&"/apis/apps/v1beta1".to_string()));
    assert_eq!(
        bob.roles[1].rules[0].rule,
        rule(&[""], &["pods"], &[], &["list"])
    );
    assert_eq!(bob.roles[1].rules[0].why.requests, 2);
    // Refused before being allowed: the refusals are listed, and marked as granted anyway.
    assert!(bob.denied.iter().any(|d| d.describe() == "list nodes"));
    let granted_anyway: Vec<String> = bob
        .refused_but_granted
        .iter()
        .map(|d| d.describe())
        .collect();
    assert_eq!(granted_anyway, ["list pods in default"]);

    // sa1: its ServiceAccount, list pods across all namespaces.
    let sa1 = identity(&result, "system:serviceaccount:ns1:sa1");
    assert_eq!(sa1.subject, Subject::service_account("ns1", "sa1"));
    assert_eq!(sa1.roles.len(), 1);
    assert_eq!(sa1.roles[0].kind, "ClusterRole");
    assert_eq!(sa1.roles[0].rules.len(), 1);
    assert_eq!(
        sa1.roles[0].rules[0].rule,
        rule(&[""], &["pods"], &[], &["list"])
    );
    let binding = &result.generated[2].roles[0].bindings[0];
    let Object::ClusterRoleBinding(binding) = binding else {
        panic!("{binding:?}")
    };
    assert_eq!(binding.metadata.name, "auditlens:sa:ns1:sa1");
    assert_eq!(binding.subjects, [Subject::service_account("ns1", "sa1")]);

    // Every allowed request of the three (bob's 25, sa1's one) is allowed again; the rest of
    // the log and the probes around them are refused or justified.
    let checked = replay(&analysis, &result, GenerateOptions::default().max_names);
    assert_eq!(checked.allowed, bob.requests.allowed + sa1.requests.allowed);
    assert_eq!(checked.allowed, 26);
    assert!(
        checked.outside > checked.justified && checked.justified > 0,
        "{checked:?}"
    );
}

#[test]
fn every_identity_of_both_logs_replays_exactly() {
    for (name, log) in [
        ("demo.v1beta1.ndjson", AUDIT2RBAC),
        ("cluster.ndjson", CLUSTER),
    ] {
        let analysis = analyze(name, log);
        let result = generate(&analysis, &[]);
        assert!(result.identities.len() >= 4, "{name}");
        let checked = replay(&analysis, &result, GenerateOptions::default().max_names);
        assert!(
            checked.allowed > 0 && checked.outside > checked.allowed,
            "{name}: {checked:?}"
        );
    }
}

#[test]
fn a_service_account_that_reads_one_configmap_gets_exactly_that() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let result = generate(&analysis, &["serviceaccount:shop/web"]);
    assert_eq!(result.identities.len(), 1);
    let objects: Vec<&Object> = result.objects();
    let meta = |name: &str| ObjectMeta {
        name: name.into(),
        namespace: "shop".into(),
        ..ObjectMeta::default()
    };
    let Object::Role(role) = objects[0] else {
        panic!("{:?}", objects[0])
    };
    assert_eq!(role.metadata.name, "auditlens:sa:shop:web");
    assert_eq!(role.metadata.namespace, "shop");
    assert_eq!(
        role.rules,
        [rule(&[""], &["configmaps"], &["app-config"], &["get"])]
    );
    assert_eq!(
        objects[1],
        &Object::RoleBinding(RoleBinding {
            metadata: meta("auditlens:sa:shop:web"),
            role_ref: RoleRef::role("auditlens:sa:shop:web"),
            subjects: vec![Subject::service_account("shop", "web")],
        })
    );
    assert_eq!(objects.len(), 2);
    // The secret it was refused is listed, not granted.
    let web = &result.identities[0];
    assert_eq!(web.denied.len(), 1);
    assert_eq!(web.denied[0].describe(), "get secrets/db-password in shop");
    assert!(web.refused_but_granted.is_empty());
    let why = &web.roles[0].rules[0].why;
    assert_eq!((why.requests, why.verbs["get"]), (3, 3));
    replay(&analysis, &result, GenerateOptions::default().max_names);
}

#[test]
fn namespaces_with_the_same_needs_share_one_cluster_role() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let result = generate(&analysis, &["user:carol"]);
    let carol = identity(&result, "carol");
    // dev and staging: one ClusterRole bound in both; prod: a Role of its own.
    assert_eq!(carol.roles.len(), 2);
    let shared = &carol.roles[0];
    assert_eq!(shared.kind, "ClusterRole");
    assert_eq!(shared.name, "auditlens:carol:namespaced");
    assert_eq!(shared.bound_in, ["dev", "staging"]);
    let rules: Vec<&PolicyRule> = shared.rules.iter().map(|r| &r.rule).collect();
    assert_eq!(
        rules,
        [
            // A create is authorized without a name: no resourceNames, even though the log
            // names the configmap it created.
            &rule(&[""], &["configmaps", "pods/exec"], &[], &["create"]),
            &rule(&[""], &["pods"], &[], &["list"]),
            &rule(&[""], &["pods/log"], &["web-1"], &["get"]),
            &rule(&["apps"], &["deployments"], &[], &["list"]),
            &rule(&["apps"], &["deployments"], &["web"], &["get"]),
            &rule(&["apps"], &["deployments/scale"], &["web"], &["patch"]),
        ]
    );
    assert!(shared.rules.iter().all(|r| r.why.namespaces == 2));
    let prod = &carol.roles[1];
    assert_eq!(
        (prod.kind.as_str(), prod.namespace.as_str()),
        ("Role", "prod")
    );
    // Seven names is more than the limit, but without them the refused payments-db would be
    // allowed: the names stay, and a note says why.
    let names: Vec<&str> = prod.rules[1]
        .rule
        .resource_names
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        ["api-1", "api-2", "api-3", "api-4", "api-5", "api-6", "api-7"]
    );
    assert!(
        carol.notes.iter().any(|n| n.contains("kept all 7 names")),
        "{:?}",
        carol.notes
    );
    // Allowed by RBAC, refused by admission (403 with decision allow): granted.
    assert_eq!(prod.rules[0].rule, rule(&[""], &["pods"], &[], &["create"]));
    // The request logged only at its first stage counts for nothing.
    assert_eq!(carol.requests.undetermined, 1);
    let objects = result.objects();
    let bindings: Vec<(&str, &str)> = objects
        .iter()
        .filter_map(|o| match o {
            Object::RoleBinding(b) => {
                Some((b.metadata.namespace.as_str(), b.role_ref.kind.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        bindings,
        [
            ("dev", "ClusterRole"),
            ("staging", "ClusterRole"),
            ("prod", "Role")
        ]
    );
    replay(&analysis, &result, GenerateOptions::default().max_names);
}

#[test]
fn more_names_than_the_limit_are_granted_without_names_unless_a_refusal_forbids_it() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    // With a limit of 1, the kubelet's three secrets in three namespaces still get names
    // (one per namespace), and carol's deployment and log get names; prometheus reads two
    // nodes' proxy: more than one name, and nothing refused, so no names.
    let selection = Selection::default();
    let options = GenerateOptions {
        max_names: 1,
        ..GenerateOptions::default()
    };
    let result = least_privilege(&analysis, &selection, &options, None);
    let prometheus = identity(&result, "system:serviceaccount:monitoring:prometheus");
    let proxy = prometheus.roles[0]
        .rules
        .iter()
        .find(|r| r.rule.resources == ["nodes/proxy"])
        .unwrap();
    assert!(proxy.rule.resource_names.is_empty());
    replay(&analysis, &result, 1);
    // With the default limit, the two node names are kept.
    let result = generate(&analysis, &["system:serviceaccount:monitoring:prometheus"]);
    let rules = &result.identities[0].roles[0].rules;
    let proxy = rules
        .iter()
        .find(|r| r.rule.resources == ["nodes/proxy"])
        .unwrap();
    assert_eq!(proxy.rule.resource_names, ["n1", "n2"]);
    // Lists and watches across all namespaces, and /metrics with and without a query as one
    // path.
    let described: Vec<String> = rules.iter().map(|r| r.rule.describe()).collect();
    assert_eq!(
        described,
        [
            "list, watch endpoints, pods, services (group core)",
            "get nodes/proxy named n1, n2 (group core)",
            "get /metrics"
        ]
    );
    assert_eq!(rules[2].why.requests, 2);
}

#[test]
fn an_impersonator_gets_the_impersonation_it_used_and_the_target_its_requests() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let result = generate(
        &analysis,
        &["ci-bot", "system:serviceaccount:dev:deployer", "release"],
    );
    let ci = identity(&result, "ci-bot");
    assert_eq!(ci.requests.allowed, 0);
    assert_eq!(ci.requests.impersonation_checks, 6);
    let rules: Vec<(String, String, Vec<PolicyRule>)> = ci
        .roles
        .iter()
        .map(|r| {
            (
                r.kind.clone(),
                r.namespace.clone(),
                r.rules.iter().map(|v| v.rule.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            (
                "ClusterRole".to_string(),
                String::new(),
                vec![
                    rule(&[""], &["groups"], &["release-managers"], &["impersonate"]),
                    rule(&[""], &["users"], &["release"], &["impersonate"]),
                ]
            ),
            (
                "Role".to_string(),
                "dev".to_string(),
                vec![rule(
                    &[""],
                    &["serviceaccounts"],
                    &["deployer"],
                    &["impersonate"]
                )]
            ),
        ]
    );
    assert!(ci.roles[0].rules[0].why.impersonation);
    let deployer = identity(&result, "system:serviceaccount:dev:deployer");
    assert_eq!(
        deployer.subject,
        Subject::service_account("dev", "deployer")
    );
    assert_eq!(deployer.impersonated_by[0].value, "ci-bot");
    assert_eq!(deployer.impersonated_by[0].count, 4);
    assert_eq!(
        deployer.roles[0].rules[0].rule,
        rule(&["apps"], &["deployments"], &["web"], &["get", "update"])
    );
    // Getting a namespace is authorized in that namespace.
    let release = identity(&result, "release");
    assert_eq!(release.roles[0].namespace, "prod");
    assert_eq!(
        release.roles[0].rules[0].rule,
        rule(&[""], &["namespaces"], &["prod"], &["get"])
    );
    replay(&analysis, &result, GenerateOptions::default().max_names);
}

#[test]
fn filters_pick_identities_by_class_and_requests_by_namespace() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let by_class = least_privilege(
        &analysis,
        &Selection {
            class: Some(auditlens_core::IdentityClass::ServiceAccount),
            ..Selection::default()
        },
        &GenerateOptions::default(),
        None,
    );
    let names: Vec<&str> = by_class
        .identities
        .iter()
        .map(|i| i.identity.as_str())
        .collect();
    // The deployer is a service account too, but its name makes it automation.
    assert_eq!(
        names,
        [
            "system:serviceaccount:monitoring:prometheus",
            "system:serviceaccount:shop:web"
        ]
    );
    assert!(by_class
        .identities
        .iter()
        .all(|i| i.class == "service-account"));
    let in_dev = least_privilege(
        &analysis,
        &Selection {
            identities: vec!["carol".into(), "nobody-here".into()],
            namespace: Some("dev".into()),
            ..Selection::default()
        },
        &GenerateOptions::default(),
        None,
    );
    assert_eq!(in_dev.unmatched, ["nobody-here"]);
    let carol = identity(&in_dev, "carol");
    assert_eq!(carol.roles.len(), 1);
    assert_eq!(
        (
            carol.roles[0].kind.as_str(),
            carol.roles[0].namespace.as_str()
        ),
        ("Role", "dev")
    );
    assert_eq!(carol.requests.denied, 0);
}

#[test]
fn the_yaml_reads_back_as_the_same_objects_and_logs_cannot_break_it() {
    for (name, log) in [
        ("demo.v1beta1.ndjson", AUDIT2RBAC),
        ("cluster.ndjson", CLUSTER),
    ] {
        let analysis = analyze(name, log);
        let result = generate(&analysis, &[]);
        let yaml = result.to_yaml();
        // As kubectl would read it: every document an object, equal to the generated one.
        let documents: Vec<serde_json::Value> = serde_saphyr::from_multiple(&yaml).unwrap();
        let expected: Vec<serde_json::Value> = result
            .objects()
            .iter()
            .map(|o| serde_json::to_value(o).unwrap())
            .collect();
        assert_eq!(documents, expected, "{name}");
        // And through the RBAC reader, the same policy with nothing to note.
        let parsed = Policy::parse(name, &yaml).unwrap();
        assert!(parsed.notes.is_empty(), "{name}: {:?}", parsed.notes);
        let direct = Policy::from_objects(result.objects().into_iter().cloned());
        assert_eq!(parsed.policy, direct.policy);
        // JSON: the same objects in a List.
        let json: serde_json::Value = serde_json::from_str(&result.to_json()).unwrap();
        assert_eq!(json["objects"]["kind"], "List");
        assert_eq!(json["objects"]["items"].as_array().unwrap(), &expected);
        assert_eq!(
            json["identities"].as_array().unwrap().len(),
            result.identities.len()
        );
    }
    // The username with a line separator, a newline and a comment in it stays in its comment
    // line and its quoted value, and the object name is made valid.
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let result = generate(&analysis, &[]);
    let yaml = result.to_yaml();
    assert!(!yaml.contains('\u{2028}'));
    assert!(!yaml.lines().any(|l| l.starts_with("kind: Secret")));
    let mallory = result
        .identities
        .iter()
        .find(|i| i.identity.starts_with("mallory"))
        .unwrap();
    assert_eq!(mallory.roles[0].name, "auditlens:mallory-kind:-secret");
    assert!(mallory.notes.is_empty(), "{:?}", mallory.notes);
}

#[test]
fn generated_objects_are_valid_and_named_after_their_identity() {
    let analysis = analyze("cluster.ndjson", CLUSTER);
    let result = generate(&analysis, &[]);
    for object in result.objects() {
        assert!(
            auditlens_core::rbac::validate::validate(object).is_empty(),
            "{object:?}"
        );
        assert!(object.metadata().name.starts_with("auditlens:"));
        if let Object::Role(Role { metadata, .. }) = object {
            assert_eq!(metadata.annotations.len(), 2);
        }
    }
    // Same input, same output.
    assert_eq!(result.to_yaml(), generate(&analysis, &[]).to_yaml());
}
