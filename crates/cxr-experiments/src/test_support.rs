//! Builders shared by the unit tests of this crate.

use cxr_core::{ImageRecord, Label, PatientId, SourceId, View};

/// A PA record of `patient` of `source`, its image at `/x/<image>.png`.
pub(crate) fn rec(source: SourceId, patient: &str, image: &str, label: Label) -> ImageRecord {
    ImageRecord::new(
        PatientId::new(source, patient),
        image,
        format!("/x/{image}.png"),
        label,
        "test",
        View::Pa,
    )
}
