//! Our Inception v3 against torchvision's `inception_v3` (eval mode, 3-channel layout,
//! 1,000 classes): same pseudo-random weights, same inputs, logits within 1e-4 relative
//! error. The reference logits come from `scripts/reference/inception_parity.py`
//! (torch 2.11.0, torchvision 0.26.0), committed as `tests/fixtures/inception_parity.json`.

mod common;

use cxr_classifier::{ClassifierConfig, InceptionV3};
use serde::Deserialize;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind};

#[derive(Deserialize)]
struct Case {
    name: String,
    batch: i64,
    size: i64,
    logits: Vec<Vec<f64>>,
    input_sum: f64,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
    checksums: std::collections::BTreeMap<String, f64>,
    param_names: Vec<(String, Vec<i64>)>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/inception_parity.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn model() -> (nn::VarStore, InceptionV3) {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = InceptionV3::new(&vs.root(), &ClassifierConfig::torchvision_imagenet()).unwrap();
    common::fill_hashed(&vs);
    (vs, net)
}

#[test]
fn names_and_shapes_match_torchvision() {
    let fx = fixture();
    let (vs, _) = model();
    let ours = vs.variables();
    assert_eq!(ours.len(), fx.param_names.len(), "tensor count");
    for (name, shape) in &fx.param_names {
        let t = ours
            .get(name)
            .unwrap_or_else(|| panic!("torchvision's `{name}` is not in our model"));
        assert_eq!(&t.size(), shape, "{name}");
    }
}

#[test]
fn weight_generator_matches_numpy() {
    let fx = fixture();
    let (vs, _) = model();
    let vars = vs.variables();
    assert_eq!(fx.checksums.len(), 5);
    for (name, want) in &fx.checksums {
        let got = vars[name]
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[]);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{name}: {got} vs {want}"
        );
    }
}

#[test]
fn logits_match_torchvision() {
    let fx = fixture();
    let (_vs, net) = model();
    assert_eq!(fx.cases.len(), 2);
    for case in &fx.cases {
        let x = common::hashed(
            &format!("input/{}", case.name),
            &[case.batch, 3, case.size, case.size],
        );
        let sum = x.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
        assert!((sum - case.input_sum).abs() < 1e-6, "{}: input", case.name);
        let y = tch::no_grad(|| net.forward_t(&x, false));
        assert_eq!(y.size(), [case.batch, 1000]);
        let ours: Vec<f32> = Vec::try_from(&y.flatten(0, -1)).unwrap();
        let want: Vec<f64> = case.logits.iter().flatten().copied().collect();
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = ours
            .iter()
            .zip(&want)
            .fold(0.0f64, |m, (a, b)| m.max((f64::from(*a) - b).abs()));
        assert!(
            scale > 1e-3,
            "{}: reference logits are degenerate",
            case.name
        );
        assert!(
            err / scale <= 1e-4,
            "{}: max |Δ| {err} over max |logit| {scale}",
            case.name
        );
        // The samples of a batch share most of their logits (batch-norm offsets dominate
        // random weights); their difference must match too, so batch mixing cannot hide.
        if case.batch > 1 {
            let k = want.len() / 2;
            let d_want: Vec<f64> = (0..k).map(|i| want[i] - want[k + i]).collect();
            let d_ours: Vec<f64> = (0..k)
                .map(|i| f64::from(ours[i]) - f64::from(ours[k + i]))
                .collect();
            let dscale = d_want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let derr = d_ours
                .iter()
                .zip(&d_want)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
            assert!(dscale > 1e-3, "{}: samples are identical", case.name);
            assert!(
                derr / dscale <= 1e-2,
                "{}: row difference off by {derr} of {dscale}",
                case.name
            );
        }
    }
}
