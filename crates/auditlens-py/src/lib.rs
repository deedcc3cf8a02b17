//! auditlens in Python: the native module `auditlens._native`, a PyO3 layer over
//! [`auditlens_core::Analysis`] and [`auditlens_core::Baseline`].
//!
//! ```text
//! auditlens (Python): path / bytes / file-like ─▶ read(256 KiB) ─▶ Session.push(file, chunk)
//!                                                                  (GIL released, core parses)
//!                     Session.finish() ─▶ Session.report_json() ─▶ json.loads ─▶ Report
//!                     Session.baseline() ─▶ Baseline (to_json / from_json / merge)
//! ```
//!
//! The Python side (`python/auditlens/`) opens and reads the sources, so that paths, bytes and
//! any binary file-like object (a local file, an `fsspec` or Spark stream) go through one loop;
//! this module only hands each chunk to the core and converts results. Gzip is recognised and
//! inflated by the core from the pushed bytes, as for the CLI and the page.
//!
//! Like `auditlens-wasm`, the crate converts types and nothing else: the report crosses into
//! Python as the core's own serde JSON (the schema of `auditlens analyze --format json`), once per
//! analysis; bytes cross once per chunk. Errors in a baseline or a rules configuration become
//! `ValueError`s that name where the text was wrong (the core's messages carry line and column).

use auditlens_core::rules::RuleConfig;
use auditlens_core::{Analysis, Baseline, FileId, Limits};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

/// An analysis being read: files are added, their bytes pushed chunk by chunk, then it is
/// finished once and its report and baseline taken.
#[pyclass(module = "auditlens._native")]
struct Session {
    analysis: Analysis,
    finished: bool,
}

#[pymethods]
impl Session {
    /// A new analysis. `config` is the text of a rules configuration (TOML, or JSON when it
    /// starts with `{`); `name` says where it came from in error messages. `baseline` scores the
    /// requests against earlier logs, as `auditlens analyze --baseline` does.
    #[new]
    #[pyo3(signature = (config=None, config_name="rules configuration", baseline=None))]
    fn new(
        config: Option<&str>,
        config_name: &str,
        baseline: Option<PyRef<'_, NativeBaseline>>,
    ) -> PyResult<Self> {
        let mut analysis = Analysis::new(Limits::default());
        if let Some(text) = config {
            let rules = RuleConfig::parse(text)
                .map_err(|e| PyValueError::new_err(format!("{config_name}: {e}")))?;
            analysis = analysis.with_rules(rules);
        }
        if let Some(baseline) = baseline {
            analysis = analysis.with_baseline(baseline.inner.clone());
        }
        Ok(Session {
            analysis,
            finished: false,
        })
    }

    /// Adds a file named `name` (the name findings and diagnostics carry); returns its number.
    fn add_file(&mut self, name: &str) -> PyResult<u32> {
        self.check_open()?;
        Ok(self.analysis.add_file(name).0)
    }

    /// Says how many bytes the file holds, when known (lets the core set aside room once).
    fn set_file_size(&mut self, file: u32, size: u64) {
        self.analysis.set_file_size(FileId(file), size);
    }

    /// Reads the next chunk of a file; the interpreter runs other threads meanwhile.
    fn push(&mut self, py: Python<'_>, file: u32, chunk: &[u8]) -> PyResult<()> {
        self.check_open()?;
        let analysis = &mut self.analysis;
        py.allow_threads(|| analysis.push(FileId(file), chunk));
        Ok(())
    }

    /// Ends a file: its last line is read.
    fn finish_file(&mut self, py: Python<'_>, file: u32) {
        let analysis = &mut self.analysis;
        py.allow_threads(|| analysis.finish_file(FileId(file)));
    }

    /// Ends a file that could not be read to its end; a `read-error` diagnostic says where.
    fn read_failed(&mut self, file: u32, reason: &str) {
        self.analysis.read_failed(FileId(file), reason);
    }

    /// Scores against `baseline` (`None` keeps the one given at creation, if any). Call before
    /// [`Session::finish`]; the baseline is not used before then, so it may be chosen after the
    /// files are read (by the cluster their records name, say).
    #[pyo3(signature = (baseline))]
    fn set_baseline(&mut self, baseline: Option<PyRef<'_, NativeBaseline>>) -> PyResult<()> {
        self.check_open()?;
        let analysis = std::mem::take(&mut self.analysis);
        self.analysis = match baseline {
            Some(baseline) => analysis.with_baseline(baseline.inner.clone()),
            None => analysis,
        };
        Ok(())
    }

    /// The totals so far, per file and overall (the `summary` of the JSON report), with what
    /// each file's cloud wrappers said about where it came from (`context`).
    fn summary_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.analysis.summary())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot serialize the summary: {e}")))
    }

    /// Ends every file, runs the sequence rules and scores the requests.
    fn finish(&mut self, py: Python<'_>) {
        let analysis = &mut self.analysis;
        py.allow_threads(|| analysis.finish());
        self.finished = true;
    }

    /// The report as `auditlens analyze --format json` prints it (compact).
    fn report_json(&self, py: Python<'_>) -> PyResult<String> {
        self.check_finished()?;
        let analysis = &self.analysis;
        py.allow_threads(|| serde_json::to_string(&analysis.report()))
            .map_err(|e| PyRuntimeError::new_err(format!("cannot serialize the report: {e}")))
    }

    /// The baseline learned from these logs (merged into the loaded one, if any), as its file
    /// gives it back: saved and read again, like `auditlens baseline build` then `--baseline`.
    /// The file rounds some statistics, so the baseline fresh from an analysis can score a few
    /// requests a point or two apart from the same baseline read from its file; taking the file's
    /// form keeps Python, the CLI and the page on one result.
    fn baseline(&self, py: Python<'_>) -> PyResult<NativeBaseline> {
        self.check_finished()?;
        let analysis = &self.analysis;
        let inner = py
            .allow_threads(|| Baseline::from_json(&analysis.baseline().to_json()))
            .map_err(|e| PyRuntimeError::new_err(format!("the learned baseline: {e}")))?;
        Ok(NativeBaseline { inner })
    }
}

impl Session {
    fn check_open(&self) -> PyResult<()> {
        if self.finished {
            return Err(PyRuntimeError::new_err(
                "the analysis is finished: start a new one to read more files",
            ));
        }
        Ok(())
    }

    fn check_finished(&self) -> PyResult<()> {
        if !self.finished {
            return Err(PyRuntimeError::new_err(
                "the analysis is not finished: call finish() first",
            ));
        }
        Ok(())
    }
}

/// What is normal for every identity, learned from logs: the versioned file format of
/// `auditlens baseline build`.
#[pyclass(name = "Baseline", module = "auditlens._native")]
struct NativeBaseline {
    inner: Baseline,
}

#[pymethods]
impl NativeBaseline {
    /// An empty baseline.
    #[new]
    fn new() -> Self {
        NativeBaseline {
            inner: Baseline::default(),
        }
    }

    /// Reads a baseline file's text; `name` says where it came from in error messages.
    #[staticmethod]
    #[pyo3(signature = (text, name="baseline"))]
    fn from_json(py: Python<'_>, text: &str, name: &str) -> PyResult<Self> {
        let inner = py
            .allow_threads(|| Baseline::from_json(text))
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?;
        Ok(NativeBaseline { inner })
    }

    /// The baseline file's text, as `auditlens baseline build` writes it (without the final
    /// newline).
    fn to_json(&self, py: Python<'_>) -> String {
        let inner = &self.inner;
        py.allow_threads(|| inner.to_json())
    }

    /// A new baseline holding both: the same as `auditlens baseline merge SELF OTHER` (which
    /// reads both files and writes the merged one; read back here too, see `Session::baseline`).
    fn merge(&self, py: Python<'_>, other: PyRef<'_, NativeBaseline>) -> PyResult<Self> {
        let mut inner = self.inner.clone();
        let other = &other.inner;
        let inner = py
            .allow_threads(|| {
                inner.merge(other);
                Baseline::from_json(&inner.to_json())
            })
            .map_err(|e| PyRuntimeError::new_err(format!("the merged baseline: {e}")))?;
        Ok(NativeBaseline { inner })
    }

    /// How many identities it knows.
    #[getter]
    fn identities(&self) -> usize {
        self.inner.identities()
    }

    /// How many requests it was learned from.
    #[getter]
    fn requests(&self) -> u64 {
        self.inner.requests()
    }
}

/// The module `auditlens._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Session>()?;
    m.add_class::<NativeBaseline>()?;
    m.add("CHUNK_BYTES", 256 * 1024)?;
    Ok(())
}
