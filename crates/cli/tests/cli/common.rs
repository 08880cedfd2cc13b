//! Running the binary and checking what every invocation must satisfy.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::cargo::cargo_bin_cmd;

/// Rows 0..n of a 2-D data set with two well-separated groups, as CSV lines.
pub fn two_groups(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let g = if i % 2 == 0 { 0.0 } else { 8.0 };
            let a = ((i * 37) % 17) as f64 / 17.0;
            let b = ((i * 11) % 13) as f64 / 13.0;
            format!("{},{}", g + a, g - 1.0 + b + 0.3 * a)
        })
        .collect()
}

/// A temporary directory holding files for one test.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write test file");
        p
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Runs `em` with `args` (and `stdin`, if any) in `dir`, checking that it never panics.
pub fn em_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = cargo_bin_cmd!("em");
    cmd.current_dir(dir).args(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s.to_string());
    }
    let out = cmd.output().expect("run em");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "em {args:?} panicked:\n{stderr}"
    );
    out
}

/// Runs `em` in the current directory.
pub fn em(args: &[&str]) -> Output {
    em_in(Path::new("."), args, None)
}

/// Runs `em` and asserts success, returning standard output.
pub fn ok(args: &[&str]) -> String {
    let out = em(args);
    assert!(
        out.status.success(),
        "em {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Asserts that `out` failed with `code` and one line `em: error: …` containing every needle.
pub fn fails_with(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr}");
    assert!(stderr.starts_with("em: error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in {stderr:?}");
    }
    assert!(out.stdout.is_empty() || code == 1, "no results on failure");
    stderr
}

/// Parses JSON output.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// Parses JSON output and removes the top-level `keys` (fields one way of fitting writes and
/// another cannot: a streamed fit keeps no rows to store their log-densities).
pub fn json_without(text: &str, keys: &[&str]) -> serde_json::Value {
    let mut v = json(text);
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// `path` as a &str.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
