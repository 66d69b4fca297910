//! The address index agrees with a replay of the active chain through connects, spends
//! inside one block, reorganisations, invalidateblock/reconsiderblock, restarts and reindex;
//! a store without it is refused when it is wanted.

use std::collections::{BTreeMap, HashMap};

use coinrs_chain::{AddressCoin, ChainError, ChainOptions};
use coinrs_core::sig::SigningKey;
use coinrs_core::{OutPoint, TxOut};

use super::fixture::{Node, options};

fn indexed() -> ChainOptions {
    ChainOptions {
        address_index: true,
        ..options()
    }
}

/// Per address: (received, sent, entries, unspent outputs newest first) from a replay.
type Replay = HashMap<[u8; 32], (u64, u64, u64, Vec<AddressCoin>)>;

fn replay(node: &Node) -> Replay {
    let chain = &node.chain;
    let mut coins: BTreeMap<OutPoint, ([u8; 32], u64, u64)> = BTreeMap::new();
    let mut out: Replay = HashMap::new();
    for height in 1..=chain.height() {
        let block = chain
            .block(&chain.hash_at(height).unwrap())
            .unwrap()
            .unwrap();
        for (t, tx) in block.transactions.iter().enumerate() {
            if t > 0 {
                for input in &tx.inputs {
                    let (pk, value, _) = coins.remove(&input.prevout).expect("spent coin");
                    let e = out.entry(pk).or_default();
                    e.1 += value;
                    e.2 += 1;
                }
            }
            let txid = tx.txid();
            for (vout, o) in tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                coins.insert(op, (o.pubkey, o.value, height));
                let e = out.entry(o.pubkey).or_default();
                e.0 += o.value;
                e.2 += 1;
            }
        }
    }
    for (op, (pk, value, height)) in coins {
        out.entry(pk).or_default().3.push(AddressCoin {
            outpoint: op,
            height,
            value,
        });
    }
    for e in out.values_mut() {
        e.3.sort_by_key(|c| {
            (
                std::cmp::Reverse(c.height),
                std::cmp::Reverse(c.outpoint.txid.0),
                std::cmp::Reverse(c.outpoint.vout),
            )
        });
    }
    out
}

fn assert_index_matches(node: &Node, addresses: &[[u8; 32]]) {
    let want = replay(node);
    for pk in addresses {
        let (received, sent, entries, unspent) = want.get(pk).cloned().unwrap_or_default();
        let t = node.chain.address_totals(pk).unwrap();
        assert_eq!(
            (t.received, t.sent, t.entries, t.unspent),
            (received, sent, entries, unspent.len() as u64),
            "totals of {:02x}…",
            pk[0]
        );
        assert_eq!(node.chain.address_unspent(pk, usize::MAX).unwrap(), unspent);
        let history = node
            .chain
            .address_history(pk, u64::MAX, usize::MAX, usize::MAX)
            .unwrap();
        assert_eq!(history.len() as u64, entries);
        assert!(history.windows(2).all(|w| w[0].height >= w[1].height));
        let got: u64 = history.iter().filter(|m| m.received).map(|m| m.value).sum();
        assert_eq!(got, received);
    }
}

#[test]
fn follows_spends_reorganisations_and_invalidation() {
    let mut node = Node::with_options(indexed());
    let miner = node.key.public_key();
    let other = SigningKey::from_secret_bytes([0x22; 32])
        .unwrap()
        .public_key();
    let genesis = node.chain.tip();
    let a = node.extend(genesis, 101, 0);
    let first = node.chain.block(&a[0]).unwrap().unwrap();
    let coin = OutPoint {
        txid: first.transactions[0].txid(),
        vout: 0,
    };
    let value = first.transactions[0].outputs[0].value;
    // A spend to `other` with change, and a spend of the change inside the same block.
    let pay = node.spend(
        &[coin],
        vec![
            TxOut {
                value: 1_000,
                pubkey: other,
            },
            TxOut {
                value: value - 1_000 - 500,
                pubkey: miner,
            },
        ],
    );
    let change = OutPoint {
        txid: pay.txid(),
        vout: 1,
    };
    let again = node.spend(
        &[change],
        vec![TxOut {
            value: value - 1_000 - 500 - 500,
            pubkey: other,
        }],
    );
    let b = node.child(a[100], vec![pay, again], 1_000, 0);
    node.submit(&b).unwrap();
    assert_eq!(node.chain.tip(), b.hash());
    let addresses = [miner, other];
    assert_index_matches(&node, &addresses);
    let t = node.chain.address_totals(&other).unwrap();
    assert_eq!(t.balance(), 1_000 + value - 2_000);
    assert_eq!(t.unspent, 2);

    // A heavier branch from a[99] without the spends: the index follows the reorganisation.
    let fork = node.extend(a[99], 3, 9);
    assert_eq!(node.chain.tip(), fork[2]);
    let tagged = SigningKey::from_secret_bytes([9; 32]).unwrap().public_key();
    let addresses = [miner, other, tagged];
    assert_index_matches(&node, &addresses);
    assert_eq!(node.chain.address_totals(&other).unwrap().entries, 0);

    // invalidateblock back to the spending branch, then reconsiderblock.
    node.chain.invalidate_block(&fork[0]).unwrap();
    node.extend(b.hash(), 1, 0);
    assert_index_matches(&node, &addresses);
    node.chain.reconsider_block(&fork[0]).unwrap();
    assert_index_matches(&node, &addresses);

    // It survives a restart and a crash.
    let node = node.restart();
    assert_index_matches(&node, &addresses);
    let node = node.crash();
    assert_index_matches(&node, &addresses);
}

#[test]
fn a_store_without_the_index_is_refused_until_reindexed() {
    let mut node = Node::with_options(indexed());
    let genesis = node.chain.tip();
    node.extend(genesis, 5, 0);
    let pk = node.key.public_key();
    assert_eq!(node.chain.address_totals(&pk).unwrap().unspent, 5);

    // Opened without the index: it is dropped, and queries say so.
    node.options = options();
    let mut node = node.restart();
    assert!(matches!(
        node.chain.address_totals(&pk),
        Err(ChainError::AddressIndexOff)
    ));
    let tip = node.chain.tip();
    node.extend(tip, 2, 0);

    // Wanted again: refused with the way out, then built by --reindex.
    let dir = node.dir;
    drop(node.chain);
    let params = coinrs_core::params::ChainParams::regtest();
    let err =
        coinrs_chain::Chain::open(dir.path(), params.clone(), &indexed(), super::fixture::NOW)
            .unwrap_err();
    assert!(matches!(err, ChainError::NoAddressIndex { .. }));
    assert!(err.to_string().contains("--reindex"), "{err}");
    let reindex = ChainOptions {
        reindex: true,
        ..indexed()
    };
    let chain =
        coinrs_chain::Chain::open(dir.path(), params, &reindex, super::fixture::NOW).unwrap();
    assert_eq!(chain.height(), 7);
    assert_eq!(chain.address_totals(&pk).unwrap().unspent, 7);
    assert_eq!(chain.address_unspent(&pk, 3).unwrap().len(), 3);
}
