//! Chain parameters and genesis blocks (PROTOCOL.md §5).
//!
//! A chain is a set of parameters; its id is its genesis hash. `regtest` and `devnet` are
//! built in; a classroom chain comes from a TOML chain file with the same keys and a `name`
//! (see docs/classroom-chain.toml), checked when it is loaded.

use borsh::BorshSerialize;
use ruint::aliases::U256;
use serde::{Deserialize, Serialize};

use crate::asert::{self, AsertAnchor};
use crate::block::{Block, BlockHeader};
use crate::encode::encode;
use crate::error::ParamsError;
use crate::hash::{BlockHash, Hash, sha256};
use crate::midstate::HeaderGrinder;
use crate::pow::{bits_to_target, target_to_be_bytes, target_to_bits, work};
use crate::transaction::{COIN, MAX_MONEY, Transaction, TxOut};

/// How the required `bits` of a block are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize)]
#[serde(rename_all = "lowercase")]
pub enum Retarget {
    /// Every block carries the genesis `bits`.
    None,
    /// aserti3-2d anchored at block 1 (PROTOCOL.md §3).
    Asert,
}

/// The consensus parameters of one chain, and its name, address prefix and ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize)]
#[serde(deny_unknown_fields)]
pub struct ChainParams {
    /// Folder name under the datadir and what `getblockchaininfo` shows as `chain`.
    pub name: String,
    /// Unix seconds in the genesis header.
    pub genesis_time: u64,
    /// Compact target of genesis; its target is also the chain's `pow_limit`.
    pub genesis_bits: u32,
    /// Difficulty adjustment.
    pub retarget: Retarget,
    /// Seconds between blocks that the difficulty aims for.
    pub target_spacing: u64,
    /// aserti3-2d half life in seconds (unused with `retarget = "none"`, still at least 1).
    pub half_life: u64,
    /// Block subsidy at height 0, in base units.
    pub initial_subsidy: u64,
    /// Blocks between halvings of the subsidy.
    pub halving_interval: u64,
    /// A coinbase output created at `h` may be spent in blocks from `h + coinbase_maturity`.
    pub coinbase_maturity: u64,
    /// Largest block encoding, in bytes.
    pub max_block_size: u64,
    /// How far past the node's clock a block time may be, in seconds.
    pub max_future_drift: u64,
    /// Address human-readable prefix (bech32m).
    pub hrp: String,
    /// Default peer-to-peer port.
    pub p2p_port: u16,
    /// Default JSON-RPC and explorer port.
    pub rpc_port: u16,
    /// The genesis nonce when it is known in advance (the built-in chains); chain files leave
    /// it out and it is ground from 0 on load.
    #[serde(skip)]
    #[borsh(skip)]
    pub known_genesis_nonce: Option<u64>,
}

/// The nonce of devnet's genesis block: the smallest from 0 whose hash meets
/// `DEVNET_GENESIS_BITS` (checked by a release-mode test that grinds it again).
pub const DEVNET_GENESIS_NONCE: u64 = 123_900_222;
/// devnet's genesis target; see docs/performance.md for how it was chosen (about 10 s of one
/// core with the midstate grinder).
pub const DEVNET_GENESIS_BITS: u32 = 0x1d07_67b5;
/// devnet's genesis time: 2026-11-25 00:00:00 UTC.
pub const DEVNET_GENESIS_TIME: u64 = 1_795_564_800;

/// The most expected tries a chain file's genesis may need (see `check`).
pub const MAX_GENESIS_WORK: u64 = 1 << 40;

/// Names that belong to the built-in chains.
const BUILT_IN_NAMES: [&str; 2] = ["regtest", "devnet"];

impl ChainParams {
    /// Tests and scripted experiments: blocks on demand.
    pub fn regtest() -> Self {
        ChainParams {
            name: "regtest".into(),
            genesis_time: 1_523_724_808,
            genesis_bits: 0x207f_ffff,
            retarget: Retarget::None,
            target_spacing: 600,
            // Not used without retargeting; aserti3-2d's customary two days, so that regtest
            // written out as a chain file passes the file checks.
            half_life: 172_800,
            initial_subsidy: 50 * COIN,
            halving_interval: 150,
            coinbase_maturity: 100,
            max_block_size: 1_000_000,
            max_future_drift: 7200,
            hrp: "crt".into(),
            p2p_port: 19444,
            rpc_port: 19443,
            known_genesis_nonce: Some(REGTEST_GENESIS_NONCE),
        }
    }

    /// The default chain: a live network that mines by itself, a block about every 10 s.
    pub fn devnet() -> Self {
        ChainParams {
            name: "devnet".into(),
            genesis_time: DEVNET_GENESIS_TIME,
            genesis_bits: DEVNET_GENESIS_BITS,
            retarget: Retarget::Asert,
            target_spacing: 10,
            // One hour (360 blocks): reacts to a classroom of laptops joining within minutes,
            // while a timestamp two hours ahead (max_future_drift) moves the target only 4x.
            half_life: 3600,
            initial_subsidy: 50 * COIN,
            halving_interval: 210_000,
            coinbase_maturity: 10,
            max_block_size: 1_000_000,
            max_future_drift: 7200,
            hrp: "cdev".into(),
            p2p_port: 19333,
            rpc_port: 19332,
            known_genesis_nonce: Some(DEVNET_GENESIS_NONCE),
        }
    }

    /// A built-in chain by name.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "regtest" => Some(Self::regtest()),
            "devnet" => Some(Self::devnet()),
            _ => None,
        }
    }

    /// Parses and checks a chain file.
    pub fn from_toml(text: &str) -> Result<Self, ParamsError> {
        let params: ChainParams =
            toml::from_str(text).map_err(|e| ParamsError::Parse(e.to_string()))?;
        if BUILT_IN_NAMES.contains(&params.name.as_str()) {
            return Err(ParamsError::Name {
                name: params.name,
                why: "belongs to a built-in chain",
            });
        }
        params.check()?;
        Ok(params)
    }

    /// The chain file form of these parameters.
    pub fn to_toml(&self) -> String {
        // Every field is a string or an integer: serialization cannot fail.
        toml::to_string(self).expect("chain params serialize to TOML")
    }

    /// The checks of PROTOCOL.md §5, plus what keeps a chain usable: a name that is a safe
    /// folder name (a chain file may not take a built-in chain's name), a valid address prefix, non-zero ports, and room
    /// for the genesis block.
    pub fn check(&self) -> Result<(), ParamsError> {
        check_name(&self.name)?;
        for (name, value) in [
            ("halving_interval", self.halving_interval),
            ("target_spacing", self.target_spacing),
            ("half_life", self.half_life),
            ("coinbase_maturity", self.coinbase_maturity),
        ] {
            if value < 1 {
                return Err(ParamsError::TooSmall {
                    name,
                    min: 1,
                    got: value,
                });
            }
        }
        if self.initial_subsidy > MAX_MONEY {
            return Err(ParamsError::TooLarge {
                name: "initial_subsidy",
                max: MAX_MONEY,
                got: self.initial_subsidy,
            });
        }
        let target = bits_to_target(self.genesis_bits).map_err(ParamsError::GenesisBits)?;
        // The genesis nonce is ground when the file loads: refuse a target that would take
        // one core longer than hours (2^40 expected tries, about 5 h at 58 M tries/s).
        if work(&target) > U256::from(MAX_GENESIS_WORK) {
            return Err(ParamsError::GenesisTooHard {
                bits: self.genesis_bits,
            });
        }
        let genesis_size = genesis_coinbase(self).encoded_size() as u64 + 100;
        if self.max_block_size < genesis_size {
            return Err(ParamsError::TooSmall {
                name: "max_block_size",
                min: genesis_size,
                got: self.max_block_size,
            });
        }
        if let Err(e) = bech32::Hrp::parse(&self.hrp) {
            return Err(ParamsError::Hrp {
                hrp: self.hrp.clone(),
                why: e.to_string(),
            });
        }
        if self.hrp.to_lowercase() != self.hrp {
            return Err(ParamsError::Hrp {
                hrp: self.hrp.clone(),
                why: "must be lower case".into(),
            });
        }
        if self.p2p_port == 0 {
            return Err(ParamsError::Port { name: "p2p_port" });
        }
        if self.rpc_port == 0 {
            return Err(ParamsError::Port { name: "rpc_port" });
        }
        Ok(())
    }

    /// The genesis target, which is also the easiest target any block may have.
    pub fn pow_limit(&self) -> U256 {
        // Checked at load for files; the built-in bits are valid constants.
        bits_to_target(self.genesis_bits).unwrap_or(U256::ZERO)
    }

    /// `subsidy(h) = initial_subsidy >> (h / halving_interval)`, zero from 64 halvings on.
    pub fn subsidy(&self, height: u64) -> u64 {
        let halvings = height / self.halving_interval.max(1);
        if halvings >= 64 {
            0
        } else {
            self.initial_subsidy >> halvings
        }
    }

    /// SHA-256 of the Borsh encoding of every parameter (name, prefix and ports included):
    /// peers compare it before anything else, so chains that differ in anything never mix.
    pub fn digest(&self) -> Hash {
        sha256(&encode(self))
    }

    /// The genesis block: fixed by the parameters, its nonce the smallest that meets the
    /// target (ground here unless known).
    pub fn genesis(&self) -> Block {
        let mut header = self.genesis_header_unsolved();
        header.nonce = match self.known_genesis_nonce {
            Some(nonce) => nonce,
            // `check` bounds the genesis work to 2^40 expected tries, so the chance that
            // no nonce below 2^64 works is below e^(-2^24): nil.
            None => grind_genesis_nonce(&header, &self.pow_limit())
                .expect("a checked genesis target is met by some u64 nonce"),
        };
        Block {
            header,
            transactions: vec![genesis_coinbase(self)],
        }
    }

    /// The genesis header with nonce 0, before grinding.
    pub fn genesis_header_unsolved(&self) -> BlockHeader {
        BlockHeader {
            version: 1,
            height: 0,
            prev_hash: BlockHash([0u8; 32]),
            merkle_root: genesis_coinbase(self).txid().0,
            time: self.genesis_time,
            bits: self.genesis_bits,
            nonce: 0,
        }
    }

    /// The bits that a child of `parent` must carry (PROTOCOL.md §3). `block1_time` is the
    /// time of the block at height 1 on the parent's branch (unused while the parent is
    /// genesis).
    pub fn required_bits(&self, parent_height: u64, parent_time: u64, block1_time: u64) -> u32 {
        match self.retarget {
            Retarget::None => self.genesis_bits,
            Retarget::Asert if parent_height == 0 => self.genesis_bits,
            Retarget::Asert => {
                let pow_limit = self.pow_limit();
                let anchor = AsertAnchor {
                    target: pow_limit,
                    parent_time: i128::from(block1_time) - i128::from(self.target_spacing),
                    height: 1,
                };
                target_to_bits(asert::next_target(
                    &anchor,
                    &pow_limit,
                    parent_height,
                    parent_time,
                    self.target_spacing,
                    self.half_life,
                ))
            }
        }
    }
}

/// Regtest's genesis nonce: nonce 0 misses target `0x207fffff` (about every second hash
/// meets it); a test grinds it again.
pub const REGTEST_GENESIS_NONCE: u64 = 1;

fn genesis_coinbase(params: &ChainParams) -> Transaction {
    Transaction {
        version: 1,
        inputs: vec![],
        outputs: vec![TxOut {
            value: params.initial_subsidy,
            pubkey: [0u8; 32],
        }],
        lock_time: 0,
    }
}

/// The smallest nonce from 0 whose header hash meets `target`, `None` when no u64 nonce does.
pub fn grind_genesis_nonce(header: &BlockHeader, target: &U256) -> Option<u64> {
    let grinder = HeaderGrinder::new(&header.to_bytes());
    grinder
        .grind(0, u64::MAX, &target_to_be_bytes(target))
        .map(|(nonce, _)| nonce)
}

fn check_name(name: &str) -> Result<(), ParamsError> {
    let bad = |why| {
        Err(ParamsError::Name {
            name: name.to_string(),
            why,
        })
    };
    if name.is_empty() || name.len() > 64 {
        return bad("must be 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return bad("only a-z, 0-9, '-' and '_' (it names a folder)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../docs/classroom-chain.toml");

    #[test]
    fn example_chain_file_loads_and_grinds_its_genesis() {
        let p = ChainParams::from_toml(EXAMPLE).unwrap();
        assert_eq!(p.name, "classroom");
        assert_eq!(p.retarget, Retarget::Asert);
        let g = p.genesis();
        assert!(crate::pow::hash_meets_target(&g.hash().0, &p.pow_limit()));
        // Smallest nonce: no lower nonce meets the target.
        let mut h = g.header;
        for nonce in 0..g.header.nonce {
            h.nonce = nonce;
            assert!(!crate::pow::hash_meets_target(&h.hash().0, &p.pow_limit()));
        }
    }

    #[test]
    fn chain_file_round_trips_through_toml() {
        let mut p = ChainParams::regtest();
        p.name = "copy-of-regtest".into();
        p.known_genesis_nonce = None;
        let again = ChainParams::from_toml(&p.to_toml()).unwrap();
        assert_eq!(again, p);
        // Same parameters but the name: another chain, another digest.
        assert_ne!(again.digest(), ChainParams::regtest().digest());
        // The genesis nonce ground from the file equals regtest's constant.
        assert_eq!(again.genesis().header.nonce, REGTEST_GENESIS_NONCE);
    }

    fn with(edit: impl Fn(&mut toml::Table)) -> Result<ChainParams, ParamsError> {
        let mut t: toml::Table = toml::from_str(EXAMPLE).unwrap();
        edit(&mut t);
        ChainParams::from_toml(&toml::to_string(&t).unwrap())
    }

    #[test]
    fn chain_file_checks_refuse_bad_values() {
        for key in [
            "halving_interval",
            "target_spacing",
            "half_life",
            "coinbase_maturity",
        ] {
            let r = with(|t| {
                t.insert(key.into(), 0.into());
            });
            assert!(
                matches!(r, Err(ParamsError::TooSmall { name, .. }) if name == key),
                "{key}: {r:?}"
            );
        }
        let r = with(|t| {
            t.insert("initial_subsidy".into(), ((MAX_MONEY + 1) as i64).into());
        });
        assert!(matches!(
            r,
            Err(ParamsError::TooLarge {
                name: "initial_subsidy",
                ..
            })
        ));
        let r = with(|t| {
            t.insert("genesis_bits".into(), 0x1b00_ffffi64.into());
        });
        assert_eq!(r, Err(ParamsError::GenesisTooHard { bits: 0x1b00_ffff }));
        for bits in [0i64, 0x0480_0001, 0x2200_ffff] {
            let r = with(|t| {
                t.insert("genesis_bits".into(), bits.into());
            });
            assert!(
                matches!(r, Err(ParamsError::GenesisBits(_))),
                "{bits:#x}: {r:?}"
            );
        }
        for name in ["", "devnet", "regtest", "Upper", "a/b", ".."] {
            let r = with(|t| {
                t.insert("name".into(), name.into());
            });
            assert!(
                matches!(r, Err(ParamsError::Name { .. })),
                "{name:?}: {r:?}"
            );
        }
        let r = with(|t| {
            t.insert("hrp".into(), "Class".into());
        });
        assert!(matches!(r, Err(ParamsError::Hrp { .. })));
        let r = with(|t| {
            t.insert("rpc_port".into(), 0.into());
        });
        assert!(matches!(r, Err(ParamsError::Port { name: "rpc_port" })));
        let r = with(|t| {
            t.remove("max_future_drift");
        });
        assert!(matches!(r, Err(ParamsError::Parse(_))));
        let r = with(|t| {
            t.insert("unknown_key".into(), 1.into());
        });
        assert!(matches!(r, Err(ParamsError::Parse(_))));
        let r = with(|t| {
            t.insert("retarget".into(), "sometimes".into());
        });
        assert!(matches!(r, Err(ParamsError::Parse(_))));
    }

    #[test]
    fn subsidy_is_zero_from_sixty_four_halvings() {
        let mut p = ChainParams::regtest();
        p.halving_interval = 1;
        p.initial_subsidy = MAX_MONEY;
        assert_eq!(p.subsidy(63), MAX_MONEY >> 63);
        assert_eq!(p.subsidy(64), 0);
    }

    #[test]
    fn built_in_chains_pass_the_value_checks() {
        ChainParams::regtest().check().unwrap();
        ChainParams::devnet().check().unwrap();
        assert_ne!(
            ChainParams::regtest().digest(),
            ChainParams::devnet().digest()
        );
    }
}
