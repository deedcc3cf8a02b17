//! The repository is complete on its own: no tracked file (test, script, build file or document)
//! refers to a path outside it. A clone has no sibling folders, so a test that reads
//! `../something` beside the repository passes on one machine and fails on every other.
//!
//! Every relative path in the text of every file that git tracks (or would track) is resolved
//! from the three places such a path is usually taken from: the file's own folder, its package
//! (the nearest folder with a `Cargo.toml` or `package.json`) and the repository root. A path that
//! climbs out of the repository from one of them, and names nothing inside the repository from
//! any of them (a file, or a place the build writes such as `web/pkg/`), is reported with its file
//! and line. So is an absolute path into the folder that holds the repository on this machine.

#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Folders that hold build output or installed packages, never sources.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    "target",
    "node_modules",
    "dist",
    "pkg",
    "bench-data",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The files git tracks or would track (not ignored), relative to the root; without git (a
/// source archive), every file outside the skipped folders.
fn repository_files(root: &Path) -> Vec<PathBuf> {
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(root)
        .output();
    if let Ok(output) = listed {
        if output.status.success() {
            let mut files: Vec<PathBuf> = output
                .stdout
                .split(|&b| b == 0)
                .filter(|name| !name.is_empty())
                .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
                .filter(|name| root.join(name).is_file())
                .collect();
            files.sort();
            files.dedup();
            return files;
        }
    }
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(root.join(&dir)).unwrap() {
            let entry = entry.unwrap();
            let name = dir.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                if !SKIPPED_DIRS.contains(&entry.file_name().to_str().unwrap_or("")) {
                    stack.push(name);
                }
            } else {
                files.push(name);
            }
        }
    }
    files.sort();
    files
}

/// Path-like tokens of a line: maximal runs of the characters paths are written with.
fn tokens(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || "_.-/".contains(c)))
        .filter(|t| !t.is_empty())
}

/// Where `relative` leads from `base` (both inside `root`): `None` when it climbs above the
/// root, else the lexically normalized path.
fn resolve(root: &Path, base: &Path, relative: &str) -> Option<PathBuf> {
    let mut depth = base.strip_prefix(root).unwrap().components().count();
    let mut out = base.to_path_buf();
    for component in Path::new(relative.trim_start_matches('/')).components() {
        match component {
            Component::ParentDir => {
                depth = depth.checked_sub(1)?;
                out.pop();
            }
            Component::Normal(part) => {
                depth += 1;
                out.push(part);
            }
            _ => {}
        }
    }
    Some(out)
}

/// The package folder of `file`: its nearest ancestor with a Cargo.toml or package.json.
fn package_dir(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent().unwrap().to_path_buf();
    while dir != root {
        if dir.join("Cargo.toml").is_file() || dir.join("package.json").is_file() {
            return dir;
        }
        dir.pop();
    }
    dir
}

/// Whether `path` lies in a folder the build writes (`web/pkg/`, `target/`): it may not exist yet.
fn is_build_output(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|inside| {
        inside
            .components()
            .any(|c| SKIPPED_DIRS.contains(&c.as_os_str().to_str().unwrap_or("")))
    })
}

/// Why `token`, written in `file`, leaves the repository, or `None` when it does not.
fn leaves_repository(root: &Path, file: &Path, token: &str) -> Option<String> {
    let beside = format!("{}/", root.parent().unwrap().display());
    if beside != "/" && token.starts_with(&beside) {
        return Some(format!(
            "an absolute path into {beside}, the folder that holds the repository"
        ));
    }
    if !token.split('/').any(|segment| segment == "..") {
        return None;
    }
    let bases = [
        file.parent().unwrap().to_path_buf(),
        package_dir(root, file),
        root.to_path_buf(),
    ];
    let resolved: Vec<Option<PathBuf>> = bases
        .iter()
        .map(|base| resolve(root, base, token))
        .collect();
    let climbs_out = resolved.iter().any(Option::is_none);
    let names_something_inside = resolved
        .iter()
        .flatten()
        .any(|path| path.exists() || is_build_output(root, path));
    (climbs_out && !names_something_inside)
        .then(|| "a relative path that climbs out of the repository".to_owned())
}

#[test]
fn no_tracked_file_refers_to_a_path_outside_the_repository() {
    let root = repo_root();
    let this_file = Path::new(file!());
    let files = repository_files(&root);
    assert!(
        files.iter().any(|f| f.ends_with("Cargo.toml")),
        "no files found under {}",
        root.display()
    );
    let mut problems = Vec::new();
    for relative in &files {
        // This file names the kinds of path it looks for.
        if this_file.ends_with(relative) {
            continue;
        }
        let path = root.join(relative);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not text: gzip fixtures, images
        };
        for (number, line) in text.lines().enumerate() {
            for token in tokens(line) {
                if let Some(why) = leaves_repository(&root, &path, token) {
                    problems.push(format!(
                        "{}:{}: {token}: {why}",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "files refer to paths outside the repository (a clone does not have them):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_tells_a_sibling_folder_from_a_folder_of_the_repository() {
    let root = repo_root();
    let wasm_test = root.join("crates/auditlens-wasm/tests/common/mod.rs");
    let core_test = root.join("crates/auditlens-core/tests/ingest.rs");
    let sibling = format!("..{}", "/shared/corpus/falco/events.ndjson");
    // From the repository root, a sibling folder: reported.
    assert!(leaves_repository(&root, &core_test, &sibling).is_some());
    // Three levels up from a crate, as `concat!(env!("CARGO_MANIFEST_DIR"), "/../../../x")` does.
    let three_up = format!("/../../..{}", "/shared/corpus/falco/events.ndjson");
    assert!(leaves_repository(&root, &wasm_test, &three_up).is_some());
    // Inside the repository, from the crate and from the file: not reported.
    let inside = "/../../tests/fixtures/third-party/falco/events.ndjson";
    assert_eq!(leaves_repository(&root, &wasm_test, inside), None);
    assert_eq!(
        leaves_repository(&root, &root.join("web/build.mjs"), "../tests/fixtures/demo"),
        None
    );
    // A bare `..` (a parent folder, a Rust range) names a folder of the repository.
    assert_eq!(leaves_repository(&root, &core_test, ".."), None);
    // A folder the build writes, before the build: not reported.
    assert_eq!(
        leaves_repository(
            &root,
            &root.join("web/src/worker.js"),
            "../pkg/auditlens_wasm.js"
        ),
        None
    );
    // An absolute path beside the repository on this machine: reported.
    let absolute = format!("{}/shared/corpus", root.parent().unwrap().display());
    assert!(leaves_repository(&root, &core_test, &absolute).is_some());
    // Absolute paths that rules look for in pod specs: not reported.
    assert_eq!(leaves_repository(&root, &core_test, "/root/.ssh"), None);
}
