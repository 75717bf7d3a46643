//! The quality gate over a cohort: segment every record, keep what the gate accepts,
//! list the rest with their reason, count per source (`qc.json`).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use cxr_classifier::data::{
    Example, Masks, Rejection, cached_paths, examples_for_records, write_rejections,
};
use cxr_core::{ImageKey, ImageRecord};
use cxr_lungseg::Segmenter;

use crate::Result;
use crate::context::{Context, write_json};

pub use cxr_report::experiment::{GateCounts, GateSummary, NearCut};

/// The band either side of the gate's smallest lung share within which a verdict is
/// counted as near the cut ([`NearCut`]): one percentage point. Measured on 552 real
/// radiographs (`docs/lungseg.md`): the same recipe's segmenters trained on two CPUs
/// (AVX-512 and AVX2 kernels) put each image's lungs a median 0.4 points apart (95th
/// percentile 1.7); 10 verdicts differed, 9 and 8 of them within one point of the cut on
/// either machine, where 56 images lay.
pub const NEAR_CUT_BAND: f64 = 0.01;

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
    let cache = ctx.out.join("masks");
    let summary = GateSummary {
        near_cut: Some(near_cut(&cache, records, &ctx.config.segmenter.qc)),
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

/// The verdicts near the cut ([`NEAR_CUT_BAND`]), from the verdicts cached under
/// `cache` beside the masks: images whose lungs were found and cover a share within the
/// band of `qc.min_fraction`. A record without a readable verdict (its image did not
/// read) is not counted.
pub(crate) fn near_cut(
    cache: &Path,
    records: &[ImageRecord],
    qc: &cxr_lungseg::qc::QcOptions,
) -> NearCut {
    let mut n = NearCut {
        band: NEAR_CUT_BAND,
        ..NearCut::default()
    };
    for r in records {
        let Ok(q) = crate::context::read_json::<cxr_lungseg::qc::LungQc>(&cached_paths(cache, r).1)
        else {
            continue;
        };
        let off = f64::from(q.lung_fraction) - f64::from(qc.min_fraction);
        if q.lungs_found < qc.min_lungs || off.abs() > NEAR_CUT_BAND {
            continue;
        }
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
    fn verdicts_near_the_cut_are_counted_from_the_cached_ones() {
        let dir = tempfile::tempdir().unwrap();
        let qc = cxr_lungseg::qc::QcOptions::default();
        let shares = [
            ("a", 2, 0.295),
            ("b", 2, 0.305),
            ("c", 2, 0.35),
            ("d", 2, 0.10),
            ("e", 1, 0.302),
            ("f", 2, 0.309),
        ];
        let mut records = Vec::new();
        for (id, lungs, share) in shares {
            let r = rec(SourceId::Qmenta, id, id, Label::Covid);
            let q = cxr_lungseg::qc::LungQc {
                lungs_found: lungs,
                lung_fraction: share,
                verdict: if lungs < qc.min_lungs {
                    cxr_lungseg::qc::Verdict::Reject(cxr_lungseg::qc::RejectReason::LungsNotFound {
                        found: lungs,
                    })
                } else if share < qc.min_fraction {
                    cxr_lungseg::qc::Verdict::Reject(cxr_lungseg::qc::RejectReason::LungsTooSmall {
                        fraction: share,
                        min: qc.min_fraction,
                    })
                } else {
                    cxr_lungseg::qc::Verdict::Accept
                },
            };
            let path = cached_paths(dir.path(), &r).1;
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            write_json(&path, &q).unwrap();
            records.push(r);
        }
        // And one whose image did not read: no verdict cached.
        records.push(rec(SourceId::Qmenta, "g", "g", Label::Covid));
        let n = near_cut(dir.path(), &records, &qc);
        // b and f above the cut, a below; e found one lung, c and d are far from it.
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
