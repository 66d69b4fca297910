//! The chain folder: its lock, the RPC cookie and the mining key.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Holds the chain folder's lock for as long as it lives: two nodes never share a folder.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Creates the folder if needed and takes its `.lock`; a clear error if another process
    /// holds it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file, path }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "cannot obtain a lock on the data folder {}: another coinrsd is probably already using it",
                dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// 32 random bytes as hex.
fn random_hex() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Writes `contents` to `path` with mode 0600, through a temporary file and a rename, so a
/// reader never sees half a file.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(contents.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

/// The RPC cookie `__cookie__:<64 hex>` in the chain folder; removed when dropped.
#[derive(Debug)]
pub struct Cookie {
    path: PathBuf,
    /// `user:password` for basic auth.
    pub credentials: String,
}

impl Cookie {
    /// Writes a fresh cookie (mode 0600).
    pub fn create(dir: &Path) -> Result<Self> {
        let credentials = format!("__cookie__:{}", random_hex()?);
        let path = dir.join(".cookie");
        write_private(&path, &credentials)?;
        Ok(Cookie { path, credentials })
    }
}

impl Drop for Cookie {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The secret key mined coins go to when no `--mine-address` is given (before wallets
/// exist): `mining.key` in the chain folder, 64 hex digits, created on first use.
pub fn mining_key(dir: &Path) -> Result<coinrs_core::sig::SigningKey> {
    let path = dir.join("mining.key");
    if !path.exists() {
        loop {
            let hex = random_hex()?;
            let mut secret = [0u8; 32];
            hex::decode_to_slice(&hex, &mut secret)?;
            if coinrs_core::sig::SigningKey::from_secret_bytes(secret).is_ok() {
                write_private(&path, &hex)?;
                break;
            }
        }
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut secret)
        .with_context(|| format!("{} is not 64 hex digits", path.display()))?;
    coinrs_core::sig::SigningKey::from_secret_bytes(secret)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_second_lock_on_the_same_folder_fails() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(err.to_string().contains("another coinrsd"), "{err}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn cookie_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        {
            let c = Cookie::create(dir.path()).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text, c.credentials);
            assert!(text.starts_with("__cookie__:") && text.len() == 11 + 64);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert!(!path.exists());
    }

    #[test]
    fn mining_key_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = mining_key(dir.path()).unwrap();
        let b = mining_key(dir.path()).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }
}
