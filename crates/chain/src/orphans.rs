//! Blocks whose parent is unknown, kept until the parent arrives. Bounded in count and bytes:
//! past either bound the oldest orphan goes, so a peer cannot fill memory with them.

use std::collections::{HashMap, VecDeque};

use coinrs_core::BlockHash;

/// Default bounds.
pub const DEFAULT_MAX_ORPHANS: usize = 256;
/// See [`DEFAULT_MAX_ORPHANS`].
pub const DEFAULT_MAX_ORPHAN_BYTES: usize = 32 * 1024 * 1024;

/// The pool.
#[derive(Debug)]
pub struct OrphanPool {
    blocks: HashMap<BlockHash, (BlockHash, Vec<u8>)>,
    by_parent: HashMap<BlockHash, Vec<BlockHash>>,
    order: VecDeque<BlockHash>,
    bytes: usize,
    max_count: usize,
    max_bytes: usize,
}

impl OrphanPool {
    /// An empty pool with these bounds.
    pub fn new(max_count: usize, max_bytes: usize) -> Self {
        OrphanPool {
            blocks: HashMap::new(),
            by_parent: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            max_count,
            max_bytes,
        }
    }

    /// Number of orphans held.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// True when `hash` is held.
    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.blocks.contains_key(hash)
    }

    /// Adds an orphan (ignored when already held or larger than the byte bound), evicting the
    /// oldest while a bound is exceeded.
    pub fn insert(&mut self, hash: BlockHash, parent: BlockHash, bytes: Vec<u8>) {
        if self.blocks.contains_key(&hash) || bytes.len() > self.max_bytes {
            return;
        }
        self.bytes += bytes.len();
        self.blocks.insert(hash, (parent, bytes));
        self.by_parent.entry(parent).or_default().push(hash);
        self.order.push_back(hash);
        while self.blocks.len() > self.max_count || self.bytes > self.max_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.remove(&oldest);
        }
    }

    fn remove(&mut self, hash: &BlockHash) -> Option<Vec<u8>> {
        let (parent, bytes) = self.blocks.remove(hash)?;
        self.bytes -= bytes.len();
        if let Some(siblings) = self.by_parent.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.by_parent.remove(&parent);
            }
        }
        self.order.retain(|h| h != hash);
        Some(bytes)
    }

    /// Takes the orphans whose parent is `parent`.
    pub fn take_children(&mut self, parent: &BlockHash) -> Vec<Vec<u8>> {
        let hashes = self.by_parent.get(parent).cloned().unwrap_or_default();
        hashes.iter().filter_map(|h| self.remove(h)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> BlockHash {
        BlockHash([n; 32])
    }

    #[test]
    fn evicts_oldest_past_count_and_bytes() {
        let mut pool = OrphanPool::new(2, 100);
        pool.insert(h(1), h(0), vec![0; 10]);
        pool.insert(h(2), h(0), vec![0; 10]);
        pool.insert(h(3), h(0), vec![0; 10]);
        assert_eq!(pool.len(), 2);
        assert!(!pool.contains(&h(1)));
        pool.insert(h(4), h(9), vec![0; 95]);
        assert!(pool.bytes() <= 100);
        assert_eq!(pool.len(), 1);
        assert!(pool.contains(&h(4)));
        pool.insert(h(5), h(9), vec![0; 101]);
        assert!(!pool.contains(&h(5)));
    }

    #[test]
    fn children_are_taken_once() {
        let mut pool = OrphanPool::new(10, 1000);
        pool.insert(h(1), h(0), vec![1]);
        pool.insert(h(2), h(0), vec![2]);
        pool.insert(h(3), h(1), vec![3]);
        let mut kids = pool.take_children(&h(0));
        kids.sort();
        assert_eq!(kids, vec![vec![1], vec![2]]);
        assert!(pool.take_children(&h(0)).is_empty());
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.bytes(), 1);
    }
}
