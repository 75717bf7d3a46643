//! The grayscale pipeline of PS3.3 C.11: stored value → Modality LUT → VOI →
//! (MONOCHROME1 / INVERSE) inversion → 8 bits.
//!
//! Every possible stored value (at most 2¹⁶ of them) is pushed through the pipeline
//! once, in `f64`, into a table of output bytes; each pixel is then one table look-up.
//! The result is exactly the per-pixel formula, at the cost of one pass over 65,536
//! entries.

use std::path::Path;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::error::{Error, Result};
use crate::frame::{Arrangement, Frame, Layout, Samples};
use crate::options::{ConvertOptions, VoiChoice, VoiFunction};

/// A LUT from a Modality or VOI LUT Sequence item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Table {
    /// First input value mapped.
    pub first: i64,
    /// Entries.
    pub data: Vec<u16>,
    /// Bits per entry (from the LUT Descriptor).
    pub bits: u16,
}

impl Table {
    fn lookup(&self, x: f64) -> f64 {
        let last = self.data.len() as i64 - 1;
        let i = (x.floor() as i64).saturating_sub(self.first).clamp(0, last);
        f64::from(self.data[i as usize])
    }

    /// Reads item `index` of a LUT sequence.
    fn read(
        obj: &InMemDicomObject,
        seq_tag: dicom_core::Tag,
        index: usize,
        signed_input: bool,
        which: &'static str,
        path: &Path,
    ) -> Result<Option<Table>> {
        let bad = |reason| Error::BadLut {
            path: path.to_path_buf(),
            which,
            reason,
        };
        let Some(items) = obj.get(seq_tag).and_then(|e| e.items()) else {
            return Ok(None);
        };
        let Some(item) = items.get(index) else {
            return Ok(None);
        };
        let desc: Vec<i64> = item
            .get(tags::LUT_DESCRIPTOR)
            .ok_or_else(|| bad("no LUT Descriptor"))?
            .to_multi_int::<i64>()
            .map_err(|_| bad("LUT Descriptor is not numeric"))?;
        let [entries, first, bits] = desc[..] else {
            return Err(bad("LUT Descriptor does not have 3 values"));
        };
        let entries = if entries == 0 { 65536 } else { entries };
        if !(1..=65536).contains(&entries) {
            return Err(bad("LUT Descriptor entry count out of range"));
        }
        // Read as US, the first mapped value is signed when the input is (SS in the
        // standard); read as SS it already is.
        let first = if signed_input && first >= 32768 {
            first - 65536
        } else if !signed_input && first < 0 {
            first + 65536
        } else {
            first
        };
        if !(1..=16).contains(&bits) {
            return Err(bad("LUT Descriptor bits per entry outside 1..16"));
        }
        let elem = item.get(tags::LUT_DATA).ok_or_else(|| bad("no LUT Data"))?;
        let mut data: Vec<u16> = match elem.value() {
            Value::Primitive(PrimitiveValue::U16(v)) => v.to_vec(),
            Value::Primitive(PrimitiveValue::I16(v)) => v.iter().map(|&x| x as u16).collect(),
            Value::Primitive(PrimitiveValue::U8(b)) => b
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect(),
            _ => return Err(bad("LUT Data is not 16-bit words")),
        };
        if data.len() < entries as usize {
            return Err(bad("LUT Data shorter than the LUT Descriptor declares"));
        }
        data.truncate(entries as usize);
        Ok(Some(Table {
            first,
            data,
            bits: bits as u16,
        }))
    }
}

/// The Modality LUT stage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Modality {
    /// `slope · x + intercept` (identity when the file has neither).
    Rescale { slope: f64, intercept: f64 },
    /// A Modality LUT Sequence.
    Table(Table),
}

impl Modality {
    pub fn read(obj: &InMemDicomObject, layout: &Layout, path: &Path) -> Result<Modality> {
        if let Some(t) = Table::read(
            obj,
            tags::MODALITY_LUT_SEQUENCE,
            0,
            layout.signed,
            "Modality LUT Sequence",
            path,
        )? {
            return Ok(Modality::Table(t));
        }
        let num = |tag, name, default: f64| -> Result<f64> {
            match obj.get(tag) {
                None => Ok(default),
                Some(e) => match e.to_float64() {
                    Ok(v) if v.is_finite() => Ok(v),
                    _ if e.to_str().map(|s| s.trim().is_empty()).unwrap_or(false) => Ok(default),
                    _ => Err(Error::BadAttribute {
                        path: path.to_path_buf(),
                        name,
                        value: e.to_str().map(|s| s.into_owned()).unwrap_or_default(),
                    }),
                },
            }
        };
        Ok(Modality::Rescale {
            slope: num(tags::RESCALE_SLOPE, "RescaleSlope", 1.0)?,
            intercept: num(tags::RESCALE_INTERCEPT, "RescaleIntercept", 0.0)?,
        })
    }

    fn apply(&self, x: f64) -> f64 {
        match self {
            Modality::Rescale { slope, intercept } => x * slope + intercept,
            Modality::Table(t) => t.lookup(x),
        }
    }
}

/// Where the VOI came from (the `voi_source` column of the manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VoiSource {
    /// An item of the VOI LUT Sequence.
    VoiLut,
    /// A window: from Window Center/Width, or given in the options.
    Window,
    /// Minimum and maximum (or percentiles) of the modality values.
    Minmax,
    /// No VOI: colour images, converted to luma.
    None,
}

impl VoiSource {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VoiSource::VoiLut => "voi_lut",
            VoiSource::Window => "window",
            VoiSource::Minmax => "minmax",
            VoiSource::None => "none",
        }
    }
}

/// The VOI stage, resolved for one image.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Voi {
    Table(Table),
    Window {
        center: f64,
        width: f64,
        function: VoiFunction,
    },
}

/// What was applied, for reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VoiReport {
    pub source: VoiSource,
    pub center: Option<f64>,
    pub width: Option<f64>,
    pub function: Option<VoiFunction>,
}

impl Voi {
    /// Maps a modality value to 0..=255 (not yet rounded).
    fn apply(&self, x: f64) -> f64 {
        const Y: f64 = 255.0;
        match self {
            Voi::Table(t) => {
                let max = f64::from((1u32 << t.bits) - 1);
                t.lookup(x) / max * Y
            }
            Voi::Window {
                center,
                width,
                function,
            } => match function {
                VoiFunction::Linear => {
                    let (c, w) = (center - 0.5, width - 1.0);
                    if x <= c - w / 2.0 {
                        0.0
                    } else if x > c + w / 2.0 {
                        Y
                    } else {
                        ((x - c) / w + 0.5) * Y
                    }
                }
                VoiFunction::LinearExact => {
                    if x <= center - width / 2.0 {
                        0.0
                    } else if x > center + width / 2.0 {
                        Y
                    } else {
                        ((x - center) / width + 0.5) * Y
                    }
                }
                VoiFunction::Sigmoid => Y / (1.0 + (-4.0 * (x - center) / width).exp()),
            },
        }
    }
}

/// Window Center/Width pairs and the VOI LUT Function of a file.
fn windows(obj: &InMemDicomObject) -> (Vec<(f64, f64)>, VoiFunction) {
    let multi = |tag| {
        obj.get(tag)
            .and_then(|e| e.to_multi_float64().ok())
            .unwrap_or_default()
    };
    let (c, w) = (multi(tags::WINDOW_CENTER), multi(tags::WINDOW_WIDTH));
    let function = crate::header::text(obj, tags::VOILUT_FUNCTION)
        .and_then(|s| VoiFunction::parse(&s))
        .unwrap_or_default();
    (c.into_iter().zip(w).collect(), function)
}

/// The stored values Pixel Padding Value (0028,0120) declares padding, with Pixel Padding
/// Range Limit (0028,0121) when there is one (inclusive, either order). Both are stored
/// values, signed when the pixels are; a value that came as US in a signed image (an
/// implicit-VR file leaves the VR to the reader) is read back as two's complement.
fn padding_range(obj: &InMemDicomObject, layout: &Layout) -> Option<(f64, f64)> {
    let read = |tag| {
        let v = obj.get(tag)?.to_int::<i64>().ok()?;
        Some(if layout.signed && v > i64::from(i16::MAX) {
            v - 65536
        } else {
            v
        } as f64)
    };
    let value = read(tags::PIXEL_PADDING_VALUE)?;
    let limit = read(tags::PIXEL_PADDING_RANGE_LIMIT).unwrap_or(value);
    Some((value.min(limit), value.max(limit)))
}

fn window_ok(width: f64, center: f64, function: VoiFunction) -> bool {
    center.is_finite()
        && width.is_finite()
        && match function {
            VoiFunction::Linear => width >= 1.0,
            _ => width > 0.0,
        }
}

/// Converts one decoded grayscale frame to 8 bits.
pub(crate) fn gray_to_u8(
    obj: &InMemDicomObject,
    layout: &Layout,
    frame: &Frame<'_>,
    options: &ConvertOptions,
    path: &Path,
) -> Result<(Vec<u8>, VoiReport, bool)> {
    let bits = u32::from(layout.bits_stored);
    let n = 1usize << bits;
    let mask = (n - 1) as u32;
    let shift = frame.shift;
    let stored = |i: usize| -> f64 {
        if layout.signed && i >= n / 2 {
            i as f64 - n as f64
        } else {
            i as f64
        }
    };
    let modality = Modality::read(obj, layout, path)?;
    let invert = layout.photometric == crate::header::Photometric::Monochrome1
        || crate::header::text(obj, tags::PRESENTATION_LUT_SHAPE).as_deref() == Some("INVERSE");

    let (wins, function) = windows(obj);
    let voi_lut = |index: usize| {
        Table::read(
            obj,
            tags::VOILUT_SEQUENCE,
            index,
            // VOI LUT input is the modality output: signed if the stored values are
            // and no Modality LUT Sequence made them unsigned.
            layout.signed && !matches!(modality, Modality::Table(_)),
            "VOI LUT Sequence",
            path,
        )
    };
    let mut voi: Option<Voi> = None;
    match options.voi {
        VoiChoice::Auto => {
            if let Some(t) = voi_lut(0)? {
                voi = Some(Voi::Table(t));
            } else if let Some(&(center, width)) = wins.first()
                && window_ok(width, center, function)
            {
                voi = Some(Voi::Window {
                    center,
                    width,
                    function,
                });
            }
        }
        VoiChoice::Window { index } => {
            let &(center, width) = wins.get(index).ok_or_else(|| Error::NoSuchVoi {
                path: path.to_path_buf(),
                what: "window",
                index,
                available: wins.len(),
            })?;
            if !window_ok(width, center, function) {
                return Err(Error::BadAttribute {
                    path: path.to_path_buf(),
                    name: "WindowWidth",
                    value: width.to_string(),
                });
            }
            voi = Some(Voi::Window {
                center,
                width,
                function,
            });
        }
        VoiChoice::VoiLut { index } => {
            let t = voi_lut(index)?.ok_or_else(|| Error::NoSuchVoi {
                path: path.to_path_buf(),
                what: "VOI LUT",
                index,
                available: obj
                    .get(tags::VOILUT_SEQUENCE)
                    .and_then(|e| e.items())
                    .map_or(0, |i| i.len()),
            })?;
            voi = Some(Voi::Table(t));
        }
        VoiChoice::Explicit {
            center,
            width,
            function,
        } => {
            voi = Some(Voi::Window {
                center,
                width,
                function,
            })
        }
        VoiChoice::MinMax => {}
    }

    let index = |v: u32| ((v >> shift) & mask) as usize;
    let report;
    let voi = match voi {
        Some(v) => {
            report = match &v {
                Voi::Table(_) => VoiReport {
                    source: VoiSource::VoiLut,
                    center: None,
                    width: None,
                    function: None,
                },
                Voi::Window {
                    center,
                    width,
                    function,
                } => VoiReport {
                    source: VoiSource::Window,
                    center: Some(*center),
                    width: Some(*width),
                    function: Some(*function),
                },
            };
            v
        }
        None => {
            // Min–max over the modality values present: histogram of stored patterns.
            let mut hist = vec![0u32; n];
            match &frame.samples {
                Samples::U8(v) => v.iter().for_each(|&x| hist[index(x.into())] += 1),
                Samples::U16(v) => v.iter().for_each(|&x| hist[index(x.into())] += 1),
            }
            // Padding is not image (PS3.3 C.7.5.1.1.2, note 2: it is declared so that
            // the dynamic range is found without it), unless nothing else is left.
            let padding = padding_range(obj, layout);
            let present = |keep_padding: bool| -> Vec<(f64, u64)> {
                hist.iter()
                    .enumerate()
                    .filter(|(i, c)| {
                        **c > 0
                            && (keep_padding
                                || padding.is_none_or(|(a, b)| !(a..=b).contains(&stored(*i))))
                    })
                    .map(|(i, &c)| (modality.apply(stored(i)), u64::from(c)))
                    .collect()
            };
            let mut values = present(false);
            if values.is_empty() {
                values = present(true);
            }
            values.sort_by(|a, b| a.0.total_cmp(&b.0));
            let total: u64 = values.iter().map(|v| v.1).sum();
            let p = options.minmax_clip_percent / 100.0;
            // Value at 0-based rank r of the sorted pixels.
            let at_rank = |r: u64| {
                let mut acc = 0;
                for &(v, c) in &values {
                    acc += c;
                    if acc > r {
                        return v;
                    }
                }
                values.last().map_or(0.0, |v| v.0)
            };
            let last = total.saturating_sub(1) as f64;
            let lo = at_rank((p * last).floor() as u64);
            let hi = at_rank(((1.0 - p) * last).ceil() as u64);
            let (center, width) = ((lo + hi) / 2.0, hi - lo);
            report = VoiReport {
                source: VoiSource::Minmax,
                center: Some(center),
                width: Some(width),
                function: Some(VoiFunction::LinearExact),
            };
            if width > 0.0 {
                Voi::Window {
                    center,
                    width,
                    function: VoiFunction::LinearExact,
                }
            } else {
                // A constant image: everything at or below the centre maps to 0.
                Voi::Window {
                    center: center + 0.5,
                    width: 1.0,
                    function: VoiFunction::LinearExact,
                }
            }
        }
    };

    let lut: Vec<u8> = (0..n)
        .map(|i| {
            let y = voi.apply(modality.apply(stored(i)));
            let y = if invert { 255.0 - y } else { y };
            y.round().clamp(0.0, 255.0) as u8
        })
        .collect();
    // One table entry per possible sample word, with the shift and mask folded in: the
    // per-pixel loop is then a bounds-check-free lookup (a quarter of a native
    // conversion's time went to this loop before).
    let out: Vec<u8> = match &frame.samples {
        Samples::U8(v) => {
            let by_byte: [u8; 256] = std::array::from_fn(|x| lut[index(x as u32)]);
            v.iter().map(|&x| by_byte[usize::from(x)]).collect()
        }
        Samples::U16(v) => {
            let mut by_word = [0u8; 1 << 16];
            for (x, y) in by_word.iter_mut().enumerate() {
                *y = lut[index(x as u32)];
            }
            v.iter().map(|&x| by_word[usize::from(x)]).collect()
        }
    };
    Ok((out, report, invert))
}

/// Rec. 709 luma weights, as `cxr_core::load_gray` uses for colour images.
const LUMA: [f64; 3] = [0.2126, 0.7152, 0.0722];

/// Converts one decoded colour frame (RGB or YCbCr full range) to 8-bit luma.
pub(crate) fn color_to_u8(layout: &Layout, frame: &Frame<'_>) -> Vec<u8> {
    let pixels = layout.rows as usize * layout.cols as usize;
    let max = f64::from(((1u32 << layout.bits_stored) - 1).max(1));
    let mask = (1u32 << layout.bits_stored) - 1;
    let shift = frame.shift;
    let get = |i: usize| -> f64 {
        let v = match &frame.samples {
            Samples::U8(v) => u32::from(v[i]),
            Samples::U16(v) => u32::from(v[i]),
        };
        f64::from((v >> shift) & mask) * 255.0 / max
    };
    let planar = matches!(
        frame.arrangement,
        Arrangement::RgbPlanar | Arrangement::YbrPlanar
    );
    let ybr = matches!(frame.arrangement, Arrangement::Ybr | Arrangement::YbrPlanar);
    (0..pixels)
        .map(|p| {
            let idx = |c: usize| if planar { c * pixels + p } else { p * 3 + c };
            let (a, b, c) = (get(idx(0)), get(idx(1)), get(idx(2)));
            let (r, g, bl) = if ybr {
                // PS3.3 C.7.6.3.1.2, YBR_FULL to RGB.
                (
                    (a + 1.402 * (c - 128.0)).clamp(0.0, 255.0),
                    (a - 0.344_136 * (b - 128.0) - 0.714_136 * (c - 128.0)).clamp(0.0, 255.0),
                    (a + 1.772 * (b - 128.0)).clamp(0.0, 255.0),
                )
            } else {
                (a, b, c)
            };
            (LUMA[0] * r + LUMA[1] * g + LUMA[2] * bl)
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(center: f64, width: f64, function: VoiFunction) -> Voi {
        Voi::Window {
            center,
            width,
            function,
        }
    }

    #[test]
    fn linear_window_matches_ps3_3_c_11_2_1_2_1() {
        // c = 2048, w = 4096: x <= 0 -> 0, x > 4095 -> 255, linear in between.
        let v = win(2048.0, 4096.0, VoiFunction::Linear);
        assert_eq!(v.apply(0.0), 0.0);
        assert_eq!(v.apply(4096.0), 255.0);
        assert!((v.apply(2047.5) - 127.5).abs() < 1e-9);
        // w = 1: a threshold at c - 0.5.
        let t = win(100.0, 1.0, VoiFunction::Linear);
        assert_eq!(t.apply(99.0), 0.0);
        assert_eq!(t.apply(100.0), 255.0);
    }

    #[test]
    fn linear_exact_and_sigmoid() {
        let v = win(100.0, 50.0, VoiFunction::LinearExact);
        assert_eq!(v.apply(75.0), 0.0);
        assert!((v.apply(100.0) - 127.5).abs() < 1e-9);
        assert!((v.apply(112.5) - 191.25).abs() < 1e-9);
        assert_eq!(v.apply(125.1), 255.0);
        let s = win(100.0, 50.0, VoiFunction::Sigmoid);
        assert!((s.apply(100.0) - 127.5).abs() < 1e-9);
        let y = s.apply(125.0);
        assert!((y - 255.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-9);
    }

    #[test]
    fn tables_clamp_below_and_above() {
        let t = Table {
            first: -2,
            data: vec![10, 20, 30],
            bits: 8,
        };
        assert_eq!(t.lookup(-5.0), 10.0);
        assert_eq!(t.lookup(-1.0), 20.0);
        assert_eq!(t.lookup(-0.5), 20.0);
        assert_eq!(t.lookup(9.0), 30.0);
        let v = Voi::Table(t);
        assert!((v.apply(0.0) - 30.0).abs() < 1e-9);
    }
}
