//! EKS: the shapes CloudWatch Logs hands audit events out in.
//!
//! EKS writes each audit event as one log event, its JSON the message, to the log group
//! `/aws/eks/NAME/cluster` (streams `kube-apiserver-audit-*`), and cuts an event too large for
//! CloudWatch, appending `[Truncated...]`. The event then leaves CloudWatch as:
//! - a Logs Insights export row, JSON or CSV (`@timestamp`, `@message`, `@logStream`, `@log`);
//! - `aws logs filter-log-events` output, `{"events":[{"timestamp","message",...}]}`;
//! - an export to S3: gzip files of lines `<timestamp> <message>`, in no particular order;
//! - a subscription message (Firehose, Kinesis), gzip `{"messageType","logGroup","logStream",
//!   "logEvents":[{"id","timestamp","message"}]}`, several written back to back; a
//!   `CONTROL_MESSAGE` only checks that the destination is reachable.
//!
//! The dispatching lives in the parent module; this one knows CloudWatch's conventions.

use serde_json::value::RawValue;

use super::text;
use crate::time::parse_rfc3339;

/// The text CloudWatch puts in the log event of a control message.
const CONTROL_MESSAGE_TEXT: &str = "CWL CONTROL MESSAGE";

/// Whether a subscription message's `messageType` says it is a control message.
pub(super) fn is_control(message_type: Option<&RawValue>) -> bool {
    message_type
        .and_then(text)
        .is_some_and(|t| t == "CONTROL_MESSAGE")
}

/// Whether a log event's message is CloudWatch's own health check.
pub(super) fn is_control_message(message: &RawValue) -> bool {
    text(message).is_some_and(|t| t.starts_with(CONTROL_MESSAGE_TEXT))
}

/// The message of an S3 export line `2024-05-06T10:00:00.123Z {...}`, when `line` is one.
/// The timestamp may also be in epoch milliseconds.
pub(super) fn export_line(line: &[u8]) -> Option<&[u8]> {
    let space = line.iter().position(|&b| b == b' ')?;
    let (stamp, rest) = line.split_at(space);
    let rest = rest.trim_ascii_start();
    if !rest.starts_with(b"{") {
        return None;
    }
    let stamp = std::str::from_utf8(stamp).ok()?;
    let epoch_ms = !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit());
    (epoch_ms || parse_rfc3339(stamp).is_some()).then_some(rest)
}

/// The cluster named by an EKS control-plane log group, `/aws/eks/NAME/cluster`.
pub(super) fn eks_cluster(group: &str) -> Option<&str> {
    let name = group.strip_prefix("/aws/eks/")?.strip_suffix("/cluster")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> &RawValue {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn export_lines_split_at_the_first_space() {
        let line = br#"2024-05-06T10:00:00.123Z {"kind":"Event"}"#;
        assert_eq!(export_line(line), Some(&br#"{"kind":"Event"}"#[..]));
        assert_eq!(
            export_line(br#"1714989600123 {"a":1}"#),
            Some(&br#"{"a":1}"#[..])
        );
        assert_eq!(export_line(b"2024-05-06T10:00:00Z hello"), None);
        assert_eq!(export_line(br#"yesterday {"a":1}"#), None);
        assert_eq!(export_line(b"no-space"), None);
    }

    #[test]
    fn control_messages_are_recognized() {
        assert!(is_control(Some(raw(r#""CONTROL_MESSAGE""#))));
        assert!(!is_control(Some(raw(r#""DATA_MESSAGE""#))));
        assert!(!is_control(None));
        assert!(is_control_message(raw(
            r#""CWL CONTROL MESSAGE: Checking health of destination Firehose.""#
        )));
        assert!(!is_control_message(raw(r#"{"kind":"Event"}"#)));
    }

    #[test]
    fn eks_log_groups_name_their_cluster() {
        assert_eq!(eks_cluster("/aws/eks/prod-1/cluster"), Some("prod-1"));
        assert_eq!(eks_cluster("/aws/lambda/x"), None);
        assert_eq!(eks_cluster("/aws/eks//cluster"), None);
    }
}
