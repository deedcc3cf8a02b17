//! `auditlens rbac`: least-privilege RBAC from the logs, and (with `--granted`) what each
//! identity holds but never used. All of it is computed in `auditlens_core::rbac`; this module
//! reads the files and writes the result.

use std::io::Write;

use anyhow::{bail, Context, Result};
use auditlens_core::rbac::{least_privilege, GenerateOptions, Granted, LeastPrivilege, Selection};
use auditlens_core::Analysis;

use crate::args::{RbacArgs, RbacFormat};
use crate::input;

/// Runs the command; returns the process exit status.
pub fn run(args: &RbacArgs, out: &mut dyn Write) -> Result<u8> {
    // The granted RBAC is read first: a wrong file should not cost reading the logs.
    let granted = match &args.granted {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the granted RBAC {}", path.display()))?;
            Some(Granted::parse(&path.display().to_string(), &text)?)
        }
        None => None,
    };
    let loaded = input::load(&args.input, Analysis::new(args.input.limits()));
    let mut analysis = loaded.analysis;
    analysis.finish();
    let selection = Selection {
        identities: args.identity.clone(),
        class: args.class,
        namespace: args.namespace.clone(),
    };
    let options = GenerateOptions {
        max_names: args.max_names,
        ..GenerateOptions::default()
    };
    let result = least_privilege(&analysis, &selection, &options, granted.as_ref());
    for name in &result.unmatched {
        eprintln!(
            "auditlens: no request by {name} in these logs (identities are usernames such as \
             system:serviceaccount:ns1:sa1, canonical names such as serviceaccount:ns1/sa1, or ns1:sa1)"
        );
    }
    for error in &loaded.io_errors {
        eprintln!("auditlens: cannot read {error}");
    }
    let text = match args.format {
        RbacFormat::Yaml => result.to_yaml(),
        RbacFormat::Json => result.to_json() + "\n",
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            out.write_all(summary(&result, &path.display().to_string()).as_bytes())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    out.flush()?;
    if !loaded.io_errors.is_empty() {
        return Ok(2);
    }
    if !args.identity.is_empty() && result.unmatched.len() == args.identity.len() {
        bail!("none of the identities asked for made a request in these logs");
    }
    Ok(0)
}

/// A few lines per identity, for the terminal when the result went to a file.
fn summary(result: &LeastPrivilege, path: &str) -> String {
    let objects = result.objects().len();
    let mut text = format!(
        "{} for {} written to {path}\n",
        plural(objects as u64, "object"),
        counted(result.identities.len() as u64, "identity", "identities")
    );
    for identity in &result.identities {
        let rules: usize = identity.roles.iter().map(|r| r.rules.len()).sum();
        let mut line = format!(
            "{}: {} in {} from {}; {} refused",
            printable(&identity.identity),
            plural(rules as u64, "rule"),
            plural(identity.roles.len() as u64, "role"),
            plural(identity.requests.allowed, "allowed request"),
            identity.requests.denied
        );
        if let Some(granted) = &identity.granted {
            let p = &granted.permissions;
            if p.granted > 0 {
                line.push_str(&format!(
                    "; uses {} of {} granted permissions ({:.1} %)",
                    p.used,
                    p.granted,
                    100.0 * p.used_share
                ));
            }
            line.push_str(&format!(
                "; {} flags; {} requests allowed that the granted RBAC refuses",
                granted.flags.len(),
                granted.not_granted.iter().map(|g| g.requests).sum::<u64>()
            ));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// `1 rule`, `3 rules`.
fn plural(n: u64, one: &str) -> String {
    counted(n, one, &format!("{one}s"))
}

fn counted(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A name from a log, safe to print on a terminal: control characters and line separators are
/// shown escaped.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_logs_print_on_one_line() {
        assert_eq!(printable("alice"), "alice");
        assert_eq!(
            printable("a\nb\u{2028}c\u{1b}"),
            "a\\u{a}b\\u{2028}c\\u{1b}"
        );
    }
}
