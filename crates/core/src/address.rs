//! Addresses (PROTOCOL.md §6): the output's x-only `pubkey` as a segwit version 1 address
//! (BIP350 bech32m, 32-byte program) under the chain's human-readable prefix.

use bech32::{Fe32, Hrp, segwit};

use crate::error::AddressError;

/// Encodes `pubkey` as an address under `hrp` (`crt1p…` on regtest).
pub fn encode_address(hrp: &str, pubkey: &[u8; 32]) -> Result<String, AddressError> {
    let hrp = Hrp::parse(hrp).map_err(|e| AddressError::Hrp(e.to_string()))?;
    segwit::encode_v1(hrp, pubkey).map_err(|e| AddressError::Encoding(e.to_string()))
}

/// Decodes an address of the chain with prefix `hrp` back to the 32-byte pubkey. Other
/// prefixes, witness versions other than 1, programs not 32 bytes long and bech32 (not
/// bech32m) checksums are refused.
pub fn decode_address(hrp: &str, address: &str) -> Result<[u8; 32], AddressError> {
    let (got_hrp, version, program) =
        segwit::decode(address).map_err(|e| AddressError::Encoding(e.to_string()))?;
    if !got_hrp.as_str().eq_ignore_ascii_case(hrp) {
        return Err(AddressError::WrongChain {
            got: got_hrp.to_lowercase(),
            expected: hrp.to_string(),
        });
    }
    if version != Fe32::P {
        return Err(AddressError::WitnessVersion {
            got: version.to_u8(),
        });
    }
    program
        .as_slice()
        .try_into()
        .map_err(|_| AddressError::ProgramLength { got: program.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_starts_with_hrp_1p() {
        let pk = [0x42u8; 32];
        let a = encode_address("crt", &pk).unwrap();
        assert!(a.starts_with("crt1p"), "{a}");
        assert_eq!(decode_address("crt", &a).unwrap(), pk);
        assert!(matches!(
            decode_address("cdev", &a),
            Err(AddressError::WrongChain { .. })
        ));
    }

    #[test]
    fn refuses_version_zero_and_short_programs() {
        let hrp = Hrp::parse("crt").unwrap();
        let v0 = segwit::encode_v0(hrp, &[1u8; 32]).unwrap();
        assert!(decode_address("crt", &v0).is_err());
        let short = segwit::encode_v1(hrp, &[1u8; 20]).unwrap();
        assert_eq!(
            decode_address("crt", &short),
            Err(AddressError::ProgramLength { got: 20 })
        );
    }
}
