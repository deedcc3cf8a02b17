//! Explanations: each signal's facts turned into a sentence a person can check against the
//! log, with the numbers from the baseline ("never used create pods/exec in namespace prod in
//! 4,120 earlier requests over 5 days").
//!
//! Messages are built only for the requests that become findings, from facts captured when
//! the request was scored (the profiles have moved on since).

use std::fmt::Write as _;

use crate::baseline::profile::Dim;
use crate::baseline::sketch::Key;
use crate::intern::{Interner, Sym};
use crate::model::Event;
use crate::report::Reason;
use crate::scoring::signals::{Basis, Facts, History, Routine, Signal};
use crate::scoring::window::FEATURES;

/// `4120` as `4,120`.
pub fn thousands(n: u64) -> String {
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

/// `1 time`, `4,120 times`.
pub fn times(n: u64) -> String {
    if n == 1 {
        "1 time".to_string()
    } else {
        format!("{} times", thousands(n))
    }
}

/// `less than a minute earlier`, `1 minute earlier`, `12 minutes earlier`.
fn ago(minutes: i64) -> String {
    match minutes {
        ..=0 => "less than a minute earlier".to_string(),
        1 => "1 minute earlier".to_string(),
        n => format!("{n} minutes earlier"),
    }
}

/// How long a history covers: `5 days`, `1.5 days`, `13 hours`.
pub fn span(days: f64) -> String {
    if days >= 10.0 {
        format!("{} days", days.round())
    } else if days >= 1.0 {
        let rounded = (days * 10.0).round() / 10.0;
        if rounded == 1.0 {
            "1 day".to_string()
        } else {
            format!("{rounded} days")
        }
    } else {
        let hours = (days * 24.0).round().max(1.0);
        if hours == 1.0 {
            "1 hour".to_string()
        } else {
            format!("{hours} hours")
        }
    }
}

fn earlier(h: &History) -> String {
    format!(
        "{} earlier requests over {}",
        thousands(h.requests),
        span(h.days)
    )
}

fn key_text(interner: &Interner, dim: Dim, key: Key) -> String {
    match dim {
        Dim::ActionNamespace => format!(
            "{} in namespace {}",
            interner.resolve(key.0),
            namespace_text(interner.resolve(key.1))
        ),
        Dim::ClientVersion => {
            let version = interner.resolve(key.1);
            if version.is_empty() {
                interner.resolve(key.0).to_string()
            } else {
                format!("{}/{version}", interner.resolve(key.0))
            }
        }
        Dim::Namespace => namespace_text(interner.resolve(key.0)),
        Dim::ApiGroup => match interner.resolve(key.0) {
            "" => "core".to_string(),
            g => g.to_string(),
        },
        _ => interner.resolve(key.0).to_string(),
    }
}

fn namespace_text(ns: &str) -> String {
    if ns.is_empty() {
        "(cluster-wide)".to_string()
    } else {
        ns.to_string()
    }
}

fn dim_noun(dim: Dim) -> &'static str {
    match dim {
        Dim::Verb => "verb",
        Dim::Resource => "resource",
        Dim::Action => "action",
        Dim::ActionNamespace => "action",
        Dim::Namespace => "namespace",
        Dim::ApiGroup => "API group",
        Dim::SourceIp => "source address",
        Dim::Network => "source network",
        Dim::Client => "client",
        Dim::ClientVersion => "client version",
        Dim::Impersonates => "impersonated user",
        Dim::Rule => "rule",
    }
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Everything a message may name besides the facts.
pub struct Subject<'a> {
    pub interner: &'a Interner,
    /// The actor's username.
    pub who: &'a str,
    pub event: &'a Event,
    /// The action (`create pods/exec`) and source address of the request.
    pub action: Sym,
    pub ip: Sym,
    pub group: Sym,
}

fn value_message(s: &Subject<'_>, facts: &Facts) -> String {
    let Facts::Value {
        dim,
        key,
        basis,
        history,
        count,
        listed,
        uncertain,
        peer_count,
        public,
        usual,
    } = facts
    else {
        return String::new();
    };
    let i = s.interner;
    let value = key_text(i, *dim, *key);
    let noun = dim_noun(*dim);
    let who = s.who;
    let mut m = String::new();
    if *public {
        let _ = write!(
            m,
            "source {} is a public address ({value}); ",
            i.resolve(s.ip)
        );
        if *basis == Basis::Own {
            let _ = write!(
                m,
                "{who} connected only from private networks in {}",
                earlier(history)
            );
        } else {
            let _ = write!(
                m,
                "{who} ({}) and its peer group {} connected only from private networks",
                earlier(history),
                i.resolve(s.group)
            );
        }
        return m;
    }
    match (basis, *count, *uncertain) {
        (Basis::Peers, _, _) => {
            let _ = write!(
                m,
                "{who} has little history ({}); its peer group {} ",
                earlier(history),
                i.resolve(s.group)
            );
            if *peer_count == 0 {
                let _ = write!(m, "never used {noun} {value} either");
            } else {
                let _ = write!(m, "used {noun} {value} {}", times(*peer_count));
            }
        }
        (Basis::Own, 0, false) => {
            let _ = write!(m, "{who} never used {noun} {value} in {}", earlier(history));
        }
        (Basis::Own, 0, true) => {
            let _ = write!(
                m,
                "{noun} {value} is not among the {listed} {noun}s {who} used most in {}",
                earlier(history)
            );
        }
        (Basis::Own, n, _) => {
            let _ = write!(
                m,
                "{who} used {noun} {value} only {} time{} in {}",
                thousands(n),
                if n == 1 { "" } else { "s" },
                earlier(history)
            );
        }
    }
    if let Some(usual) = usual {
        let _ = write!(m, " (most used: {})", key_text(i, *dim, *usual));
    }
    if *basis == Basis::Own && *count == 0 && *peer_count > 0 {
        let _ = write!(
            m,
            "; its peers in {} used it {}",
            i.resolve(s.group),
            times(*peer_count)
        );
    }
    if *dim == Dim::SourceIp {
        m.push_str(", in a network it used before");
    }
    m
}

/// The reason for one signal.
pub fn reason(s: &Subject<'_>, signal: &Signal) -> Reason {
    let i = s.interner;
    let who = s.who;
    let action = i.resolve(s.action);
    let ns = namespace_text(i.resolve(s.event.namespace));
    let message = match &signal.facts {
        Facts::Value { .. } => value_message(s, &signal.facts),
        Facts::Sensitive {
            what,
            before,
            in_namespace,
            history,
        } => {
            if *before == 0 {
                format!(
                    "sensitive action ({what}): {who} never did {action} in {}",
                    earlier(history)
                )
            } else {
                format!(
                    "sensitive action ({what}): {who} did {action} {} in {}, {} of them in namespace {ns}",
                    times(*before),
                    earlier(history),
                    thousands(*in_namespace)
                )
            }
        }
        Facts::NewNetworkSession {
            network,
            minutes,
            public,
        } => format!(
            "from {}network {}, first seen for {who} {}",
            if *public { "public " } else { "" },
            i.resolve(*network),
            ago(*minutes)
        ),
        Facts::OffHours {
            hour,
            active,
            basis,
            history,
        } => {
            let minute = (s.event.received.div_euclid(60_000_000)).rem_euclid(60);
            let range = match active {
                Some((from, to)) => format!("{from:02}-{to:02}"),
                None => "(unknown)".to_string(),
            };
            match basis {
                Basis::Own => format!(
                    "{hour:02}:{minute:02} UTC is outside {who}'s active hours {range} UTC (95 % of {})",
                    earlier(history)
                ),
                Basis::Peers => format!(
                    "{hour:02}:{minute:02} UTC is outside the active hours {range} UTC of {who}'s peer group {} (95 % of its {})",
                    i.resolve(s.group),
                    earlier(history)
                ),
            }
        }
        Facts::OffDays { weekday, history } => format!(
            "activity on a {}: {who} was active on weekdays only in {}",
            WEEKDAYS.get(usize::from(*weekday)).unwrap_or(&"weekend"),
            earlier(history)
        ),
        Facts::Burst {
            last_minute,
            usual_peak,
        } => format!(
            "{} requests from {who} in the last minute; its busiest minutes usually have up to {}",
            thousands(u64::from(*last_minute)),
            thousands(*usual_peak)
        ),
        Facts::DeniedStorm {
            recent,
            minutes,
            before,
            history,
        } => format!(
            "{recent} denied (401/403) responses to {who} in {minutes} minutes; it was denied {} in {}",
            times(*before),
            earlier(history)
        ),
        Facts::Impersonation {
            target,
            privileged,
            before,
            any_before,
            history,
        } => {
            let target = i.resolve(*target);
            let kind = if *privileged {
                " (a privileged identity)"
            } else {
                ""
            };
            if *any_before == 0 {
                format!(
                    "{who} impersonated {target}{kind}; it impersonated no one in {}",
                    earlier(history)
                )
            } else {
                format!(
                    "{who} impersonated {target}{kind}; {} of its {} earlier impersonations were of {target}",
                    thousands(*before),
                    thousands(*any_before)
                )
            }
        }
        Facts::AnonymousAllowed { before } => format!(
            "an unauthenticated request was allowed to {action} (anonymous access is normally \
             limited to health and version endpoints; {} such requests before)",
            thousands(*before)
        ),
        Facts::NewIdentity {
            group,
            members,
            class,
        } => format!(
            "first request from {who}, a new {} identity in peer group {} ({members} members)",
            class.as_str(),
            i.resolve(*group)
        ),
        Facts::Window {
            start,
            minutes,
            features,
        } => {
            let mut m = format!(
                "in the {minutes} minutes from {} UTC, {who} had ",
                crate::time::format_short(*start)
            );
            for (n, (f, value, mean, sd)) in features.iter().enumerate() {
                if n > 0 {
                    m.push_str(", ");
                }
                let name = FEATURES.get(*f).unwrap_or(&"?");
                if *f == 3 || *f == 5 {
                    let _ = write!(
                        m,
                        "{name} {:.0} % (usually {:.0} % ± {:.0})",
                        value * 100.0,
                        mean * 100.0,
                        sd * 100.0
                    );
                } else {
                    let _ = write!(m, "{value:.0} {name} (usually {mean:.1} ± {sd:.1})");
                }
            }
            m.push_str(" per 10-minute window");
            m
        }
        Facts::Rule {
            rule,
            severity,
            message,
            routine,
        } => {
            let mut m = format!("rule {rule} ({}): {message}", severity.as_str());
            match routine {
                Routine::No => {}
                Routine::Own(n) => {
                    let _ = write!(
                        m,
                        "; {who} matched it {} time{} before the last hour",
                        thousands(*n),
                        if *n == 1 { "" } else { "s" }
                    );
                }
                Routine::Peers(n) => {
                    let _ = write!(
                        m,
                        "; routine for its peers in {}: {} earlier matches",
                        i.resolve(s.group),
                        thousands(*n)
                    );
                }
                Routine::Provisioning => {
                    m.push_str("; part of setting up a namespace created within the hour")
                }
                Routine::Machinery => m.push_str(
                    "; a control-plane component connecting with its usual client from its usual network",
                ),
            }
            m
        }
        Facts::Provisioning {
            namespace,
            creator,
            minutes,
        } => format!(
            "namespace {} was created by {} {}: new actions while setting it up weigh less",
            i.resolve(*namespace),
            i.resolve(*creator),
            ago(*minutes)
        ),
        Facts::FleetWide {
            dim,
            key,
            group,
            identities,
        } => format!(
            "{} {} is new, but {identities} members of {} started using it within 6 hours: a fleet-wide change, not scored",
            dim_noun(*dim),
            key_text(i, *dim, *key),
            i.resolve(*group)
        ),
    };
    Reason {
        code: signal.code.as_str().to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(4120), "4,120");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(span(5.0), "5 days");
        assert_eq!(span(1.0), "1 day");
        assert_eq!(span(0.5), "12 hours");
        assert_eq!(span(1.52), "1.5 days");
        assert_eq!(times(1), "1 time");
        assert_eq!(times(4120), "4,120 times");
        assert_eq!(ago(0), "less than a minute earlier");
    }
}
