//! The node's libp2p identity, kept in `p2p.key` in the chain folder (mode 0600) so that its
//! peer id survives restarts.

use std::path::Path;

use libp2p::identity::Keypair;

use crate::error::NetError;

/// Loads the node key from `dir/p2p.key`, creating it on first start.
pub fn load_or_create(dir: &Path) -> Result<Keypair, NetError> {
    let path = dir.join("p2p.key");
    let file_err = |reason: String| NetError::File {
        path: path.clone(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            file_err(format!(
                "not a valid node key ({e}); move it away to make a new identity"
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key
                .to_protobuf_encoding()
                .map_err(|e| file_err(e.to_string()))?;
            write_private(&path, &bytes).map_err(|e| file_err(e.to_string()))?;
            Ok(key)
        }
        Err(e) => Err(file_err(e.to_string())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.new");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let b = load_or_create(dir.path()).unwrap();
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
    }

    #[test]
    fn a_damaged_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p2p.key"), b"garbage").unwrap();
        let e = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("p2p.key"), "{e}");
    }
}
