//! The quality gate over a cohort: segment every record, keep what the gate accepts,
//! list the rest with their reason, count per source (`qc.json`).

use std::collections::{BTreeSet, HashMap};

use cxr_classifier::data::{Example, Gated, Rejection, gate_records, write_rejections};
use cxr_core::{ImageKey, ImageRecord};
use cxr_lungseg::Segmenter;
use cxr_lungseg::qc::{LungQc, QcOptions};

use crate::Result;
use crate::context::{Context, write_json};

pub use cxr_report::experiment::{GateCounts, GateSummary, NearCut};

pub use cxr_lungseg::qc::NEAR_CUT_BAND;

/// Segments every record with `seg` (masks cached under `masks/`), applies the gate,
/// and returns the accepted records with their examples; rejects go to
/// `qc_rejected.csv`, counts (and the verdicts near the cut, [`NearCut`]) to `qc.json`.
pub fn gate(
    ctx: &Context,
    records: &[ImageRecord],
    seg: &Segmenter,
) -> Result<(Vec<ImageRecord>, Vec<Example>, GateSummary)> {
    let pb = ctx.bar(records.len(), "segmenting");
    let qc = &ctx.config.segmenter.qc;
    let cache = ctx.out.join("masks");
    let Gated {
        examples,
        rejected,
        verdicts,
    } = gate_records(
        records,
        seg,
        &cache,
        &ctx.config.segmenter.post,
        qc,
        Some(&pb),
    );
    pb.finish_and_clear();
    write_rejections(&ctx.out.join("qc_rejected.csv"), &rejected)?;
    let summary = GateSummary {
        near_cut: Some(near_cut(verdicts.iter().flatten(), qc)),
        ..gate_summary(records, &rejected)
    };
    write_json(&ctx.out.join("qc.json"), &summary)?;
    let kept: BTreeSet<ImageKey> = examples.iter().map(Example::key).collect();
    let accepted: Vec<ImageRecord> = records
        .iter()
        .filter(|r| kept.contains(&r.key()))
        .cloned()
        .collect();
    let near = summary.near_cut.map_or(0, |n| n.accepted + n.rejected);
    ctx.say(format!(
        "gate: {} of {} images accepted ({near} within {:.0} percentage point of the cut)",
        summary.total.accepted,
        summary.total.images,
        100.0 * NEAR_CUT_BAND
    ));
    Ok((accepted, examples, summary))
}

/// The verdicts near the cut of the gate `qc` ([`LungQc::near_cut`]) among `verdicts`.
pub(crate) fn near_cut<'a>(
    verdicts: impl IntoIterator<Item = &'a LungQc>,
    qc: &QcOptions,
) -> NearCut {
    let mut n = NearCut {
        band: NEAR_CUT_BAND,
        ..NearCut::default()
    };
    for q in verdicts.into_iter().filter(|q| q.near_cut(qc)) {
        if q.verdict.is_accept() {
            n.accepted += 1;
        } else {
            n.rejected += 1;
        }
    }
    n
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

    #[test]
    fn verdicts_near_the_cut_are_counted() {
        let qc = QcOptions::default();
        let shares = [
            (2, 0.295),
            (2, 0.305),
            (2, 0.35),
            (2, 0.10),
            (1, 0.302),
            (2, 0.309),
        ];
        let verdicts: Vec<LungQc> = shares
            .iter()
            .map(|&(lungs, share)| LungQc::judged(lungs, share, &qc))
            .collect();
        let n = near_cut(&verdicts, &qc);
        // The 2nd and 6th above the cut, the 1st below; the 5th found one lung, the 3rd
        // and 4th are far from it.
        assert_eq!(
            n,
            NearCut {
                band: 0.01,
                accepted: 2,
                rejected: 1
            }
        );
        let g = GateSummary {
            near_cut: Some(n),
            ..GateSummary::default()
        };
        let md = cxr_report::experiment::gate_markdown(&g);
        assert!(
            md.contains(
                "\n3 images (2 accepted, 1 rejected) have lungs within 1 percentage point of \
                 the smallest share: their verdicts can change"
            ),
            "{md}"
        );
        // Nothing near the cut, or a qc.json from before: no sentence.
        assert!(!cxr_report::experiment::gate_markdown(&GateSummary::default()).contains("within"));
        let old: GateSummary = serde_json::from_str(
            r#"{"by_source": {}, "total": {"images": 0, "accepted": 0, "rejected": {}}}"#,
        )
        .unwrap();
        assert_eq!(old.near_cut, None);
    }
}
