//! CARv1 files of the chain (docs/ipfs.md, ADR 0007): a DAG-CBOR header `{roots: [CID],
//! version: 1}` with one raw sha2-256 root, then sections `varint(len) || CID || data`, blocks
//! in height order, each header followed by its transactions and its inner merkle nodes
//! (level by level from the leaves up, left to right).
//!
//! The header is fixed for this chain (one root, our one CID form), so it is written and read
//! by hand; the reader is strict (anything but that exact header is refused), checks every
//! section's bytes against its CID and bounds every length, so a hostile file gives an error,
//! never a panic or an unbounded allocation.

use std::io::{Read, Write};

use thiserror::Error;

use crate::block::{Block, BlockHeader};
use crate::cid::to_cid_bytes;
use crate::encode::decode;
use crate::hash::{Hash, sha256};
use crate::merkle::{inner_nodes, merkle_root};
use crate::transaction::Transaction;

/// Largest section accepted (CID + data): a transaction cannot be larger than a block.
pub const MAX_SECTION: u64 = 4 * 1024 * 1024;

/// What is wrong with a CAR file.
#[derive(Debug, Error)]
pub enum CarError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file ends inside a header or a section.
    #[error("the file is truncated (inside {0})")]
    Truncated(&'static str),
    /// The header is not the CARv1 header of a coinrs chain.
    #[error("not a coinrs CARv1 file: {0}")]
    Header(String),
    /// A malformed or oversized section.
    #[error("section {index}: {detail}")]
    Section {
        /// Zero-based index of the section.
        index: u64,
        /// What is wrong.
        detail: String,
    },
}

const ROOTS_PREFIX: [u8; 13] = [
    0xa2, 0x65, b'r', b'o', b'o', b't', b's', 0x81, 0xd8, 0x2a, 0x58, 0x25, 0x00,
];
const VERSION_SUFFIX: [u8; 9] = [0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x01];
const HEADER_LEN: usize = ROOTS_PREFIX.len() + 36 + VERSION_SUFFIX.len();

/// The DAG-CBOR header `{roots: [root], version: 1}` (keys in DAG-CBOR's canonical order).
pub fn header_bytes(root: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&ROOTS_PREFIX);
    out.extend_from_slice(&to_cid_bytes(root));
    out.extend_from_slice(&VERSION_SUFFIX);
    out
}

fn write_varint(w: &mut impl Write, mut v: u64) -> std::io::Result<usize> {
    let mut buf = [0u8; 10];
    let mut n = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            buf[n] = byte;
            n += 1;
            break;
        }
        buf[n] = byte | 0x80;
        n += 1;
    }
    w.write_all(&buf[..n])?;
    Ok(n)
}

/// Reads an unsigned LEB128 varint; `Ok(None)` at a clean end of the file.
fn read_varint(r: &mut impl Read, what: &'static str) -> Result<Option<u64>, CarError> {
    let mut v = 0u64;
    for i in 0..9 {
        let mut b = [0u8; 1];
        let got = r.read(&mut b)?;
        if got == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(CarError::Truncated(what))
            };
        }
        v |= u64::from(b[0] & 0x7f) << (7 * i);
        if b[0] & 0x80 == 0 {
            if i > 0 && b[0] == 0 {
                return Err(CarError::Header(format!("non-minimal varint in {what}")));
            }
            return Ok(Some(v));
        }
    }
    Err(CarError::Header(format!("varint too long in {what}")))
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &'static str) -> Result<(), CarError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => CarError::Truncated(what),
        _ => CarError::Io(e),
    })
}

/// Writes a CARv1 file section by section; counts the bytes written.
#[derive(Debug)]
pub struct CarWriter<W: Write> {
    w: W,
    /// Bytes written so far.
    pub bytes: u64,
}

impl<W: Write> CarWriter<W> {
    /// Writes the header with `root`.
    pub fn new(mut w: W, root: &Hash) -> std::io::Result<Self> {
        let header = header_bytes(root);
        let n = write_varint(&mut w, header.len() as u64)?;
        w.write_all(&header)?;
        Ok(CarWriter {
            w,
            bytes: (n + header.len()) as u64,
        })
    }

    /// Writes one section: the content `data`, whose CID is that of `sha256(data)`.
    pub fn section(&mut self, data: &[u8]) -> std::io::Result<()> {
        let cid = to_cid_bytes(&sha256(data));
        let n = write_varint(&mut self.w, (cid.len() + data.len()) as u64)?;
        self.w.write_all(&cid)?;
        self.w.write_all(data)?;
        self.bytes += (n + cid.len() + data.len()) as u64;
        Ok(())
    }

    /// Writes a block: its header, its transactions, its inner merkle nodes.
    pub fn block(&mut self, block: &Block) -> std::io::Result<()> {
        self.section(&block.header.to_bytes())?;
        let mut txids = Vec::with_capacity(block.transactions.len());
        for tx in &block.transactions {
            let bytes = tx.encode();
            txids.push(sha256(&bytes));
            self.section(&bytes)?;
        }
        for node in inner_nodes(&txids) {
            self.section(&node.content())?;
        }
        Ok(())
    }

    /// The inner writer (to flush and sync it).
    pub fn into_inner(self) -> W {
        self.w
    }
}

/// Reads a CARv1 file of the chain block by block, checking each section against its CID.
#[derive(Debug)]
pub struct CarReader<R: Read> {
    r: R,
    /// The root of the header.
    pub root: Hash,
    sections: u64,
    pending: Option<Vec<u8>>,
    max_block_bytes: u64,
    last: Option<Hash>,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header. Blocks are refused when their transactions exceed
    /// `max_block_bytes`.
    pub fn new(mut r: R, max_block_bytes: u64) -> Result<Self, CarError> {
        let len = read_varint(&mut r, "the header")?.ok_or(CarError::Truncated("the header"))?;
        if len != HEADER_LEN as u64 {
            return Err(CarError::Header(format!(
                "header of {len} bytes, expected the {HEADER_LEN}-byte header {{roots: [one raw sha2-256 CID], version: 1}}"
            )));
        }
        let mut header = [0u8; HEADER_LEN];
        read_exact(&mut r, &mut header, "the header")?;
        let cid = &header[ROOTS_PREFIX.len()..ROOTS_PREFIX.len() + 36];
        if header[..ROOTS_PREFIX.len()] != ROOTS_PREFIX
            || header[ROOTS_PREFIX.len() + 36..] != VERSION_SUFFIX
            || cid[..4] != [0x01, 0x55, 0x12, 0x20]
        {
            return Err(CarError::Header(
                "the header is not {roots: [one raw sha2-256 CIDv1], version: 1}".into(),
            ));
        }
        let mut root = [0u8; 32];
        root.copy_from_slice(&cid[4..]);
        Ok(CarReader {
            r,
            root,
            sections: 0,
            pending: None,
            max_block_bytes,
            last: None,
        })
    }

    fn section_error(&self, detail: impl Into<String>) -> CarError {
        CarError::Section {
            index: self.sections.saturating_sub(1),
            detail: detail.into(),
        }
    }

    /// The next section's data, checked against its CID; `None` at the end of the file.
    fn next_section(&mut self) -> Result<Option<Vec<u8>>, CarError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        let Some(len) = read_varint(&mut self.r, "a section length")? else {
            return Ok(None);
        };
        self.sections += 1;
        if !(36..=MAX_SECTION).contains(&len) {
            return Err(
                self.section_error(format!("length {len} out of range (36..={MAX_SECTION})"))
            );
        }
        let mut cid = [0u8; 36];
        read_exact(&mut self.r, &mut cid, "a section")?;
        if cid[..4] != [0x01, 0x55, 0x12, 0x20] {
            return Err(self.section_error(
                "its CID is not a CIDv1 of codec raw and sha2-256 (not content of this chain)",
            ));
        }
        let mut data = vec![0u8; len as usize - 36];
        read_exact(&mut self.r, &mut data, "a section")?;
        if sha256(&data)[..] != cid[4..] {
            return Err(self.section_error("its bytes do not match its CID"));
        }
        Ok(Some(data))
    }

    /// The next block of the file; `None` at the end, which must come right after the root
    /// block (the last block of the file is its root: a file cut between blocks is refused).
    pub fn next_block(&mut self) -> Result<Option<Block>, CarError> {
        let Some(first) = self.next_section()? else {
            if self.last != Some(self.root) {
                return Err(CarError::Truncated(
                    "the file: it ends before its root block",
                ));
            }
            return Ok(None);
        };
        let header: BlockHeader = match first.len() {
            BlockHeader::SIZE => decode(&first)
                .map_err(|e| self.section_error(format!("expected a block header: {e}")))?,
            n => {
                return Err(self.section_error(format!(
                    "expected a block header (96 bytes), found {n} bytes"
                )));
            }
        };
        let hash = sha256(&first);
        let mut transactions: Vec<Transaction> = Vec::new();
        let mut txids: Vec<Hash> = Vec::new();
        let mut bytes = 0u64;
        while let Some(data) = self.next_section()? {
            if data.len() == 64 {
                self.pending = Some(data);
                break;
            }
            if data.len() == BlockHeader::SIZE
                && let Ok(next) = decode::<BlockHeader>(&data)
                && next.prev_hash.0 == hash
                && merkle_root(&txids) == header.merkle_root
            {
                self.pending = Some(data);
                break;
            }
            bytes += data.len() as u64;
            if bytes > self.max_block_bytes {
                return Err(self.section_error(format!(
                    "the transactions of block {} exceed {} bytes",
                    hex::encode(hash),
                    self.max_block_bytes
                )));
            }
            let tx: Transaction = decode(&data)
                .map_err(|e| self.section_error(format!("expected a transaction: {e}")))?;
            txids.push(sha256(&data));
            transactions.push(tx);
        }
        for node in inner_nodes(&txids) {
            match self.next_section()? {
                Some(data) if data[..] == node.content()[..] => {}
                Some(_) => {
                    return Err(self.section_error(format!(
                        "expected inner merkle node {} of block {} (level {}, position {})",
                        hex::encode(node.hash),
                        hex::encode(hash),
                        node.level,
                        node.position
                    )));
                }
                None => return Err(CarError::Truncated("the merkle nodes of a block")),
            }
        }
        if merkle_root(&txids) != header.merkle_root {
            return Err(self.section_error(format!(
                "the transactions after header {} do not make its merkle root",
                hex::encode(hash)
            )));
        }
        self.last = Some(hash);
        Ok(Some(Block {
            header,
            transactions,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_overlong() {
        for v in [0u64, 1, 127, 128, 300, 1 << 40] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v).unwrap();
            assert_eq!(read_varint(&mut buf.as_slice(), "x").unwrap(), Some(v));
        }
        assert!(read_varint(&mut [0x80u8, 0x00].as_slice(), "x").is_err());
        assert!(read_varint(&mut [0xffu8; 12].as_slice(), "x").is_err());
        assert!(matches!(
            read_varint(&mut [0x80u8].as_slice(), "x"),
            Err(CarError::Truncated(_))
        ));
    }

    fn sample_file() -> (Vec<u8>, Block) {
        let genesis = crate::params::ChainParams::regtest().genesis();
        let mut file = Vec::new();
        let mut w = CarWriter::new(&mut file, &genesis.hash().0).unwrap();
        w.block(&genesis).unwrap();
        let bytes = w.bytes;
        assert_eq!(bytes, file.len() as u64);
        (file, genesis)
    }

    fn read_all(file: &[u8]) -> Result<Vec<Block>, CarError> {
        let mut r = CarReader::new(file, 1_000_000)?;
        let mut out = Vec::new();
        while let Some(b) = r.next_block()? {
            out.push(b);
        }
        Ok(out)
    }

    #[test]
    fn a_written_file_reads_back() {
        let (file, genesis) = sample_file();
        assert_eq!(read_all(&file).unwrap(), vec![genesis]);
        // Every strict prefix is refused (the header and the transaction cut, or the block
        // incomplete), never a panic.
        for cut in 0..file.len() {
            assert!(
                read_all(&file[..cut]).is_err(),
                "prefix of {cut} bytes accepted"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn damaged_files_never_panic(flips in proptest::collection::vec((0usize..10_000, 0u8..=255), 1..8)) {
            let (mut file, _) = sample_file();
            let n = file.len();
            for (at, x) in flips {
                file[at % n] ^= x;
            }
            let _ = read_all(&file);
        }
    }

    #[test]
    fn header_is_canonical_dag_cbor() {
        let h = header_bytes(&[7; 32]);
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(HEADER_LEN, 58);
        let mut file = Vec::new();
        CarWriter::new(&mut file, &[7; 32]).unwrap();
        let reader = CarReader::new(file.as_slice(), 1_000_000).unwrap();
        assert_eq!(reader.root, [7; 32]);
        let mut bad = file.clone();
        bad[2] ^= 1;
        assert!(CarReader::new(bad.as_slice(), 1_000_000).is_err());
        assert!(CarReader::new(&file[..20], 1_000_000).is_err());
    }
}
