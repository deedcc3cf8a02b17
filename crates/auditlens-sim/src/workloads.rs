//! Cascades: what the control plane does after someone changes a workload.
//!
//! A deployment update makes the deployment controller create a ReplicaSet, the ReplicaSet
//! controller create pods one at a time, the scheduler bind each to a node, that node's kubelet
//! report it running, the endpoint controllers add it to the service, and the old pods go the
//! same way back. A CronJob run creates a Job, the Job a pod, and the history limit deletes the
//! oldest Job. Each cascade is generated at once with future timestamps; the world's queue
//! interleaves it with everything else.

use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{rfc3339_seconds, MILLI, MINUTE, SECOND};
use crate::cluster::name_suffix;
use crate::json::{arr, obj, Json};
use crate::traffic::control_plane::Ctl;
use crate::world::{SimRng, World};

/// Rolls out a new ReplicaSet of app `app` starting at `at`; returns when it is done.
pub(crate) fn rollout(w: &mut World, rng: &mut SimRng, app: usize, at: i64) -> i64 {
    let old_pods: Vec<usize> = (0..w.cluster.pods.len())
        .filter(|&p| w.cluster.pods[p].app == Some(app))
        .collect();
    let old_rs = w.cluster.apps[app].rs_name();
    w.cluster.new_replica_set(rng, app);
    let target = &w.cluster.apps[app];
    let (ns, name, replicas) = (
        target.namespace.clone(),
        target.name.clone(),
        target.replicas,
    );
    let (rs_name, template) = (target.rs_name(), target.template.clone());
    let image = target.image();
    let enforce = w.cluster.enforce_level(&ns);
    let deploy_ctl = w.roster.ctl(Ctl::Deployment);
    let rs_ctl = w.roster.ctl(Ctl::ReplicaSet);

    let mut t = at + rng.gen_range(5 * MILLI..40 * MILLI);
    let rs_body = obj! {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": obj! {
            "name": rs_name.clone(),
            "namespace": &ns,
            "creationTimestamp": Json::Null,
            "labels": obj! { "app.kubernetes.io/name": &name, "pod-template-hash": rs_name[name.len() + 1..].to_string() },
        },
        "spec": obj! {
            "replicas": 1_u32,
            "selector": obj! { "matchLabels": obj! { "app.kubernetes.io/name": &name } },
            "template": obj! { "spec": obj! { "containers": arr![obj! { "name": "app", "image": image }] } },
        },
        "status": obj! { "replicas": 0_u32 },
    };
    let create_rs = w
        .call(rng, deploy_ctl, "create", t)
        .object(&REPLICASETS, ns.clone(), rs_name.clone())
        .body(&rs_body);
    t = create_rs.completed + rng.gen_range(MILLI..10 * MILLI);
    w.emit(create_rs);
    let status = w
        .call(rng, deploy_ctl, "update", t)
        .object(&DEPLOYMENTS, ns.clone(), name.clone())
        .sub("status");
    t = status.completed + rng.gen_range(50 * MILLI..400 * MILLI);
    w.emit(status);

    for i in 0..replicas as usize {
        let scale_up =
            w.call(rng, deploy_ctl, "update", t)
                .object(&REPLICASETS, ns.clone(), rs_name.clone());
        t = scale_up.completed + rng.gen_range(2 * MILLI..30 * MILLI);
        w.emit(scale_up);
        let pod_name: Arc<str> = Arc::from(format!("{rs_name}-{}", name_suffix(rng, 5)));
        let create = w
            .call(rng, rs_ctl, "create", t)
            .collection(&PODS, ns.clone())
            .body_raw(template.clone())
            .pod_security(enforce, None);
        t = create.completed;
        w.emit(create);
        let pod = w.cluster.place_pod(rng, pod_name, ns.clone(), Some(app));
        let ready = start_pod(w, rng, pod, t);

        if let Some(&old) = old_pods.get(i) {
            t = ready + rng.gen_range(100 * MILLI..2 * SECOND);
            let scale_down = w.call(rng, deploy_ctl, "update", t).object(
                &REPLICASETS,
                ns.clone(),
                old_rs.clone(),
            );
            t = scale_down.completed + rng.gen_range(2 * MILLI..30 * MILLI);
            w.emit(scale_down);
            stop_pod(w, rng, old, t, Ctl::ReplicaSet);
        } else {
            t = ready + rng.gen_range(50 * MILLI..SECOND);
        }
    }
    for &old in old_pods.iter().skip(replicas as usize) {
        stop_pod(w, rng, old, t, Ctl::ReplicaSet);
        t += rng.gen_range(50 * MILLI..500 * MILLI);
    }
    let done = w
        .call(rng, deploy_ctl, "update", t)
        .object(&DEPLOYMENTS, ns, name)
        .sub("status");
    t = done.completed;
    w.emit(done);
    let old_names: Vec<Arc<str>> = old_pods
        .iter()
        .map(|&p| w.cluster.pods[p].name.clone())
        .collect();
    w.cluster.pods.retain(|p| !old_names.contains(&p.name));
    t
}

/// The scheduler binding pod `pod` and its kubelet starting it; returns when it is ready.
pub(crate) fn start_pod(w: &mut World, rng: &mut SimRng, pod: usize, at: i64) -> i64 {
    let p = &w.cluster.pods[pod];
    let (ns, name, uid, node) = (p.namespace.clone(), p.name.clone(), p.uid.clone(), p.node);
    let (node_name, kubelet) = (
        w.cluster.nodes[node].name.clone(),
        w.cluster.nodes[node].kubelet,
    );
    let scheduler = w.roster.scheduler;
    let mut t = at + rng.gen_range(2 * MILLI..60 * MILLI);

    let binding = obj! {
        "kind": "Binding",
        "apiVersion": "v1",
        "metadata": obj! { "name": &name, "namespace": &ns, "uid": &uid, "creationTimestamp": Json::Null },
        "target": obj! { "kind": "Node", "name": &node_name },
    };
    let bind = w
        .call(rng, scheduler, "create", t)
        .object(&PODS, ns.clone(), name.clone())
        .sub("binding")
        .body(&binding);
    t = bind.completed + rng.gen_range(MILLI..10 * MILLI);
    w.emit(bind);
    let scheduled = w
        .call(rng, scheduler, "create", t)
        .collection(&CORE_EVENTS_V1, ns.clone());
    w.emit(scheduled);

    t += rng.gen_range(300 * MILLI..2 * SECOND);
    let pending = w
        .call(rng, kubelet, "patch", t)
        .object(&PODS, ns.clone(), name.clone())
        .sub("status");
    t = pending.completed;
    w.emit(pending);
    for _ in 0..rng.gen_range(2..5) {
        t += rng.gen_range(100 * MILLI..3 * SECOND);
        // Event names end in the creation time in hex nanoseconds, as client-go makes them.
        let event_name = format!("{name}.{:x}", t.saturating_mul(1_000));
        let event = w
            .call(rng, kubelet, "create", t)
            .object(&EVENTS, ns.clone(), event_name);
        w.emit(event);
    }
    t += rng.gen_range(SECOND..8 * SECOND);
    let running = w
        .call(rng, kubelet, "patch", t)
        .object(&PODS, ns.clone(), name)
        .sub("status");
    t = running.completed;
    w.emit(running);
    endpoints_follow(w, rng, &ns, pod, t)
}

/// Deletes pod `pod` on behalf of `by`, then its kubelet stops it and removes the object.
pub(crate) fn stop_pod(w: &mut World, rng: &mut SimRng, pod: usize, at: i64, by: Ctl) -> i64 {
    let p = &w.cluster.pods[pod];
    let (ns, name, uid, node) = (p.namespace.clone(), p.name.clone(), p.uid.clone(), p.node);
    let kubelet = w.cluster.nodes[node].kubelet;
    let actor = w.roster.ctl(by);
    let delete = w
        .call(rng, actor, "delete", at)
        .object(&PODS, ns.clone(), name.clone());
    let mut t = delete.completed + rng.gen_range(200 * MILLI..SECOND);
    w.emit(delete);
    let terminating = w
        .call(rng, kubelet, "patch", t)
        .object(&PODS, ns.clone(), name.clone())
        .sub("status");
    t = terminating.completed;
    w.emit(terminating);
    t = endpoints_follow(w, rng, &ns, pod, t);
    t += rng.gen_range(SECOND..25 * SECOND);
    let options = obj! {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0_u32,
        "preconditions": obj! { "uid": &uid },
    };
    let remove = w
        .call(rng, kubelet, "delete", t)
        .object(&PODS, ns, name)
        .body(&options);
    t = remove.completed;
    w.emit(remove);
    t
}

/// After someone deleted pod `pod` of an app: its kubelet stops it, and the ReplicaSet
/// controller creates a replacement.
pub(crate) fn replace_deleted_pod(w: &mut World, rng: &mut SimRng, pod: usize, at: i64) {
    let p = &w.cluster.pods[pod];
    let (ns, name, uid, node, app) = (
        p.namespace.clone(),
        p.name.clone(),
        p.uid.clone(),
        p.node,
        p.app,
    );
    let Some(app) = app else { return };
    let kubelet = w.cluster.nodes[node].kubelet;
    let rs_ctl = w.roster.ctl(Ctl::ReplicaSet);
    let template = w.cluster.apps[app].template.clone();
    let rs_name = w.cluster.apps[app].rs_name();
    let enforce = w.cluster.enforce_level(&ns);

    let create_at = at + rng.gen_range(5 * MILLI..60 * MILLI);
    let create = w
        .call(rng, rs_ctl, "create", create_at)
        .collection(&PODS, ns.clone())
        .body_raw(template)
        .pod_security(enforce, None);
    let created = create.completed;
    w.emit(create);
    let new_name: Arc<str> = Arc::from(format!("{rs_name}-{}", name_suffix(rng, 5)));
    let new_pod = w.cluster.place_pod(rng, new_name, ns.clone(), Some(app));
    start_pod(w, rng, new_pod, created);

    let mut t = at + rng.gen_range(200 * MILLI..SECOND);
    let terminating = w
        .call(rng, kubelet, "patch", t)
        .object(&PODS, ns.clone(), name.clone())
        .sub("status");
    t = terminating.completed + rng.gen_range(SECOND..25 * SECOND);
    w.emit(terminating);
    let options = obj! {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0_u32,
        "preconditions": obj! { "uid": &uid },
    };
    let remove = w
        .call(rng, kubelet, "delete", t)
        .object(&PODS, ns, name.clone())
        .body(&options);
    w.emit(remove);
    w.cluster.pods.retain(|p| p.name != name);
}

/// The endpoint controllers updating the service of pod `pod`'s app.
fn endpoints_follow(w: &mut World, rng: &mut SimRng, ns: &Arc<str>, pod: usize, at: i64) -> i64 {
    let Some(app) = w.cluster.pods[pod].app else {
        return at;
    };
    let service = w.cluster.apps[app].name.clone();
    let slice_ctl = w.roster.ctl(Ctl::EndpointSlice);
    let endpoint_ctl = w.roster.ctl(Ctl::Endpoint);
    let mut t = at + rng.gen_range(5 * MILLI..80 * MILLI);
    let slice_name = format!("{service}-{}", name_suffix(rng, 5));
    let slice = w
        .call(rng, slice_ctl, "update", t)
        .object(&ENDPOINTSLICES, ns.clone(), slice_name);
    t = slice.completed + rng.gen_range(MILLI..20 * MILLI);
    w.emit(slice);
    let endpoints = w
        .call(rng, endpoint_ctl, "update", t)
        .object(&ENDPOINTS, ns.clone(), service);
    t = endpoints.completed;
    w.emit(endpoints);
    t
}

/// The nightly CronJob `batch/nightly-report` firing at `at`: Job, pod, completion, history.
pub(crate) fn cron_run(w: &mut World, rng: &mut SimRng, at: i64) {
    let cron_ctl = w.roster.ctl(Ctl::CronJob);
    let job_ctl = w.roster.ctl(Ctl::Job);
    let ns = w.cluster.ns("batch");
    let scheduled_minutes = at / MINUTE;
    let job_name = format!("nightly-report-{scheduled_minutes}");
    let mut t = at + rng.gen_range(5 * MILLI..200 * MILLI);

    let job = obj! {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": obj! {
            "name": job_name.clone(),
            "namespace": &ns,
            "creationTimestamp": Json::Null,
            "labels": obj! { "app.kubernetes.io/name": "nightly-report" },
            "annotations": obj! { "batch.kubernetes.io/cronjob-scheduled-timestamp": rfc3339_seconds(at - at % MINUTE) },
            "ownerReferences": arr![obj! {
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-report",
                "uid": w.delivery.cronjob_uid.to_string(), "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": obj! {
            "backoffLimit": 2_u32,
            "template": obj! {
                "spec": obj! {
                    "containers": arr![obj! {
                        "name": "report",
                        "image": "registry.example.com/shop/report-runner:2.3.1",
                        "args": arr!["--since=24h", "--upload=s3://shop-reports/nightly"],
                        "envFrom": arr![obj! { "secretRef": obj! { "name": "report-db-credentials" } }],
                        "securityContext": obj! { "allowPrivilegeEscalation": false, "runAsNonRoot": true },
                    }],
                    "restartPolicy": "OnFailure",
                    "serviceAccountName": "report-runner",
                },
            },
        },
        "status": obj! {},
    };
    let create_job = w
        .call(rng, cron_ctl, "create", t)
        .object(&JOBS, ns.clone(), job_name.clone())
        .body(&job);
    t = create_job.completed + rng.gen_range(MILLI..20 * MILLI);
    w.emit(create_job);
    let cron_status = w
        .call(rng, cron_ctl, "update", t)
        .object(&CRONJOBS, ns.clone(), "nightly-report")
        .sub("status");
    t = cron_status.completed + rng.gen_range(5 * MILLI..100 * MILLI);
    w.emit(cron_status);

    let pod_body = obj! {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": obj! {
            "generateName": format!("{job_name}-"),
            "namespace": &ns,
            "creationTimestamp": Json::Null,
            "labels": obj! { "batch.kubernetes.io/job-name": job_name.clone(), "app.kubernetes.io/name": "nightly-report" },
        },
        "spec": obj! {
            "containers": arr![obj! {
                "name": "report",
                "image": "registry.example.com/shop/report-runner:2.3.1",
                "envFrom": arr![obj! { "secretRef": obj! { "name": "report-db-credentials" } }],
                "securityContext": obj! { "allowPrivilegeEscalation": false, "runAsNonRoot": true },
            }],
            "restartPolicy": "OnFailure",
            "serviceAccountName": "report-runner",
        },
        "status": obj! {},
    };
    let enforce = w.cluster.enforce_level(&ns);
    let create_pod = w
        .call(rng, job_ctl, "create", t)
        .collection(&PODS, ns.clone())
        .body(&pod_body)
        .pod_security(enforce, None);
    t = create_pod.completed;
    w.emit(create_pod);
    let pod_name: Arc<str> = Arc::from(format!("{job_name}-{}", name_suffix(rng, 5)));
    let pod = w.cluster.place_pod(rng, pod_name, ns.clone(), None);
    t = start_pod(w, rng, pod, t);

    let (pod_ns, pod_name, node) = {
        let p = &w.cluster.pods[pod];
        (p.namespace.clone(), p.name.clone(), p.node)
    };
    let kubelet = w.cluster.nodes[node].kubelet;
    let runtime = rng.gen_range(4 * MINUTE..9 * MINUTE);
    let secret_watch = w
        .call(rng, kubelet, "watch", t)
        .collection(&SECRETS, pod_ns.clone())
        .query(format!(
            "fieldSelector=metadata.name%3Dreport-db-credentials&resourceVersion={}&timeout=5m0s&timeoutSeconds=300&watch=true",
            w.resource_version
        ))
        .took(runtime.min(300 * SECOND));
    w.emit(secret_watch);
    t += runtime;
    let succeeded = w
        .call(rng, kubelet, "patch", t)
        .object(&PODS, pod_ns, pod_name)
        .sub("status");
    t = succeeded.completed + rng.gen_range(20 * MILLI..300 * MILLI);
    w.emit(succeeded);
    let job_done = w
        .call(rng, job_ctl, "update", t)
        .object(&JOBS, ns.clone(), job_name)
        .sub("status");
    t = job_done.completed + rng.gen_range(20 * MILLI..300 * MILLI);
    w.emit(job_done);
    let cron_done = w
        .call(rng, cron_ctl, "update", t)
        .object(&CRONJOBS, ns.clone(), "nightly-report")
        .sub("status");
    t = cron_done.completed + rng.gen_range(5 * MILLI..50 * MILLI);
    w.emit(cron_done);

    // successfulJobsHistoryLimit: 3 — the run from three days ago goes.
    let oldest = format!("nightly-report-{}", scheduled_minutes - 3 * 24 * 60);
    let options =
        obj! { "kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background" };
    let delete_job = w
        .call(rng, cron_ctl, "delete", t)
        .object(&JOBS, ns.clone(), oldest.clone())
        .body(&options);
    t = delete_job.completed + rng.gen_range(20 * MILLI..500 * MILLI);
    w.emit(delete_job);
    let gc = w.roster.ctl(Ctl::GarbageCollector);
    let old_pod = format!("{oldest}-{}", name_suffix(rng, 5));
    let collect = w.call(rng, gc, "delete", t).object(&PODS, ns, old_pod);
    w.emit(collect);
    let finished = w.cluster.pods[pod].name.clone();
    w.cluster.pods.retain(|p| p.name != finished);
}
