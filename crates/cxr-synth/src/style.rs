//! Per-source acquisition *styles*: exposure, gamma, noise, resolution, collimation border
//! and a burned-in text marker. They make each synthetic source look like itself, so that
//! source shortcuts (a classifier recognising the hospital instead of the disease) can be
//! studied on phantoms.

use cxr_core::SourceId;
use serde::{Deserialize, Serialize};

/// Which corner a burned-in marker sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corner {
    /// Top left.
    TopLeft,
    /// Top right.
    TopRight,
    /// Bottom left.
    BottomLeft,
    /// Bottom right.
    BottomRight,
}

/// How one source's images look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    /// Contrast multiplier around mid-gray.
    pub contrast: f32,
    /// Brightness offset.
    pub brightness: f32,
    /// Display gamma (output = input^gamma).
    pub gamma: f32,
    /// Standard deviation of the film/quantum noise, in display units.
    pub noise: f32,
    /// Gaussian blur, as a fraction of the image width (lower resolution → larger).
    pub blur: f32,
    /// Width of the collimation border, as a fraction of the image size (0 = none).
    pub border: f32,
    /// Gray value of the border.
    pub border_value: f32,
    /// Burned-in marker text (letters among A, D, L, O, P, R, T), empty for none.
    pub marker: String,
    /// Corner of the marker.
    pub marker_corner: Corner,
    /// Probability that a record has no age.
    pub missing_age: f64,
    /// Probability that a record has no sex.
    pub missing_sex: f64,
    /// First possible study date (days since 1970-01-01).
    pub date_from: i64,
    /// Span of study dates, in days.
    pub date_span: i64,
}

// 2020-02-01 and 2010-01-01 as days since the epoch.
const COVID_ERA: i64 = 18_293;
const BEFORE: i64 = 14_610;

impl Style {
    /// A neutral style: no border, no marker, mild noise.
    pub fn neutral() -> Self {
        Style {
            contrast: 1.0,
            brightness: 0.0,
            gamma: 1.0,
            noise: 0.02,
            blur: 0.002,
            border: 0.0,
            border_value: 0.0,
            marker: String::new(),
            marker_corner: Corner::TopLeft,
            missing_age: 0.0,
            missing_sex: 0.0,
            date_from: BEFORE,
            date_span: 3650,
        }
    }

    /// The style used for a source's phantoms (the neutral style for a user source).
    pub fn for_source(source: SourceId) -> Self {
        let n = Style::neutral();
        match source {
            SourceId::CovidIdc => Style {
                contrast: 1.15,
                gamma: 0.9,
                noise: 0.03,
                blur: 0.004,
                marker: "AP".into(),
                marker_corner: Corner::TopRight,
                missing_age: 0.1,
                missing_sex: 0.1,
                date_from: COVID_ERA,
                date_span: 150,
                ..n
            },
            SourceId::Coviddsl => Style {
                contrast: 0.95,
                brightness: 0.03,
                noise: 0.015,
                border: 0.03,
                border_value: 0.0,
                marker: "PORT".into(),
                marker_corner: Corner::TopLeft,
                date_from: COVID_ERA + 30,
                date_span: 90,
                ..n
            },
            SourceId::Padchest => Style {
                contrast: 1.05,
                gamma: 1.1,
                noise: 0.02,
                marker: "R".into(),
                marker_corner: Corner::TopLeft,
                missing_age: 0.02,
                date_from: BEFORE,
                date_span: 2900,
                ..n
            },
            SourceId::BimcvCovid => Style {
                contrast: 1.05,
                gamma: 1.1,
                noise: 0.025,
                marker: "L".into(),
                marker_corner: Corner::TopRight,
                date_from: COVID_ERA + 20,
                date_span: 120,
                ..n
            },
            SourceId::NlmTb => Style {
                contrast: 0.9,
                brightness: -0.02,
                gamma: 1.2,
                noise: 0.01,
                blur: 0.006,
                border: 0.02,
                border_value: 1.0,
                missing_age: 1.0,
                missing_sex: 1.0,
                ..n
            },
            SourceId::TbPortals => Style {
                contrast: 1.2,
                brightness: -0.04,
                noise: 0.035,
                marker: "D".into(),
                marker_corner: Corner::BottomRight,
                missing_age: 1.0,
                missing_sex: 1.0,
                date_from: BEFORE + 1500,
                date_span: 2000,
                ..n
            },
            SourceId::Qmenta => Style {
                contrast: 1.0,
                brightness: 0.05,
                gamma: 0.85,
                noise: 0.02,
                blur: 0.005,
                marker: "R".into(),
                marker_corner: Corner::BottomLeft,
                missing_age: 1.0,
                missing_sex: 1.0,
                ..n
            },
            SourceId::Chestxray8 => Style {
                contrast: 0.95,
                gamma: 1.0,
                noise: 0.02,
                blur: 0.003,
                border: 0.015,
                border_value: 0.0,
                marker: "PA".into(),
                marker_corner: Corner::TopRight,
                ..n
            },
            // A source of the user's own: no style of its own, the neutral one.
            SourceId::User(_) => n,
        }
    }
}

/// 5×7 bitmaps of the letters markers use (rows top to bottom, bit 4 = left column).
pub(crate) fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        _ => return None,
    })
}
