//! Fast proof-of-work grinding over a fixed 96-byte block header.
//!
//! The block hash is a single SHA-256 of the 96-byte header. SHA-256 works on
//! 64-byte blocks, so the header plus padding takes two compressions:
//!
//! * block 1 = header bytes `0..64` (version, height, previous hash, first 20
//!   bytes of the merkle root). It does not depend on the nonce, so a miner
//!   compresses it **once** per template and keeps the resulting state, the
//!   *midstate*.
//! * block 2 = header bytes `64..96` followed by the SHA-256 padding (`0x80`,
//!   zeros, bit length 768). As 32-bit big-endian words: `W0..W2` = last 12
//!   bytes of the merkle root, `W3..W4` = time, `W5` = bits, `W6..W7` = the
//!   nonce, `W8..W15` = constant padding.
//!
//! Only `W6`/`W7` change between tries, so per template we also precompute:
//!
//! * the state after rounds 0..5 (they only consume `W0..W5`);
//! * `W16..W19` of the message schedule (`W16 = σ1(W14) + W9 + σ0(W1) + W0`
//!   etc. never touch `W6`/`W7`), and `W + K` for rounds 8..19;
//! * the `σ0` halves of the schedule words that only depend on `W8..W16`.
//!
//! A try therefore costs 58 rounds instead of 64, plus slightly less message
//! schedule work. Proof of work compares the hash as a big-endian 256-bit
//! number, whose most significant 32 bits are the first state word `H0`. The
//! grinding loop only extracts `H0` and skips every nonce with `H0 > T0` (the
//! first target word); the rare survivors are re-hashed in full and compared
//! byte by byte.
//!
//! On `x86_64` CPUs with the SHA extensions (SHA-NI) a hand-written kernel
//! built on `sha256rnds2`/`sha256msg1`/`sha256msg2` is used, hashing six
//! nonces interleaved: one hash is a single long dependency chain through
//! `sha256rnds2` (latency of several cycles), while the unit accepts a new
//! `sha256rnds2` more often, so independent chains keep it busy. On an AMD
//! Zen 4 core this gives ≈ 58 M tries/s, about twice OpenSSL's single-stream
//! SHA-256 compression rate (see `docs/performance.md`).
//! Everywhere else a portable path based on [`sha2::block_api::compress256`]
//! is used (one compression per try, starting from the midstate).

/// SHA-256 initial hash value.
pub const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// SHA-256 round constants.
#[rustfmt::skip]
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Header length in bytes.
const HEADER_LEN: usize = 96;
/// Byte range of the time field.
const TIME: core::ops::Range<usize> = 76..84;
/// Byte range of the nonce field.
const NONCE: core::ops::Range<usize> = 88..96;

#[inline]
fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

#[inline]
fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// One scalar SHA-256 round; `wk` = `W[i] + K[i]`.
#[inline]
fn round(s: &mut [u32; 8], wk: u32) {
    let [a, b, c, d, e, f, g, h] = *s;
    let big_s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
    let ch = (e & f) ^ (!e & g);
    let t1 = h.wrapping_add(big_s1).wrapping_add(ch).wrapping_add(wk);
    let big_s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
    let maj = (a & b) ^ (a & c) ^ (b & c);
    let t2 = big_s0.wrapping_add(maj);
    *s = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
}

/// `W6` and `W7` of the second block for a nonce (u64 little-endian in the
/// header, read back as big-endian 32-bit words).
#[inline]
fn nonce_words(nonce: u64) -> (u32, u32) {
    (
        (nonce as u32).swap_bytes(),
        ((nonce >> 32) as u32).swap_bytes(),
    )
}

/// Everything that depends on the template but not on the nonce.
#[derive(Clone, Debug)]
struct Template {
    /// SHA-256 state after the first 64 header bytes.
    mid: [u32; 8],
    /// Words of the second block; `w[6]` and `w[7]` (the nonce) are zero.
    w: [u32; 16],
    /// State after rounds 0..5 of the second block.
    s6: [u32; 8],
    /// `W + K` for rounds 8..19 (nonce independent).
    wk8: [u32; 12],
    /// Message schedule words `W16..W19`.
    w16: [u32; 4],
    /// `W[i] + σ0(W[i+1])` for `i` in 8..16 (what `sha256msg1` computes from
    /// the nonce-independent vectors `W8..W11`, `W12..W15`, `W16`).
    m1: [u32; 8],
}

impl Template {
    fn new(header: &[u8; HEADER_LEN]) -> Self {
        let mut mid = IV;
        let block1: [u8; 64] = header[..64].try_into().expect("64 bytes");
        sha2::block_api::compress256(&mut mid, &[block1]);
        let mut t = Template {
            mid,
            w: [0; 16],
            s6: [0; 8],
            wk8: [0; 12],
            w16: [0; 4],
            m1: [0; 8],
        };
        t.set_second_block(header);
        t
    }

    /// (Re)computes everything derived from header bytes `64..88`.
    fn set_second_block(&mut self, header: &[u8; HEADER_LEN]) {
        let mut w = [0u32; 16];
        for (i, word) in w.iter_mut().take(6).enumerate() {
            let at = 64 + 4 * i;
            *word = u32::from_be_bytes(header[at..at + 4].try_into().expect("4 bytes"));
        }
        w[8] = 0x8000_0000;
        w[15] = (HEADER_LEN as u32) * 8;

        let mut s6 = self.mid;
        for i in 0..6 {
            round(&mut s6, w[i].wrapping_add(K[i]));
        }

        // W16..W19 only use W0..W4, W9..W15.
        let mut w16 = [0u32; 4];
        for j in 0..4 {
            let i = 16 + j;
            let w_im2 = if j < 2 { w[14 + j] } else { w16[j - 2] };
            w16[j] = small_sigma1(w_im2)
                .wrapping_add(w[i - 7])
                .wrapping_add(small_sigma0(w[i - 15]))
                .wrapping_add(w[i - 16]);
        }

        let mut wk8 = [0u32; 12];
        for (j, wk) in wk8.iter_mut().enumerate() {
            let i = 8 + j;
            let word = if i < 16 { w[i] } else { w16[i - 16] };
            *wk = word.wrapping_add(K[i]);
        }

        let mut m1 = [0u32; 8];
        for (j, m) in m1.iter_mut().enumerate() {
            let i = 8 + j;
            let next = if i + 1 < 16 { w[i + 1] } else { w16[0] };
            *m = w[i].wrapping_add(small_sigma0(next));
        }

        self.w = w;
        self.s6 = s6;
        self.wk8 = wk8;
        self.w16 = w16;
        self.m1 = m1;
    }

    /// Full hash through the portable path (midstate + one `compress256`).
    fn hash_portable(&self, header: &[u8; HEADER_LEN], nonce: u64) -> [u8; 32] {
        let mut state = self.mid;
        sha2::block_api::compress256(&mut state, &[second_block(header, nonce)]);
        state_to_bytes(&state)
    }
}

/// Second SHA-256 block of the header with `nonce` filled in.
#[inline]
fn second_block(header: &[u8; HEADER_LEN], nonce: u64) -> [u8; 64] {
    let mut block = [0u8; 64];
    block[..24].copy_from_slice(&header[64..88]);
    block[24..32].copy_from_slice(&nonce.to_le_bytes());
    block[32] = 0x80;
    block[56..].copy_from_slice(&((HEADER_LEN as u64) * 8).to_be_bytes());
    block
}

fn state_to_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Which compression code a [`HeaderGrinder`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    /// `sha2::block_api::compress256` from the midstate.
    Portable,
    /// Hand-written SHA-NI kernel (features checked at construction).
    #[cfg(target_arch = "x86_64")]
    ShaNi,
}

/// State of SHA-256 after the first 64 header bytes, plus per-template precomputation.
///
/// Build one per block template with [`HeaderGrinder::new`], then call
/// [`HeaderGrinder::grind`] over nonce ranges; after bumping the header time use
/// [`HeaderGrinder::set_time`] (cheaper than a new grinder: the midstate stays).
#[derive(Clone, Debug)]
pub struct HeaderGrinder {
    /// The header, nonce bytes zeroed.
    header: [u8; HEADER_LEN],
    template: Template,
    backend: Backend,
}

impl HeaderGrinder {
    /// Precomputes the midstate and the nonce-independent work for `header`.
    /// The nonce bytes (`88..96`) of `header` are ignored. Uses the SHA-NI
    /// kernel when the CPU supports it (detected once, here).
    pub fn new(header: &[u8; 96]) -> Self {
        #[cfg(target_arch = "x86_64")]
        let backend = if sha_ni_available() {
            Backend::ShaNi
        } else {
            Backend::Portable
        };
        #[cfg(not(target_arch = "x86_64"))]
        let backend = Backend::Portable;
        Self::with_backend(header, backend)
    }

    /// Like [`HeaderGrinder::new`] but always uses the portable
    /// (`sha2::block_api::compress256`) path. Meant for tests and benchmarks.
    pub fn new_portable(header: &[u8; 96]) -> Self {
        Self::with_backend(header, Backend::Portable)
    }

    fn with_backend(header: &[u8; HEADER_LEN], backend: Backend) -> Self {
        let mut header = *header;
        header[NONCE].fill(0);
        HeaderGrinder {
            template: Template::new(&header),
            header,
            backend,
        }
    }

    /// True if this grinder runs the hand-written SHA-NI kernel.
    pub fn uses_sha_ni(&self) -> bool {
        self.backend != Backend::Portable
    }

    /// The header this grinder works on (nonce bytes zero).
    pub fn header(&self) -> &[u8; 96] {
        &self.header
    }

    /// SHA-256 of the header with `nonce` in place of the nonce field.
    pub fn hash(&self, nonce: u64) -> [u8; 32] {
        match self.backend {
            Backend::Portable => self.template.hash_portable(&self.header, nonce),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Backend::ShaNi` is only chosen after `sha_ni_available()`
            // confirmed the `sha`, `sse2`, `ssse3` and `sse4.1` features.
            Backend::ShaNi => unsafe { ni::hash(&self.template, nonce) },
        }
    }

    /// Tries nonces `start..start+count` in order (stopping at `u64::MAX`, no
    /// wrapping) and returns the first nonce whose hash, read as a big-endian
    /// 256-bit number, is `<= target` (also big-endian), with that hash.
    pub fn grind(&self, start: u64, count: u64, target: &[u8; 32]) -> Option<(u64, [u8; 32])> {
        let t0 = u32::from_be_bytes([target[0], target[1], target[2], target[3]]);
        // Number of nonces still to try, never running past u64::MAX.
        let mut left = count.min((u64::MAX - start).saturating_add(1));
        let mut start = start;
        while left > 0 {
            // First nonce in range whose top hash word is <= t0.
            let candidate = match self.backend {
                Backend::Portable => self.scan_portable(start, left, t0),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Backend::ShaNi` is only chosen after
                // `sha_ni_available()` confirmed the required CPU features.
                Backend::ShaNi => unsafe { ni::scan(&self.template, start, left, t0) },
            }?;
            let hash = self.hash(candidate);
            if hash <= *target {
                return Some((candidate, hash));
            }
            // Top word tied with the target but the rest was larger: go on.
            let done = candidate - start + 1;
            left -= done;
            if left == 0 {
                break;
            }
            start = candidate + 1;
        }
        None
    }

    fn scan_portable(&self, start: u64, count: u64, t0: u32) -> Option<u64> {
        let mut block = second_block(&self.header, 0);
        let mut nonce = start;
        for _ in 0..count {
            block[24..32].copy_from_slice(&nonce.to_le_bytes());
            let mut state = self.template.mid;
            sha2::block_api::compress256(&mut state, &[block]);
            if state[0] <= t0 {
                return Some(nonce);
            }
            nonce = nonce.wrapping_add(1);
        }
        None
    }

    /// Sets the header time (bytes `76..84`, u64 little-endian) and redoes the
    /// per-template precomputation. The midstate is unchanged (time lives in
    /// the second SHA-256 block).
    pub fn set_time(&mut self, time: u64) {
        self.header[TIME].copy_from_slice(&time.to_le_bytes());
        self.template.set_second_block(&self.header);
    }
}

/// True if this CPU has the SHA extensions (and SSSE3/SSE4.1) used by the
/// hand-written kernel.
pub fn sha_ni_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// SHA-NI kernel. Every function requires the `sha`, `sse2`, `ssse3` and
/// `sse4.1` target features; the only `unsafe` needed is for callers outside
/// this module to vouch that the CPU has them.
#[cfg(target_arch = "x86_64")]
mod ni {
    use super::{K, Template, nonce_words, state_to_bytes};
    use core::arch::x86_64::*;

    /// Nonces hashed side by side in the grinding loop. On Zen 4: 2 lanes
    /// ≈ 46 M tries/s, 4 ≈ 55 M, 6 ≈ 59.5 M, 8 ≈ 60 M (saturated).
    const LANES: usize = 6;

    /// Template values in SHA-NI register layout.
    #[derive(Clone, Copy)]
    struct Vecs {
        abef6: __m128i,
        cdgh6: __m128i,
        /// `(W4, W5)` in the low lanes.
        w45: u64,
        w2: __m128i,
        w3: __m128i,
        w4: __m128i,
        wk8: __m128i,
        wk12: __m128i,
        wk16: __m128i,
        m1_2: __m128i,
        m1_3: __m128i,
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn v(x: &[u32]) -> __m128i {
        _mm_set_epi32(x[3] as i32, x[2] as i32, x[1] as i32, x[0] as i32)
    }

    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn k4(i: usize) -> __m128i {
        v(&K[i..i + 4])
    }

    impl Vecs {
        #[inline]
        #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
        fn new(t: &Template) -> Self {
            let [a, b, c, d, e, f, g, h] = t.s6;
            Vecs {
                abef6: v(&[f, e, b, a]),
                cdgh6: v(&[h, g, d, c]),
                w45: u64::from(t.w[4]) | (u64::from(t.w[5]) << 32),
                w2: v(&t.w[8..12]),
                w3: v(&t.w[12..16]),
                w4: v(&t.w16),
                wk8: v(&t.wk8[0..4]),
                wk12: v(&t.wk8[4..8]),
                wk16: v(&t.wk8[8..12]),
                m1_2: v(&t.m1[0..4]),
                m1_3: v(&t.m1[4..8]),
            }
        }
    }

    /// Four rounds; `wk` holds `W + K` for them.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn rounds4(abef: &mut __m128i, cdgh: &mut __m128i, wk: __m128i) {
        *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
        *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0E));
    }

    /// Next four schedule words from the previous sixteen, with the
    /// `sha256msg1(w0, w1)` part supplied.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn schedule(m1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
        _mm_sha256msg2_epu32(_mm_add_epi32(m1, _mm_alignr_epi8(w3, w2, 4)), w3)
    }

    /// Compresses the second block for `N` nonces side by side, starting
    /// from the precomputed state after round 5. Returns the final working
    /// variables (without the midstate feed-forward) as `[abef, cdgh]`.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn tail<const N: usize>(c: &Vecs, nonces: [u64; N]) -> [[__m128i; 2]; N] {
        let mut abef = [c.abef6; N];
        let mut cdgh = [c.cdgh6; N];
        let mut w1 = [_mm_setzero_si128(); N];

        // Rounds 6, 7 (W6, W7 = nonce).
        for i in 0..N {
            let (w6, w7) = nonce_words(nonces[i]);
            let w67 = u64::from(w6) | (u64::from(w7) << 32);
            w1[i] = _mm_set_epi64x(w67 as i64, c.w45 as i64);
            let wk67 = _mm_set_epi32(
                0,
                0,
                w7.wrapping_add(K[7]) as i32,
                w6.wrapping_add(K[6]) as i32,
            );
            let next = _mm_sha256rnds2_epu32(cdgh[i], abef[i], wk67);
            cdgh[i] = abef[i];
            abef[i] = next;
        }
        // Rounds 8..19: W + K fully precomputed.
        for wk in [c.wk8, c.wk12, c.wk16] {
            for i in 0..N {
                rounds4(&mut abef[i], &mut cdgh[i], wk);
            }
        }

        // Rounds 20..63. Window of the last 16 schedule words as 4 vectors.
        let mut x0 = w1;
        let mut x1 = [c.w2; N];
        let mut x2 = [c.w3; N];
        let mut x3 = [c.w4; N];

        macro_rules! step {
            // Nonce-dependent: `sha256msg1(x0, x1)` computed here.
            ($r:expr) => {
                for i in 0..N {
                    let m1 = _mm_sha256msg1_epu32(x0[i], x1[i]);
                    step!(@rest $r, i, m1);
                }
            };
            // `sha256msg1(x0, x1)` precomputed per template.
            ($r:expr, $m1:expr) => {
                for i in 0..N {
                    step!(@rest $r, i, $m1);
                }
            };
            (@rest $r:expr, $i:ident, $m1:expr) => {
                let next = schedule($m1, x2[$i], x3[$i]);
                rounds4(&mut abef[$i], &mut cdgh[$i], _mm_add_epi32(next, k4($r)));
                x0[$i] = x1[$i];
                x1[$i] = x2[$i];
                x2[$i] = x3[$i];
                x3[$i] = next;
            };
        }
        step!(20);
        step!(24, c.m1_2);
        step!(28, c.m1_3);
        step!(32);
        step!(36);
        step!(40);
        step!(44);
        step!(48);
        step!(52);
        step!(56);
        step!(60);

        let mut out = [[_mm_setzero_si128(); 2]; N];
        for i in 0..N {
            out[i] = [abef[i], cdgh[i]];
        }
        out
    }

    /// Full hash of the header with `nonce`.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) fn hash(t: &Template, nonce: u64) -> [u8; 32] {
        let c = Vecs::new(t);
        let [[abef, cdgh]] = tail(&c, [nonce]);
        let work = [
            _mm_extract_epi32(abef, 3),
            _mm_extract_epi32(abef, 2),
            _mm_extract_epi32(cdgh, 3),
            _mm_extract_epi32(cdgh, 2),
            _mm_extract_epi32(abef, 1),
            _mm_extract_epi32(abef, 0),
            _mm_extract_epi32(cdgh, 1),
            _mm_extract_epi32(cdgh, 0),
        ];
        let mut state = t.mid;
        for (s, w) in state.iter_mut().zip(work) {
            *s = s.wrapping_add(w as u32);
        }
        state_to_bytes(&state)
    }

    /// First nonce in `start..start+count` (caller guarantees no overflow)
    /// whose first hash word is `<= t0`.
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) fn scan(t: &Template, start: u64, count: u64, t0: u32) -> Option<u64> {
        let c = Vecs::new(t);
        let mid0 = t.mid[0];
        let mut nonce = start;
        let mut left = count;
        while left >= LANES as u64 {
            let nonces: [u64; LANES] = core::array::from_fn(|i| nonce + i as u64);
            let out = tail(&c, nonces);
            for i in 0..LANES {
                let a = _mm_extract_epi32(out[i][0], 3) as u32;
                if mid0.wrapping_add(a) <= t0 {
                    return Some(nonces[i]);
                }
            }
            nonce = nonce.wrapping_add(LANES as u64);
            left -= LANES as u64;
        }
        while left > 0 {
            let [[abef, _]] = tail(&c, [nonce]);
            let a = _mm_extract_epi32(abef, 3) as u32;
            if mid0.wrapping_add(a) <= t0 {
                return Some(nonce);
            }
            nonce = nonce.wrapping_add(1);
            left -= 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Small deterministic PRNG (xorshift64*), enough for test vectors.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn header(&mut self) -> [u8; 96] {
            let mut h = [0u8; 96];
            for chunk in h.chunks_exact_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            h
        }
    }

    fn reference(header: &[u8; 96], nonce: u64) -> [u8; 32] {
        let mut h = *header;
        h[88..96].copy_from_slice(&nonce.to_le_bytes());
        Sha256::digest(h).into()
    }

    fn grinders(header: &[u8; 96]) -> Vec<HeaderGrinder> {
        let mut v = vec![HeaderGrinder::new_portable(header)];
        if sha_ni_available() {
            let g = HeaderGrinder::new(header);
            assert!(g.uses_sha_ni());
            v.push(g);
        } else {
            eprintln!("SHA-NI not available: only the portable path is tested");
        }
        v
    }

    #[test]
    fn portable_is_portable() {
        assert!(!HeaderGrinder::new_portable(&[0; 96]).uses_sha_ni());
    }

    #[test]
    fn hash_matches_sha256() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..200 {
            let header = rng.header();
            for g in grinders(&header) {
                for nonce in [0, 1, u64::MAX, rng.next(), rng.next(), rng.next()] {
                    assert_eq!(
                        g.hash(nonce),
                        reference(&header, nonce),
                        "sha_ni={}",
                        g.uses_sha_ni()
                    );
                }
            }
        }
    }

    #[test]
    fn header_nonce_is_ignored() {
        let mut rng = Rng(7);
        let header = rng.header();
        let mut zeroed = header;
        zeroed[88..96].fill(0);
        for (a, b) in grinders(&header).iter().zip(grinders(&zeroed)) {
            assert_eq!(a.hash(5), b.hash(5));
            assert_eq!(a.header(), &zeroed);
        }
    }

    fn naive_grind(
        header: &[u8; 96],
        start: u64,
        count: u64,
        target: &[u8; 32],
    ) -> Option<(u64, [u8; 32])> {
        (start..=u64::MAX)
            .take(usize::try_from(count).expect("count fits usize"))
            .map(|nonce| (nonce, reference(header, nonce)))
            .find(|(_, h)| h <= target)
    }

    #[test]
    fn grind_finds_first_nonce() {
        let mut rng = Rng(0xdead_beef);
        // Targets of ~1/16, ~1/256 and a tie on the first word.
        let mut targets = Vec::new();
        let mut t = [0u8; 32];
        t[0] = 0x0f;
        t[1..].fill(0xff);
        targets.push(t);
        let mut t = [0u8; 32];
        t[0] = 0x00;
        t[1..].fill(0xff);
        targets.push(t);
        for _ in 0..20 {
            let header = rng.header();
            for target in &targets {
                for (start, count) in [(0, 3000), (rng.next() >> 1, 3000), (17, 1), (3, 0)] {
                    let expect = naive_grind(&header, start, count, target);
                    for g in grinders(&header) {
                        assert_eq!(g.grind(start, count, target), expect);
                    }
                }
            }
        }
    }

    #[test]
    fn grind_first_word_tie() {
        // Target whose first word equals the hash's first word but the rest
        // is smaller: must be skipped; equal to the hash: accepted.
        let mut rng = Rng(99);
        let header = rng.header();
        for g in grinders(&header) {
            let h = reference(&header, 10);
            let mut below = h;
            below[4..].fill(0);
            let below_result = g.grind(10, 1, &below);
            assert_eq!(below_result, naive_grind(&header, 10, 1, &below));
            if h[4..].iter().any(|&b| b != 0) {
                assert_eq!(below_result, None);
            }
            assert_eq!(g.grind(10, 1, &h), Some((10, h)));
            assert_eq!(g.grind(5, 20, &h), naive_grind(&header, 5, 20, &h));
        }
    }

    #[test]
    fn grind_stops_at_u64_max() {
        let mut rng = Rng(3);
        let header = rng.header();
        let easy = [0xff; 32];
        for g in grinders(&header) {
            assert_eq!(
                g.grind(u64::MAX, 10, &easy),
                Some((u64::MAX, reference(&header, u64::MAX)))
            );
            assert_eq!(g.grind(u64::MAX - 2, 10, &[0; 32]), None);
            let mut t = [0u8; 32];
            t[0] = 0x3f;
            assert_eq!(
                g.grind(u64::MAX - 40, 100, &t),
                naive_grind(&header, u64::MAX - 40, 100, &t)
            );
        }
    }

    #[test]
    fn impossible_target_finds_nothing() {
        let header = Rng(11).header();
        for g in grinders(&header) {
            assert_eq!(g.grind(0, 5000, &[0; 32]), None);
        }
    }

    #[test]
    fn set_time_matches_fresh_grinder() {
        let mut rng = Rng(0x5eed);
        for _ in 0..50 {
            let header = rng.header();
            let time = rng.next();
            let mut bumped = header;
            bumped[76..84].copy_from_slice(&time.to_le_bytes());
            for (mut g, fresh) in grinders(&header).into_iter().zip(grinders(&bumped)) {
                g.set_time(time);
                assert_eq!(g.header(), fresh.header());
                for nonce in [0, rng.next()] {
                    assert_eq!(g.hash(nonce), reference(&bumped, nonce));
                    assert_eq!(g.hash(nonce), fresh.hash(nonce));
                }
                let mut t = [0xff; 32];
                t[0] = 0x07;
                assert_eq!(g.grind(0, 500, &t), naive_grind(&bumped, 0, 500, &t));
            }
        }
    }
}
