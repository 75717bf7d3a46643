//! Readers of lung-mask datasets: image/mask pairs for training and evaluating the
//! segmenter.
//!
//! Each reader walks a dataset's folders once and returns a [`MaskSet`]: the
//! [`MaskPair`]s found (sorted by image path) and the files left unmatched. Pixels are
//! read only on demand ([`MaskPair::load_image`], [`MaskPair::load_mask`],
//! [`MaskPair::load`]); a bad file gives an [`Error`] naming it, never a panic.
//!
//! | reader | layout | mask |
//! |---|---|---|
//! | [`montgomery`] | `CXR_png/MCUCXR_####_{0,1}.png`, `ManualMask/{leftMask,rightMask}/<same name>` | union of left and right |
//! | [`shenzhen`] | `CXR_png/CHNCXR_####_{0,1}.png`, `mask/` (or `masks/`) `CHNCXR_####_{0,1}_mask.png` | one file; missing masks tolerated |
//! | [`jsrt_scr`] | JSRT `JPC?N###.IMG` (or `.png`), SCR `masks/{left lung,right lung}/<stem>.gif` (or `.png`) | union of left and right |
//! | [`folder_pair`] | `images/<stem>.*`, `masks/<stem>.*` | [`MaskValues`]: 0 / 255 / 127 = ignore by default |
//! | [`chexmask`] | a CheXmask CSV (`OriginalResolution/<database>.csv[.gz]`) and the database's images | union of the run-length encoded lungs, rows with `Dice RCA (Mean)` ≥ 0.7 |
//!
//! [`read_sources`] reads several of them ([`MaskSourceSpec`], as a command line or a
//! settings file names them) into one set. Images are read as raster images (JSRT's raw
//! `.IMG` as such); a pair set read by
//! [`MaskSet::read_images_with`]`(cxr_dicom::IMAGE_FILES)` reads DICOM too, and
//! [`folder_pair_with`] also finds DICOM files among the images (`.dcm`, none, a UID).
//!
//! Dataset masks (Montgomery, Shenzhen, SCR) are binary: a value ≥ 128 is lung, and a
//! mask whose only values are 0 and 1 is read as 0 = background, 1 = lung. Generic masks
//! are read with [`MaskValues`]: by default 0 = background, 255 = lung, 127 = ignore, and
//! the in-between values of an anti-aliased or resampled mask (its edge pixels, about 1 %
//! of a real mask) go to the nearer of background and lung; a file where more than
//! [`MAX_SOFT_EDGE_FRACTION`] of the pixels hold such values is no mask
//! ([`Error::NotAMask`]). With `soft_edges = false` any other value is an error naming
//! the file, the value and the first pixel holding it.
//!
//! # JSRT raw images
//! The JSRT `.IMG` files have no header: 2048 × 2048 unsigned 16-bit samples, big-endian,
//! 12 bits used (0..=4095), 0.175 mm pixels. A higher raw value is *darker* (film optical
//! density): the usual conversion (e.g. `preprocess_JSRT.py` of imlab-uiip's
//! `lung-segmentation-2d`) is `1 − raw / 4096`. [`read_jsrt_raw`] therefore returns
//! `4095 − raw`, higher = brighter as in every other source, and
//! [`MaskPair::load_image`] maps that to 8 bits with `round(v × 255 / 4095)`. The side
//! is taken from the file size (a square image of `side² × 2` bytes), so small test
//! files work too. SCR masks are distributed at 1024 × 1024: [`MaskPair::load`] scales a
//! mask whose size differs from its image's by nearest neighbour when the aspect ratios
//! agree.
//!
//! # GIF
//! SCR distributes its masks as GIF; they are decoded by the `image` crate's `gif` codec
//! (enabled in the workspace). PNG conversions with the same stem are also accepted.
//!
//! ```no_run
//! use std::path::Path;
//! use cxr_source_nlm_tb::masks::montgomery;
//!
//! let set = montgomery(Path::new("data/MontgomerySet")).unwrap();
//! println!("{} pairs, {} images without masks", set.pairs.len(), set.images_without_mask.len());
//! let (image, mask) = set.pairs[0].load().unwrap();
//! assert_eq!(image.dimensions(), mask.dimensions());
//! ```

mod chexmask;
mod datasets;
mod error;
mod jsrt_raw;
mod label;
mod pairs;
mod sources;

pub use chexmask::{ChexmaskOptions, ChexmaskReport, chexmask};
pub use datasets::{Dataset, folder_pair, folder_pair_with, jsrt, jsrt_scr, montgomery, shenzhen};
pub use error::{Error, Result};
pub use jsrt_raw::read_jsrt_raw;
pub use label::{LabelMask, MAX_SOFT_EDGE_FRACTION, MaskValues, PixelLabel};
pub use pairs::{MaskPair, MaskSet, MaskSource, RleMask};
pub use sources::{MaskSourceSpec, SourceRead, read_sources};
