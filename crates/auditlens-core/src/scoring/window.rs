//! The window-level model: what no single request shows (a sweep of secrets across
//! namespaces, an enumeration burst, a storm of denials) shows in ten minutes of one
//! identity's activity.
//!
//! While the scorer reads requests, each identity's current ten-minute window accumulates
//! counts ([`WindowAcc`]); a closed window becomes a [`WindowRecord`] of features (requests,
//! distinct resources, namespaces and names, error and write ratios, denials, sensitive
//! actions, new values) and its features are added to the identity's profile. After the pass,
//! [`detect`] standardizes every window against its identity's own windows (shrunk towards
//! its class while the identity has few), fits a Gaussian mixture (linfa, fixed seed) to the
//! standardized windows, and flags the windows the mixture finds least likely that also
//! stand out upwards on some feature, naming the features that deviate most.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::GaussianMixtureModel;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;

use crate::baseline::profile::{WindowStats, WINDOW_FEATURES};
use crate::intern::Sym;
use crate::time::Micros;

/// Length of a window.
pub const WINDOW: Micros = 10 * 60 * 1_000_000;

/// Feature names, for explanations.
pub const FEATURES: [&str; WINDOW_FEATURES] = [
    "requests",
    "distinct resources",
    "distinct namespaces",
    "error ratio",
    "denied (401/403) responses",
    "write ratio",
    "sensitive actions",
    "values new for the identity",
    "distinct object names",
];

/// Features stored as `ln(1 + count)`; the others are ratios.
const LOG_FEATURE: [bool; WINDOW_FEATURES] =
    [true, true, true, false, true, false, true, true, true];

/// Smallest standard deviation per feature (in stored units), so an identity that always
/// does the same thing does not make one extra request look extreme.
const SD_FLOOR: [f64; WINDOW_FEATURES] = [0.5, 0.4, 0.4, 0.1, 0.5, 0.1, 0.5, 0.5, 0.5];

/// Windows of the class that count as much as one identity's own windows when shrinking.
const SHRINK: f64 = 6.0;

/// Rows kept for fitting the mixture (every n-th window beyond this).
const MAX_FIT_ROWS: usize = 20_000;

/// Seed of the mixture's initialisation: the model is the same on every run and platform.
const SEED: u64 = 0x00A0_D17E;

/// A small set of ids, exact up to its capacity and counting past it.
#[derive(Clone, Debug, Default)]
struct SmallSet {
    items: Vec<Sym>,
    beyond: u32,
}

impl SmallSet {
    fn map_syms(&mut self, f: &mut impl FnMut(Sym) -> Sym) {
        for item in &mut self.items {
            *item = f(*item);
        }
    }

    fn insert(&mut self, sym: Sym, capacity: usize) {
        if sym.is_empty() || self.items.contains(&sym) {
            return;
        }
        if self.items.len() < capacity {
            self.items.push(sym);
        } else {
            self.beyond += 1;
        }
    }

    fn len(&self) -> u32 {
        self.items.len() as u32 + self.beyond
    }

    fn clear(&mut self) {
        self.items.clear();
        self.beyond = 0;
    }
}

/// One request's contribution to its window.
#[derive(Clone, Copy, Debug)]
pub struct WindowInput {
    pub index: u32,
    pub time: Micros,
    pub resource: Sym,
    pub namespace: Sym,
    pub name: Sym,
    pub error: bool,
    pub denied: bool,
    pub write: bool,
    pub sensitive: bool,
    pub novel: u32,
    pub scored: bool,
}

/// The open window of one identity.
#[derive(Clone, Debug, Default)]
pub struct WindowAcc {
    start: Option<Micros>,
    count: u32,
    errors: u32,
    denied: u32,
    writes: u32,
    sensitive: u32,
    novel: u32,
    resources: SmallSet,
    namespaces: SmallSet,
    names: SmallSet,
    first: u32,
    last: u32,
    scored: bool,
}

/// A closed window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowRecord {
    pub identity: u32,
    pub start: Micros,
    /// Stored features (log counts and ratios).
    pub features: [f64; WINDOW_FEATURES],
    /// First and last request index in the window.
    pub first: u32,
    pub last: u32,
    /// The window lies after the learning period and the identity's first requests.
    pub scored: bool,
}

impl WindowAcc {
    /// Moves its strings to another interner (see [`crate::intern::Mover`]).
    pub fn map_syms(&mut self, f: &mut impl FnMut(Sym) -> Sym) {
        self.resources.map_syms(f);
        self.namespaces.map_syms(f);
        self.names.map_syms(f);
    }

    /// Adds a request; returns the window it closed, if the request starts a new one.
    pub fn add(&mut self, identity: u32, input: &WindowInput) -> Option<WindowRecord> {
        let start = input.time.div_euclid(WINDOW) * WINDOW;
        let closed = match self.start {
            Some(s) if s != start => self.close(identity),
            _ => None,
        };
        if self.start.is_none() {
            self.start = Some(start);
            self.first = input.index;
            self.scored = input.scored;
        }
        self.count += 1;
        self.errors += u32::from(input.error);
        self.denied += u32::from(input.denied);
        self.writes += u32::from(input.write);
        self.sensitive += u32::from(input.sensitive);
        self.novel += input.novel;
        self.resources.insert(input.resource, 64);
        self.namespaces.insert(input.namespace, 64);
        self.names.insert(input.name, 128);
        self.last = input.index;
        closed
    }

    /// Closes the open window, if any.
    pub fn close(&mut self, identity: u32) -> Option<WindowRecord> {
        let start = self.start.take()?;
        let n = f64::from(self.count.max(1));
        let ln = |x: u32| f64::from(x).ln_1p();
        let record = WindowRecord {
            identity,
            start,
            features: [
                ln(self.count),
                ln(self.resources.len()),
                ln(self.namespaces.len()),
                f64::from(self.errors) / n,
                ln(self.denied),
                f64::from(self.writes) / n,
                ln(self.sensitive),
                ln(self.novel),
                ln(self.names.len()),
            ],
            first: self.first,
            last: self.last,
            scored: self.scored,
        };
        self.count = 0;
        self.errors = 0;
        self.denied = 0;
        self.writes = 0;
        self.sensitive = 0;
        self.novel = 0;
        self.resources.clear();
        self.namespaces.clear();
        self.names.clear();
        Some(record)
    }
}

/// A stored feature in the units people read (a count or a ratio).
pub fn readable(feature: usize, value: f64) -> f64 {
    if LOG_FEATURE.get(feature).copied().unwrap_or(false) {
        value.exp_m1()
    } else {
        value
    }
}

/// A window the model found unusual.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowAnomaly {
    /// Index into the records given to [`detect`].
    pub record: usize,
    /// Signal weight, 0..1.
    pub p: f32,
    /// `(feature, value, usual mean, usual sd)` in readable units, most deviating first.
    pub features: Vec<(usize, f64, f64, f64)>,
}

/// Mean and sd per feature for one identity, shrunk towards its class.
fn standardizer(own: &WindowStats, class: &WindowStats) -> [(f64, f64); WINDOW_FEATURES] {
    let mut out = [(0.0, 1.0); WINDOW_FEATURES];
    let n = own.windows as f64;
    for (i, slot) in out.iter_mut().enumerate() {
        let (cm, csd) = class.mean_sd(i).unwrap_or((0.0, SD_FLOOR[i]));
        let (om, osd) = own.mean_sd(i).unwrap_or((cm, csd));
        let mean = (n * om + SHRINK * cm) / (n + SHRINK);
        let var = (n * osd * osd + SHRINK * csd * csd) / (n + SHRINK);
        *slot = (mean, var.sqrt().max(SD_FLOOR[i]));
    }
    out
}

/// Flags unusual windows. `stats(identity)` gives the identity's and its class's window
/// statistics. Windows not `scored` (learning period) are neither fitted nor flagged.
pub fn detect(
    records: &[WindowRecord],
    stats: impl Fn(u32) -> (WindowStats, WindowStats),
) -> Vec<WindowAnomaly> {
    let scored: Vec<usize> = (0..records.len())
        .filter(|&i| records.get(i).is_some_and(|r| r.scored))
        .collect();
    if scored.len() < 50 {
        return Vec::new();
    }
    let mut z = Array2::<f64>::zeros((scored.len(), WINDOW_FEATURES));
    let mut norms = Vec::with_capacity(scored.len());
    let mut cache: Option<(u32, [(f64, f64); WINDOW_FEATURES])> = None;
    for (row, &i) in scored.iter().enumerate() {
        let Some(r) = records.get(i) else { continue };
        let norm = match cache {
            Some((id, n)) if id == r.identity => n,
            _ => {
                let (own, class) = stats(r.identity);
                let n = standardizer(&own, &class);
                cache = Some((r.identity, n));
                n
            }
        };
        for (f, &(mean, sd)) in norm.iter().enumerate() {
            z[[row, f]] = (r.features[f] - mean) / sd;
        }
        norms.push(norm);
    }
    let step = scored.len().div_ceil(MAX_FIT_ROWS).max(1);
    let fit_rows: Vec<usize> = (0..scored.len()).step_by(step).collect();
    let mut train = Array2::<f64>::zeros((fit_rows.len(), WINDOW_FEATURES));
    for (t, &row) in fit_rows.iter().enumerate() {
        for f in 0..WINDOW_FEATURES {
            train[[t, f]] = z[[row, f]].clamp(-8.0, 8.0);
        }
    }
    let Some(mixture) = fit(train.view()) else {
        return Vec::new();
    };
    let nll: Vec<f64> = (0..scored.len())
        .map(|row| -mixture.log_density(z.row(row)))
        .collect();
    let mut sorted = nll.clone();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let at = ((sorted.len() - 1) as f64 * q).round() as usize;
        sorted.get(at).copied().unwrap_or(f64::INFINITY)
    };
    let (median, high) = (quantile(0.5), quantile(0.995));
    let mut out = Vec::new();
    for (row, &i) in scored.iter().enumerate() {
        let value = nll[row];
        if !(value > high && value - median > 12.0) {
            continue;
        }
        let Some(r) = records.get(i) else { continue };
        let mut up: Vec<(usize, f64)> = (0..WINDOW_FEATURES)
            .map(|f| (f, z[[row, f]]))
            .filter(|&(_, zf)| zf >= 2.0)
            .collect();
        up.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let Some(&(_, top)) = up.first() else {
            continue;
        };
        if top < 3.0 {
            continue;
        }
        let p = (0.2 + 0.03 * (top - 3.0)).min(0.45) as f32;
        let norm = norms
            .get(row)
            .copied()
            .unwrap_or([(0.0, 1.0); WINDOW_FEATURES]);
        let features = up
            .iter()
            .take(3)
            .map(|&(f, _)| {
                let (mean, sd) = norm[f];
                let usual = readable(f, mean);
                let spread = (readable(f, mean + sd) - usual).abs();
                (f, readable(f, r.features[f]), usual, spread)
            })
            .collect();
        out.push(WindowAnomaly {
            record: i,
            p,
            features,
        });
    }
    out
}

/// A fitted mixture, with what scoring a window needs precomputed.
struct Mixture {
    /// Per component: log weight + log normalising constant.
    constants: Vec<f64>,
    means: Array2<f64>,
    /// Per component precision matrix.
    precisions: Vec<Array2<f64>>,
}

impl Mixture {
    /// log p(x) under the mixture.
    fn log_density(&self, x: ArrayView1<'_, f64>) -> f64 {
        let mut terms = Vec::with_capacity(self.constants.len());
        for (k, precision) in self.precisions.iter().enumerate() {
            let diff = &x - &self.means.row(k);
            let m = diff.dot(&precision.dot(&diff));
            terms.push(self.constants[k] - 0.5 * m);
        }
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return max;
        }
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    }
}

/// Fits a Gaussian mixture with 3 components, falling back to fewer if the data do not
/// support them.
fn fit(train: ArrayView2<'_, f64>) -> Option<Mixture> {
    let dataset = DatasetBase::from(train.to_owned());
    for k in [3usize, 2, 1] {
        if train.nrows() < 20 * k {
            continue;
        }
        let params = GaussianMixtureModel::params_with_rng(k, Xoshiro256Plus::seed_from_u64(SEED))
            .n_runs(1)
            .tolerance(1e-4)
            .reg_covariance(1e-2)
            .max_n_iterations(300);
        let Ok(model) = params.fit(&dataset) else {
            continue;
        };
        if let Some(mixture) = prepare(&model) {
            return Some(mixture);
        }
    }
    None
}

fn prepare(model: &GaussianMixtureModel<f64>) -> Option<Mixture> {
    let d = WINDOW_FEATURES as f64;
    let mut constants = Vec::new();
    let mut precisions = Vec::new();
    for (k, &weight) in model.weights().iter().enumerate() {
        let precision = model
            .precisions()
            .index_axis(ndarray::Axis(0), k)
            .to_owned();
        let log_det = log_det_cholesky(&precision)?;
        constants.push(weight.ln() + 0.5 * log_det - 0.5 * d * (2.0 * std::f64::consts::PI).ln());
        precisions.push(precision);
    }
    if constants.iter().any(|c| !c.is_finite()) {
        return None;
    }
    Some(Mixture {
        constants,
        means: model.means().to_owned(),
        precisions,
    })
}

/// log det of a symmetric positive-definite matrix by Cholesky; `None` if it is not one.
fn log_det_cholesky(a: &Array2<f64>) -> Option<f64> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    let mut log_det = 0.0;
    for j in 0..n {
        let mut s = a[[j, j]];
        for k in 0..j {
            s -= l[[j, k]] * l[[j, k]];
        }
        if s.is_nan() || s <= 0.0 || !s.is_finite() {
            return None;
        }
        let d = s.sqrt();
        l[[j, j]] = d;
        log_det += 2.0 * d.ln();
        for i in (j + 1)..n {
            let mut t = a[[i, j]];
            for k in 0..j {
                t -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = t / d;
        }
    }
    Some(log_det)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_log_det() {
        let a = ndarray::arr2(&[[4.0, 2.0], [2.0, 3.0]]);
        let expected = (4.0f64 * 3.0 - 4.0).ln();
        assert!((log_det_cholesky(&a).unwrap() - expected).abs() < 1e-12);
        assert!(log_det_cholesky(&ndarray::arr2(&[[0.0, 0.0], [0.0, 1.0]])).is_none());
    }

    #[test]
    fn windows_close_on_the_next_window() {
        let mut acc = WindowAcc::default();
        let mut input = WindowInput {
            index: 0,
            time: 0,
            resource: Sym::EMPTY,
            namespace: Sym::EMPTY,
            name: Sym::EMPTY,
            error: true,
            denied: true,
            write: false,
            sensitive: false,
            novel: 0,
            scored: true,
        };
        assert!(acc.add(7, &input).is_none());
        input.index = 1;
        input.time = WINDOW + 1;
        let closed = acc.add(7, &input).unwrap();
        assert_eq!((closed.identity, closed.first, closed.last), (7, 0, 0));
        assert!((readable(0, closed.features[0]) - 1.0).abs() < 1e-9);
        assert!((closed.features[3] - 1.0).abs() < 1e-9);
    }
}
