//! The quality gate over a cohort: segment every record, keep what the gate accepts,
//! list the rest with their reason, count per source (`qc.json`).

use std::collections::{BTreeSet, HashMap};

use cxr_classifier::data::{Example, Masks, Rejection, examples_for_records, write_rejections};
use cxr_core::{ImageKey, ImageRecord};
use cxr_lungseg::Segmenter;

use crate::Result;
use crate::context::{Context, write_json};

pub use cxr_report::experiment::{GateCounts, GateSummary};

/// Segments every record with `seg` (masks cached under `masks/`), applies the gate,
/// and returns the accepted records with their examples; rejects go to
/// `qc_rejected.csv`, counts to `qc.json`.
pub fn gate(
    ctx: &Context,
    records: &[ImageRecord],
    seg: &Segmenter,
) -> Result<(Vec<ImageRecord>, Vec<Example>, GateSummary)> {
    let pb = ctx.bar(records.len(), "segmenting");
    let masks = Masks::Segmenter {
        segmenter: seg,
        cache: &ctx.out.join("masks"),
        post: &ctx.config.segmenter.post,
        qc: &ctx.config.segmenter.qc,
    };
    let (examples, rejected) = examples_for_records(records, masks, Some(&pb));
    pb.finish_and_clear();
    write_rejections(&ctx.out.join("qc_rejected.csv"), &rejected)?;
    let summary = gate_summary(records, &rejected);
    write_json(&ctx.out.join("qc.json"), &summary)?;
    let kept: BTreeSet<ImageKey> = examples.iter().map(Example::key).collect();
    let accepted: Vec<ImageRecord> = records
        .iter()
        .filter(|r| kept.contains(&r.key()))
        .cloned()
        .collect();
    ctx.say(format!(
        "gate: {} of {} images accepted",
        summary.total.accepted, summary.total.images
    ));
    Ok((accepted, examples, summary))
}

pub(crate) fn gate_summary(records: &[ImageRecord], rejected: &[Rejection]) -> GateSummary {
    let mut s = GateSummary::default();
    let rej: HashMap<(&str, &str), &str> = rejected
        .iter()
        .map(|r| ((r.source.as_str(), r.image_id.as_str()), r.reason.as_str()))
        .collect();
    for r in records {
        let e = s
            .by_source
            .entry(r.source.as_str().to_string())
            .or_default();
        e.images += 1;
        s.total.images += 1;
        match rej.get(&(r.source.as_str(), r.image_id.as_str())) {
            Some(reason) => {
                *e.rejected.entry((*reason).to_string()).or_default() += 1;
                *s.total.rejected.entry((*reason).to_string()).or_default() += 1;
            }
            None => {
                e.accepted += 1;
                s.total.accepted += 1;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::rec;
    use cxr_core::{Label, SourceId};

    #[test]
    fn gate_counts_add_up_per_source() {
        let records = vec![
            rec(SourceId::CovidIdc, "A1", "a1", Label::Covid),
            rec(SourceId::CovidIdc, "A2", "a2", Label::Covid),
            rec(SourceId::Qmenta, "Q1", "q1", Label::Bacterial),
        ];
        let rejected = vec![Rejection {
            source: "covid-idc".into(),
            patient_id: "covid-idc:A2".into(),
            image_id: "a2".into(),
            path: "/x/a2.png".into(),
            reason: "lungs_too_small".into(),
            detail: String::new(),
        }];
        let g = gate_summary(&records, &rejected);
        assert_eq!(g.total.images, 3);
        assert_eq!(g.total.accepted, 2);
        assert_eq!(g.by_source["covid-idc"].rejected["lungs_too_small"], 1);
        assert_eq!(g.by_source["qmenta"].accepted, 1);
        let md = cxr_report::experiment::gate_markdown(&g);
        assert!(
            md.contains("| covid-idc | 2 | 1 (50.0 %) | 0 | 1 | 0 |"),
            "{md}"
        );
    }
}
