//! Reading and writing whole files: text to typed values and back, describe output, and the
//! atomic replacement of domains.conf.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use crate::sconf::{Parser, Positions, Writer};
use crate::{ConfigErrors, Dynamic, Static, WriteError};

/// Reads the text of a mox.conf: its syntax, keys and value types, without the checks that
/// [`load`](crate::load) makes on top (valid names, files that exist, references between
/// keys). `file` names the file in errors.
///
/// ```
/// let text = "DataDir: data\nLogLevel: info\nHostname: mail.example.org\n\
///             Listeners:\n\tpublic:\n\t\tIPs:\n\t\t\t- 0.0.0.0\n\
///             Postmaster:\n\tAccount: admin\n\tMailbox: Postmaster\n";
/// let s = config::parse_static("mox.conf", text)?;
/// assert_eq!(s.listeners["public"].ips, ["0.0.0.0"]);
/// # Ok::<(), config::ConfigErrors>(())
/// ```
pub fn parse_static(file: &str, text: &str) -> Result<Static, ConfigErrors> {
    let (value, errors, _) = Parser::new(file, text).parse_file::<Static>();
    if errors.is_empty() { Ok(value) } else { Err(ConfigErrors(errors)) }
}

/// Reads the text of a domains.conf, as [`parse_static`] does for mox.conf.
pub fn parse_dynamic(file: &str, text: &str) -> Result<Dynamic, ConfigErrors> {
    let (value, errors, _) = Parser::new(file, text).parse_file::<Dynamic>();
    if errors.is_empty() { Ok(value) } else { Err(ConfigErrors(errors)) }
}

pub(crate) fn parse_static_positions(
    file: &str,
    text: &str,
) -> (Static, Vec<crate::ConfigError>, Positions) {
    Parser::new(file, text).parse_file::<Static>()
}

pub(crate) fn parse_dynamic_positions(
    file: &str,
    text: &str,
) -> (Dynamic, Vec<crate::ConfigError>, Positions) {
    Parser::new(file, text).parse_file::<Dynamic>()
}

/// Writes a mox.conf as mox writes it: keys in mox's order, optional keys with their zero
/// value left out, map keys sorted, no comments.
pub fn static_to_string(config: &Static) -> Result<String, WriteError> {
    Writer::new(false).write_file(config)
}

/// Writes a domains.conf as mox writes it (see [`static_to_string`]).
pub fn dynamic_to_string(config: &Dynamic) -> Result<String, WriteError> {
    Writer::new(false).write_file(config)
}

/// An annotated, empty mox.conf with every key and its documentation: what
/// `mox config describe-static` prints. Generated from the same field list the parser uses;
/// it needs values filled in (and unfinished list items completed) to become valid.
pub fn describe_static() -> String {
    // Writing default values cannot fail: describe mode writes an example for empty lists.
    Writer::new(true).write_file(&Static::default()).unwrap_or_default()
}

/// An annotated, empty domains.conf: what `mox config describe-domains` prints.
pub fn describe_domains() -> String {
    Writer::new(true).write_file(&Dynamic::default()).unwrap_or_default()
}

/// Writes `config` to the domains.conf at `path`, replacing it atomically: the new text goes to
/// a temporary file in the same directory, which is synced, renamed over `path`, after which
/// the directory is synced. A reader sees the old file or the new one, never a mix, and after
/// a crash one of the two is there.
///
/// The file keeps the permissions of the file it replaces (0660 for a new file, as mox).
/// This does not validate `config`; the edit functions ([`crate::edit`]) return validated
/// configurations.
pub fn write_dynamic(path: &Path, config: &Dynamic) -> Result<(), WriteError> {
    let text = dynamic_to_string(config)?;
    write_atomic(path, text.as_bytes())
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<(), WriteError> {
    let io = |e: std::io::Error| WriteError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
        source: Arc::new(e),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".domains.conf.")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(data).map_err(io)?;
    set_permissions_like(tmp.as_file(), path).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

#[cfg(unix)]
fn set_permissions_like(file: &File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(_) => 0o660,
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_permissions_like(_: &File, _: &Path) -> std::io::Result<()> {
    Ok(())
}
