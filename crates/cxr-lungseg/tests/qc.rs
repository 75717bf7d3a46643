//! The quality gate on hand-made masks and on cxr-synth phantoms.

use cxr_core::{Label, LungMask, SourceId};
use cxr_lungseg::postprocess::{PostprocessOptions, postprocess_gray, postprocess_mask};
use cxr_lungseg::qc::{LungQc, QcOptions, RejectReason, Verdict, assess};
use cxr_synth::{CaseSpec, Defect, SynthConfig, render};

fn gate(mask: &LungMask, qc: &QcOptions) -> LungQc {
    let seg = postprocess_mask(
        mask,
        &PostprocessOptions {
            smoothing_radius: 0,
            ..Default::default()
        },
    )
    .unwrap();
    assess(&seg, qc)
}

fn two_rects(half_width: u32, height: u32) -> LungMask {
    // 100×100 image, lungs centred at x = 25 and x = 75.
    LungMask::from_fn(100, 100, move |x, y| {
        let in_y = (50 - height / 2..50 + height / 2).contains(&y);
        in_y && ((25 - half_width..25 + half_width).contains(&x)
            || (75 - half_width..75 + half_width).contains(&x))
    })
}

#[test]
fn hand_made_masks() {
    let paper = QcOptions::default();
    // 2 × 20×80 = 3200 px = 32 %: accepted.
    let qc = gate(&two_rects(10, 80), &paper);
    assert_eq!(qc.lungs_found, 2);
    assert!((qc.lung_fraction - 0.32).abs() < 1e-6);
    assert_eq!(qc.verdict, Verdict::Accept);

    // 2 × 20×70 = 2800 px = 28 %: too small.
    let qc = gate(&two_rects(10, 70), &paper);
    assert_eq!(
        qc.verdict,
        Verdict::Reject(RejectReason::LungsTooSmall {
            fraction: 0.28,
            min: 0.30
        })
    );
    // Exactly 30 % is enough ("at least 30 %"): 2 × 20×75 = 3000 px.
    let exact = LungMask::from_fn(100, 100, |x, y| {
        (10..85).contains(&y) && ((15..35).contains(&x) || (65..85).contains(&x))
    });
    let qc = gate(&exact, &paper);
    assert_eq!(qc.lung_fraction, 0.30);
    assert!(qc.verdict.is_accept());

    // One lung, however large: not found.
    let one = LungMask::from_fn(100, 100, |x, _| x < 45);
    let qc = gate(&one, &paper);
    assert_eq!(qc.lungs_found, 1);
    assert!((qc.lung_fraction - 0.45).abs() < 1e-6);
    assert_eq!(
        qc.verdict,
        Verdict::Reject(RejectReason::LungsNotFound { found: 1 })
    );
    assert_eq!(qc.verdict.code(), "lungs_not_found");

    // Nothing at all.
    let qc = gate(&LungMask::empty(100, 100), &paper);
    assert_eq!((qc.lungs_found, qc.lung_fraction), (0, 0.0));
    assert_eq!(
        qc.verdict,
        Verdict::Reject(RejectReason::LungsNotFound { found: 0 })
    );

    // Thresholds are settings.
    let lax = QcOptions {
        min_lungs: 1,
        min_fraction: 0.25,
    };
    assert!(gate(&one, &lax).verdict.is_accept());
    assert!(gate(&two_rects(10, 70), &lax).verdict.is_accept());
}

fn phantom_qc(seed: u64, defect: Option<Defect>) -> LungQc {
    let labels = [Label::Healthy, Label::Covid, Label::Bacterial];
    let sources = [SourceId::Coviddsl, SourceId::Padchest, SourceId::NlmTb];
    let case = CaseSpec {
        defect,
        ..CaseSpec::single(seed, labels[seed as usize % 3], sources[seed as usize % 3])
    };
    let p = render(&case, &SynthConfig::with_size(96));
    // The ground-truth mask as an 8-bit probability map (0 / 255), through the same path
    // as a network's output.
    let seg = postprocess_gray(p.lungs().as_image(), &PostprocessOptions::default()).unwrap();
    assess(&seg, &QcOptions::default())
}

#[test]
fn good_phantoms_are_accepted() {
    let seeds = 0..40u64;
    let rejected: Vec<(u64, LungQc)> = seeds
        .clone()
        .map(|s| (s, phantom_qc(s, None)))
        .filter(|(_, qc)| !qc.verdict.is_accept())
        .collect();
    // ≥ 98 % of 40 means no rejection at all.
    assert!(rejected.is_empty(), "good phantoms rejected: {rejected:?}");
}

#[test]
fn every_defect_is_rejected_with_its_reason() {
    for defect in Defect::ALL {
        for seed in 100..112u64 {
            let qc = phantom_qc(seed, Some(defect));
            let Verdict::Reject(reason) = qc.verdict else {
                panic!("{defect:?} seed {seed} accepted: {qc:?}");
            };
            let ok = match defect {
                Defect::OneLungCut => true, // either reason
                Defect::Lateral => matches!(reason, RejectReason::LungsNotFound { .. }),
                Defect::TinyLungs | Defect::UnderExposed => {
                    matches!(reason, RejectReason::LungsTooSmall { .. })
                }
            };
            assert!(ok, "{defect:?} seed {seed}: unexpected reason {reason}");
        }
    }
}
