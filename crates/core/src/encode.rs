//! Decoding untrusted bytes (PROTOCOL.md §1).
//!
//! Encoding is plain Borsh (`borsh::to_vec`, the derives on the types). Decoding is written
//! out here rather than taken from `borsh::from_slice` because bytes from peers are hostile:
//! a `Vec` count is checked against the bytes that are left (each item has a known minimum
//! size) *before* anything is allocated, so a 4-byte count of 4 billion cannot make us
//! reserve gigabytes, and trailing bytes are an error. The tests check that this decoder and
//! Borsh's own agree on every valid encoding.

use borsh::BorshSerialize;

use crate::error::DecodeError;

/// A cursor over untrusted bytes. Every read is bounds-checked; nothing here panics.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first byte.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A `Vec` count whose items take at least `min_item_size` bytes each: rejected unless that
    /// many items could fit in the bytes left.
    pub fn count(&mut self, min_item_size: usize) -> Result<usize, DecodeError> {
        let count = self.u32()? as usize;
        let fits = count
            .checked_mul(min_item_size)
            .is_some_and(|need| need <= self.remaining());
        if !fits {
            return Err(DecodeError::ImpossibleCount {
                count,
                item_size: min_item_size,
                remaining: self.remaining(),
            });
        }
        Ok(count)
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes { count: n }),
        }
    }
}

/// A consensus object that can be read from untrusted bytes.
pub trait Decode: Sized {
    /// The fewest bytes an encoding of this type can take (used to bound counts).
    const MIN_SIZE: usize;

    /// Reads one object from the cursor.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Decodes a whole object: all of `bytes`, nothing more, nothing less.
pub fn decode<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = T::decode_from(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// Reads a `Vec<T>` with its count bounded by the bytes left.
pub fn decode_vec<T: Decode>(r: &mut Reader<'_>) -> Result<Vec<T>, DecodeError> {
    let n = r.count(T::MIN_SIZE)?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(T::decode_from(r)?);
    }
    Ok(v)
}

/// The Borsh encoding of a value.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec<u8> cannot fail: its `io::Write` impl never returns an error.
    value
        .serialize(&mut out)
        .expect("serializing into a Vec<u8> is infallible");
    out
}
