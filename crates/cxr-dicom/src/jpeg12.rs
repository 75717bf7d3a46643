//! JPEG extended (process 4): 12-bit sequential DCT with Huffman coding (ITU T.81),
//! which jpeg-decoder does not implement. Grayscale only (one component), the form
//! 12-bit JPEG takes in radiography. The inverse DCT is the exact separable
//! floating-point transform of T.81 A.3.3, then level shift, rounding and clamping.

use std::borrow::Cow;

use crate::error::CodecError;
use crate::frame::{Arrangement, Frame, Layout, Samples};

type R<T> = Result<T, CodecError>;

fn err<T>(msg: &'static str) -> R<T> {
    Err(CodecError::Jpeg12(msg))
}

/// Natural-order index of the k-th coefficient in zig-zag order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

#[derive(Clone, Default)]
struct Huffman {
    /// (code length, code) -> symbol, as canonical tables: for each length the first
    /// code, the number of codes and the offset of its symbols.
    mincode: [i32; 17],
    maxcode: [i32; 18],
    valptr: [usize; 17],
    values: Vec<u8>,
    /// The next 9 bits of the stream -> `(length << 8) | symbol` for codes of at most 9
    /// bits, 0 where `decode`'s bit-by-bit walk takes over (longer or invalid codes).
    look: Vec<u16>,
}

/// Code lengths the lookahead table resolves (libjpeg's choice: most symbols fit).
const LOOK_BITS: u32 = 9;

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> R<Huffman> {
        let mut h = Huffman {
            values,
            ..Huffman::default()
        };
        let mut code = 0i32;
        let mut k = 0usize;
        for l in 1..=16 {
            let n = usize::from(counts[l - 1]);
            h.valptr[l] = k;
            h.mincode[l] = code;
            code += n as i32;
            k += n;
            h.maxcode[l] = if n == 0 { -1 } else { code - 1 };
            code <<= 1;
        }
        h.maxcode[17] = i32::MAX;
        if k > h.values.len() {
            return err("Huffman table has fewer symbols than its counts");
        }
        // The same walk `Bits::decode` does bit by bit, done once per 9-bit prefix.
        h.look = (0..1u32 << LOOK_BITS)
            .map(|p| {
                // Bit l of the prefix (1 = its first), as the walk reads it.
                let bit = |l: u32| ((p >> (LOOK_BITS - l)) & 1) as i32;
                let mut code = bit(1);
                for l in 1..=LOOK_BITS {
                    let at = l as usize;
                    if code <= h.maxcode[at] {
                        let i = h.valptr[at] + (code - h.mincode[at]) as usize;
                        return h
                            .values
                            .get(i)
                            .map_or(0, |&v| (l as u16) << 8 | u16::from(v));
                    }
                    if l < LOOK_BITS {
                        code = (code << 1) | bit(l + 1);
                    }
                }
                0
            })
            .collect();
        Ok(h)
    }
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl Bits<'_> {
    fn fill(&mut self) {
        while self.n <= 24 {
            let b = match self.data.get(self.pos) {
                Some(&0xFF) => match self.data.get(self.pos + 1) {
                    Some(0x00) => {
                        self.pos += 2;
                        0xFF
                    }
                    // A marker (or the end): feed zeros without consuming it.
                    _ => 0,
                },
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => 0,
            };
            self.acc |= u32::from(b) << (24 - self.n);
            self.n += 8;
        }
    }

    fn bit(&mut self) -> i32 {
        self.fill();
        let b = (self.acc >> 31) as i32;
        self.acc <<= 1;
        self.n -= 1;
        b
    }

    fn receive(&mut self, s: u32) -> i32 {
        if s == 0 {
            return 0;
        }
        self.fill();
        let v = (self.acc >> (32 - s)) as i32;
        self.acc <<= s;
        self.n -= s;
        v
    }

    fn decode(&mut self, h: &Huffman) -> R<u8> {
        self.fill();
        let hit = h.look[(self.acc >> (32 - LOOK_BITS)) as usize];
        if hit != 0 {
            let len = u32::from(hit >> 8);
            self.acc <<= len;
            self.n -= len;
            return Ok(hit as u8);
        }
        let mut code = self.bit();
        for l in 1..=16 {
            if code <= h.maxcode[l] {
                let i = h.valptr[l] + (code - h.mincode[l]) as usize;
                return h
                    .values
                    .get(i)
                    .copied()
                    .map_or_else(|| err("bad Huffman code"), Ok);
            }
            code = (code << 1) | self.bit();
        }
        err("bad Huffman code")
    }

    /// Drops buffered bits and skips an RSTn marker at the current byte position.
    fn restart(&mut self) -> R<()> {
        self.acc = 0;
        self.n = 0;
        match self.data.get(self.pos..self.pos + 2) {
            Some([0xFF, m]) if (0xD0..=0xD7).contains(m) => {
                self.pos += 2;
                Ok(())
            }
            _ => err("missing restart marker"),
        }
    }
}

fn extend(v: i32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < 1 << (s - 1) {
        v - (1 << s) + 1
    } else {
        v
    }
}

fn be16(d: &[u8], i: usize) -> R<usize> {
    d.get(i..i + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .map_or_else(|| err("truncated marker segment"), Ok)
}

/// Decodes a one-component 8- or 12-bit sequential Huffman JPEG.
pub(crate) fn decode(data: &[u8], layout: &Layout) -> R<Frame<'static>> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return err("no SOI marker");
    }
    let mut pos = 2;
    let mut qt = [[0u16; 64]; 4];
    let mut dc: [Option<Huffman>; 4] = Default::default();
    let mut ac: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    let mut frame: Option<(u8, usize, usize, usize)> = None; // precision, width, height, qt id
    loop {
        // Next marker, skipping fill bytes.
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return err("expected a marker");
        };
        pos += 2;
        let len = be16(data, pos)?;
        let seg = data
            .get(pos + 2..pos + len)
            .map_or_else(|| err("marker segment past the end"), Ok)?;
        match marker {
            0xC0 | 0xC1 => {
                let precision = seg.first().copied().unwrap_or(0);
                let height = be16(seg, 1)?;
                let width = be16(seg, 3)?;
                let nf = seg.get(5).copied().unwrap_or(0);
                if nf != 1 {
                    return err("12-bit JPEG with more than one component is not supported");
                }
                let tq = usize::from(seg.get(8).copied().unwrap_or(0) & 3);
                if precision != 8 && precision != 12 {
                    return err("sample precision other than 8 or 12");
                }
                if width as u32 != layout.cols || height as u32 != layout.rows {
                    return Err(CodecError::Mismatch {
                        what: "JPEG size (width x height)",
                        got: (width * 100_000 + height) as u64,
                        expected: u64::from(layout.cols) * 100_000 + u64::from(layout.rows),
                    });
                }
                frame = Some((precision, width, height, tq));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return err("only sequential Huffman JPEG is supported by the 12-bit decoder");
            }
            0xC4 => {
                let mut i = 0;
                while i < seg.len() {
                    let tc_th = seg[i];
                    let counts: [u8; 16] = seg
                        .get(i + 1..i + 17)
                        .and_then(|c| c.try_into().ok())
                        .map_or_else(|| err("truncated DHT"), Ok)?;
                    let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let values = seg
                        .get(i + 17..i + 17 + n)
                        .map_or_else(|| err("truncated DHT"), Ok)?
                        .to_vec();
                    let h = Huffman::new(&counts, values)?;
                    let id = usize::from(tc_th & 3);
                    if tc_th >> 4 == 0 {
                        dc[id] = Some(h);
                    } else {
                        ac[id] = Some(h);
                    }
                    i += 17 + n;
                }
            }
            0xDB => {
                let mut i = 0;
                while i < seg.len() {
                    let pq_tq = seg[i];
                    let id = usize::from(pq_tq & 3);
                    let wide = pq_tq >> 4 == 1;
                    let size = if wide { 128 } else { 64 };
                    let t = seg
                        .get(i + 1..i + 1 + size)
                        .map_or_else(|| err("truncated DQT"), Ok)?;
                    for k in 0..64 {
                        qt[id][k] = if wide {
                            u16::from_be_bytes([t[2 * k], t[2 * k + 1]])
                        } else {
                            u16::from(t[k])
                        };
                    }
                    i += 1 + size;
                }
            }
            0xDD => restart_interval = be16(seg, 0)?,
            0xDA => {
                let (precision, width, height, tq) =
                    frame.map_or_else(|| err("SOS before SOF"), Ok)?;
                let td_ta = seg.get(2).copied().unwrap_or(0);
                let dct = dc[usize::from(td_ta >> 4 & 3)]
                    .as_ref()
                    .map_or_else(|| err("missing DC table"), Ok)?;
                let act = ac[usize::from(td_ta & 3)]
                    .as_ref()
                    .map_or_else(|| err("missing AC table"), Ok)?;
                let out = scan(
                    &data[pos + len..],
                    (precision, width, height),
                    &qt[tq],
                    dct,
                    act,
                    restart_interval,
                )?;
                return Ok(Frame {
                    samples: Samples::U16(Cow::Owned(out)),
                    shift: 0,
                    arrangement: Arrangement::Gray,
                });
            }
            0xD9 => return err("EOI before any scan"),
            _ => {} // APPn, COM, DNL…: skipped
        }
        pos += len;
    }
}

fn idct_table() -> [[f64; 8]; 8] {
    let mut c = [[0.0; 8]; 8];
    for (x, row) in c.iter_mut().enumerate() {
        for (u, v) in row.iter_mut().enumerate() {
            let cu = if u == 0 {
                std::f64::consts::FRAC_1_SQRT_2
            } else {
                1.0
            };
            *v = cu / 2.0 * ((2.0 * x as f64 + 1.0) * u as f64 * std::f64::consts::PI / 16.0).cos();
        }
    }
    c
}

/// `v` rounded half away from zero (as `f64::round`) and clamped to `0..=max`, without
/// a call into libm: below 0 everything ends at 0, and for `0 <= v < 2^52` truncation
/// and the exact fraction `v - trunc(v)` decide as `round` does.
fn level(v: f64, max: f64) -> u16 {
    let v = v.max(0.0);
    let t = v as i64; // v < 2^13 here; larger values end at `max` below anyway
    let r = t as f64 + if v - t as f64 >= 0.5 { 1.0 } else { 0.0 };
    r.min(max) as u16
}

// Block arithmetic reads best with explicit indices.
#[allow(clippy::needless_range_loop)]
fn scan(
    data: &[u8],
    (precision, width, height): (u8, usize, usize),
    q: &[u16; 64],
    dc: &Huffman,
    ac: &Huffman,
    restart_interval: usize,
) -> R<Vec<u16>> {
    let (bw, bh) = (width.div_ceil(8), height.div_ceil(8));
    let mut out = vec![0u16; width * height];
    let mut bits = Bits {
        data,
        pos: 0,
        acc: 0,
        n: 0,
    };
    let c = idct_table();
    // ct[u][x] = c[x][u], so the column pass reads along a row.
    let ct: [[f64; 8]; 8] = std::array::from_fn(|u| std::array::from_fn(|x| c[x][u]));
    let shift = f64::from(1u32 << (precision - 1));
    let max = f64::from((1u32 << precision) - 1);
    let mut pred = 0i32;
    let mut coef = [0f64; 64];
    let mut tmp = [0f64; 64];
    for mcu in 0..bw * bh {
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 {
            bits.restart()?;
            pred = 0;
        }
        coef.fill(0.0);
        let t = u32::from(bits.decode(dc)?);
        if t > 16 {
            return err("DC difference category out of range");
        }
        pred += extend(bits.receive(t), t);
        coef[0] = f64::from(pred) * f64::from(q[0]);
        let mut k = 1;
        while k < 64 {
            let rs = bits.decode(ac)?;
            let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
            if s == 0 {
                if r == 15 {
                    k += 16;
                    continue;
                }
                break;
            }
            k += r;
            if k > 63 {
                return err("AC coefficient index past 63");
            }
            coef[ZIGZAG[k]] = f64::from(extend(bits.receive(s), s)) * f64::from(q[k]);
            k += 1;
        }
        // Rows then columns: tmp[y][u] = Σv c[y][v] F[v][u]; out[y][x] = Σu c[x][u] tmp[y][u].
        // Each sum runs over v (then u) in order, as written out term by term in T.81; the
        // loops are laid out so that the compiler can take 2 or 4 sums at once.
        for y in 0..8 {
            let mut row = [0f64; 8];
            for v in 0..8 {
                let cv = c[y][v];
                for u in 0..8 {
                    row[u] += cv * coef[v * 8 + u];
                }
            }
            tmp[y * 8..y * 8 + 8].copy_from_slice(&row);
        }
        let (bx, by) = (mcu % bw, mcu / bw);
        for y in 0..8 {
            let py = by * 8 + y;
            if py >= height {
                break;
            }
            let mut row = [0f64; 8];
            for u in 0..8 {
                let t = tmp[y * 8 + u];
                for x in 0..8 {
                    row[x] += ct[u][x] * t;
                }
            }
            let n = 8.min(width - bx * 8);
            let dst = &mut out[py * width + bx * 8..][..n];
            for (d, &s) in dst.iter_mut().zip(&row) {
                *d = level(s + shift, max);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_follows_t81_f_12() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(2, 3), -5);
        assert_eq!(extend(5, 3), 5);
    }

    /// T.81 Table K.5, the example luminance AC table: 162 symbols, codes of 2 to 16 bits.
    fn k5() -> Huffman {
        let counts = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
        let values = (0..=255u8).cycle().skip(1).take(162).collect();
        Huffman::new(&counts, values).unwrap()
    }

    #[test]
    fn the_lookahead_table_decodes_as_the_bit_by_bit_walk() {
        let fast = k5();
        let slow = Huffman {
            look: vec![0; fast.look.len()],
            ..fast.clone()
        };
        assert!(
            fast.look.iter().any(|&e| e >> 8 == 9),
            "9-bit codes in the table"
        );
        assert!(fast.look.contains(&0), "longer codes left to the walk");
        // Pseudo-random bytes without 0xFF (no stuffing or markers in the way).
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let data: Vec<u8> = (0..4096)
            .map(|_| {
                x = cxr_core::names::splitmix64(x);
                (x % 255) as u8
            })
            .collect();
        let mut a = Bits {
            data: &data,
            pos: 0,
            acc: 0,
            n: 0,
        };
        let mut b = Bits {
            data: &data,
            pos: 0,
            acc: 0,
            n: 0,
        };
        let (mut symbols, mut errors) = (0, 0);
        while a.pos < data.len() - 8 {
            let (ra, rb) = (a.decode(&fast), b.decode(&slow));
            match (ra, rb) {
                (Ok(sa), Ok(sb)) => {
                    assert_eq!(sa, sb);
                    symbols += 1;
                }
                (Err(_), Err(_)) => {
                    // The all-ones prefix is no code: both fail, then step past it alike.
                    errors += 1;
                    a.bit();
                    b.bit();
                }
                (ra, rb) => panic!("{ra:?} against {rb:?}"),
            }
            // Both at the same bit of the stream (they refill their buffers differently).
            assert_eq!(a.pos * 8 - a.n as usize, b.pos * 8 - b.n as usize);
        }
        assert!(symbols > 3000, "{symbols} symbols, {errors} invalid codes");
    }

    #[test]
    fn idct_of_a_dc_block_is_flat() {
        let c = idct_table();
        // F[0][0] = 8 * v gives v everywhere.
        let v: f64 = (0..8)
            .map(|u| c[3][u] * if u == 0 { c[5][0] * 80.0 } else { 0.0 })
            .sum();
        assert!((v - 10.0).abs() < 1e-9);
    }
}
