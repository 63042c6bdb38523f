//! Output files, written whole or not at all.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// Writes `bytes` to a temporary file beside `path`, then renames it to `path`: an error never
/// leaves a half-written file.
///
/// # Errors
/// A directory that does not exist or cannot be written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{shown}: cannot create a file in {}", dir.display()))?;
    // A temporary file is private (0600); the output is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("{shown}: cannot write"))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .with_context(|| format!("{shown}: cannot write"))?;
    file.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("{shown}: cannot write"))?;
    Ok(())
}

/// Pretty JSON, one weight row or loss history a line: the model file's layout
/// ([`backprop_network::model::pretty_json`]), for every JSON file the command line writes.
///
/// # Errors
/// Values that do not serialize.
pub fn pretty_json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(backprop_network::model::pretty_json(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_json_keeps_number_rows_on_one_line_and_reads_back() -> Result<()> {
        let value = serde_json::json!({
            "a": [[0.1, 2.0], [1e-300, -3.5]], "b": {"c": null, "d": []}, "e": ["x,", "[y"]
        });
        let text = pretty_json(&value)?;
        assert!(text.contains("[0.1, 2.0]"), "{text}");
        assert!(text.contains("\"d\": []"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text)?;
        assert_eq!(back, value);
        Ok(())
    }

    #[test]
    fn writes_whole_files_and_fails_in_missing_directories() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("out.txt");
        write_atomic(&path, b"hello")?;
        assert_eq!(std::fs::read(&path)?, b"hello");
        let missing = dir.path().join("no/such/dir/out.txt");
        assert!(write_atomic(&missing, b"x").is_err());
        assert_eq!(
            std::fs::read_dir(dir.path())?.count(),
            1,
            "no temporary file left"
        );
        Ok(())
    }
}
