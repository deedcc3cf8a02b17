//! The parts of request and response bodies the rules read, and nothing else.
//!
//! Bodies arrive as raw JSON (`&RawValue`) borrowed from the record. A rule that needs one asks
//! the [`super::context::Ctx`], which parses it into one of these types the first time any rule
//! asks and keeps the result for the other rules of the same event. Unknown fields are skipped
//! by serde without being built, so a large pod spec costs little more than the fields below.
//! A body of an unexpected shape parses to `None`, and the rules that needed it stay silent.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `metadata`: enough to name the object.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: Option<String>,
    pub generate_name: Option<String>,
    pub namespace: Option<String>,
}

/// A Pod, or any workload that holds a pod template, or the old `EphemeralContainers` object.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodCarrier {
    pub kind: Option<String>,
    pub metadata: Option<Metadata>,
    pub spec: Option<PodSpec>,
    /// The `EphemeralContainers` kind (Kubernetes 1.16-1.21) lists them at the top.
    pub ephemeral_containers: Option<Vec<Container>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Template {
    pub spec: Option<PodSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JobTemplate {
    pub spec: Option<JobSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JobSpec {
    pub template: Option<Template>,
}

/// The pod fields the rules judge; for a workload, the template that holds them.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PodSpec {
    /// Deployments, DaemonSets, StatefulSets, ReplicaSets, Jobs.
    pub template: Option<Box<Template>>,
    /// CronJobs.
    pub job_template: Option<Box<JobTemplate>>,
    pub containers: Option<Vec<Container>>,
    pub init_containers: Option<Vec<Container>>,
    pub ephemeral_containers: Option<Vec<Container>>,
    #[serde(rename = "hostNetwork")]
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub volumes: Option<Vec<Volume>>,
    pub service_account_name: Option<String>,
    pub security_context: Option<SecurityContext>,
}

impl PodSpec {
    /// The pod template of a workload spec, if it holds one.
    pub fn template_spec(&self) -> Option<&PodSpec> {
        if let Some(spec) = self.template.as_ref().and_then(|t| t.spec.as_ref()) {
            return Some(spec);
        }
        self.job_template
            .as_ref()
            .and_then(|j| j.spec.as_ref())
            .and_then(|j| j.template.as_ref())
            .and_then(|t| t.spec.as_ref())
    }

    /// Every container: regular, init and ephemeral.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ]
        .into_iter()
        .flatten()
        .flatten()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Container {
    pub name: Option<String>,
    pub image: Option<String>,
    pub security_context: Option<SecurityContext>,
    pub volume_mounts: Option<Vec<VolumeMount>>,
}

impl Container {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("?")
    }

    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or("")
    }

    /// True when the container mounts the volume `volume`.
    pub fn mounts(&self, volume: &str) -> bool {
        self.volume_mounts
            .iter()
            .flatten()
            .any(|m| m.name.as_deref() == Some(volume))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub run_as_non_root: Option<bool>,
    pub capabilities: Option<Capabilities>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    pub add: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Volume {
    pub name: Option<String>,
    pub host_path: Option<HostPath>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostPath {
    pub path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VolumeMount {
    pub name: Option<String>,
}

/// A Role or ClusterRole.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Role {
    pub rules: Option<Vec<PolicyRule>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PolicyRule {
    pub verbs: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
    #[serde(rename = "nonResourceURLs")]
    pub non_resource_urls: Option<Vec<String>>,
}

impl Role {
    pub fn rules(&self) -> impl Iterator<Item = &PolicyRule> {
        self.rules.iter().flatten()
    }

    /// Every verb of every rule.
    pub fn verbs(&self) -> impl Iterator<Item = &str> {
        self.rules()
            .flat_map(|r| r.verbs.iter().flatten())
            .map(String::as_str)
    }

    /// Every resource of every rule.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.rules()
            .flat_map(|r| r.resources.iter().flatten())
            .map(String::as_str)
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Binding {
    pub role_ref: Option<RoleRef>,
    pub subjects: Option<Vec<Subject>>,
}

impl Binding {
    pub fn role(&self) -> &str {
        self.role_ref
            .as_ref()
            .and_then(|r| r.name.as_deref())
            .unwrap_or("")
    }

    pub fn subjects(&self) -> impl Iterator<Item = &Subject> {
        self.subjects.iter().flatten()
    }

    /// The subjects as `Kind name` (or `Kind namespace/name`), comma-separated.
    pub fn subject_list(&self) -> String {
        self.subjects()
            .map(Subject::label)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RoleRef {
    pub kind: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Subject {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl Subject {
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    pub fn label(&self) -> String {
        match self.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => format!("{} {ns}/{}", self.kind(), self.name()),
            _ => format!("{} {}", self.kind(), self.name()),
        }
    }
}

/// A Service.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    pub spec: Option<ServiceSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub ports: Option<Vec<ServicePort>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicePort {
    pub port: Option<u32>,
    pub node_port: Option<u32>,
}

/// A ConfigMap: its data keys and values.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ConfigMap {
    pub data: Option<BTreeMap<String, Option<String>>>,
    pub binary_data: Option<BTreeMap<String, serde::de::IgnoredAny>>,
}

/// An Ingress: does it declare TLS?
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Ingress {
    pub spec: Option<IngressSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IngressSpec {
    pub tls: Option<Vec<serde::de::IgnoredAny>>,
}

/// A Secret's type.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Secret {
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// Any object's name, for creates whose objectRef has none.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Named {
    pub metadata: Option<Metadata>,
}
