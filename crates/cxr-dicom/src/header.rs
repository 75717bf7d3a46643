//! [`DicomHeader`]: the attributes the dataset adapters need, read without decoding
//! (or even reading) the pixel data.

use std::path::Path;

use cxr_core::{Sex, StudyDate, View};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::error::Result;
use crate::read::{self, Mode, Opened};

/// Photometric Interpretation (0028,0004).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Photometric {
    /// Grayscale, minimum value is white (inverted on conversion).
    Monochrome1,
    /// Grayscale, minimum value is black.
    Monochrome2,
    /// Indexed colour (not converted by this crate).
    PaletteColor,
    /// Red, green, blue.
    Rgb,
    /// Y Cb Cr, full range.
    YbrFull,
    /// Y Cb Cr, full range, horizontally subsampled by two.
    YbrFull422,
    /// Y Cb Cr, partial range, 4:2:0 (MPEG).
    YbrPartial420,
    /// Irreversible colour transform of JPEG 2000.
    YbrIct,
    /// Reversible colour transform of JPEG 2000.
    YbrRct,
    /// Anything else, as written in the file.
    Other(String),
}

impl Photometric {
    /// Parses the defined terms (surrounding spaces ignored).
    pub fn parse(s: &str) -> Photometric {
        match s.trim_matches(|c: char| c == ' ' || c == '\0') {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "PALETTE COLOR" => Photometric::PaletteColor,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "YBR_PARTIAL_420" => Photometric::YbrPartial420,
            "YBR_ICT" => Photometric::YbrIct,
            "YBR_RCT" => Photometric::YbrRct,
            other => Photometric::Other(other.to_owned()),
        }
    }

    /// The defined term.
    pub fn as_str(&self) -> &str {
        match self {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::PaletteColor => "PALETTE COLOR",
            Photometric::Rgb => "RGB",
            Photometric::YbrFull => "YBR_FULL",
            Photometric::YbrFull422 => "YBR_FULL_422",
            Photometric::YbrPartial420 => "YBR_PARTIAL_420",
            Photometric::YbrIct => "YBR_ICT",
            Photometric::YbrRct => "YBR_RCT",
            Photometric::Other(s) => s,
        }
    }

    /// MONOCHROME1 or MONOCHROME2.
    pub fn is_monochrome(&self) -> bool {
        matches!(self, Photometric::Monochrome1 | Photometric::Monochrome2)
    }
}

impl std::fmt::Display for Photometric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Unit of a DICOM age string (`AS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgeUnit {
    /// `D`
    Days,
    /// `W`
    Weeks,
    /// `M`
    Months,
    /// `Y`
    Years,
}

/// Patient's Age (0010,1010), e.g. `045Y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PatientAge {
    /// The number.
    pub value: u16,
    /// Its unit.
    pub unit: AgeUnit,
}

impl PatientAge {
    /// Parses `nnnD|W|M|Y` (also accepts fewer digits and a missing unit, read as years,
    /// which some writers produce).
    pub fn parse(s: &str) -> Option<PatientAge> {
        let t = s.trim_matches(|c: char| c == ' ' || c == '\0');
        let (digits, unit) = match t.as_bytes().last()? {
            b'D' | b'd' => (&t[..t.len() - 1], AgeUnit::Days),
            b'W' | b'w' => (&t[..t.len() - 1], AgeUnit::Weeks),
            b'M' | b'm' => (&t[..t.len() - 1], AgeUnit::Months),
            b'Y' | b'y' => (&t[..t.len() - 1], AgeUnit::Years),
            b'0'..=b'9' => (t, AgeUnit::Years),
            _ => return None,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(PatientAge {
            value: digits.parse().ok()?,
            unit,
        })
    }

    /// The age in years (365.25-day years, 7-day weeks, 12 months a year).
    pub fn years(self) -> f64 {
        let v = f64::from(self.value);
        match self.unit {
            AgeUnit::Days => v / 365.25,
            AgeUnit::Weeks => v * 7.0 / 365.25,
            AgeUnit::Months => v / 12.0,
            AgeUnit::Years => v,
        }
    }
}

/// The attributes of a DICOM image that the dataset adapters use. Absent, empty or
/// unparseable attributes are `None`; the raw text of the view is kept because sources
/// write it in many forms.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DicomHeader {
    /// Transfer Syntax UID (0002,0010).
    pub transfer_syntax: String,
    /// SOP Class UID (0008,0016), or the file meta group's Media Storage SOP Class UID
    /// (0002,0002) when the data set has none (a DICOMDIR): what kind of object this is.
    pub sop_class_uid: Option<String>,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: Option<String>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: Option<String>,
    /// Patient ID (0010,0020).
    pub patient_id: Option<String>,
    /// Patient's Sex (0010,0040).
    pub patient_sex: Option<Sex>,
    /// Patient's Age (0010,1010).
    pub patient_age: Option<PatientAge>,
    /// Patient's Birth Date (0010,0030).
    pub patient_birth_date: Option<StudyDate>,
    /// Study Date (0008,0020).
    pub study_date: Option<StudyDate>,
    /// Acquisition Date (0008,0022).
    pub acquisition_date: Option<StudyDate>,
    /// View Position (0018,5101), parsed.
    pub view_position: Option<View>,
    /// View Position (0018,5101) as written.
    pub view_position_text: Option<String>,
    /// Body Part Examined (0018,0015).
    pub body_part: Option<String>,
    /// Modality (0008,0060).
    pub modality: Option<String>,
    /// Photometric Interpretation (0028,0004).
    pub photometric: Option<Photometric>,
    /// Rows (0028,0010).
    pub rows: Option<u16>,
    /// Columns (0028,0011).
    pub columns: Option<u16>,
    /// Samples per Pixel (0028,0002).
    pub samples_per_pixel: Option<u16>,
    /// Bits Allocated (0028,0100).
    pub bits_allocated: Option<u16>,
    /// Bits Stored (0028,0101).
    pub bits_stored: Option<u16>,
    /// High Bit (0028,0102).
    pub high_bit: Option<u16>,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement.
    pub pixel_representation: Option<u16>,
    /// Number of Frames (0028,0008), 1 when absent.
    pub number_of_frames: u32,
    /// Whether the file has Pixel Data (7FE0,0010).
    pub has_pixel_data: bool,
    /// Presentation Intent Type (0008,0068) of DX images: `FOR PRESENTATION`, or
    /// `FOR PROCESSING` — raw detector data that is not meant to be shown (PS3.3
    /// C.8.11.1.1.1), a different-looking image from the same machine.
    pub presentation_intent: Option<String>,
    /// Burned In Annotation (0028,0301): `Some(true)` when the pixels carry text, which
    /// may identify the patient and survives any conversion that strips the header.
    pub burned_in_annotation: Option<bool>,
}

/// Something a DICOM header says about its pixels that should make a reader of a
/// prediction careful. The image is still converted and analysed; the service answers
/// these in `image.cautions`, `predict` in its `cautions` column, `dicom_to_png` in its
/// manifest's `presentation_intent` and `burned_in_annotation` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caution {
    /// Presentation Intent Type `FOR PROCESSING`: raw detector data, not the processed
    /// image a radiologist reads, and not what the models learned from.
    ForProcessing,
    /// Burned In Annotation `YES`: text in the pixels, which may identify the patient and
    /// is in every PNG and overlay made from them.
    BurnedInAnnotation,
}

impl Caution {
    /// The stable code: `for_processing`, `burned_in_annotation`.
    pub fn code(self) -> &'static str {
        match self {
            Caution::ForProcessing => "for_processing",
            Caution::BurnedInAnnotation => "burned_in_annotation",
        }
    }

    /// The same in words, for a person reading an answer.
    pub fn message(self) -> &'static str {
        match self {
            Caution::ForProcessing => {
                "The DICOM file is marked FOR PROCESSING: raw detector data, not the \
                 processed image a radiologist reads. The model was not trained on such \
                 images; treat its answer with caution."
            }
            Caution::BurnedInAnnotation => {
                "The DICOM file says text is burned into its pixels. It may identify the \
                 patient, and it is in any overlay this answer returns."
            }
        }
    }
}

impl std::fmt::Display for Caution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// What a DICOM object of a SOP class that holds no image is, in words: the objects a
/// PACS writes beside the images on a disc or in an export (PS3.4 annex B; PS3.10 for
/// the DICOMDIR). `None` for image classes and for classes not listed here.
pub fn non_image_class(sop_class_uid: &str) -> Option<&'static str> {
    const STORAGE: &str = "1.2.840.10008.5.1.4.1.1.";
    if sop_class_uid == "1.2.840.10008.1.3.10" {
        return Some("DICOMDIR (the index of a DICOM disc or folder)");
    }
    let class = sop_class_uid.strip_prefix(STORAGE)?;
    let (family, _) = class.split_once('.').unwrap_or((class, ""));
    Some(match (family, class) {
        (_, "88.59") => "key object selection (a list of chosen images)",
        (_, "88.67") => "radiation dose report",
        ("88", _) => "structured report",
        ("11", _) => "presentation state (how to display another image)",
        (_, "104.1") => "encapsulated PDF document",
        (_, "104.2") => "encapsulated CDA document",
        (_, "66") => "raw data object",
        (_, "66.1" | "66.3") => "spatial registration",
        _ => return None,
    })
}

/// Whether a Presentation Intent Type (0008,0068) value is `FOR PROCESSING`.
pub(crate) fn for_processing(intent: &str) -> bool {
    intent.eq_ignore_ascii_case("FOR PROCESSING")
}

/// Text of an attribute, trimmed of padding; `None` when absent or empty.
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let v = obj.get(tag)?.to_str().ok()?;
    let t = v.trim_matches(|c: char| c == ' ' || c == '\0');
    (!t.is_empty()).then(|| t.to_owned())
}

/// First value of an unsigned short attribute (also accepts IS/DS text).
pub(crate) fn ushort(obj: &InMemDicomObject, tag: Tag) -> Option<u16> {
    obj.get(tag)?.to_int::<u16>().ok()
}

fn date(obj: &InMemDicomObject, tag: Tag) -> Option<StudyDate> {
    text(obj, tag)?.parse().ok()
}

/// Number of Frames (IS), 1 when absent or unparseable.
pub(crate) fn number_of_frames(obj: &InMemDicomObject) -> u32 {
    obj.get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<i64>().ok())
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

impl DicomHeader {
    /// Whether Presentation Intent Type says `FOR PROCESSING`: raw detector data, not
    /// meant to be shown or read as a radiograph (the adapters exclude such images).
    pub fn is_for_processing(&self) -> bool {
        self.presentation_intent
            .as_deref()
            .is_some_and(for_processing)
    }

    /// What this header calls for a reader's caution about, in [`Caution`]'s order.
    pub fn cautions(&self) -> Vec<Caution> {
        let mut out = Vec::new();
        if self.is_for_processing() {
            out.push(Caution::ForProcessing);
        }
        if self.burned_in_annotation == Some(true) {
            out.push(Caution::BurnedInAnnotation);
        }
        out
    }

    /// Reads the header of `path`, stopping before Pixel Data (the pixel data is neither
    /// read nor decoded).
    pub fn read(path: &Path) -> Result<DicomHeader> {
        let opened = read::open(path, Mode::Header)?;
        Ok(DicomHeader::from_opened(&opened))
    }

    pub(crate) fn from_opened(o: &Opened) -> DicomHeader {
        let obj = &o.obj;
        let view_position_text = text(obj, tags::VIEW_POSITION);
        DicomHeader {
            transfer_syntax: o.ts_uid.clone(),
            sop_class_uid: text(obj, tags::SOP_CLASS_UID)
                .or_else(|| (!o.media_sop_class.is_empty()).then(|| o.media_sop_class.clone())),
            sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
            study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
            series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
            patient_id: text(obj, tags::PATIENT_ID),
            patient_sex: text(obj, tags::PATIENT_SEX).and_then(|s| s.parse().ok()),
            patient_age: text(obj, tags::PATIENT_AGE).and_then(|s| PatientAge::parse(&s)),
            patient_birth_date: date(obj, tags::PATIENT_BIRTH_DATE),
            study_date: date(obj, tags::STUDY_DATE),
            acquisition_date: date(obj, tags::ACQUISITION_DATE),
            view_position: view_position_text.as_deref().and_then(|s| s.parse().ok()),
            view_position_text,
            body_part: text(obj, tags::BODY_PART_EXAMINED),
            modality: text(obj, tags::MODALITY),
            photometric: text(obj, tags::PHOTOMETRIC_INTERPRETATION)
                .map(|s| Photometric::parse(&s)),
            rows: ushort(obj, tags::ROWS),
            columns: ushort(obj, tags::COLUMNS),
            samples_per_pixel: ushort(obj, tags::SAMPLES_PER_PIXEL),
            bits_allocated: ushort(obj, tags::BITS_ALLOCATED),
            bits_stored: ushort(obj, tags::BITS_STORED),
            high_bit: ushort(obj, tags::HIGH_BIT),
            pixel_representation: ushort(obj, tags::PIXEL_REPRESENTATION),
            number_of_frames: number_of_frames(obj),
            has_pixel_data: o.has_pixel_data,
            presentation_intent: text(obj, tags::PRESENTATION_INTENT_TYPE),
            burned_in_annotation: match text(obj, tags::BURNED_IN_ANNOTATION).as_deref() {
                Some("YES") => Some(true),
                Some("NO") => Some(false),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(
            PatientAge::parse("045Y"),
            Some(PatientAge {
                value: 45,
                unit: AgeUnit::Years
            })
        );
        assert_eq!(PatientAge::parse("006M").unwrap().years(), 0.5);
        assert_eq!(PatientAge::parse("52").unwrap().years(), 52.0);
        assert_eq!(PatientAge::parse("Y"), None);
        assert_eq!(PatientAge::parse(""), None);
        assert_eq!(PatientAge::parse("4x5Y"), None);
    }

    #[test]
    fn photometric_round_trips() {
        for s in [
            "MONOCHROME1",
            "MONOCHROME2",
            "RGB",
            "YBR_FULL_422",
            "PALETTE COLOR",
        ] {
            assert_eq!(Photometric::parse(s).as_str(), s);
        }
        assert_eq!(Photometric::parse("MONOCHROME1 "), Photometric::Monochrome1);
        assert_eq!(Photometric::parse("HSV"), Photometric::Other("HSV".into()));
    }
}
