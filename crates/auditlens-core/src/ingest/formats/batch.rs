//! Batches: one record holding many events. A CloudWatch subscription message
//! (`logEvents`), `filter-log-events` output (`events`), an Event Hubs batch (`records`), or
//! several JSON documents back to back on one line. Each item is read on its own; a bad item
//! is reported by its index and the others are kept.

use serde_json::value::RawValue;

use super::{cloudwatch, names, not_an_event, Formats, Found, Probe, Shape, MAX_DEPTH};
use crate::ingest::record::Emit;

impl Formats {
    /// Several JSON documents on one line, back to back: each read on its own.
    pub(super) fn concatenated(
        &mut self,
        bytes: &[u8],
        depth: u8,
        emit: &mut Emit<'_>,
    ) -> Option<Found> {
        let stream = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
        let documents: Vec<&RawValue> = stream.collect::<Result<_, _>>().ok()?;
        if documents.len() < 2 {
            return None;
        }
        let (mut first, mut any) = (None, false);
        for (index, document) in documents.iter().enumerate() {
            match self.value(document.get().as_bytes(), depth, emit) {
                Found::Handled(shape) => {
                    first.get_or_insert(shape);
                    any = true;
                }
                Found::Skipped => {}
                Found::Rejected(_, why) | Found::Unknown(why) => {
                    any = true;
                    emit.error(
                        why.kind,
                        format!("document {index} on this line: {}", why.message),
                    );
                }
            }
        }
        Some(match (first, any) {
            (Some(shape), _) => Found::Handled(shape),
            (None, true) => Found::Handled(Shape::Native),
            (None, false) => Found::Skipped,
        })
    }

    /// A batch: the items of a list under `key` (CloudWatch `logEvents` or `events`, Azure
    /// `records`), each read on its own.
    pub(super) fn batch(
        &mut self,
        key: &'static [u8],
        control: bool,
        list: &RawValue,
        depth: u8,
        emit: &mut Emit<'_>,
    ) -> Found {
        let shape = names::batch_shape(key);
        if control {
            return Found::Skipped;
        }
        if depth + 1 >= MAX_DEPTH {
            let message = format!("batches nested more than {MAX_DEPTH} levels deep; not read");
            return Found::Rejected(shape, not_an_event(message));
        }
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(list.get()) else {
            return Found::Rejected(
                shape,
                not_an_event(format!("`{}` is not a list", names::key(key))),
            );
        };
        let (mut first, mut any) = (None, false);
        for (index, item) in items.iter().enumerate() {
            match self.element(key, false, item.get().as_bytes(), depth + 1, emit) {
                Found::Handled(shape) => {
                    first.get_or_insert(shape);
                    any = true;
                }
                Found::Skipped => {}
                Found::Rejected(_, why) | Found::Unknown(why) => {
                    any = true;
                    emit.error(
                        why.kind,
                        format!(
                            "item {index} of the `{}` list: {}",
                            names::key(key),
                            why.message
                        ),
                    );
                }
            }
        }
        match (first, any) {
            (Some(shape), _) => Found::Handled(shape),
            (None, true) => Found::Handled(shape),
            (None, false) => Found::Skipped,
        }
    }

    /// One item of a list under `key`.
    pub(super) fn element(
        &mut self,
        key: &'static [u8],
        control: bool,
        bytes: &[u8],
        depth: u8,
        emit: &mut Emit<'_>,
    ) -> Found {
        match key {
            b"logEvents" | b"events" => {
                let shape = names::batch_shape(key);
                if control {
                    return Found::Skipped;
                }
                let probe = serde_json::from_slice::<Probe<'_>>(bytes).unwrap_or_default();
                let Some(message) = probe.message else {
                    return match self.value(bytes, depth, emit) {
                        Found::Unknown(_) => Found::Rejected(
                            shape,
                            not_an_event("a log event without a message".to_string()),
                        ),
                        found => found,
                    };
                };
                if cloudwatch::is_control_message(message) {
                    return Found::Skipped;
                }
                self.wrapped(shape, "message", message, depth, emit)
            }
            b"records" => {
                let found = self.value(bytes, depth, emit);
                if matches!(found, Found::Handled(Shape::AksDiagnostic)) {
                    self.batched = true;
                }
                found
            }
            _ => self.value(bytes, depth, emit),
        }
    }
}
