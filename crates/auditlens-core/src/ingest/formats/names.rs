//! Naming what was detected: each [`Shape`] in words, and a file's format from the shapes its
//! events came in (`EKS CloudWatch Logs Insights JSON export (gzip), 12,302 events`).

use super::Formats;
use crate::ingest::Layout;

/// The shape an event came in: natively, or the outermost wrapper around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    /// A Kubernetes audit event (or `EventList`) as the API server writes it.
    Native,
    /// EKS: a CloudWatch Logs Insights export row (`@timestamp`, `@message`, ...).
    LogsInsights,
    /// EKS: an item of `aws logs filter-log-events` output (`{"events":[...]}`).
    FilterLogEvents,
    /// EKS: a line of a CloudWatch Logs export to S3 (`<timestamp> <message>`).
    S3Export,
    /// EKS: a log event of a CloudWatch Logs subscription message (Firehose, Kinesis).
    Subscription,
    /// GKE: a Cloud Audit Logs entry of `k8s.io`.
    Gke,
    /// AKS: a `kube-audit` / `kube-audit-admin` diagnostic record.
    AksDiagnostic,
    /// AKS: a Log Analytics `AzureDiagnostics` row (`log_s`).
    AzureDiagnostics,
    /// AKS: a Log Analytics `AKSAudit` / `AKSAuditAdmin` row.
    AksAuditTable,
    /// Fluentd / Fluent Bit: `{"log": ..., "stream": ..., "time": ...}`.
    Fluent,
    /// Vector: `{"message": ..., "timestamp": ..., "source_type": ...}`.
    Vector,
    /// Loki: a `logcli query --output=jsonl` line (`{"labels", "line", "timestamp"}`).
    Loki,
}

impl Shape {
    pub const COUNT: usize = 12;

    pub const ALL: [Shape; Shape::COUNT] = [
        Shape::Native,
        Shape::LogsInsights,
        Shape::FilterLogEvents,
        Shape::S3Export,
        Shape::Subscription,
        Shape::Gke,
        Shape::AksDiagnostic,
        Shape::AzureDiagnostics,
        Shape::AksAuditTable,
        Shape::Fluent,
        Shape::Vector,
        Shape::Loki,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn bit(self) -> u32 {
        1 << self.index()
    }

    /// One record of this shape, in a sentence: "the `log` of this Fluent Bit record ...".
    pub fn record_name(self) -> &'static str {
        match self {
            Shape::Native => "audit event",
            Shape::LogsInsights => "Logs Insights row",
            Shape::FilterLogEvents => "filter-log-events item",
            Shape::S3Export => "S3 export line",
            Shape::Subscription => "CloudWatch subscription log event",
            Shape::Gke => "GKE log entry",
            Shape::AksDiagnostic => "AKS diagnostic record",
            Shape::AzureDiagnostics => "AzureDiagnostics row",
            Shape::AksAuditTable => "AKSAudit row",
            Shape::Fluent => "Fluentd/Fluent Bit record",
            Shape::Vector => "Vector record",
            Shape::Loki => "Loki logcli record",
        }
    }

    /// Several records of this shape: "GKE log entries".
    pub fn records_name(self) -> String {
        let one = self.record_name();
        match one.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{one}s"),
        }
    }

    /// The shape as a file format, for people.
    fn title(self, formats: &Formats, layout: Layout) -> String {
        let export = if formats.csv_rows { "CSV" } else { "JSON" };
        match self {
            Shape::Native => format!("Kubernetes audit events, {}", layout_name(formats, layout)),
            Shape::LogsInsights => format!("EKS CloudWatch Logs Insights {export} export"),
            Shape::FilterLogEvents => "EKS CloudWatch Logs filter-log-events output".to_string(),
            Shape::S3Export => "EKS CloudWatch Logs export to S3".to_string(),
            Shape::Subscription => "EKS CloudWatch Logs subscription records, Firehose".to_string(),
            Shape::Gke => match layout {
                Layout::Array => "GKE Cloud Audit Logs, gcloud logging read JSON".to_string(),
                _ => "GKE Cloud Audit Logs, JSON lines from a sink".to_string(),
            },
            Shape::AksDiagnostic if formats.batched => {
                "AKS kube-audit diagnostic records, Event Hubs batches".to_string()
            }
            Shape::AksDiagnostic => {
                "AKS kube-audit diagnostic records, one a line (PT1H.json)".to_string()
            }
            Shape::AzureDiagnostics => {
                format!("AKS Log Analytics AzureDiagnostics {export} export")
            }
            Shape::AksAuditTable => format!("AKS Log Analytics AKSAudit {export} export"),
            Shape::Fluent => "Fluentd/Fluent Bit records".to_string(),
            Shape::Vector => "Vector records".to_string(),
            Shape::Loki => "Loki logcli JSON lines".to_string(),
        }
    }
}

/// The list key of a batch, as written.
pub(super) fn key(key: &[u8]) -> &str {
    std::str::from_utf8(key).unwrap_or("items")
}

/// The shape of the items of a list under `key`.
pub(super) fn batch_shape(key: &[u8]) -> Shape {
    match key {
        b"logEvents" => Shape::Subscription,
        b"events" => Shape::FilterLogEvents,
        b"records" => Shape::AksDiagnostic,
        _ => Shape::Native,
    }
}

fn layout_name(formats: &Formats, layout: Layout) -> &'static str {
    if formats.csv.is_some() {
        return "CSV";
    }
    match layout {
        Layout::Undecided => "empty",
        Layout::Lines => "JSON lines",
        Layout::Array => "JSON array",
        Layout::Objects => "JSON objects",
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn plural(n: u64, one: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {one}{s}", thousands(n))
}

impl Formats {
    /// Shapes that gave events, most events first (ties in [`Shape::ALL`] order).
    fn ranked(&self) -> Vec<(Shape, u64)> {
        let mut ranked: Vec<(Shape, u64)> = Shape::ALL
            .into_iter()
            .map(|shape| (shape, self.events[shape.index()]))
            .filter(|&(_, n)| n > 0)
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }

    /// The format, short: the layout for native events (`JSON lines`), else the wrapper.
    pub fn format_name(&self, layout: Layout, gzip: bool) -> String {
        let name = match self.ranked().first() {
            None | Some((Shape::Native, _)) => layout_name(self, layout).to_string(),
            Some((shape, _)) => shape.title(self, layout),
        };
        if gzip {
            format!("{name} (gzip)")
        } else {
            name
        }
    }

    /// The format explained, with its events and any wrappers inside.
    pub fn detected(&self, layout: Layout, gzip: bool) -> String {
        let gz = if gzip { " (gzip)" } else { "" };
        let ranked = self.ranked();
        let Some(&(main, events)) = ranked.first() else {
            return format!("{}{gz}, no audit events", layout_name(self, layout));
        };
        let mut out = format!("{}{gz}", main.title(self, layout));
        let inner = Shape::ALL
            .into_iter()
            .filter(|s| self.inner & s.bit() != 0)
            .map(Shape::records_name)
            .collect::<Vec<String>>();
        if !inner.is_empty() {
            out.push_str(&format!(" holding {}", inner.join(" and ")));
        }
        out.push_str(&format!(", {}", plural(events, "event")));
        for &(shape, n) in &ranked[1..] {
            out.push_str(&format!(
                "; also {}, {}",
                shape.title(self, layout),
                plural(n, "event")
            ));
        }
        out
    }

    /// What to say when a file gave no event at all.
    pub fn no_events_message(&self, name: &str, format: &str) -> String {
        let recognized: Vec<String> = Shape::ALL
            .into_iter()
            .filter(|s| self.recognized & s.bit() != 0)
            .map(Shape::records_name)
            .collect();
        if !recognized.is_empty() {
            return format!(
                "no audit events found in {name} ({format}): its records look like {} but none \
                 held a Kubernetes audit event (see the diagnostics for each)",
                recognized.join(" and ")
            );
        }
        format!(
            "no audit events found in {name} ({format}): expected Kubernetes audit.k8s.io Events \
             as JSON lines, a JSON array, or EventList objects; or EKS CloudWatch Logs exports \
             (Logs Insights JSON or CSV, filter-log-events output, S3 export, Firehose \
             subscription records); GKE Cloud Audit Logs entries of k8s.io; AKS kube-audit \
             diagnostic records or Log Analytics rows (AzureDiagnostics, AKSAudit); or \
             Fluentd/Fluent Bit, Vector or Loki records around events; plain or gzip"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_has_its_own_bit_and_name() {
        let mut bits = 0u32;
        for (i, shape) in Shape::ALL.into_iter().enumerate() {
            assert_eq!(shape.index(), i);
            assert_eq!(bits & shape.bit(), 0);
            bits |= shape.bit();
            assert!(!shape.record_name().is_empty());
        }
        assert_eq!(Shape::Gke.records_name(), "GKE log entries");
        assert_eq!(Shape::Loki.records_name(), "Loki logcli records");
        assert_eq!(thousands(12_302), "12,302");
        assert_eq!(plural(1, "event"), "1 event");
    }
}
