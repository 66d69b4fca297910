//! Merkle roots and inclusion proofs (PROTOCOL.md §2).
//!
//! Unlike Bitcoin, an unpaired last hash moves up a level unchanged instead of being paired
//! with itself, so the CVE-2012-2459 mutation (a duplicated last transaction giving the same
//! root) does not exist here. A transaction's encoding is never 64 bytes, so a transaction
//! can never pass for an inner node either.

use crate::hash::{Hash, sha256_pair};

/// The root over `leaves` (txids in block order). A single leaf is its own root. The empty
/// list has no root; it gives 32 zero bytes, which no block with a coinbase can match.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return [0u8; 32];
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

/// Every level of the tree over `leaves`, from the leaves (level 0) up to the root (the last
/// level, one hash). Empty for no leaves.
pub fn merkle_levels(leaves: &[Hash]) -> Vec<Vec<Hash>> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let mut levels = vec![leaves.to_vec()];
    while levels[levels.len() - 1].len() > 1 {
        let next = next_level(&levels[levels.len() - 1]);
        levels.push(next);
    }
    levels
}

/// One inner node of a merkle tree: `hash = SHA256(left || right)`, at `level` (1 = just
/// above the leaves) and `position` (from the left) in that level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InnerNode {
    /// The node's hash, its id.
    pub hash: Hash,
    /// The left operand.
    pub left: Hash,
    /// The right operand.
    pub right: Hash,
    /// Level above the leaves (1 or more).
    pub level: u32,
    /// Position in its level.
    pub position: u32,
}

impl InnerNode {
    /// The content behind the node's CID: `left || right`.
    pub fn content(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.left);
        out[32..].copy_from_slice(&self.right);
        out
    }
}

/// The inner nodes of the tree over `leaves` (the hashes computed from a pair; an unpaired
/// hash that moves up unchanged is not a new node), level by level from the leaves up, left
/// to right in each level. A single leaf has none.
pub fn inner_nodes(leaves: &[Hash]) -> Vec<InnerNode> {
    let levels = merkle_levels(leaves);
    let mut out = Vec::new();
    for l in 1..levels.len() {
        let below = &levels[l - 1];
        for (i, pair) in below.chunks_exact(2).enumerate() {
            out.push(InnerNode {
                hash: levels[l][i],
                left: pair[0],
                right: pair[1],
                level: l as u32,
                position: i as u32,
            });
        }
    }
    out
}

fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => sha256_pair(l, r),
            [single] => *single,
            _ => unreachable!("chunks(2) yields one or two items"),
        })
        .collect()
}

/// One step of an inclusion proof: the sibling hash and on which side it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MerkleStep {
    /// The neighbour at this level.
    pub sibling: Hash,
    /// True when the sibling is the left operand (`SHA256(sibling || current)`).
    pub sibling_is_left: bool,
}

/// The proof that the leaf at `index` is under the root: the siblings from the leaf up. Levels
/// where the path's node is unpaired (and moves up unchanged) contribute no step. `None` when
/// `index` is out of range.
pub fn merkle_branch(leaves: &[Hash], index: usize) -> Option<Vec<MerkleStep>> {
    if index >= leaves.len() {
        return None;
    }
    let mut steps = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            steps.push(MerkleStep {
                sibling: level[sibling],
                sibling_is_left: sibling < i,
            });
        }
        level = next_level(&level);
        i /= 2;
    }
    Some(steps)
}

/// Folds `leaf` up through `branch` and compares with `root`.
pub fn verify_branch(leaf: &Hash, branch: &[MerkleStep], root: &Hash) -> bool {
    let top = branch.iter().fold(*leaf, |acc, step| {
        if step.sibling_is_left {
            sha256_pair(&step.sibling, &acc)
        } else {
            sha256_pair(&acc, &step.sibling)
        }
    });
    &top == root
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256;
    use proptest::prelude::*;

    /// The rule read literally: explicit indices and byte concatenation per level.
    fn naive_root(leaves: &[Hash]) -> Hash {
        let mut level: Vec<Hash> = leaves.to_vec();
        while level.len() > 1 {
            let mut next = Vec::new();
            let mut i = 0;
            while i < level.len() {
                if i + 1 < level.len() {
                    let mut buf = Vec::with_capacity(64);
                    buf.extend_from_slice(&level[i]);
                    buf.extend_from_slice(&level[i + 1]);
                    next.push(sha256(&buf));
                } else {
                    next.push(level[i]);
                }
                i += 2;
            }
            level = next;
        }
        level[0]
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| sha256(&(i as u64).to_le_bytes())).collect()
    }

    #[test]
    fn single_leaf_is_the_root() {
        let l = leaves(1);
        assert_eq!(merkle_root(&l), l[0]);
        assert_eq!(merkle_branch(&l, 0), Some(vec![]));
    }

    #[test]
    fn three_leaves_promote_the_unpaired_one() {
        let l = leaves(3);
        let expected = sha256_pair(&sha256_pair(&l[0], &l[1]), &l[2]);
        assert_eq!(merkle_root(&l), expected);
    }

    #[test]
    fn inner_nodes_are_the_computed_pairs() {
        let l = leaves(5);
        let nodes = inner_nodes(&l);
        // Level 1: (0,1), (2,3); level 2: (01,23); level 3: (0123, 4). Leaf 4 moves up alone
        // twice without making a node.
        assert_eq!(nodes.len(), 4);
        let n01 = sha256_pair(&l[0], &l[1]);
        let n23 = sha256_pair(&l[2], &l[3]);
        let n0123 = sha256_pair(&n01, &n23);
        assert_eq!(nodes[0].hash, n01);
        assert_eq!((nodes[1].level, nodes[1].position), (1, 1));
        assert_eq!(nodes[2].hash, n0123);
        assert_eq!(nodes[3].hash, merkle_root(&l));
        assert_eq!((nodes[3].left, nodes[3].right), (n0123, l[4]));
        for n in &nodes {
            assert_eq!(sha256(&n.content()), n.hash);
        }
        assert!(inner_nodes(&leaves(1)).is_empty());
        assert!(inner_nodes(&[]).is_empty());
    }

    #[test]
    fn out_of_range_index_has_no_branch() {
        assert_eq!(merkle_branch(&leaves(3), 3), None);
    }

    proptest! {
        #[test]
        fn root_matches_naive_model(n in 1usize..70) {
            let l = leaves(n);
            prop_assert_eq!(merkle_root(&l), naive_root(&l));
        }

        #[test]
        fn every_branch_verifies_and_a_wrong_leaf_does_not(n in 1usize..70, pick in any::<usize>()) {
            let l = leaves(n);
            let root = merkle_root(&l);
            let i = pick % n;
            let branch = merkle_branch(&l, i).unwrap();
            prop_assert!(verify_branch(&l[i], &branch, &root));
            let wrong = sha256(b"not a leaf");
            prop_assert!(!verify_branch(&wrong, &branch, &root));
        }
    }
}
