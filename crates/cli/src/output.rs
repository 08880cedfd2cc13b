//! Writing results: files atomically, standard output with a closed pipe treated as the end.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// The directory a file named `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Checks, before any work, that `path` can be created: its directory exists. `flag` names the
/// option in the message (`--output`).
pub fn check_writable(path: &Path, flag: &str) -> Result<(), CliError> {
    let dir = parent_dir(path);
    if !dir.is_dir() {
        return Err(CliError::bad_input(format!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(CliError::bad_input(format!(
            "{flag} {}: is a directory",
            path.display()
        )));
    }
    Ok(())
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path`. Readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), CliError> {
    let fail =
        |e: std::io::Error| CliError::failed(format!("cannot write {}: {e}", path.display()));
    let dir = parent_dir(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".em-").suffix(".tmp");
    // A temporary file is private (0600); the result should get the usual mode of a new file
    // (0666 less the umask), as `File::create` would give it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(fail)?;
    tmp.write_all(contents).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    // Make the rename itself durable where the platform allows opening a directory.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `text` to standard output; a reader that went away ends the command quietly.
pub fn print(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CliError::from_write(e, "standard output"))
}

/// A note on standard error (written unless `--quiet`).
pub fn note(quiet: bool, text: &str) {
    if !quiet {
        // Standard error going away is not worth failing over.
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        std::fs::write(&path, "old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_ne!(
                mode & 0o044,
                0,
                "the file should be readable by others: {mode:o}"
            );
        }
    }

    #[test]
    fn missing_directory_is_bad_input() {
        let e = check_writable(Path::new("/no/such/dir/m.json"), "--output").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("does not exist"));
        assert!(check_writable(Path::new("m.json"), "--output").is_ok());
    }
}
