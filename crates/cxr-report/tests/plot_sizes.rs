//! Plot sizes out of bounds are refused with `Error::Plot`, never a panic or a wrong
//! buffer; sizes at the bounds render.

use cxr_core::{Label, StudyDate};
use cxr_eval::aggregate::ImagePrediction;
use cxr_eval::evaluate::{EvaluateOptions, Evaluation, evaluate};
use cxr_report::Error;
use cxr_report::plot::{
    Bar, MAX_PIXELS, MAX_SIDE, MIN_SIDE, MIN_TILE, RGBColor, Series, Tile, bars_png, confusion_png,
    image_grid_png, lines_png, roc_png,
};
use cxr_stats::BootstrapOptions;

/// 30 patients, 10 per class, each with one image whose probabilities favour its class.
fn evaluation() -> Evaluation {
    let images: Vec<ImagePrediction> = (0..30)
        .map(|i| {
            let label = Label::ALL[i % 3];
            let mut probs = [0.2, 0.2, 0.2];
            probs[label.index()] = 0.6;
            // one miss per class, so no curve is degenerate
            if i < 3 {
                probs = [0.2, 0.2, 0.2];
                probs[(label.index() + 1) % 3] = 0.6;
            }
            ImagePrediction {
                patient_id: format!("p{i}"),
                study_date: StudyDate::from_ymd(2020, 3, 1),
                image_id: format!("i{i}"),
                label,
                probs,
            }
        })
        .collect();
    let options = EvaluateOptions {
        bootstrap: BootstrapOptions {
            rounds: 20,
            ..BootstrapOptions::default()
        },
        ..EvaluateOptions::default()
    };
    evaluate(&images, &options).unwrap()
}

fn series() -> Vec<Series> {
    vec![Series {
        name: "s".into(),
        color: RGBColor(31, 90, 200),
        points: vec![(0.0, 1.0), (1.0, 2.0)],
    }]
}

fn bars() -> Vec<Bar> {
    vec![Bar {
        name: "a rather long category name".into(),
        value: 3.0,
        interval: Some([2.0, 4.0]),
        color: RGBColor(210, 40, 40),
    }]
}

/// Every chart function at `size`.
fn charts(eval: &Evaluation, size: (u32, u32)) -> Vec<(&'static str, Result<Vec<u8>, Error>)> {
    vec![
        ("roc", roc_png(eval, size)),
        ("confusion", confusion_png(eval, size)),
        ("lines", lines_png("t", "x", "y", &series(), size)),
        (
            "bars",
            bars_png("t", "x", &bars(), Some(("all", 2.5)), size),
        ),
    ]
}

/// The plot error, with the text of its source.
fn plot_error(r: Result<Vec<u8>, Error>) -> (&'static str, String) {
    match r {
        Err(Error::Plot { what, source }) => (what, source.to_string()),
        Err(e) => panic!("expected a plot error, got {e:?}"),
        Ok(png) => panic!("expected a plot error, got {} PNG bytes", png.len()),
    }
}

#[test]
fn charts_refuse_sizes_out_of_bounds() {
    let eval = evaluation();
    // (100, 400) made bars_png call clamp(60, 50) and panic; (40_000, 40_000) overflowed
    // the u32 buffer length of every chart.
    for (size, problem) in [
        ((100, 400), "at least 250 pixels"),
        ((400, 0), "at least 250 pixels"),
        ((0, 0), "at least 250 pixels"),
        ((MIN_SIDE - 1, MIN_SIDE), "at least 250 pixels"),
        ((40_000, 40_000), "at most 16384 pixels"),
        ((MAX_SIDE + 1, 300), "at most 16384 pixels"),
        ((MAX_SIDE, MAX_SIDE), "67108864 pixels in all"),
    ] {
        for (name, r) in charts(&eval, size) {
            let (_, source) = plot_error(r);
            let want = format!("size {}x{}: ", size.0, size.1);
            assert!(
                source.starts_with(&want) && source.contains(problem),
                "{name} {size:?}: {source}"
            );
        }
    }
    let (what, _) = plot_error(roc_png(&eval, (10, 10)));
    assert_eq!(what, "ROC plot");
    let (what, _) = plot_error(bars_png("t", "x", &bars(), None, (100, 400)));
    assert_eq!(what, "bar chart");
}

#[test]
fn charts_render_at_the_bounds() {
    let eval = evaluation();
    // The smallest and the tallest allowed sizes render, with the size asked for.
    let tall = (MIN_SIDE, MAX_SIDE);
    assert!(u64::from(tall.0) * u64::from(tall.1) <= MAX_PIXELS);
    for size in [(MIN_SIDE, MIN_SIDE), tall] {
        for (name, r) in charts(&eval, size) {
            let png = r.unwrap_or_else(|e| panic!("{name} {size:?}: {e:?}"));
            let img = image::load_from_memory(&png).unwrap();
            assert_eq!((img.width(), img.height()), size, "{name}");
        }
    }
}

#[test]
fn image_grid_refuses_bad_tiles_and_oversized_grids() {
    let tile = Tile {
        image: image::RgbImage::from_pixel(20, 10, image::Rgb([255, 0, 0])),
        caption: "red".into(),
    };
    // tile 0 made the fitting call clamp(1, 0) and panic.
    for t in [0, MIN_TILE - 1] {
        let (what, source) = plot_error(image_grid_png("t", std::slice::from_ref(&tile), 1, t));
        assert_eq!(what, "image grid");
        assert_eq!(
            source,
            format!("tile {t}x{t}: each side must be at least 8 pixels")
        );
    }
    let (_, source) = plot_error(image_grid_png(
        "t",
        std::slice::from_ref(&tile),
        1,
        u32::MAX,
    ));
    assert!(source.contains("at most 16384 pixels"), "{source}");
    // 200 columns of 100-pixel tiles: 10 + 200 × 110 = 22010 pixels wide.
    let many = vec![tile.clone(); 200];
    let (_, source) = plot_error(image_grid_png("t", &many, 200, 100));
    assert_eq!(
        source,
        "grid 22010x190: each side must be at most 16384 pixels"
    );
    // 10 × 10 tiles of 1000 pixels: each side fits, the area does not.
    let (_, source) = plot_error(image_grid_png("t", &vec![tile.clone(); 100], 10, 1000));
    assert_eq!(source, "grid 10110x10360: at most 67108864 pixels in all");
    // The smallest tile renders: 10 + 8 + 10 wide, 50 + 38 + 10 high.
    let png = image_grid_png("t", &[tile], 1, MIN_TILE).unwrap();
    let img = image::load_from_memory(&png).unwrap();
    assert_eq!((img.width(), img.height()), (28, 98));
}
