//! The baseline file: a versioned JSON document that `auditlens baseline build` writes and
//! `auditlens analyze --baseline` reads.
//!
//! Everything is written in a canonical order (identities and groups by name, values by count
//! then text), so the same baseline always gives the same bytes and two files can be diffed.
//! Reading never trusts the file: the format name and version are checked first, then every
//! array length, register and name; a problem is a [`BaselineError`] saying what is wrong.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::baseline::profile::{
    Dim, DistinctDim, Profile, WindowStats, DECISIONS, DIMS, MAX_DAYS, RESPONSE_CLASSES,
};
use crate::baseline::sketch::{pair_hash, stable_hash, Distinct, Entry, Key, TopValues};
use crate::baseline::{Baseline, Model};
use crate::identity::{IdentityClass, IdentityKind};
use crate::intern::Interner;
use crate::time::{format_rfc3339, parse_rfc3339};

/// The largest count a baseline file may hold (2^48, far beyond any real log), so that sums
/// of a profile's counts can never overflow.
pub const MAX_COUNT: u64 = 1 << 48;

/// The `format` every baseline file carries.
pub const FORMAT: &str = "auditlens-baseline";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// Why a baseline file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("not a JSON baseline file: {0}")]
    Json(String),
    #[error("not an auditlens baseline file: its \"format\" is {found:?}, expected {FORMAT:?}")]
    Format { found: String },
    #[error(
        "baseline file version {found} is not supported: this auditlens reads version {supported}; \
         rebuild it with `auditlens baseline build`"
    )]
    Version { found: u64, supported: u32 },
    #[error("invalid baseline file: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BaselineFile {
    format: String,
    version: u32,
    identities: Vec<IdentityFile>,
    groups: Vec<GroupFile>,
    classes: Vec<ClassFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityFile {
    user: String,
    kind: String,
    class: String,
    group: String,
    profile: ProfileFile,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    group: String,
    profile: ProfileFile,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    class: String,
    profile: ProfileFile,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileFile {
    requests: u64,
    first: Option<String>,
    last: Option<String>,
    /// Value summaries by dimension name.
    values: BTreeMap<String, TopFile>,
    /// Distinct-count registers by dimension name, as `[index, rank]` pairs.
    distinct: BTreeMap<String, Vec<(u16, u8)>>,
    hours: [u64; 24],
    weekdays: [u64; 7],
    responses: BTreeMap<String, u64>,
    decisions: BTreeMap<String, u64>,
    writes: u64,
    sensitive: u64,
    per_minute: Vec<u64>,
    gaps: Vec<u64>,
    days: Vec<i64>,
    windows: WindowsFile,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WindowsFile {
    windows: u64,
    sum: Vec<u64>,
    sum_squares: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TopFile {
    total: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    overflowed: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    floor: u64,
    /// `[value, count, error]`; a value is a string, or `[first, second]` for pairs.
    values: Vec<(ValueText, u64, u64)>,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ValueText {
    One(String),
    Two(String, String),
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn kind_name(kind: IdentityKind) -> &'static str {
    match kind {
        IdentityKind::User => "user",
        IdentityKind::ServiceAccount => "service-account",
        IdentityKind::Node => "node",
        IdentityKind::ControlPlane => "control-plane",
        IdentityKind::Anonymous => "anonymous",
    }
}

fn parse_kind(text: &str) -> Option<IdentityKind> {
    [
        IdentityKind::User,
        IdentityKind::ServiceAccount,
        IdentityKind::Node,
        IdentityKind::ControlPlane,
        IdentityKind::Anonymous,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == text)
}

impl Baseline {
    /// The baseline as a JSON document (canonical: the same baseline gives the same text).
    pub fn to_json(&self) -> String {
        let strings = &self.strings;
        let mut identities: Vec<IdentityFile> = self
            .model
            .identities
            .iter()
            .map(|r| IdentityFile {
                user: strings.resolve(r.user).to_string(),
                kind: kind_name(r.kind).to_string(),
                class: r.class.as_str().to_string(),
                group: strings.resolve(r.group).to_string(),
                profile: profile_file(&r.profile, strings),
            })
            .collect();
        identities.sort_by(|a, b| a.user.cmp(&b.user));
        let mut groups: Vec<GroupFile> = self
            .model
            .groups
            .iter()
            .map(|g| GroupFile {
                group: strings.resolve(g.name).to_string(),
                profile: profile_file(&g.profile, strings),
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        let classes = IdentityClass::ALL
            .iter()
            .zip(&self.model.classes)
            .map(|(class, profile)| ClassFile {
                class: class.as_str().to_string(),
                profile: profile_file(profile, strings),
            })
            .collect();
        let file = BaselineFile {
            format: FORMAT.to_string(),
            version: VERSION,
            identities,
            groups,
            classes,
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// Reads a baseline written by [`Baseline::to_json`], checking format and version first.
    pub fn from_json(text: &str) -> Result<Baseline, BaselineError> {
        let header: Header =
            serde_json::from_str(text).map_err(|e| BaselineError::Json(e.to_string()))?;
        match header.format.as_deref() {
            Some(FORMAT) => {}
            other => {
                return Err(BaselineError::Format {
                    found: other.unwrap_or("(missing)").to_string(),
                })
            }
        }
        let version = header.version.as_ref().and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(VERSION)) {
            return Err(BaselineError::Version {
                found: version.unwrap_or(0),
                supported: VERSION,
            });
        }
        let file: BaselineFile =
            serde_json::from_str(text).map_err(|e| BaselineError::Invalid(e.to_string()))?;
        let mut strings = Interner::default();
        let mut model = Model::default();
        for identity in &file.identities {
            let user = strings.intern(&identity.user);
            if model.identity(user).is_some() {
                return Err(invalid(format!(
                    "identity {:?} listed twice",
                    identity.user
                )));
            }
            let kind = parse_kind(&identity.kind)
                .ok_or_else(|| invalid(format!("unknown identity kind {:?}", identity.kind)))?;
            let class = IdentityClass::parse(&identity.class)
                .ok_or_else(|| invalid(format!("unknown identity class {:?}", identity.class)))?;
            let group = strings.intern(&identity.group);
            let index = model.add_identity(user, kind, class, group);
            let profile = read_profile(&identity.profile, &mut strings)
                .map_err(|e| invalid(format!("identity {:?}: {e}", identity.user)))?;
            if let Some(record) = model.identities.get_mut(index as usize) {
                record.profile = profile;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for group in &file.groups {
            if !seen.insert(group.group.as_str()) {
                return Err(invalid(format!("group {:?} listed twice", group.group)));
            }
            let index = model.group(strings.intern(&group.group));
            let profile = read_profile(&group.profile, &mut strings)
                .map_err(|e| invalid(format!("group {:?}: {e}", group.group)))?;
            if let Some(record) = model.groups.get_mut(index as usize) {
                record.profile = profile;
            }
        }
        for class in &file.classes {
            let c = IdentityClass::parse(&class.class)
                .ok_or_else(|| invalid(format!("unknown class {:?}", class.class)))?;
            let profile = read_profile(&class.profile, &mut strings)
                .map_err(|e| invalid(format!("class {:?}: {e}", class.class)))?;
            if let Some(slot) = model.classes.get_mut(c.index()) {
                *slot = profile;
            }
        }
        Ok(Baseline::from_parts(strings, model))
    }
}

fn invalid(message: String) -> BaselineError {
    BaselineError::Invalid(message)
}

fn profile_file(p: &Profile, strings: &Interner) -> ProfileFile {
    let values = Dim::ALL
        .iter()
        .map(|&dim| (dim.name().to_string(), top_file(p.dim(dim), dim, strings)))
        .filter(|(_, t)| t.total > 0)
        .collect();
    let distinct = DistinctDim::ALL
        .iter()
        .zip(&p.distinct)
        .map(|(d, registers)| (d.name().to_string(), registers.nonzero()))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let named = |names: &[&str], counts: &[u64]| -> BTreeMap<String, u64> {
        names
            .iter()
            .zip(counts)
            .filter(|(_, &n)| n > 0)
            .map(|(name, &n)| (name.to_string(), n))
            .collect()
    };
    let any = p.requests > 0;
    ProfileFile {
        requests: p.requests,
        first: any.then(|| format_rfc3339(p.first)),
        last: any.then(|| format_rfc3339(p.last)),
        values,
        distinct,
        hours: p.hours,
        weekdays: p.weekdays,
        responses: named(&RESPONSE_CLASSES, &p.responses),
        decisions: named(&DECISIONS, &p.decisions),
        writes: p.writes,
        sensitive: p.sensitive,
        per_minute: p.per_minute.to_vec(),
        gaps: p.gaps.to_vec(),
        days: p.days.iter().copied().collect(),
        windows: WindowsFile {
            windows: p.windows.windows,
            sum: p.windows.sum.to_vec(),
            sum_squares: p.windows.sum_squares.to_vec(),
        },
    }
}

fn top_file(top: &TopValues, dim: Dim, strings: &Interner) -> TopFile {
    let mut values: Vec<(ValueText, u64, u64)> = top
        .entries()
        .iter()
        .map(|e| {
            let text = if dim.is_pair() {
                ValueText::Two(
                    strings.resolve(e.key.0).to_string(),
                    strings.resolve(e.key.1).to_string(),
                )
            } else {
                ValueText::One(strings.resolve(e.key.0).to_string())
            };
            (text, e.count, e.error)
        })
        .collect();
    values.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| text_key(&a.0).cmp(&text_key(&b.0)))
    });
    TopFile {
        total: top.total(),
        overflowed: top.overflowed(),
        floor: top.floor(),
        values,
    }
}

fn text_key(v: &ValueText) -> (&str, &str) {
    match v {
        ValueText::One(a) => (a, ""),
        ValueText::Two(a, b) => (a, b),
    }
}

/// Refuses counts beyond [`MAX_COUNT`].
fn counts<'a>(values: impl IntoIterator<Item = &'a u64>, what: &str) -> Result<(), String> {
    match values.into_iter().find(|&&n| n > MAX_COUNT) {
        Some(n) => Err(format!("{what}: count {n} is larger than {MAX_COUNT}")),
        None => Ok(()),
    }
}

fn read_profile(f: &ProfileFile, strings: &mut Interner) -> Result<Profile, String> {
    counts(
        [&f.requests, &f.writes, &f.sensitive, &f.windows.windows],
        "requests",
    )?;
    counts(&f.hours, "hours")?;
    counts(&f.weekdays, "weekdays")?;
    counts(f.responses.values(), "responses")?;
    counts(f.decisions.values(), "decisions")?;
    counts(&f.per_minute, "perMinute")?;
    counts(&f.gaps, "gaps")?;
    for (name, top) in &f.values {
        counts([&top.total, &top.floor], name)?;
        counts(top.values.iter().map(|(_, count, _)| count), name)?;
    }
    let mut p = Profile {
        requests: f.requests,
        hours: f.hours,
        weekdays: f.weekdays,
        writes: f.writes,
        sensitive: f.sensitive,
        ..Profile::default()
    };
    if f.requests > 0 {
        let time = |t: &Option<String>, what: &str| {
            t.as_deref()
                .and_then(parse_rfc3339)
                .ok_or_else(|| format!("missing or bad {what} time"))
        };
        p.first = time(&f.first, "first")?;
        p.last = time(&f.last, "last")?;
    }
    for (name, top) in &f.values {
        let dim = Dim::ALL
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| format!("unknown value dimension {name:?}"))?;
        p.top[dim as usize] = read_top(top, dim, strings)?;
    }
    for (name, registers) in &f.distinct {
        let d = DistinctDim::ALL
            .iter()
            .position(|d| d.name() == name)
            .ok_or_else(|| format!("unknown distinct dimension {name:?}"))?;
        p.distinct[d] = Distinct::from_nonzero(registers)
            .ok_or_else(|| format!("distinct {name:?}: register out of range"))?;
    }
    read_named(
        &f.responses,
        &RESPONSE_CLASSES,
        &mut p.responses,
        "response class",
    )?;
    read_named(&f.decisions, &DECISIONS, &mut p.decisions, "decision")?;
    p.per_minute = fixed(&f.per_minute, "perMinute")?;
    p.gaps = fixed(&f.gaps, "gaps")?;
    if f.days.len() > MAX_DAYS {
        return Err(format!("more than {MAX_DAYS} days"));
    }
    p.days = f.days.iter().copied().collect();
    p.windows = WindowStats {
        windows: f.windows.windows,
        sum: fixed(&f.windows.sum, "windows.sum")?,
        sum_squares: fixed(&f.windows.sum_squares, "windows.sumSquares")?,
    };
    Ok(p)
}

fn fixed<const N: usize>(values: &[u64], what: &str) -> Result<[u64; N], String> {
    values
        .try_into()
        .map_err(|_| format!("{what} has {} entries, expected {N}", values.len()))
}

fn read_named(
    map: &BTreeMap<String, u64>,
    names: &[&str],
    out: &mut [u64],
    what: &str,
) -> Result<(), String> {
    for (name, &n) in map {
        let i = names
            .iter()
            .position(|x| x == name)
            .ok_or_else(|| format!("unknown {what} {name:?}"))?;
        if let Some(slot) = out.get_mut(i) {
            *slot = n;
        }
    }
    Ok(())
}

fn read_top(f: &TopFile, dim: Dim, strings: &mut Interner) -> Result<TopValues, String> {
    let mut entries = Vec::with_capacity(f.values.len());
    for (text, count, error) in &f.values {
        let (key, hash) = match (text, dim.is_pair()) {
            (ValueText::One(a), false) => (Key::one(strings.intern(a)), stable_hash(a)),
            (ValueText::Two(a, b), true) => (
                Key(strings.intern(a), strings.intern(b)),
                pair_hash(stable_hash(a), stable_hash(b)),
            ),
            _ => return Err(format!("{}: value of the wrong shape", dim.name())),
        };
        if error > count {
            return Err(format!("{}: error larger than count", dim.name()));
        }
        entries.push(Entry {
            key,
            hash,
            count: *count,
            error: *error,
        });
    }
    let mut seen: Vec<Key> = entries.iter().map(|e| e.key).collect();
    seen.sort();
    seen.dedup();
    if seen.len() != entries.len() {
        return Err(format!("{}: a value is listed twice", dim.name()));
    }
    Ok(TopValues::from_parts(
        dim.capacity(),
        f.total,
        f.floor,
        f.overflowed,
        entries,
    ))
}

/// Keeps [`DIMS`] and the file's dimension names in step.
const _: () = assert!(Dim::ALL.len() == DIMS);
