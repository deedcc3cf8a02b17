//! `auditlens policy retention`: the log backend's rotation flags that keep a number of days
//! of audit log within a disk budget, from the volume the logs show (or a policy would write).
//!
//! kube-apiserver's log backend rotates its file when it reaches `--audit-log-maxsize`
//! megabytes (MiB), keeps at most `--audit-log-maxbackup` rotated files and deletes those older
//! than `--audit-log-maxage` days, whichever comes first; so the disk it takes is at most
//! `(maxbackup + 1) × maxsize`. The daily volume planned for is the busiest whole day of the
//! logs (their average when no day is whole), with a tenth more for days busier than those
//! seen.

use serde::Serialize;

use super::volume::Simulation;

const MIB: u64 = 1 << 20;

/// The margin over the busiest day seen.
pub const MARGIN: f64 = 0.1;

/// Rotated files are at most this large, however large the disk.
const MAX_FILE_MIB: u64 = 100;

/// The rotation settings and how they were reached.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Bytes a day planned for (the busiest whole day, or the average), margin included.
    pub bytes_per_day: u64,
    /// The busiest whole day (UTC), when the logs hold one.
    pub peak_day: Option<String>,
    pub peak_day_bytes: u64,
    pub average_per_day: u64,
    pub keep_days: u32,
    pub disk: u64,
    /// Bytes `keep_days` need.
    pub needed: u64,
    pub fits: bool,
    /// Days the disk holds at this volume.
    pub days_that_fit: f64,
    pub max_size_mib: u64,
    pub max_backup: u64,
    pub max_age_days: u32,
    /// The disk the settings may take at most.
    pub disk_used_at_most: u64,
}

/// The rotation settings that keep `keep_days` of the volume `simulation` reports (simulated
/// when `simulated`, else observed) within `disk` bytes.
pub fn plan(simulation: &Simulation, simulated: bool, keep_days: u32, disk: u64) -> Retention {
    let pick = |row: &super::volume::DayRow| {
        if simulated {
            row.simulated.bytes
        } else {
            row.observed.bytes
        }
    };
    let average = if simulated {
        simulation.simulated_per_day.bytes
    } else {
        simulation.observed_per_day.bytes
    };
    let peak = simulation
        .by_day
        .iter()
        .filter(|d| d.hours >= 23.5)
        .max_by(|a, b| pick(a).cmp(&pick(b)).then_with(|| b.day.cmp(&a.day)));
    let base = peak.map_or(average, pick);
    let bytes_per_day = (base as f64 * (1.0 + MARGIN)).ceil() as u64;
    let needed = bytes_per_day.saturating_mul(u64::from(keep_days));
    let disk_mib = disk / MIB;
    let max_size_mib = (disk_mib / 10).clamp(1, MAX_FILE_MIB);
    let file = max_size_mib * MIB;
    // Files the disk holds besides the one being written.
    let room = (disk / file).saturating_sub(1);
    let wanted = needed.div_ceil(file);
    let max_backup = wanted.min(room).max(u64::from(room > 0));
    let fits = needed <= room * file;
    Retention {
        bytes_per_day,
        peak_day: peak.map(|d| d.day.clone()),
        peak_day_bytes: peak.map_or(0, pick),
        average_per_day: average,
        keep_days,
        disk,
        needed,
        fits,
        days_that_fit: if bytes_per_day == 0 {
            f64::INFINITY
        } else {
            (room * file) as f64 / bytes_per_day as f64
        },
        max_size_mib,
        max_backup,
        max_age_days: keep_days,
        disk_used_at_most: (max_backup + 1) * file,
    }
}

impl Retention {
    /// The kube-apiserver flags, one per line.
    pub fn flags(&self, log_path: &str, policy_file: Option<&str>) -> Vec<String> {
        let mut flags = vec![format!("--audit-log-path={log_path}")];
        if let Some(policy) = policy_file {
            flags.push(format!("--audit-policy-file={policy}"));
        }
        flags.push(format!("--audit-log-maxsize={}", self.max_size_mib));
        flags.push(format!("--audit-log-maxbackup={}", self.max_backup));
        flags.push(format!("--audit-log-maxage={}", self.max_age_days));
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::super::volume::{DayRow, Volume};
    use super::*;

    fn simulation(days: &[(f64, u64)]) -> Simulation {
        let by_day: Vec<DayRow> = days
            .iter()
            .enumerate()
            .map(|(i, &(hours, bytes))| DayRow {
                day: format!("2024-05-{:02}", i + 6),
                hours,
                observed: Volume { events: 1, bytes },
                simulated: Volume {
                    events: 1,
                    bytes: bytes / 4,
                },
            })
            .collect();
        let total: u64 = days.iter().map(|d| d.1).sum();
        let span: f64 = days.iter().map(|d| d.0).sum::<f64>() / 24.0;
        Simulation {
            observed_per_day: Volume {
                events: 0,
                bytes: (total as f64 / span) as u64,
            },
            simulated_per_day: Volume {
                events: 0,
                bytes: (total as f64 / span / 4.0) as u64,
            },
            by_day,
            ..Simulation::default()
        }
    }

    #[test]
    fn the_busiest_whole_day_sets_the_rate() {
        // 2 GB on a whole day, 9 GB on a part day (not whole: not the peak).
        let sim = simulation(&[
            (12.0, 1_000_000_000),
            (24.0, 2_000_000_000),
            (3.0, 900_000_000),
        ]);
        let plan = plan(&sim, false, 7, 100 * 1_000_000_000);
        assert_eq!(plan.peak_day.as_deref(), Some("2024-05-07"));
        assert_eq!(plan.bytes_per_day, 2_200_000_000);
        assert_eq!(plan.needed, 15_400_000_000);
        assert!(plan.fits);
        assert_eq!(plan.max_size_mib, 100);
        // 15.4 GB in 100 MiB files: 147 rotated files.
        assert_eq!(plan.max_backup, 147);
        assert_eq!(plan.max_age_days, 7);
        assert!(plan.disk_used_at_most <= plan.disk);
        assert!(plan.max_backup * 100 * MIB >= plan.needed);
        // The simulated volume is a quarter.
        assert_eq!(plan_simulated(&sim).bytes_per_day, 550_000_000);
    }

    fn plan_simulated(sim: &Simulation) -> Retention {
        plan(sim, true, 7, 100 * 1_000_000_000)
    }

    #[test]
    fn a_disk_too_small_keeps_what_fits() {
        let sim = simulation(&[(24.0, 1_000_000_000), (24.0, 1_000_000_000)]);
        let plan = plan(&sim, false, 30, 10 * 1_000_000_000);
        assert!(!plan.fits);
        // 10 GB: 95 files of 100 MiB, one being written.
        assert_eq!((plan.max_size_mib, plan.max_backup), (100, 94));
        assert!(plan.disk_used_at_most <= plan.disk);
        assert!(
            (plan.days_that_fit - 8.96).abs() < 0.01,
            "{}",
            plan.days_that_fit
        );
        // A tiny disk: small files.
        let tiny = super::plan(&sim, false, 1, 50 * MIB);
        assert_eq!((tiny.max_size_mib, tiny.max_backup), (5, 9));
        let flags = tiny.flags("/var/log/audit.log", Some("/etc/kubernetes/audit.yaml"));
        assert_eq!(
            flags,
            [
                "--audit-log-path=/var/log/audit.log",
                "--audit-policy-file=/etc/kubernetes/audit.yaml",
                "--audit-log-maxsize=5",
                "--audit-log-maxbackup=9",
                "--audit-log-maxage=1"
            ]
        );
    }
}
