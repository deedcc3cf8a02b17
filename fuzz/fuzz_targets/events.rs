//! The whole analysis (stage merging, rules, identities, baselines, scoring, incidents) on
//! arbitrary sequences of well-formed audit events built from a small vocabulary, so that the
//! fuzzer spends its time on what events say rather than on JSON syntax.
#![no_main]

mod common;

const USERS: &[&str] = &[
    "alice@example.com",
    "system:anonymous",
    "system:node:node-1",
    "system:serviceaccount:kube-system:replicaset-controller",
    "system:serviceaccount:shop:api",
    "system:kube-controller-manager",
    "mallory",
];
const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];
const RESOURCES: &[(&str, &str)] = &[
    ("pods", ""),
    ("pods", "exec"),
    ("secrets", ""),
    ("configmaps", ""),
    ("clusterrolebindings", ""),
    ("roles", ""),
    ("namespaces", ""),
    ("events", ""),
    ("nodes", "proxy"),
    ("serviceaccounts", "token"),
];
const NAMESPACES: &[&str] = &["", "default", "kube-system", "shop"];
const CODES: &[u16] = &[200, 201, 401, 403, 404, 409, 500, 0];
const STAGES: &[&str] = &[
    "RequestReceived",
    "ResponseStarted",
    "ResponseComplete",
    "Panic",
];
const IPS: &[&str] = &["10.0.0.1", "45.33.12.9", "2a01:4f8::1", "192.0.2.1", "::1"];
const BODIES: &[&str] = &[
    "",
    r#","requestObject":{"kind":"Pod","spec":{"containers":[{"name":"c","image":"busybox","securityContext":{"privileged":true,"runAsUser":0}}],"hostPID":true,"volumes":[{"name":"h","hostPath":{"path":"/"}}]}}"#,
    r#","requestObject":{"kind":"ClusterRoleBinding","roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"system:anonymous"}]}"#,
    r#","requestObject":{"kind":"Role","rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}"#,
];

fn pick<T: Copy>(list: &[T], byte: u8) -> T {
    list[usize::from(byte) % list.len()]
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut log = String::new();
    for (i, e) in data.chunks_exact(9).take(500).enumerate() {
        let (resource, subresource) = pick(RESOURCES, e[2]);
        let namespace = pick(NAMESPACES, e[3]);
        let uri = if subresource.is_empty() {
            format!("/api/v1/namespaces/{namespace}/{resource}/x{}", e[4] % 4)
        } else {
            format!(
                "/api/v1/namespaces/{namespace}/{resource}/x{}/{subresource}?command=sh",
                e[4] % 4
            )
        };
        // Few distinct auditIDs, so that stages merge and ids repeat with other content.
        let id = format!("id-{}", e[5] % 64);
        let seconds = 1_772_445_600u64 + u64::from(e[6]) * 3_600 + i as u64;
        log.push_str(&format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"{id}","stage":"{}","requestURI":"{uri}","verb":"{}","user":{{"username":"{}","groups":["system:authenticated"]}},"sourceIPs":["{}"],"userAgent":"kubectl/v1.29","objectRef":{{"resource":"{resource}","subresource":"{subresource}","namespace":"{namespace}","name":"x{}","apiVersion":"v1"}},"responseStatus":{{"code":{}}},"requestReceivedTimestamp":"{seconds}","stageTimestamp":"{seconds}"{}}}"#,
            pick(STAGES, e[7]),
            pick(VERBS, e[1]),
            pick(USERS, e[0]),
            pick(IPS, e[8]),
            e[4] % 4,
            pick(CODES, e[8] >> 3),
            pick(BODIES, e[7] >> 2),
        ));
        log.push('\n');
    }
    let analysis = common::analyse(log.as_bytes(), log.len().max(1));
    common::accounted(&analysis.summary());
    // The report serializes, and what was learned can be saved and read back.
    let report = serde_json::to_string(&analysis.report()).unwrap();
    assert!(report.starts_with('{'));
    let saved = analysis.baseline().to_json();
    auditlens_core::Baseline::from_json(&saved).unwrap();
});
