//! Command-line definitions. Behaviour lives in one module per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Read Kubernetes audit logs: who did what, and what does not fit.
#[derive(Debug, Parser)]
#[command(name = "auditlens", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse audit logs: a summary, the findings and the input diagnostics.
    Analyze(AnalyzeArgs),
    /// Follow audit logs as the API server writes them (like `tail -F`, or stdin) and report
    /// each finding as its request arrives, on stdout and to Alertmanager or a webhook.
    Watch(WatchArgs),
    /// List the detection rules: id, severity, audit level needed, ATT&CK techniques.
    Rules(RulesArgs),
    /// Count requests by identity, verb, resource, namespace, response code and client.
    Stats(StatsArgs),
    /// Write a simulated cluster's audit log (with labelled attacks) for demos and benchmarks.
    Simulate(SimulateArgs),
    /// Learn per-identity baselines from logs, merge them, or show one; score later logs
    /// against a baseline with `analyze --baseline FILE`.
    Baseline(BaselineArgs),
    /// Measure scoring on labelled simulated logs: precision and recall per scenario, flagged
    /// rate, parser and scoring throughput.
    Quality(QualityArgs),
    /// The API server's audit policy: check one, evaluate or simulate it on logs, suggest one
    /// from logs, and the log rotation flags that keep N days.
    Policy(PolicyArgs),
    /// Least-privilege RBAC from the logs: Roles and bindings that grant each identity what it
    /// was allowed to do, what it was refused, and (with --granted) what it holds but never
    /// used.
    Rbac(RbacArgs),
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Lint an audit policy: fields the API server ignores, wildcards that are not, resources in
    /// the wrong group, unreachable rules, secrets logged with bodies, security-relevant
    /// requests left unlogged, noisy system traffic. Exit 1 on an error, 0 with warnings only,
    /// 2 when the file cannot be read.
    Check(PolicyCheckArgs),
    /// The level, omitted stages and matching rule the policy gives every request of the logs.
    Evaluate(PolicyEvaluateArgs),
    /// Events and bytes a day the policy would write against what the logs hold, by level,
    /// identity and resource, and the detections it would blind.
    Simulate(PolicySimulateArgs),
    /// A policy derived from the logs: security-relevant requests kept at the level their
    /// detections need, routine low-value traffic dropped.
    Suggest(PolicySuggestArgs),
    /// The --audit-log-maxsize/maxbackup/maxage flags that keep N days within a disk size.
    Retention(PolicyRetentionArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Table,
    /// One JSON document.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvaluateFormat {
    /// For people.
    Table,
    /// One JSON object per request: auditID, level, omitStages, rule, file, line.
    Jsonl,
    /// One JSON array of those objects.
    Json,
}

#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// The policy file (YAML or JSON), as given to --audit-policy-file.
    #[arg(value_name = "POLICY")]
    pub policy: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

#[derive(Debug, Args)]
pub struct PolicyEvaluateArgs {
    /// The policy file (YAML or JSON).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,

    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = EvaluateFormat::Table)]
    pub format: EvaluateFormat,
}

#[derive(Debug, Args)]
pub struct PolicySimulateArgs {
    /// The policy file (YAML or JSON).
    #[arg(long, value_name = "POLICY")]
    pub policy: PathBuf,

    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// How many identities and resources to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct PolicySuggestArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Where to write the policy; without it, the policy goes to stdout and the summary to
    /// stderr.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print the policy, its simulation and its lints as one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PolicyRetentionArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Days of audit log to keep.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub keep_days: u32,

    /// Disk space the audit log may take, e.g. `20GB`, `500MiB`.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub disk: u64,

    /// Plan for the volume this policy would write instead of the volume the logs hold.
    #[arg(long, value_name = "POLICY")]
    pub policy: Option<PathBuf>,

    /// The --audit-log-path to print.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/log/kubernetes/audit/audit.log"
    )]
    pub log_path: String,

    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RbacArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Only this identity: a username (`alice`, `system:serviceaccount:ns1:sa1`), its canonical
    /// form (`serviceaccount:ns1/sa1`) or `ns1:sa1` for a service account. Repeatable; all
    /// identities when left out.
    #[arg(long, value_name = "NAME")]
    pub identity: Vec<String>,

    /// Only identities of this class: human, service-account, node, control-plane, anonymous,
    /// automation.
    #[arg(long, value_name = "CLASS", value_parser = parse_class)]
    pub class: Option<auditlens_core::IdentityClass>,

    /// Only requests in this namespace.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// The cluster's RBAC, as `kubectl get roles,clusterroles,rolebindings,clusterrolebindings
    /// -A -o json` (or `-o yaml`) prints it: show per identity what it holds but never used.
    #[arg(long, value_name = "FILE")]
    pub granted: Option<PathBuf>,

    /// Where to write the result (default: stdout); a short summary then goes to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// YAML that kubectl applies, with the reasons as comments, or JSON for tools.
    #[arg(long, value_enum, default_value_t = RbacFormat::Yaml)]
    pub format: RbacFormat,

    /// Most object names kept as resourceNames for one verb on one resource; more are granted
    /// without names (unless that would grant a refused request).
    #[arg(long, value_name = "N", default_value_t = auditlens_core::rbac::GenerateOptions::default().max_names)]
    pub max_names: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RbacFormat {
    /// A manifest for `kubectl apply -f`, with comments saying why each rule is there.
    Yaml,
    /// One JSON document: identities (rules with reasons, refusals, comparison) and objects.
    Json,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub command: BaselineCommand,
}

#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Learn a baseline from audit logs and write it as a JSON file.
    Build(BaselineBuildArgs),
    /// Merge baseline files (of shards, or of consecutive periods) into one.
    Merge(BaselineMergeArgs),
    /// Show what a baseline file says is normal for each identity.
    Show(BaselineShowArgs),
}

#[derive(Debug, Args)]
pub struct BaselineBuildArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Where to write the baseline.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Start from this baseline and add what the logs show.
    #[arg(long, value_name = "FILE")]
    pub extend: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BaselineMergeArgs {
    /// Baseline files to merge.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Where to write the merged baseline.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct BaselineShowArgs {
    /// The baseline file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QualityArgs {
    /// Simulation seeds; each gives one labelled log.
    #[arg(long, value_delimiter = ',', default_values_t = [7u64, 11, 23])]
    pub seeds: Vec<u64>,

    /// Simulated days per log (at least 2: scenarios run on the last day).
    #[arg(long)]
    pub days: Option<u32>,

    /// Worker nodes of the simulated cluster.
    #[arg(long)]
    pub nodes: Option<u32>,

    /// People of the simulated cluster.
    #[arg(long)]
    pub humans: Option<u32>,

    /// Simulate the benchmark cluster at full system-traffic rate up to this much output per
    /// seed (e.g. `200MB`) instead of the thinned demo cluster.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: Option<u64>,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Also print, for every request of this scenario, its finding and reasons on stderr
    /// (`unlabelled`: the findings at medium or above that belong to no scenario).
    #[arg(long, value_name = "SCENARIO")]
    pub show: Option<String>,

    /// Exit with status 1 when an attack does not surface at medium or above in every seed,
    /// or benign novelty does.
    #[arg(long)]
    pub check: bool,
}

/// Input files and how to read them.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Audit log files: JSON lines, JSON arrays or EventLists, plain or gzip. `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Skip lines or records longer than this many bytes (reported as diagnostics).
    #[arg(long, value_name = "BYTES", default_value_t = auditlens_core::Limits::default().max_record_bytes)]
    pub max_record_bytes: usize,

    /// Stop reading a file once it has decompressed to this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = auditlens_core::Limits::default().max_decoded_bytes)]
    pub max_decoded_bytes: u64,

    /// Stop reading a gzip file that inflates more than this many times its compressed size
    /// (audit logs inflate 10 to 30 times; a decompression bomb about 1000). 0: no limit.
    #[arg(long, value_name = "RATIO", default_value_t = auditlens_core::Limits::default().max_gzip_ratio)]
    pub max_gzip_ratio: u32,

    /// Never show progress on stderr (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub quiet: bool,

    /// Threads that read a large plain file in parallel (default: the machine's cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for people, fitting an 80-column terminal.
    Table,
    /// One finding per line, as JSON.
    Jsonl,
    /// One JSON document: summary, findings and diagnostics.
    Json,
    /// Findings as CSV, one per row.
    Csv,
    /// Findings as OCSF 1.5.0 Detection Findings (class 2004), one JSON document per line, each
    /// with its request as API Activity evidence. See docs/outputs.md.
    Ocsf,
    /// Findings as Elastic Common Schema 8.11 alert documents, one per line. See
    /// docs/outputs.md.
    Ecs,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Rule configuration (TOML or JSON): rules switched off, trusted images, identities and
    /// namespaces, site allowlists. See docs/rules.md.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Exit with status 1 when a finding is at least this severe (info, low, medium, high,
    /// critical).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<auditlens_core::Severity>,

    /// Show at most this many findings in the table (all in other formats).
    #[arg(long, default_value_t = 25)]
    pub top: usize,

    /// List only findings at least this severe (info, low, medium, high, critical). Default:
    /// medium for the table, which leads with what needs review; info (everything) for the
    /// machine formats.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub min_severity: Option<auditlens_core::Severity>,

    /// Score against this baseline (from `auditlens baseline build`) instead of learning
    /// from the first part of the logs.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Judge each request only against what came before it, as `auditlens watch` does: no
    /// window model and no fleet check, which look at the whole log.
    #[arg(long)]
    pub no_hindsight: bool,
}

impl AnalyzeArgs {
    /// The least severity listed: `--min-severity`, else medium for the table and info for
    /// the machine formats.
    pub fn listed_from(&self) -> auditlens_core::Severity {
        use auditlens_core::Severity;
        self.min_severity.unwrap_or(match self.format {
            Format::Table => Severity::Medium,
            _ => Severity::Info,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    /// One finding per line, with the fields of `analyze --format jsonl` and its group key.
    Jsonl,
    /// OCSF 1.5.0 Detection Finding records.
    Ocsf,
    /// Elastic Common Schema 8.11 alert documents.
    Ecs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Audit log files to follow: a rotated file is read to its end and the new one followed.
    /// `-` reads stdin until it closes.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Score against this baseline (from `auditlens baseline build`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Detection rule settings (TOML), as for `analyze --config`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Report findings of at least this severity (info, low, medium, high, critical).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity, default_value = "medium")]
    pub min_severity: auditlens_core::Severity,

    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = WatchFormat::Jsonl)]
    pub format: WatchFormat,

    /// Keep the position in each file, the learned baseline and the open incidents here
    /// (written atomically every --checkpoint seconds and at exit), and go on from it after a
    /// restart: no request judged twice, none skipped.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Read files from their start; without it (and without a saved position) only what is
    /// written from now on is read.
    #[arg(long)]
    pub from_start: bool,

    /// Post findings to this Prometheus Alertmanager (API v2), e.g. http://127.0.0.1:9093.
    #[arg(long, value_name = "URL")]
    pub alertmanager: Option<String>,

    /// Post findings as JSON arrays (in --format) to this URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Where findings wait while a sink is down: one folder per sink inside it (default: next
    /// to --state, else auditlens-spool in the working folder).
    #[arg(long, value_name = "DIR")]
    pub spool: Option<PathBuf>,

    /// The most a sink's spool holds; past it the oldest findings are dropped, with a warning.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MB")]
    pub spool_max: u64,

    /// How long a complete request is held so that a slightly earlier one written after it is
    /// judged first (seconds).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "2")]
    pub reorder: f64,

    /// How long a request whose last stage has not come is held before it is judged with the
    /// stages it has (seconds).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "10")]
    pub wait: f64,

    /// Without --baseline: how long the start of the watch only learns (rules still fire),
    /// e.g. 24h, 30m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "24h")]
    pub learn_for: f64,

    /// Seconds between saves of --state.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "10")]
    pub checkpoint: f64,

    /// How often to look for new lines and rotation (milliseconds).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    pub poll_ms: u64,

    /// At exit, also write the learned baseline here, as `baseline build` writes it.
    #[arg(long, value_name = "FILE")]
    pub save_baseline: Option<PathBuf>,

    /// At exit, how long to keep delivering what the sinks still hold (seconds); the rest
    /// stays in the spool for the next run.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "5")]
    pub drain: f64,

    /// Skip lines longer than this many bytes (reported as diagnostics).
    #[arg(long, value_name = "BYTES", default_value_t = auditlens_core::Limits::default().max_record_bytes)]
    pub max_record_bytes: usize,
}

/// A number of seconds, not negative.
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!("{text:?} is not a number of seconds")),
    }
}

/// `90s`, `30m`, `24h`, `7d` or a plain number of seconds, as seconds.
fn parse_duration(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, unit) = t.split_at(t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len()));
    let scale = match unit {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "{text:?} is not a duration: use e.g. 90s, 30m, 24h or 7d"
            ))
        }
    };
    parse_seconds(number)
        .map(|n| n * scale)
        .map_err(|_| format!("{text:?} is not a duration: use e.g. 90s, 30m, 24h or 7d"))
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Show each rule's state under this rule configuration.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the catalog as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// How many values to list per dimension.
    #[arg(long, default_value_t = 10)]
    pub top: usize,

    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// What to simulate: `demo` (two days of a small cluster with labelled attacks) or
    /// `bench` (background traffic up to --size).
    #[arg(long, value_enum, default_value_t = Preset::Demo)]
    pub preset: Preset,

    /// Seed of the simulation; the same seed gives the same log.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Days to simulate (scenarios run on the last day), e.g. 7 for a week of the demo cluster.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: Option<u32>,

    /// Stop after about this much output, e.g. `500MB`, `1GB` (bench preset).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub size: Option<u64>,

    /// Where to write the log; `.gz` compresses. Default: stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Where to write the labels of the injected scenarios, as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    Demo,
    Bench,
}

fn parse_class(text: &str) -> Result<auditlens_core::IdentityClass, String> {
    auditlens_core::IdentityClass::parse(text).ok_or_else(|| {
        format!(
            "{text:?} is not a class: use human, service-account, node, control-plane, anonymous or automation"
        )
    })
}

fn parse_severity(text: &str) -> Result<auditlens_core::Severity, String> {
    auditlens_core::Severity::parse(text).ok_or_else(|| {
        format!("{text:?} is not a severity: use info, low, medium, high or critical")
    })
}

/// Parses `1GB`, `500MB`, `64KiB` or a plain number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 500MB or 1GB"))?;
    let scale: f64 = match unit.trim() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit {other:?} in {text:?}")),
    };
    Ok((number * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1GB"), Ok(1_000_000_000));
        assert_eq!(parse_size("1.5mb"), Ok(1_500_000));
        assert_eq!(parse_size("2KiB"), Ok(2048));
        assert_eq!(parse_size("123"), Ok(123));
        assert!(parse_size("lots").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
