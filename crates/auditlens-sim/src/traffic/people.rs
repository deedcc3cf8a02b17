//! People at their terminals: kubectl sessions in working hours, each person with a rhythm.
//!
//! A person has a role (platform team, developer, SRE) that decides where RBAC lets them in,
//! hours they keep, a laptop (kubectl build and OS in the user agent), an office address
//! behind the company NAT in 203.0.113.0/24 and a home address in 198.51.100.0/24. On a
//! workday they hold a few sessions of a few commands each, mostly looking (get, describe,
//! logs), sometimes changing things (apply, rollout restart, exec), and now and then running
//! into a 403 where their role stops. Weekends are quiet.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{is_weekend, HOUR, MILLI, MINUTE, SECOND};
use crate::identity::{Actor, ActorId, Identity};
use crate::traffic::discovery;
use crate::traffic::kubectl::{run_command, ORDINARY};
use crate::world::{SimRng, Task, World};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Platform,
    Developer,
    Sre,
}

impl Role {
    fn groups(self) -> &'static [&'static str] {
        match self {
            Role::Platform => &["oidc:platform-team", "system:authenticated"],
            Role::Developer => &["oidc:developers", "system:authenticated"],
            Role::Sre => &["oidc:sre", "oidc:developers", "system:authenticated"],
        }
    }

    /// Namespaces this role works in, with weights.
    pub(crate) fn namespaces(self) -> &'static [(&'static str, u32)] {
        match self {
            Role::Platform => &[
                ("kube-system", 3),
                ("prod", 3),
                ("monitoring", 2),
                ("argocd", 2),
                ("ingress-nginx", 1),
                ("cert-manager", 1),
                ("staging", 2),
                ("dev", 1),
            ],
            Role::Developer => &[("dev", 11), ("staging", 7), ("prod", 2)],
            Role::Sre => &[
                ("prod", 10),
                ("staging", 6),
                ("dev", 2),
                ("monitoring", 2),
                ("ingress-nginx", 1),
            ],
        }
    }
}

const NAMES: [&str; 26] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken",
    "laura", "mike", "nina", "oscar", "peggy", "quinn", "rachel", "sam", "tina", "uma", "victor",
    "wendy", "xavier", "yara", "zack",
];

/// How one person works.
pub(crate) struct Persona {
    pub user: String,
    pub role: Role,
    pub platform: &'static str,
    pub kubectl: Release,
    pub start_hour: f64,
    pub end_hour: f64,
    /// Sessions on an ordinary workday.
    pub sessions: u32,
    /// Share of workdays spent at home.
    pub remote_share: f64,
}

/// Persona number `index`: the first six are written out, later ones vary on the same themes.
pub(crate) fn persona(index: usize) -> Persona {
    let base = NAMES[index % NAMES.len()];
    let user = match index / NAMES.len() {
        0 => format!("{base}@example.com"),
        n => format!("{base}{}@example.com", n + 1),
    };
    let p = |role, platform, kubectl, start_hour, end_hour, sessions, remote_share| Persona {
        user: user.clone(),
        role,
        platform,
        kubectl,
        start_hour,
        end_hour,
        sessions,
        remote_share,
    };
    match index {
        0 => p(
            Role::Platform,
            "darwin/arm64",
            KUBECTL_1_29_3,
            8.0,
            17.0,
            6,
            0.3,
        ),
        1 => p(
            Role::Developer,
            "linux/amd64",
            KUBECTL_1_29_2,
            9.5,
            18.5,
            6,
            0.2,
        ),
        2 => p(
            Role::Developer,
            "darwin/arm64",
            KUBECTL_1_29_3,
            8.5,
            17.5,
            5,
            0.4,
        ),
        3 => p(Role::Sre, "linux/amd64", KUBECTL_1_28_4, 7.0, 16.0, 5, 0.2),
        4 => p(
            Role::Developer,
            "windows/amd64",
            KUBECTL_1_29_2,
            10.0,
            19.0,
            4,
            0.5,
        ),
        5 => p(Role::Sre, "darwin/arm64", KUBECTL_1_29_3, 9.0, 18.0, 4, 0.3),
        _ => {
            let role = [
                Role::Developer,
                Role::Developer,
                Role::Sre,
                Role::Developer,
                Role::Platform,
            ][index % 5];
            let platform = ["darwin/arm64", "linux/amd64", "darwin/amd64"][index % 3];
            let kubectl = [KUBECTL_1_29_3, KUBECTL_1_29_2, KUBECTL_1_28_4][index % 3];
            let start = 7.0 + (index * 7 % 8) as f64 * 0.5;
            p(
                role,
                platform,
                kubectl,
                start,
                start + 8.5 + (index % 3) as f64 * 0.5,
                3 + (index % 4) as u32,
                0.15 * (index % 4) as f64,
            )
        }
    }
}

/// A person and where they are today.
pub(crate) struct Human {
    pub actor: ActorId,
    pub persona: Persona,
    pub office_ip: IpAddr,
    pub home_ip: IpAddr,
    /// Whether the person has baseline traffic (the first `SimConfig::humans` do).
    pub active: bool,
    /// kubectl caches discovery for six hours.
    pub discovery_until: i64,
    /// The address of the person's latest session.
    pub usual_ip: IpAddr,
    pub namespace: Arc<str>,
}

/// Personas the scenarios act as; they exist even when fewer people are configured.
pub(crate) const SCENARIO_PERSONAS: usize = 6;

/// Creates the people: the configured number, and at least those the scenarios use.
pub(crate) fn setup(w: &mut World) {
    let configured = w.config.humans as usize;
    for index in 0..configured.max(SCENARIO_PERSONAS) {
        let persona = persona(index);
        let identity = Identity::new(&persona.user, None, persona.role.groups(), &[]);
        let agent = client_go_agent("kubectl", persona.kubectl, persona.platform, "");
        let office_ip = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10 + (index % 4) as u8));
        let home_ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 20 + (index % 200) as u8));
        let actor = w.add_actor(Actor::new(identity, agent, office_ip, Arc::from("")));
        let namespace = w.cluster.ns(persona.role.namespaces()[0].0);
        w.humans.push(Human {
            actor,
            persona,
            office_ip,
            home_ip,
            active: index < configured,
            discovery_until: 0,
            usual_ip: office_ip,
            namespace,
        });
    }
}

/// Plans the sessions of everyone active for the day starting at `midnight`.
pub(crate) fn plan_day(w: &mut World, rng: &mut SimRng, midnight: i64) {
    for index in 0..w.humans.len() {
        let human = &w.humans[index];
        if !human.active {
            continue;
        }
        let p = &human.persona;
        let (start, end, sessions, remote) = (p.start_hour, p.end_hour, p.sessions, p.remote_share);
        let home = rng.gen_bool(remote.clamp(0.0, 1.0));
        let ip = if home { human.home_ip } else { human.office_ip };
        w.actors[human.actor].ip = ip;
        let human_id = u16::try_from(index).unwrap_or(u16::MAX);
        if is_weekend(midnight) {
            if rng.gen_bool(0.08) {
                let at = midnight + (rng.gen_range(10.0..20.0) * HOUR as f64) as i64;
                w.schedule(
                    at,
                    Task::Session {
                        human: human_id,
                        left: rng.gen_range(2..6),
                    },
                );
            }
            continue;
        }
        if rng.gen_bool(0.07) {
            continue; // a day off
        }
        let count = (sessions as i64 + rng.gen_range(-2..=2)).max(1);
        for _ in 0..count {
            let mut hour = rng.gen_range(start..end);
            if (12.0..13.0).contains(&hour) {
                hour += 1.0;
            }
            let at = midnight + (hour * HOUR as f64) as i64;
            w.schedule(
                at,
                Task::Session {
                    human: human_id,
                    left: rng.gen_range(2..12),
                },
            );
        }
    }
}

/// Runs one command of a session and schedules the next.
pub(crate) fn session_step(w: &mut World, rng: &mut SimRng, human: usize, left: u16, at: i64) {
    if human >= w.humans.len() {
        return;
    }
    let mut t = at;
    if at >= w.humans[human].discovery_until {
        let actor = w.humans[human].actor;
        t = discovery(w, rng, actor, at) + rng.gen_range(5 * MILLI..50 * MILLI);
        w.humans[human].discovery_until = at + 6 * HOUR;
        let choices = w.humans[human].persona.role.namespaces();
        let total: u32 = choices.iter().map(|c| c.1).sum();
        let mut pick = rng.gen_range(0..total);
        for (ns, weight) in choices {
            if pick < *weight {
                w.humans[human].namespace = w.cluster.ns(ns);
                break;
            }
            pick -= weight;
        }
    }
    if rng.gen_bool(0.15) {
        let choices = w.humans[human].persona.role.namespaces();
        let ns = choices[crate::cluster::random_index(rng, choices.len())].0;
        w.humans[human].namespace = w.cluster.ns(ns);
    }
    let ns = w.humans[human].namespace.clone();
    w.humans[human].usual_ip = w.actors[w.humans[human].actor].ip;
    run_command(w, rng, human, &ns, t, &ORDINARY);
    if left > 1 {
        let think = if rng.gen_bool(0.6) {
            rng.gen_range(4 * SECOND..30 * SECOND)
        } else {
            rng.gen_range(30 * SECOND..4 * MINUTE)
        };
        let human_id = u16::try_from(human).unwrap_or(u16::MAX);
        w.schedule(
            at + think,
            Task::Session {
                human: human_id,
                left: left - 1,
            },
        );
    }
}
