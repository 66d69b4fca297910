//! Reading method arguments: positional or named, with Bitcoin Core's errors for a wrong
//! count (-1 with the usage), a wrong type (-3) and a bad value (-8, -22).

use coinrs_core::transaction::MAX_MONEY;
use coinrs_core::{BlockHash, Hash, Txid};
use serde_json::Value;

use crate::error::{RpcError, code};
use crate::methods::Method;

/// The arguments of one call, laid out by position.
#[derive(Debug)]
pub struct Args {
    values: Vec<Value>,
    /// The wallet named by the request's path (`/wallet/NAME`), if any.
    pub wallet: Option<String>,
}

impl Args {
    /// Lays out `params` (array, object of named arguments, or absent) for `method`, and
    /// checks the count.
    pub fn new(method: &Method, params: Option<&Value>) -> Result<Self, RpcError> {
        let values = match params {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Object(named)) => {
                let mut values = vec![Value::Null; method.params.len()];
                for (name, v) in named {
                    let pos = method
                        .params
                        .iter()
                        .position(|p| p.name == name)
                        .ok_or_else(|| {
                            // Core: RPC_INVALID_PARAMETER.
                            RpcError::invalid_parameter(format!("Unknown named parameter {name}"))
                        })?;
                    values[pos] = v.clone();
                }
                while values.last() == Some(&Value::Null) {
                    values.pop();
                }
                values
            }
            Some(other) => {
                return Err(RpcError::new(
                    code::INVALID_REQUEST,
                    format!(
                        "Params must be an array or object, not {}",
                        crate::error::json_type(other)
                    ),
                ));
            }
        };
        let required = method.params.iter().filter(|p| p.required).count();
        if values.len() < required || values.len() > method.params.len() {
            return Err(RpcError::new(code::MISC_ERROR, method.usage()));
        }
        Ok(Args {
            values,
            wallet: None,
        })
    }

    /// The argument at `i`, `None` when absent or null.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).filter(|v| !v.is_null())
    }

    fn required(&self, i: usize) -> Result<&Value, RpcError> {
        self.get(i)
            .ok_or_else(|| RpcError::new(code::MISC_ERROR, format!("missing argument {}", i + 1)))
    }

    /// A string.
    pub fn str(&self, i: usize) -> Result<&str, RpcError> {
        let v = self.required(i)?;
        v.as_str().ok_or_else(|| RpcError::wrong_type(v, "string"))
    }

    /// A non-negative integer.
    pub fn u64(&self, i: usize) -> Result<u64, RpcError> {
        let v = self.required(i)?;
        match v {
            Value::Number(n) => n.as_u64().ok_or_else(|| {
                RpcError::invalid_parameter(format!("{n} is not a non-negative integer"))
            }),
            other => Err(RpcError::wrong_type(other, "number")),
        }
    }

    /// An optional non-negative integer.
    pub fn u64_or(&self, i: usize, default: u64) -> Result<u64, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(_) => self.u64(i),
        }
    }

    /// An optional boolean.
    pub fn bool_or(&self, i: usize, default: bool) -> Result<bool, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(RpcError::wrong_type(other, "bool")),
        }
    }

    /// A 64-hex-digit hash.
    pub fn hash(&self, i: usize, name: &str) -> Result<Hash, RpcError> {
        parse_hash(self.str(i)?, name)
    }

    /// A block hash.
    pub fn block_hash(&self, i: usize) -> Result<BlockHash, RpcError> {
        self.hash(i, "blockhash").map(BlockHash)
    }

    /// A txid.
    pub fn txid(&self, i: usize) -> Result<Txid, RpcError> {
        self.hash(i, "txid").map(Txid)
    }

    /// Hex bytes; bad hex is -22 (`what` names the thing for the message).
    pub fn hex(&self, i: usize, what: &str) -> Result<Vec<u8>, RpcError> {
        hex::decode(self.str(i)?).map_err(|_| RpcError::decode(format!("{what} decode failed")))
    }
}

/// Parses a 64-hex-digit hash with Core's -8 messages.
pub fn parse_hash(s: &str, name: &str) -> Result<Hash, RpcError> {
    if s.len() != 64 {
        return Err(RpcError::invalid_parameter(format!(
            "{name} must be of length 64 (not {}, for '{s}')",
            s.len()
        )));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| {
        RpcError::invalid_parameter(format!("{name} must be hexadecimal string (not '{s}')"))
    })?;
    Ok(out)
}

/// An amount in coins given as a JSON number or string, exactly: at most 8 decimals, not
/// negative, at most MAX_MONEY; anything else is -3 (as Core's AmountFromValue). An exponent
/// is accepted as in Core's ParseFixedPoint: python-bitcoinrpc sends Decimals as floats, so
/// 0.00001 goes out as `1e-05`.
pub fn parse_amount(v: &Value) -> Result<u64, RpcError> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(RpcError::wrong_type(other, "number")),
    };
    let bad = || RpcError::new(code::TYPE_ERROR, "Invalid amount");
    let out_of_range = || RpcError::new(code::TYPE_ERROR, "Amount out of range");
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().map_err(|_| bad())?),
        None => (text.as_str(), 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if text.starts_with('-') {
            out_of_range()
        } else {
            bad()
        });
    }
    // value = digits × 10^-scale; zeros past the 8th decimal change nothing.
    let mut digits = format!("{int}{frac}");
    let mut scale = i64::try_from(frac.len())
        .ok()
        .and_then(|f| f.checked_sub(exponent))
        .ok_or_else(bad)?;
    while scale > 8 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    if scale > 8 {
        return Err(bad());
    }
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    // units = digits × 10^(8 - scale); more than 20 digits cannot fit a u64.
    let shift = 8 - scale;
    if shift > 20 || digits.len() as i64 + shift > 20 {
        return Err(out_of_range());
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|d| d.checked_mul(10u64.checked_pow(shift as u32)?))
        .filter(|u| *u <= MAX_MONEY)
        .ok_or_else(out_of_range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use coinrs_core::transaction::COIN;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(parse_amount(&serde_json::json!(1)).unwrap(), COIN);
        assert_eq!(
            parse_amount(&Value::String("0.00000001".into())).unwrap(),
            1
        );
        let v: Value = serde_json::from_str("12.34567891").unwrap();
        assert_eq!(parse_amount(&v).unwrap(), 1_234_567_891);
        let v: Value = serde_json::from_str("0.1").unwrap();
        assert_eq!(parse_amount(&v).unwrap(), 10_000_000);
        for bad in [
            "0.000000001",
            "-1",
            "abc",
            "",
            ".",
            "1e",
            "1e-9",
            "1.5e-8",
            "e5",
            "1e+",
        ] {
            let v: Value = serde_json::from_str(bad).unwrap_or(Value::String(bad.into()));
            assert_eq!(
                parse_amount(&v).unwrap_err().code,
                code::TYPE_ERROR,
                "{bad}"
            );
        }
        assert!(parse_amount(&Value::String("21000001".into())).is_err());
        assert!(parse_amount(&Value::String("1e30".into())).is_err());
        assert!(parse_amount(&Value::String("1e99999999999999999999".into())).is_err());
        // Exponents, as Core's ParseFixedPoint and as python-bitcoinrpc sends small amounts.
        for (text, units) in [
            ("1e-05", 1_000),
            ("1e-08", 1),
            ("1E3", 1_000 * COIN),
            ("2.5e+1", 25 * COIN),
            ("0.000000010", 1),
            ("0e30", 0),
            ("12345678e-8", 12_345_678),
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_amount(&v).unwrap(), units, "{text}");
            assert_eq!(
                parse_amount(&Value::String(text.into())).unwrap(),
                units,
                "{text}"
            );
        }
        assert!(parse_amount(&Value::Bool(true)).is_err());
    }

    #[test]
    fn hashes_need_64_hex_digits() {
        assert_eq!(
            parse_hash("ab", "blockhash").unwrap_err().code,
            code::INVALID_PARAMETER
        );
        assert_eq!(
            parse_hash(&"zz".repeat(32), "txid").unwrap_err().code,
            code::INVALID_PARAMETER
        );
        assert_eq!(parse_hash(&"00".repeat(32), "txid").unwrap(), [0u8; 32]);
    }
}
