//! From candidates to findings and incidents.
//!
//! Each candidate's signals combine into a score (0-100) and a severity; rule hits raise the
//! severity to the rule's own, or two levels less when the identity's baseline shows the rule
//! firing for it routinely. Findings of one actor that follow each other within half an hour
//! form an incident, so a person reads a dozen stories rather than hundreds of rows. Both lists
//! are sorted most urgent first with every tie broken, so the output is deterministic.

use std::collections::BTreeMap;

use crate::baseline::Model;
use crate::intern::Interner;
use crate::report::{Finding, Incident, ReasonCount, Severity};
use crate::scoring::explain::{self, Subject};
use crate::scoring::signals::{self, Code, Facts, Signal};
use crate::scoring::{severity_of, Candidate, Inputs, MIN_FINDING_SCORE};
use crate::time::{format_rfc3339, Micros};

/// Findings of one actor further apart than this start a new incident.
pub(crate) const INCIDENT_GAP: Micros = 30 * 60 * 1_000_000;

/// Findings and incidents, most urgent first.
pub struct Built {
    pub findings: Vec<Finding>,
    pub incidents: Vec<Incident>,
}

fn lower(severity: Severity, levels: usize) -> Severity {
    let index = Severity::ALL
        .iter()
        .position(|&s| s == severity)
        .unwrap_or(0);
    Severity::ALL[index.saturating_sub(levels)]
}

/// A finding before incidents are known, with what grouping needs.
struct Draft {
    finding: Finding,
    actor: u32,
    time: Micros,
}

pub(crate) fn build(
    model: &Model,
    interner: &Interner,
    inputs: &Inputs<'_>,
    candidates: Vec<Candidate>,
) -> Built {
    let mut drafts: Vec<Draft> = Vec::new();
    for mut candidate in candidates {
        let Some(event) = inputs.requests.get(candidate.request as usize) else {
            continue;
        };
        let Some(record) = model.identities.get(candidate.identity as usize) else {
            continue;
        };
        candidate
            .signals
            .sort_by(|a, b| b.p.total_cmp(&a.p).then(a.code.cmp(&b.code)));
        let p = signals::combine(&candidate.signals);
        let score = (p * 100.0).round().clamp(0.0, 100.0) as u8;
        let mut severity = severity_of(score);
        let mut rules = Vec::new();
        for signal in &candidate.signals {
            if let Facts::Rule {
                rule,
                severity: rule_severity,
                routine,
                ..
            } = &signal.facts
            {
                let raised = lower(*rule_severity, routine.levels());
                severity = severity.max(raised);
                rules.push((*rule).to_string());
            }
        }
        if rules.is_empty() && score < MIN_FINDING_SCORE {
            continue;
        }
        rules.sort();
        rules.dedup();
        let who = match interner.resolve(event.user) {
            "" => "(unknown user)",
            name => name,
        };
        let subject = Subject {
            interner,
            who,
            event,
            action: action_of(&candidate.signals, event, interner),
            ip: event.source_ip(interner),
            group: record.group,
        };
        let reasons = candidate
            .signals
            .iter()
            .map(|s| explain::reason(&subject, s))
            .collect();
        let identity = interner.resolve(event.effective_user()).to_string();
        let actor = if event.impersonated_user.is_empty() {
            String::new()
        } else {
            who.to_string()
        };
        drafts.push(Draft {
            finding: Finding {
                audit_id: event
                    .audit_id
                    .absent_key()
                    .is_none()
                    .then(|| interner.audit_id_text(event.audit_id).into_owned()),
                request: event.audit_id.absent_key(),
                timestamp: format_rfc3339(event.received),
                identity,
                verb: interner.resolve(event.verb).to_string(),
                resource: event.resource_label(interner),
                namespace: interner.resolve(event.namespace).to_string(),
                name: interner.resolve(event.name).to_string(),
                severity,
                score,
                reasons,
                rules,
                file: inputs
                    .files
                    .get(event.source.file as usize)
                    .copied()
                    .unwrap_or("")
                    .to_string(),
                line: event.source.line,
                actor,
                class: record.class.as_str().to_string(),
                incident: None,
            },
            actor: candidate.identity,
            time: event.received,
        });
    }
    let incidents = group(model, interner, &mut drafts);
    let mut findings: Vec<Finding> = drafts.into_iter().map(|d| d.finding).collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.cmp(&a.score))
            .then_with(|| a.timestamp.cmp(&b.timestamp))
            .then_with(|| a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
            .then_with(|| a.audit_id.cmp(&b.audit_id))
    });
    Built {
        findings,
        incidents,
    }
}

/// The action text of a request (`create pods/exec`), as the features named it.
fn action_of(
    signals: &[Signal],
    event: &crate::model::Event,
    interner: &Interner,
) -> crate::intern::Sym {
    for s in signals {
        if let Facts::Value {
            dim: crate::baseline::profile::Dim::Action,
            key,
            ..
        } = &s.facts
        {
            return key.0;
        }
    }
    let text = format!(
        "{} {}",
        interner.resolve(event.verb),
        event.resource_label(interner)
    );
    interner.get(&text).unwrap_or(event.verb)
}

/// Groups drafts into incidents, sets each finding's incident id, and returns the incidents
/// most urgent first (ids in that order).
fn group(model: &Model, interner: &Interner, drafts: &mut [Draft]) -> Vec<Incident> {
    let mut order: Vec<usize> = (0..drafts.len()).collect();
    order.sort_by_key(|&i| (drafts[i].actor, drafts[i].time, i));
    let mut spans: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<(u32, Micros)> = None;
    for i in order {
        let d = &drafts[i];
        match (last, spans.last_mut()) {
            (Some((actor, t)), Some(span))
                if actor == d.actor && d.time.saturating_sub(t) <= INCIDENT_GAP =>
            {
                span.push(i)
            }
            _ => spans.push(vec![i]),
        }
        last = Some((d.actor, d.time));
    }
    let mut incidents: Vec<(Incident, Vec<usize>)> = spans
        .into_iter()
        .map(|members| (summarize(model, interner, drafts, &members), members))
        .collect();
    incidents.sort_by(|(a, _), (b, _)| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.cmp(&a.score))
            .then_with(|| a.first.cmp(&b.first))
            .then_with(|| a.identity.cmp(&b.identity))
    });
    incidents
        .into_iter()
        .enumerate()
        .map(|(n, (mut incident, members))| {
            incident.id = n as u32 + 1;
            for i in members {
                drafts[i].finding.incident = Some(incident.id);
            }
            incident
        })
        .collect()
}

fn summarize(model: &Model, interner: &Interner, drafts: &[Draft], members: &[usize]) -> Incident {
    let mut codes: BTreeMap<String, u32> = BTreeMap::new();
    let mut rules: Vec<String> = Vec::new();
    let mut top: Option<&Draft> = None;
    for &i in members {
        let d = &drafts[i];
        for r in &d.finding.reasons {
            if r.code != Code::FleetWide.as_str() {
                *codes.entry(r.code.clone()).or_default() += 1;
            }
        }
        rules.extend(d.finding.rules.iter().cloned());
        let better = top.is_none_or(|t| {
            (d.finding.severity, d.finding.score) > (t.finding.severity, t.finding.score)
        });
        if better {
            top = Some(d);
        }
    }
    rules.sort();
    rules.dedup();
    let mut reasons: Vec<ReasonCount> = codes
        .into_iter()
        .map(|(code, count)| ReasonCount { code, count })
        .collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    let first = members.iter().map(|&i| drafts[i].time).min().unwrap_or(0);
    let last = members.iter().map(|&i| drafts[i].time).max().unwrap_or(0);
    let actor = members.first().map_or(0, |&i| drafts[i].actor);
    let record = model.identities.get(actor as usize);
    Incident {
        id: 0,
        identity: record
            .map(|r| interner.resolve(r.user).to_string())
            .unwrap_or_default(),
        class: record
            .map(|r| r.class.as_str().to_string())
            .unwrap_or_default(),
        severity: top.map_or(Severity::Info, |t| t.finding.severity),
        score: top.map_or(0, |t| t.finding.score),
        first: format_rfc3339(first),
        last: format_rfc3339(last),
        findings: members.len() as u32,
        reasons,
        rules,
        summary: top
            .and_then(|t| t.finding.reasons.first())
            .map(|r| r.message.clone())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowering_severity_stops_at_info() {
        assert_eq!(lower(Severity::Critical, 2), Severity::Medium);
        assert_eq!(lower(Severity::Low, 2), Severity::Info);
    }
}
