//! Encodings: proptest round trips for every consensus type, agreement with Borsh's own
//! decoder, and hostile input (huge counts, truncation, trailing bytes).

use borsh::BorshDeserialize;
use coinrs_core::encode::{Decode, decode};
use coinrs_core::error::DecodeError;
use coinrs_core::{Block, BlockHash, BlockHeader, OutPoint, Transaction, TxIn, TxOut, Txid};
use proptest::prelude::*;

fn outpoint() -> impl Strategy<Value = OutPoint> {
    (any::<[u8; 32]>(), any::<u32>()).prop_map(|(t, vout)| OutPoint {
        txid: Txid(t),
        vout,
    })
}

fn txin() -> impl Strategy<Value = TxIn> {
    (outpoint(), prop::collection::vec(any::<u8>(), 64)).prop_map(|(prevout, sig)| TxIn {
        prevout,
        signature: sig.try_into().unwrap(),
    })
}

fn txout() -> impl Strategy<Value = TxOut> {
    (any::<u64>(), any::<[u8; 32]>()).prop_map(|(value, pubkey)| TxOut { value, pubkey })
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (
        any::<u32>(),
        prop::collection::vec(txin(), 0..4),
        prop::collection::vec(txout(), 0..4),
        any::<u64>(),
    )
        .prop_map(|(version, inputs, outputs, lock_time)| Transaction {
            version,
            inputs,
            outputs,
            lock_time,
        })
}

fn header() -> impl Strategy<Value = BlockHeader> {
    (
        any::<u32>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(
            |(version, height, prev, merkle_root, time, bits, nonce)| BlockHeader {
                version,
                height,
                prev_hash: BlockHash(prev),
                merkle_root,
                time,
                bits,
                nonce,
            },
        )
}

fn block() -> impl Strategy<Value = Block> {
    (header(), prop::collection::vec(transaction(), 0..4)).prop_map(|(header, transactions)| {
        Block {
            header,
            transactions,
        }
    })
}

/// Round trip through our decoder, agreement with Borsh's decoder, and the size formula.
fn round_trip<T>(value: &T, size: usize) -> Result<(), TestCaseError>
where
    T: Decode + BorshDeserialize + borsh::BorshSerialize + PartialEq + std::fmt::Debug,
{
    let bytes = borsh::to_vec(value).unwrap();
    prop_assert_eq!(bytes.len(), size);
    prop_assert_eq!(&decode::<T>(&bytes).unwrap(), value);
    prop_assert_eq!(&borsh::from_slice::<T>(&bytes).unwrap(), value);
    Ok(())
}

proptest! {
    #[test]
    fn outpoint_round_trips(v in outpoint()) { round_trip(&v, 36)?; }

    #[test]
    fn txin_round_trips(v in txin()) { round_trip(&v, 100)?; }

    #[test]
    fn txout_round_trips(v in txout()) { round_trip(&v, 40)?; }

    #[test]
    fn transaction_round_trips(v in transaction()) {
        let size = v.encoded_size();
        prop_assert_eq!(size, 20 + 100 * v.inputs.len() + 40 * v.outputs.len());
        prop_assert_ne!(size, 64);
        round_trip(&v, size)?;
    }

    #[test]
    fn header_round_trips(v in header()) {
        round_trip(&v, 96)?;
        prop_assert_eq!(borsh::to_vec(&v).unwrap(), v.to_bytes().to_vec());
    }

    #[test]
    fn block_round_trips(v in block()) { let size = v.encoded_size(); round_trip(&v, size)?; }

    /// Every strict prefix of a valid encoding is refused, and so is any extension.
    #[test]
    fn truncations_and_extensions_are_refused(v in block(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let bytes = v.encode();
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(decode::<Block>(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(decode::<Block>(&longer), Err(DecodeError::TrailingBytes { count: extra.len() }));
    }

    /// Arbitrary bytes never panic the decoder, and what decodes re-encodes to the same bytes.
    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(b) = decode::<Block>(&bytes) {
            prop_assert_eq!(b.encode(), bytes.clone());
        }
        if let Ok(t) = decode::<Transaction>(&bytes) {
            prop_assert_eq!(t.encode(), bytes);
        }
    }
}

#[test]
fn huge_transaction_count_is_refused_before_allocating() {
    let mut bytes = BlockHeader {
        version: 1,
        height: 1,
        prev_hash: BlockHash::default(),
        merkle_root: [0; 32],
        time: 0,
        bits: 0,
        nonce: 0,
    }
    .to_bytes()
    .to_vec();
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(
        decode::<Block>(&bytes),
        Err(DecodeError::ImpossibleCount {
            count: u32::MAX as usize,
            item_size: 20,
            remaining: 0
        })
    );
}

#[test]
fn input_count_is_bounded_by_the_bytes_left() {
    // version, then a count of 2 inputs with room for only one (100 bytes) + 12 more.
    let mut bytes = 1u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&2u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 112]);
    assert_eq!(
        decode::<Transaction>(&bytes),
        Err(DecodeError::ImpossibleCount {
            count: 2,
            item_size: 100,
            remaining: 112
        })
    );
    // A count of outputs that would fit only without the lock_time still fails cleanly.
    let mut bytes = 1u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 40]);
    assert_eq!(
        decode::<Transaction>(&bytes),
        Err(DecodeError::UnexpectedEnd {
            needed: 8,
            remaining: 0
        })
    );
}

#[test]
fn an_empty_transaction_is_twenty_bytes() {
    let tx = Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![],
        lock_time: 0,
    };
    assert_eq!(tx.encode().len(), 20);
    assert_eq!(decode::<Transaction>(&tx.encode()).unwrap(), tx);
}
