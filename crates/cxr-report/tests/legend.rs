//! `lines_png_with_legend` puts the legend box in the corner asked for.

use cxr_report::plot::{Legend, RGBColor, Series, lines_png, lines_png_with_legend};

/// Mean position and number of the pixels near black in `a` and light in `b`: the text
/// and border of a legend box `a` draws and `b` does not (grid lines are lighter).
fn where_darker(a: &[u8], b: &[u8]) -> (f64, f64, usize) {
    let (a, b) = (
        image::load_from_memory(a).unwrap().to_luma8(),
        image::load_from_memory(b).unwrap().to_luma8(),
    );
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0);
    for (x, y, p) in a.enumerate_pixels() {
        if p.0[0] < 60 && b.get_pixel(x, y).0[0] > 150 {
            sx += f64::from(x);
            sy += f64::from(y);
            n += 1;
        }
    }
    (sx / n as f64, sy / n as f64, n)
}

#[test]
fn the_legend_goes_to_the_corner_asked_for() {
    // A ROC-like curve, hugging the left and top edges.
    let series = vec![Series {
        name: "a model with a long legend entry".into(),
        color: RGBColor(31, 90, 200),
        points: vec![(0.0, 0.0), (0.0, 0.9), (0.02, 1.0), (1.0, 1.0)],
    }];
    let (w, h) = (800, 700);
    let up = lines_png_with_legend("t", "x", "y", &series, (w, h), Legend::UpperRight).unwrap();
    let down = lines_png_with_legend("t", "x", "y", &series, (w, h), Legend::LowerRight).unwrap();
    assert_eq!(up, lines_png("t", "x", "y", &series, (w, h)).unwrap());
    let (ux, uy, un) = where_darker(&up, &down);
    let (dx, dy, dn) = where_darker(&down, &up);
    assert!(un > 200 && dn > 200, "{un} {dn}");
    assert!(
        ux > 0.6 * f64::from(w) && uy < 0.3 * f64::from(h),
        "({ux}, {uy})"
    );
    assert!(
        dx > 0.6 * f64::from(w) && dy > 0.7 * f64::from(h),
        "({dx}, {dy})"
    );
}
