//! The `auditlens` command. Definitions are in `args`, each subcommand in its own module;
//! all analysis happens in `auditlens-core`.

mod analyze;
mod args;
mod baseline;
mod follow;
mod input;
mod parallel;
mod policy;
mod policy_table;
mod quality;
mod rbac;
mod rules;
mod simulate;
mod sink;
mod spool;
mod stats;
mod table;
mod watch;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match &cli.command {
        Command::Analyze(args) => analyze::run(args, &mut out),
        Command::Watch(args) => watch::run(args, &mut out),
        Command::Rules(args) => rules::run(args, &mut out),
        Command::Stats(args) => stats::run(args, &mut out),
        Command::Simulate(args) => simulate::run(args, &mut out),
        Command::Quality(args) => quality::run(args, &mut out),
        Command::Baseline(args) => baseline::run(args, &mut out),
        Command::Policy(args) => policy::run(args, &mut out),
        Command::Rbac(args) => rbac::run(args, &mut out),
    };
    let _ = out.flush();
    match result {
        Ok(code) => ExitCode::from(code),
        // `auditlens analyze big.log | head` is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auditlens: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().map(|e| e.kind()) == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
    })
}
