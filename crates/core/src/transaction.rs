//! Outputs, inputs and transactions (PROTOCOL.md §1).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::encode::{Decode, Reader, decode_vec, encode};
use crate::error::DecodeError;
use crate::hash::{Txid, sha256};

/// Base units in one coin.
pub const COIN: u64 = 100_000_000;
/// No output, and no sum of outputs, may exceed this (21 million coins).
pub const MAX_MONEY: u64 = 21_000_000 * COIN;

/// A reference to one output of an earlier transaction.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct OutPoint {
    /// The transaction that created the output.
    pub txid: Txid,
    /// Its index among that transaction's outputs.
    pub vout: u32,
}

/// Spends one output: the outpoint and a BIP340 signature of `sighash(tx, i)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct TxIn {
    /// The output being spent.
    pub prevout: OutPoint,
    /// BIP340 Schnorr signature by the key of the spent output.
    pub signature: [u8; 64],
}

/// A new coin: an amount locked to a BIP340 x-only public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct TxOut {
    /// Base units.
    pub value: u64,
    /// BIP340 x-only public key; there is no script language.
    pub pubkey: [u8; 32],
}

/// A transaction; one with no inputs is a coinbase.
#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// Must be 1.
    pub version: u32,
    /// The outputs spent.
    pub inputs: Vec<TxIn>,
    /// The outputs created.
    pub outputs: Vec<TxOut>,
    /// Coinbase: the block height. Others: the lowest block height the transaction may be in.
    pub lock_time: u64,
}

impl OutPoint {
    /// Encoded size in bytes.
    pub const SIZE: usize = 36;
}

impl TxIn {
    /// Encoded size in bytes.
    pub const SIZE: usize = 100;
}

impl TxOut {
    /// Encoded size in bytes.
    pub const SIZE: usize = 40;
}

impl Transaction {
    /// Encoded size of a transaction with no inputs and no outputs.
    pub const BASE_SIZE: usize = 20;

    /// `txid = SHA256(borsh(tx))`.
    pub fn txid(&self) -> Txid {
        Txid(sha256(&self.encode()))
    }

    /// The Borsh encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// `20 + 100·inputs + 40·outputs`, computed without encoding.
    pub fn encoded_size(&self) -> usize {
        Self::BASE_SIZE + TxIn::SIZE * self.inputs.len() + TxOut::SIZE * self.outputs.len()
    }

    /// A transaction with no inputs.
    pub fn is_coinbase(&self) -> bool {
        self.inputs.is_empty()
    }

    /// The sum of the outputs, exactly (cannot overflow: at most 2^32 values below 2^64).
    pub fn output_total(&self) -> u128 {
        self.outputs.iter().map(|o| u128::from(o.value)).sum()
    }

    /// The outpoint of output `vout` of this transaction.
    pub fn outpoint(&self, vout: u32) -> OutPoint {
        OutPoint {
            txid: self.txid(),
            vout,
        }
    }
}

impl Decode for OutPoint {
    const MIN_SIZE: usize = Self::SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Txid(r.array::<32>()?),
            vout: r.u32()?,
        })
    }
}

impl Decode for TxIn {
    const MIN_SIZE: usize = Self::SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxIn {
            prevout: OutPoint::decode_from(r)?,
            signature: r.array::<64>()?,
        })
    }
}

impl Decode for TxOut {
    const MIN_SIZE: usize = Self::SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxOut {
            value: r.u64()?,
            pubkey: r.array::<32>()?,
        })
    }
}

impl Decode for Transaction {
    const MIN_SIZE: usize = Self::BASE_SIZE;
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Transaction {
            version: r.u32()?,
            inputs: decode_vec(r)?,
            outputs: decode_vec(r)?,
            lock_time: r.u64()?,
        })
    }
}
