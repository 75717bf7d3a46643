//! PNG plots of an evaluation, drawn with plotters into memory: the one-vs-rest ROC
//! curves with their operating points (the paper's Figure 3b: blue = covid-19,
//! red = bacterial pneumonia; healthy in grey) and the confusion matrix (Figure 3a).

use cxr_core::Label;
use cxr_eval::evaluate::Evaluation;
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

/// Colours of plot series (plotters' type, re-exported for callers of [`lines_png`]).
pub use plotters::style::RGBColor;

use crate::error::{Error, Result};
use crate::font::{FAMILY, ensure_registered};

/// Default size of both plots, in pixels.
pub const SIZE: (u32, u32) = (800, 700);

/// The smallest side of a chart ([`roc_png`], [`confusion_png`], [`lines_png`],
/// [`bars_png`]), in pixels: room for the caption, the label areas and a plotting area.
pub const MIN_SIDE: u32 = 250;

/// The smallest tile of an [`image_grid_png`], in pixels.
pub const MIN_TILE: u32 = 8;

/// The largest side of any plot, in pixels.
pub const MAX_SIDE: u32 = 16_384;

/// The most pixels of any plot (8192², a 192 MiB RGB canvas).
pub const MAX_PIXELS: u64 = 1 << 26;

/// Checks a plot's `size` (or a grid's computed canvas, hence `u64`): each side in
/// `min..=MAX_SIDE`, at most [`MAX_PIXELS`] in all. `name` says which size it is.
///
/// # Errors
/// [`Error::Plot`] naming the size and the limit it breaks.
fn check_size(what: &'static str, name: &str, (w, h): (u64, u64), min: u32) -> Result<(u32, u32)> {
    let problem = if w < u64::from(min) || h < u64::from(min) {
        format!("each side must be at least {min} pixels")
    } else if w > u64::from(MAX_SIDE) || h > u64::from(MAX_SIDE) {
        format!("each side must be at most {MAX_SIDE} pixels")
    } else if w * h > MAX_PIXELS {
        format!("at most {MAX_PIXELS} pixels in all")
    } else {
        return Ok((w as u32, h as u32));
    };
    Err(Error::Plot {
        what,
        source: format!("{name} {w}x{h}: {problem}").into(),
    })
}

/// [`check_size`] for the `size` argument of a chart, with the [`MIN_SIDE`] minimum.
fn check_chart_size(what: &'static str, (w, h): (u32, u32)) -> Result<()> {
    check_size(what, "size", (w.into(), h.into()), MIN_SIDE).map(|_| ())
}

/// The colour of a class in every plot.
pub fn class_color(label: Label) -> RGBColor {
    match label {
        Label::Healthy => RGBColor(110, 110, 110),
        Label::Covid => RGBColor(31, 90, 200),
        Label::Bacterial => RGBColor(210, 40, 40),
    }
}

/// A display name for a class.
pub fn class_name(label: Label) -> &'static str {
    match label {
        Label::Healthy => "Healthy",
        Label::Covid => "Covid-19",
        Label::Bacterial => "Bacterial pneumonia",
    }
}

fn plot_err<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl FnOnce(E) -> Error {
    move |e| Error::Plot {
        what,
        source: Box::new(e),
    }
}

/// Draws into a white RGB canvas of `size` with `draw` and returns it as PNG bytes.
/// `size` has passed [`check_size`], so the buffer length cannot overflow.
fn render(
    size: (u32, u32),
    what: &'static str,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    render_on(
        vec![255u8; size.0 as usize * size.1 as usize * 3],
        size,
        what,
        draw,
    )
}

/// Like [`render`], on a canvas that already holds pixels (RGB, row-major).
fn render_on(
    mut buf: Vec<u8>,
    size: (u32, u32),
    what: &'static str,
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    ensure_registered()?;
    {
        let root = BitMapBackend::with_buffer(&mut buf, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(plot_err(what))?;
    }
    encode(&buf, size, what)
}

/// The legend sample of a line series: a 20-pixel stroke in its colour.
fn legend_line(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// The legend box every plot uses, at `position`.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    what: &'static str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(position)
        .draw()
        .map_err(plot_err(what))
}

fn encode(buf: &[u8], (w, h): (u32, u32), what: &'static str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(buf, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|source| Error::Encode { what, source })?;
    Ok(out)
}

/// The ROC plot as PNG bytes.
///
/// # Errors
/// [`Error::Plot`], also when a side of `size` is below [`MIN_SIDE`] or above
/// [`MAX_SIDE`] or the area above [`MAX_PIXELS`]; [`Error::Encode`], [`Error::Font`].
pub fn roc_png(eval: &Evaluation, size: (u32, u32)) -> Result<Vec<u8>> {
    const WHAT: &str = "ROC plot";
    check_chart_size(WHAT, size)?;
    render(size, WHAT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("One-vs-rest ROC (N = {} units)", eval.n_units),
                (FAMILY, 24),
            )
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..1f64, 0f64..1.0001f64)
            .map_err(plot_err(WHAT))?;
        chart
            .configure_mesh()
            .x_desc("False positive rate")
            .y_desc("Detection rate")
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .draw()
            .map_err(plot_err(WHAT))?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                RGBColor(200, 200, 200).stroke_width(1),
            ))
            .map_err(plot_err(WHAT))?;
        // Diseases first in the legend, as in the paper.
        for label in [Label::Covid, Label::Bacterial, Label::Healthy] {
            let Some(m) = eval.per_class.get(label) else {
                continue;
            };
            let Some(curve) = &m.roc else { continue };
            let color = class_color(label);
            let points: Vec<(f64, f64)> = (0..curve.len())
                .map(|i| (curve.fpr(i), curve.tpr(i)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(plot_err(WHAT))?
                .label(format!("{} (AUC {:.3})", class_name(label), m.auc))
                .legend(legend_line(color));
            chart
                .draw_series(std::iter::once(Circle::new(
                    (m.fpr, m.detection_rate),
                    6,
                    color.filled(),
                )))
                .map_err(plot_err(WHAT))?;
        }
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight, WHAT)?;
        Ok(())
    })
}

/// The confusion-matrix plot as PNG bytes: counts and row percentages, shaded by the row
/// fraction.
///
/// # Errors
/// [`Error::Plot`], also for a `size` out of bounds as in [`roc_png`]; [`Error::Encode`],
/// [`Error::Font`].
pub fn confusion_png(eval: &Evaluation, size: (u32, u32)) -> Result<Vec<u8>> {
    const WHAT: &str = "confusion matrix plot";
    check_chart_size(WHAT, size)?;
    let counts = &eval.confusion_matrix.counts;
    let k = counts.len().max(1) as i32;
    let (w, h) = (size.0 as i32, size.1 as i32);
    let (left, top, right, bottom) = (170, 90, 30, 110);
    let cw = (w - left - right) / k;
    let ch = (h - top - bottom) / k;
    render(size, WHAT, |root| {
        let title = format!(
            "Confusion matrix (N = {}), accuracy {:.1} %",
            eval.n_units,
            100.0 * eval.global_accuracy
        );
        let center = |style: TextStyle<'static>| {
            style.pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ))
        };
        root.draw(&Text::new(
            title,
            (w / 2, 35),
            center((FAMILY, 24).into_text_style(root)),
        ))
        .map_err(plot_err(WHAT))?;
        for (t, row) in counts.iter().enumerate() {
            let total: u64 = row.iter().sum();
            let name = Label::from_index(t).map_or("?", class_name);
            root.draw(&Text::new(
                name.to_owned(),
                (left - 10 - 75, top + ch * t as i32 + ch / 2),
                center((FAMILY, 16).into_text_style(root)),
            ))
            .map_err(plot_err(WHAT))?;
            for (p, &n) in row.iter().enumerate() {
                let f = if total == 0 {
                    0.0
                } else {
                    n as f64 / total as f64
                };
                let shade = |full: u8| (255.0 - f * (255.0 - f64::from(full))) as u8;
                let color = RGBColor(shade(20), shade(70), shade(160));
                let (x0, y0) = (left + cw * p as i32, top + ch * t as i32);
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw, y0 + ch)],
                    color.filled(),
                ))
                .map_err(plot_err(WHAT))?;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cw, y0 + ch)],
                    BLACK.stroke_width(1),
                ))
                .map_err(plot_err(WHAT))?;
                let text_color = if f > 0.5 { WHITE } else { BLACK };
                let style = center((FAMILY, 20).into_text_style(root)).color(&text_color);
                root.draw(&Text::new(
                    n.to_string(),
                    (x0 + cw / 2, y0 + ch / 2 - 12),
                    style.clone(),
                ))
                .map_err(plot_err(WHAT))?;
                let small = center((FAMILY, 15).into_text_style(root)).color(&text_color);
                root.draw(&Text::new(
                    format!("{:.1} %", 100.0 * f),
                    (x0 + cw / 2, y0 + ch / 2 + 14),
                    small,
                ))
                .map_err(plot_err(WHAT))?;
            }
        }
        for p in 0..k {
            let name = Label::from_index(p as usize).map_or("?", class_name);
            root.draw(&Text::new(
                name.to_owned(),
                (left + cw * p + cw / 2, top + ch * k + 20),
                center((FAMILY, 16).into_text_style(root)),
            ))
            .map_err(plot_err(WHAT))?;
        }
        root.draw(&Text::new(
            "Predicted class",
            (left + cw * k / 2, top + ch * k + 55),
            center((FAMILY, 18).into_text_style(root)),
        ))
        .map_err(plot_err(WHAT))?;
        root.draw(&Text::new(
            "True class (rows)",
            (left - 85, top - 25),
            center((FAMILY, 18).into_text_style(root)),
        ))
        .map_err(plot_err(WHAT))?;
        Ok(())
    })
}

/// One line of a [`lines_png`] chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Colour.
    pub color: RGBColor,
    /// Points, in x order.
    pub points: Vec<(f64, f64)>,
}

/// One epoch of a classifier's training, as [`training_curves_png`] draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingEpoch {
    /// Epoch number.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_accuracy: f64,
    /// Validation covid-19 AUC, when both sides had cases.
    pub val_auc_covid: Option<f64>,
}

/// Training curves (losses, validation accuracy and covid AUC per epoch), 900×600 PNG.
///
/// # Errors
/// As [`lines_png`].
pub fn training_curves_png(epochs: &[TrainingEpoch]) -> Result<Vec<u8>> {
    let pts = |f: &dyn Fn(&TrainingEpoch) -> Option<f64>| -> Vec<(f64, f64)> {
        epochs
            .iter()
            .filter_map(|e| f(e).map(|v| (e.epoch as f64, v)))
            .collect()
    };
    let series = [
        Series {
            name: "training loss".into(),
            color: RGBColor(31, 90, 200),
            points: pts(&|e| Some(e.train_loss)),
        },
        Series {
            name: "validation loss".into(),
            color: RGBColor(210, 40, 40),
            points: pts(&|e| Some(e.val_loss)),
        },
        Series {
            name: "validation accuracy".into(),
            color: RGBColor(30, 150, 60),
            points: pts(&|e| Some(e.val_accuracy)),
        },
        Series {
            name: "validation covid AUC".into(),
            color: RGBColor(120, 120, 120),
            points: pts(&|e| e.val_auc_covid),
        },
    ];
    lines_png("Training curves", "epoch", "", &series, (900, 600))
}

/// The classes that have a calibration, diseases first (the order of every figure and
/// table of a report), with it.
pub(crate) fn calibrations(
    eval: &Evaluation,
) -> impl Iterator<Item = (Label, &cxr_eval::ClassCalibration)> {
    [Label::Covid, Label::Bacterial, Label::Healthy]
        .into_iter()
        .filter_map(|label| {
            let c = eval.per_class.get(label).as_ref()?.calibration.as_ref()?;
            Some((label, c))
        })
}

/// `c` halfway to white: the second curve of a pair in the same hue.
pub(crate) fn lighter(c: RGBColor) -> RGBColor {
    let f = |v: u8| v + (255 - v) / 2;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// The reliability diagram of every class (observed frequency against mean predicted
/// probability in the equal-width bins of [`cxr_eval::ClassCalibration`]), with the
/// diagonal of perfect calibration, 900×600 PNG.
///
/// # Errors
/// As [`lines_png`].
pub fn reliability_png(eval: &Evaluation) -> Result<Vec<u8>> {
    let mut series = vec![Series {
        name: "perfect calibration".into(),
        color: RGBColor(190, 190, 190),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    }];
    for (label, c) in calibrations(eval) {
        series.push(Series {
            name: format!("{} (ECE {:.3})", class_name(label), c.reliability.ece),
            color: class_color(label),
            points: c
                .reliability
                .bins
                .iter()
                .filter_map(|b| Some((b.mean_predicted?, b.observed_frequency?)))
                .collect(),
        });
    }
    lines_png_with_legend(
        "Reliability diagram (one-vs-rest, units)",
        "mean predicted probability",
        "observed frequency",
        &series,
        (900, 600),
        Legend::LowerRight,
    )
}

/// Lowest net benefit drawn in [`decision_curve_png`]: "treat all" falls without bound as
/// the threshold rises, and would flatten every other curve.
pub const DECISION_CURVE_FLOOR: f64 = -0.05;

/// Decision curves of every class: the model's net benefit, treating everyone (lighter,
/// drawn down to [`DECISION_CURVE_FLOOR`]) and treating no one (0), against the
/// threshold probability in percent, 900×600 PNG.
///
/// # Errors
/// As [`lines_png`].
pub fn decision_curve_png(eval: &Evaluation) -> Result<Vec<u8>> {
    let mut series = vec![Series {
        name: "treat none".into(),
        color: RGBColor(0, 0, 0),
        points: vec![(1.0, 0.0), (99.0, 0.0)],
    }];
    for (label, c) in calibrations(eval) {
        let color = class_color(label);
        let light = lighter(color);
        let points = |f: &dyn Fn(&cxr_stats::calibration::NetBenefitPoint) -> f64| {
            c.decision_curve
                .iter()
                .map(|p| (100.0 * p.threshold, f(p)))
                .filter(|&(_, v)| v >= DECISION_CURVE_FLOOR)
                .collect()
        };
        series.push(Series {
            name: format!("{}: model", class_name(label)),
            color,
            points: points(&|p| p.model),
        });
        series.push(Series {
            name: format!("{}: treat all", class_name(label)),
            color: light,
            points: points(&|p| p.treat_all),
        });
    }
    lines_png(
        "Decision curves (net benefit, one-vs-rest, units)",
        "threshold probability (%)",
        "net benefit",
        &series,
        (900, 600),
    )
}

/// Where a chart's legend box goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Legend {
    /// Top right (curves that rise to the right end low there, e.g. losses).
    #[default]
    UpperRight,
    /// Bottom right (ROC curves, which leave that corner empty).
    LowerRight,
}

/// A line chart as PNG bytes (training curves, metric-versus-size curves), legend at the
/// top right. Axes span the data; points are marked so that single-point series show.
///
/// # Errors
/// [`Error::Plot`], also for a `size` out of bounds as in [`roc_png`]; [`Error::Encode`],
/// [`Error::Font`].
pub fn lines_png(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    size: (u32, u32),
) -> Result<Vec<u8>> {
    lines_png_with_legend(title, x_desc, y_desc, series, size, Legend::UpperRight)
}

/// [`lines_png`] with the legend where `legend` says.
///
/// # Errors
/// As [`lines_png`].
pub fn lines_png_with_legend(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    size: (u32, u32),
    legend: Legend,
) -> Result<Vec<u8>> {
    const WHAT: &str = "line chart";
    check_chart_size(WHAT, size)?;
    let pts = || series.iter().flat_map(|s| s.points.iter().copied());
    let span = |v: Vec<f64>| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            (0.0, 1.0)
        } else if hi - lo < 1e-9 {
            (lo - 0.5, hi + 0.5)
        } else {
            let pad = 0.05 * (hi - lo);
            (lo - pad, hi + pad)
        }
    };
    let (x0, x1) = span(pts().map(|p| p.0).filter(|v| v.is_finite()).collect());
    let (y0, y1) = span(pts().map(|p| p.1).filter(|v| v.is_finite()).collect());
    render(size, WHAT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_err(WHAT))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .draw()
            .map_err(plot_err(WHAT))?;
        for s in series {
            let color = s.color;
            let finite: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            chart
                .draw_series(LineSeries::new(finite.clone(), color.stroke_width(2)))
                .map_err(plot_err(WHAT))?
                .label(s.name.clone())
                .legend(legend_line(color));
            chart
                .draw_series(
                    finite
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(plot_err(WHAT))?;
        }
        let position = match legend {
            Legend::UpperRight => SeriesLabelPosition::UpperRight,
            Legend::LowerRight => SeriesLabelPosition::LowerRight,
        };
        draw_legend(&mut chart, position, WHAT)?;
        Ok(())
    })
}

/// One picture of an [`image_grid_png`], with the caption printed under it.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The picture (scaled to fit the tile, aspect ratio kept).
    pub image: image::RgbImage,
    /// One line of text.
    pub caption: String,
}

/// Pictures in a grid of `columns`, each fitted into a `tile` × `tile` square with its
/// caption below, under a title: the paper's Figures 1 and 2 (image examples from every
/// source, automatic lung segmentations).
///
/// # Errors
/// [`Error::Plot`], also when `tile` is below [`MIN_TILE`] or above [`MAX_SIDE`], or the
/// whole grid would have a side above [`MAX_SIDE`] or more than [`MAX_PIXELS`] pixels;
/// [`Error::Encode`], [`Error::Font`].
pub fn image_grid_png(title: &str, tiles: &[Tile], columns: usize, tile: u32) -> Result<Vec<u8>> {
    const WHAT: &str = "image grid";
    const TITLE: u32 = 50;
    const CAPTION: u32 = 30;
    const GAP: u32 = 10;
    check_size(WHAT, "tile", (tile.into(), tile.into()), MIN_TILE)?;
    let columns = columns.clamp(1, tiles.len().max(1));
    let rows = tiles.len().div_ceil(columns).max(1);
    let cell = (tile + GAP, tile + CAPTION);
    // In u64 (saturating for absurd tile counts) so that the check sees the true size;
    // once it passes, every coordinate below fits in u32.
    let canvas = |n: usize, cell: u32, before: u32| {
        (n as u64)
            .saturating_mul(cell.into())
            .saturating_add(before.into())
    };
    let size = check_size(
        WHAT,
        "grid",
        (
            canvas(columns, cell.0, GAP),
            canvas(rows, cell.1, TITLE + GAP),
        ),
        0,
    )?;
    let mut canvas = image::RgbImage::from_pixel(size.0, size.1, image::Rgb([255, 255, 255]));
    let origin = |i: usize| {
        (
            GAP + cell.0 * (i % columns) as u32,
            TITLE + cell.1 * (i / columns) as u32,
        )
    };
    for (i, t) in tiles.iter().enumerate() {
        let (w, h) = t.image.dimensions();
        let scale = f64::from(tile) / f64::from(w.max(h).max(1));
        let (sw, sh) = (
            ((f64::from(w) * scale).round() as u32).clamp(1, tile),
            ((f64::from(h) * scale).round() as u32).clamp(1, tile),
        );
        let small =
            image::imageops::resize(&t.image, sw, sh, image::imageops::FilterType::Triangle);
        let (x, y) = origin(i);
        image::imageops::overlay(
            &mut canvas,
            &small,
            i64::from(x + (tile - sw) / 2),
            i64::from(y + (tile - sh) / 2),
        );
    }
    render_on(canvas.into_raw(), size, WHAT, |root| {
        let centered = |px: u32| {
            (FAMILY, px)
                .into_text_style(root)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ))
        };
        root.draw(&Text::new(
            title.to_owned(),
            (size.0 as i32 / 2, TITLE as i32 / 2),
            centered(22),
        ))
        .map_err(plot_err(WHAT))?;
        for (i, t) in tiles.iter().enumerate() {
            let (x, y) = origin(i);
            // As long as it fits beside its neighbours, measured in the font drawn.
            let fits = |s: &str| {
                root.estimate_text_size(s, &centered(14))
                    .is_ok_and(|(w, _)| w + 4 <= tile + GAP)
            };
            let mut max = t.caption.chars().count();
            let mut caption = t.caption.clone();
            while max > 3 && !fits(&caption) {
                max -= 1;
                caption = fit_caption(&t.caption, max);
            }
            root.draw(&Text::new(
                caption,
                ((x + tile / 2) as i32, (y + tile + CAPTION / 2) as i32),
                centered(14),
            ))
            .map_err(plot_err(WHAT))?;
        }
        Ok(())
    })
}

/// A caption of at most `max` characters, so that neighbours do not overwrite each other
/// (the grid shortens a caption until it measures no wider than its tile): a longer one
/// keeps its start and its end, with `…` between (`0.456 ieee802…34.pdf-003.png`).
fn fit_caption(caption: &str, max: usize) -> String {
    let chars: Vec<char> = caption.chars().collect();
    if chars.len() <= max || max < 3 {
        return caption.to_owned();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod grid_tests {
    use super::*;

    #[test]
    fn long_captions_keep_their_start_and_end() {
        assert_eq!(fit_caption("short", 28), "short");
        let long = "0.456 ieee8023_185__ajr.20.23034.pdf-003.png";
        let fit = fit_caption(long, 28);
        assert_eq!(fit, "0.456 ieee802…34.pdf-003.png");
        assert_eq!(fit.chars().count(), 28);
    }

    #[test]
    fn tiles_keep_their_place_and_aspect() {
        let red = Tile {
            image: image::RgbImage::from_pixel(100, 50, image::Rgb([255, 0, 0])),
            caption: "red".into(),
        };
        let blue = Tile {
            image: image::RgbImage::from_pixel(40, 80, image::Rgb([0, 0, 255])),
            caption: "blue".into(),
        };
        let png = image_grid_png("two tiles", &[red, blue], 2, 100).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        // 10 + 2 × 110 wide; 50 title + 130 row + 10 high.
        assert_eq!(img.dimensions(), (230, 190));
        // Red fills 100 × 50 centred in the first square (x 10..110, y 75..125).
        assert_eq!(img.get_pixel(60, 100).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(60, 70).0, [255, 255, 255]);
        // Blue is 50 × 100 centred in the second square (x 145..195, y 50..150).
        assert_eq!(img.get_pixel(170, 100).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(135, 100).0, [255, 255, 255]);
        // Captions and the title put dark pixels in their bands.
        let dark = |x0: u32, x1: u32, y0: u32, y1: u32| {
            (x0..x1).any(|x| (y0..y1).any(|y| img.get_pixel(x, y).0.iter().all(|&c| c < 128)))
        };
        assert!(dark(0, 230, 0, 50), "title");
        assert!(dark(10, 110, 150, 180), "first caption");
        assert!(dark(120, 220, 150, 180), "second caption");
    }

    #[test]
    fn long_captions_stay_off_their_neighbours() {
        let tile = |caption: &str| Tile {
            image: image::RgbImage::from_pixel(100, 100, image::Rgb([200, 200, 200])),
            caption: caption.into(),
        };
        // Wide letters, far more than a 100 px tile holds at 14 px.
        let wide = "WMWMWMWMWMWMWMWMWMWMWMWMWMWM";
        let png = image_grid_png("wide", &[tile(wide), tile(wide)], 2, 100).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        let ink = |x: u32| (150..180).any(|y| img.get_pixel(x, y).0.iter().any(|&c| c < 250));
        // The cells meet at x = 115 (10 + 100 + 10/2); each caption is centred in its own.
        assert!(!ink(114) && !ink(115) && !ink(116), "captions touch");
        assert!((20..100).any(ink) && (130..210).any(ink), "captions drawn");
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn line_chart_draws_each_series_in_its_colour() {
        let series = [
            Series {
                name: "train loss".into(),
                color: RGBColor(31, 90, 200),
                points: vec![(0.0, 1.0), (1.0, 0.6), (2.0, 0.4)],
            },
            Series {
                name: "val loss".into(),
                color: RGBColor(210, 40, 40),
                points: vec![(0.0, 1.1), (1.0, f64::NAN), (2.0, 0.5)],
            },
        ];
        let png = lines_png("Curves", "epoch", "loss", &series, (400, 300)).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (400, 300));
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count();
        assert!(count([31, 90, 200]) > 50);
        assert!(count([210, 40, 40]) > 50);
    }
}

/// The heat map's diverging scale: red at 0.5 (chance) and below, pale yellow at 0.75,
/// green at 1 (ColorBrewer RdYlGn ends and middle).
fn heat_color(value: f64) -> RGBColor {
    let t = ((value - 0.5) / 0.5).clamp(0.0, 1.0);
    let mix = |a: (f64, f64, f64), b: (f64, f64, f64), u: f64| {
        RGBColor(
            (a.0 + (b.0 - a.0) * u).round() as u8,
            (a.1 + (b.1 - a.1) * u).round() as u8,
            (a.2 + (b.2 - a.2) * u).round() as u8,
        )
    };
    let (red, yellow, green) = (
        (215.0, 48.0, 39.0),
        (254.0, 224.0, 139.0),
        (26.0, 152.0, 80.0),
    );
    if t < 0.5 {
        mix(red, yellow, 2.0 * t)
    } else {
        mix(yellow, green, 2.0 * t - 1.0)
    }
}

/// One cell of a [`heatmap_png`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// The value (an AUC or a rate, 0..1), printed and coloured.
    pub value: f64,
    /// Its interval, printed under it when finite.
    pub interval: Option<[f64; 2]>,
}

/// A table of 0..1 values as a heat map PNG (AUCs by held-out source, say): a row per
/// name in `rows`, a column per name in `columns`; red at 0.5 (chance) and below, green
/// at 1; a missing cell is gray with a dash. `footer` is written under the table.
///
/// # Errors
/// [`Error::Plot`], also for a table too large to draw (above [`MAX_SIDE`]);
/// [`Error::Encode`], [`Error::Font`].
pub fn heatmap_png(
    title: &str,
    rows: &[String],
    columns: &[&str],
    cells: &[Vec<Option<Cell>>],
    footer: Option<&str>,
) -> Result<Vec<u8>> {
    const WHAT: &str = "heat map";
    let longest = rows.iter().map(|r| r.chars().count()).max().unwrap_or(0) as u64;
    let (cw, ch, top) = (170u64, 56u64, 90u64);
    let left = (longest * 10 + 40).clamp(120, 400);
    let w = left + columns.len().max(1) as u64 * cw + 30;
    let h = top + rows.len().max(1) as u64 * ch + 60;
    let size = check_size(WHAT, title, (w, h), MIN_TILE)?;
    let (left, cw, ch, top) = (left as i32, cw as i32, ch as i32, top as i32);
    render(size, WHAT, |root| {
        let center = |px: u32| {
            (FAMILY, px)
                .into_text_style(root)
                .pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Center,
                ))
        };
        let text = |t: String, at: (i32, i32), style| {
            root.draw(&Text::new(t, at, style)).map_err(plot_err(WHAT))
        };
        text(title.to_owned(), (size.0 as i32 / 2, 30), center(24))?;
        for (c, name) in columns.iter().enumerate() {
            text(
                (*name).to_owned(),
                (left + c as i32 * cw + cw / 2, top - 20),
                center(16),
            )?;
        }
        for (r, name) in rows.iter().enumerate() {
            let y0 = top + r as i32 * ch;
            text(name.clone(), (left / 2, y0 + ch / 2), center(16))?;
            for c in 0..columns.len() {
                let cell = cells.get(r).and_then(|row| row.get(c)).copied().flatten();
                let x0 = left + c as i32 * cw;
                let color = match cell {
                    Some(Cell { value, .. }) if value.is_finite() => heat_color(value),
                    _ => RGBColor(215, 215, 215),
                };
                let rect = [(x0, y0), (x0 + cw, y0 + ch)];
                root.draw(&Rectangle::new(rect, color.filled()))
                    .map_err(plot_err(WHAT))?;
                root.draw(&Rectangle::new(rect, BLACK.stroke_width(1)))
                    .map_err(plot_err(WHAT))?;
                let Some(Cell { value, interval }) = cell else {
                    text("—".into(), (x0 + cw / 2, y0 + ch / 2), center(18))?;
                    continue;
                };
                text(
                    format!("{value:.3}"),
                    (x0 + cw / 2, y0 + ch / 2 - 9),
                    center(18),
                )?;
                if let Some([lo, hi]) = interval.filter(|iv| iv.iter().all(|x| x.is_finite())) {
                    text(
                        format!("({lo:.2}–{hi:.2})"),
                        (x0 + cw / 2, y0 + ch / 2 + 13),
                        center(13),
                    )?;
                }
            }
        }
        if let Some(f) = footer {
            text(
                f.to_owned(),
                (size.0 as i32 / 2, top + rows.len().max(1) as i32 * ch + 30),
                center(16),
            )?;
        }
        Ok(())
    })
}

/// One bar of a [`bars_png`] chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Category name, written left of the bar.
    pub name: String,
    /// Bar length.
    pub value: f64,
    /// Interval drawn as a whisker over the bar, when known.
    pub interval: Option<[f64; 2]>,
    /// Fill colour.
    pub color: RGBColor,
}

/// A horizontal bar chart with interval whiskers as PNG bytes (rates per category with
/// their confidence intervals). Bars run top to bottom in the order given; the value axis
/// starts at 0 and spans the bars, whiskers and `reference`, which is drawn as a dashed
/// vertical line with its name in the legend (an overall rate, say). Non-finite values
/// draw no bar.
///
/// # Errors
/// [`Error::Plot`], also for a `size` out of bounds as in [`roc_png`]; [`Error::Encode`],
/// [`Error::Font`].
pub fn bars_png(
    title: &str,
    x_desc: &str,
    bars: &[Bar],
    reference: Option<(&str, f64)>,
    size: (u32, u32),
) -> Result<Vec<u8>> {
    const WHAT: &str = "bar chart";
    check_chart_size(WHAT, size)?;
    let n = bars.len();
    let hi = bars
        .iter()
        .flat_map(|b| std::iter::once(b.value).chain(b.interval.into_iter().flatten()))
        .chain(reference.map(|r| r.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Room on the right for the reference's legend box (lower right), so that it does
    // not cover the last bar.
    let room = if reference.is_some() { 1.35 } else { 1.08 };
    let x1 = if hi > 0.0 { hi * room } else { 1.0 };
    // Bar i sits at y = n − 1 − i, so the first bar is on top.
    let y_of = |i: usize| (n - 1 - i) as f64;
    let names: Vec<&str> = bars.iter().map(|b| b.name.as_str()).collect();
    let longest = names.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let label_area = u32::try_from(longest.saturating_mul(9).saturating_add(20))
        .unwrap_or(u32::MAX)
        .clamp(60, size.0 / 2);
    render(size, WHAT, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FAMILY, 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..x1, -0.6f64..(n.max(1) as f64 - 0.4))
            .map_err(plot_err(WHAT))?;
        let label = |y: &f64| {
            let k = y.round();
            if (y - k).abs() > 1e-6 || k < 0.0 || k >= n as f64 {
                return String::new();
            }
            names[n - 1 - k as usize].to_owned()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(x_desc)
            .y_labels(2 * n + 1)
            .y_label_formatter(&label)
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .draw()
            .map_err(plot_err(WHAT))?;
        for (i, b) in bars.iter().enumerate() {
            if !b.value.is_finite() {
                continue;
            }
            let y = y_of(i);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y - 0.32), (b.value, y + 0.32)],
                    b.color.filled(),
                )))
                .map_err(plot_err(WHAT))?;
            if let Some([lo, hi]) = b.interval.filter(|iv| iv.iter().all(|v| v.is_finite())) {
                let style = BLACK.stroke_width(2);
                let whisker = [
                    vec![(lo, y), (hi, y)],
                    vec![(lo, y - 0.15), (lo, y + 0.15)],
                    vec![(hi, y - 0.15), (hi, y + 0.15)],
                ];
                chart
                    .draw_series(whisker.into_iter().map(|p| PathElement::new(p, style)))
                    .map_err(plot_err(WHAT))?;
            }
        }
        if let Some((name, r)) = reference.filter(|r| r.1.is_finite()) {
            let color = RGBColor(60, 60, 60);
            chart
                .draw_series(DashedLineSeries::new(
                    [(r, -0.6), (r, n.max(1) as f64 - 0.4)],
                    8,
                    5,
                    color.stroke_width(2),
                ))
                .map_err(plot_err(WHAT))?
                .label(name.to_owned())
                .legend(legend_line(color));
            draw_legend(&mut chart, SeriesLabelPosition::LowerRight, WHAT)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod bar_tests {
    use super::*;

    #[test]
    fn bar_chart_draws_each_bar_in_its_colour() {
        let bars = [
            Bar {
                name: "PadChest".into(),
                value: 12.0,
                interval: Some([8.0, 17.0]),
                color: RGBColor(31, 90, 200),
            },
            Bar {
                name: "Covid-19 Image Data Collection".into(),
                value: 4.0,
                interval: None,
                color: RGBColor(210, 40, 40),
            },
        ];
        let png = bars_png(
            "Errors",
            "error rate (%)",
            &bars,
            Some(("all", 9.0)),
            (500, 300),
        )
        .unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (500, 300));
        let count = |c: [u8; 3]| img.pixels().filter(|p| p.0 == c).count();
        // The first bar is three times as long as the second, at the same height.
        let (blue, red) = (count([31, 90, 200]), count([210, 40, 40]));
        assert!(red > 200, "{red}");
        assert!(blue > 2 * red, "{blue} vs {red}");
    }
}

#[cfg(test)]
mod heatmap_tests {
    use super::*;

    #[test]
    fn the_heat_map_colours_each_cell_by_its_value_and_grays_missing_ones() {
        let cells = vec![
            vec![
                Some(Cell {
                    value: 1.0,
                    interval: Some([0.9, 1.0]),
                }),
                None,
            ],
            vec![
                Some(Cell {
                    value: 0.4,
                    interval: None,
                }),
                Some(Cell {
                    value: 0.75,
                    interval: None,
                }),
            ],
        ];
        let png = heatmap_png(
            "t",
            &["a".into(), "b".into()],
            &["x", "y"],
            &cells,
            Some("f"),
        )
        .unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        let count = |c: RGBColor| img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        // Each cell is 170 × 56 less its border and text: most of it keeps its colour.
        for c in [
            heat_color(1.0),
            heat_color(0.4),
            heat_color(0.75),
            RGBColor(215, 215, 215),
        ] {
            assert!(count(c) > 5000, "{c:?}: {}", count(c));
        }
        assert_eq!(
            heat_color(0.4),
            heat_color(0.5),
            "chance and below are one red"
        );
        assert_eq!(heat_color(1.0), RGBColor(26, 152, 80));
    }
}
