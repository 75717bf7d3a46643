//! Rendering one phantom: anatomy → intensities → lesions → source style.

use std::path::Path;

use cxr_core::{
    GrayImage, ImageRecord, Label, LungMask, PatientId, Sex, SourceId, StudyDate, View,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::anatomy::{Anatomy, Ellipse, Side};
use crate::config::SynthConfig;
use crate::lesion::{Lesions, Pattern};
use crate::noise::{fbm, gaussian_blur, hash_words, smoothstep};
use crate::style::{Corner, Style, glyph};

/// What is wrong with a *bad* image (one the quality gate should reject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// The patient is off-centre: one lung is cut off by the image edge.
    OneLungCut,
    /// Bad collimation or distance: the chest, and so the lungs, are tiny.
    TinyLungs,
    /// A lateral view filed as frontal.
    Lateral,
    /// Badly under-exposed: the lower lung fields are washed out.
    UnderExposed,
}

impl Defect {
    /// Every defect.
    pub const ALL: [Defect; 4] = [
        Defect::OneLungCut,
        Defect::TinyLungs,
        Defect::Lateral,
        Defect::UnderExposed,
    ];

    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Defect::OneLungCut => "one_lung_cut",
            Defect::TinyLungs => "tiny_lungs",
            Defect::Lateral => "lateral",
            Defect::UnderExposed => "under_exposed",
        }
    }
}

/// Everything that determines one phantom image (with a [`SynthConfig`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSpec {
    /// Seed of the patient's anatomy and lesions (shared by all their images).
    pub patient_seed: u64,
    /// Seed of this image's pose, lesion evolution and noise.
    pub image_seed: u64,
    /// Patient id (its source gives the style).
    pub patient: PatientId,
    /// Image id, unique within the source.
    pub image_id: String,
    /// The class.
    pub label: Label,
    /// Age in years, if recorded.
    pub age: Option<f32>,
    /// Sex, if recorded.
    pub sex: Option<Sex>,
    /// Study date.
    pub study_date: StudyDate,
    /// What is wrong with the image, for bad images.
    pub defect: Option<Defect>,
}

impl CaseSpec {
    /// A one-image patient with default demographics (for quick use and tests).
    pub fn single(seed: u64, label: Label, source: SourceId) -> CaseSpec {
        CaseSpec {
            patient_seed: hash_words(&[seed, 1]),
            image_seed: hash_words(&[seed, 2]),
            patient: PatientId::new(source, format!("P{seed:05}")),
            image_id: format!("{source}-P{seed:05}-0"),
            label,
            age: Some(50.0),
            sex: Some(Sex::Female),
            study_date: StudyDate::from_days_since_epoch(18_300).expect("a valid constant date"),
            defect: None,
        }
    }

    /// The source (from the patient id).
    pub fn source(&self) -> SourceId {
        self.patient.source
    }

    /// The record of this case stored at `path`, without rendering it (the lesion
    /// pattern is only known after rendering: see [`Phantom::record`]). Bad lateral
    /// images are filed as frontal, as happens in real sources; extras carry `defect`.
    pub fn record(&self, path: &Path) -> ImageRecord {
        let mut r = ImageRecord::new(
            self.patient.clone(),
            self.image_id.clone(),
            path,
            self.label,
            cxr_core::record::SYNTHETIC_LABEL_REASON,
            View::Pa,
        );
        r.study_date = Some(self.study_date);
        r.age = self.age;
        r.sex = self.sex;
        r.extras.insert(
            "defect".to_owned(),
            self.defect.map_or("none", Defect::as_str).to_owned(),
        );
        r
    }
}

/// A rendered phantom: image, ground-truth lung masks, lesion support and metadata.
#[derive(Debug, Clone)]
pub struct Phantom {
    /// What was rendered.
    pub case: CaseSpec,
    /// The 8-bit image.
    pub image: GrayImage,
    /// Patient's right lung (image left). For a lateral view: the single lung field.
    pub right_lung: LungMask,
    /// Patient's left lung (image right). Empty for a lateral view.
    pub left_lung: LungMask,
    /// Pixels where a lesion adds visible opacity (inside the lungs by construction).
    pub lesions: LungMask,
    /// The lesion pattern drawn.
    pub pattern: Pattern,
    /// Whether the [`crate::Confounder`] was drawn (`None` without one configured).
    pub confounder: Option<bool>,
}

impl Phantom {
    /// Both lungs in one mask.
    pub fn lungs(&self) -> LungMask {
        self.right_lung
            .union(&self.left_lung)
            .expect("masks of one phantom share its size")
    }

    /// The projection actually drawn.
    pub fn view(&self) -> View {
        match self.case.defect {
            Some(Defect::Lateral) => View::Lateral,
            _ => View::Pa,
        }
    }

    /// The record describing this phantom stored at `path`. Extras carry the ground
    /// truth (`defect`, `pattern`, and `confounder` = `yes`/`no` when one is configured).
    pub fn record(&self, path: &Path) -> ImageRecord {
        let mut r = self.case.record(path);
        let pattern = pattern_name(self.pattern);
        r.label_reason = format!("{} {pattern}", cxr_core::record::SYNTHETIC_LABEL_REASON);
        r.extras.insert("pattern".to_owned(), pattern.to_owned());
        if let Some(c) = self.confounder {
            r.extras.insert(
                "confounder".to_owned(),
                if c { "yes" } else { "no" }.to_owned(),
            );
        }
        r
    }
}

fn pattern_name(p: Pattern) -> &'static str {
    match p {
        Pattern::None => "none",
        Pattern::Occult => "occult",
        Pattern::BenignMimic => "benign_mimic",
        Pattern::GroundGlass => "ground_glass",
        Pattern::Lobar => "lobar",
        Pattern::Tuberculous => "tuberculous",
    }
}

/// Per-image placement of the anatomy in the frame.
#[derive(Debug, Clone, Copy)]
struct Pose {
    dx: f32,
    dy: f32,
    scale: f32,
}

impl Pose {
    fn sample(rng: &mut ChaCha8Rng, defect: Option<Defect>) -> Pose {
        let mut p = Pose {
            dx: rng.random_range(-0.012..0.012),
            dy: rng.random_range(-0.01..0.01),
            scale: rng.random_range(0.975..1.02),
        };
        match defect {
            Some(Defect::OneLungCut) => {
                let shift = rng.random_range(0.40..0.46);
                p.dx = if rng.random_bool(0.5) { shift } else { -shift };
            }
            Some(Defect::TinyLungs) => p.scale = rng.random_range(0.45..0.6),
            _ => {}
        }
        p
    }

    /// Image coordinates → anatomy coordinates.
    fn to_anatomy(self, u: f32, v: f32) -> (f32, f32) {
        (
            (u - 0.5 - self.dx) / self.scale + 0.5,
            (v - 0.5 - self.dy) / self.scale + 0.5,
        )
    }
}

/// Fraction of the lung height that stays visible in an under-exposed image.
const UNDER_EXPOSED_VISIBLE: f32 = 0.3;
/// A good phantom's lungs must cover at least this share of the image (margin over the
/// paper's 30 % gate).
const GOOD_LUNG_FRACTION: f64 = 0.315;
/// Lesion opacity (times contrast) above which a pixel counts as lesion.
const LESION_VISIBLE: f32 = 0.02;

/// Renders a phantom.
pub fn render(case: &CaseSpec, config: &SynthConfig) -> Phantom {
    render_impl(case, config, true)
}

/// Renders a phantom without its lesions (same anatomy, pose and noise): the
/// difference from [`render`] is the lesions' contribution alone.
pub fn render_without_lesions(case: &CaseSpec, config: &SynthConfig) -> Phantom {
    render_impl(case, config, false)
}

fn render_impl(case: &CaseSpec, config: &SynthConfig, with_lesions: bool) -> Phantom {
    let n = config.size as usize;
    let style = Style::for_source(case.source());
    let mut arng = ChaCha8Rng::seed_from_u64(case.patient_seed);
    let male = case.sex == Some(Sex::Male);
    let mut anat = Anatomy::sample(&mut arng, male);
    let mut lrng = ChaCha8Rng::seed_from_u64(case.patient_seed ^ 0x1E51_0000);
    let mut irng = ChaCha8Rng::seed_from_u64(case.image_seed);
    let pose = Pose::sample(&mut irng, case.defect);
    let lateral = case.defect == Some(Defect::Lateral);
    let under = case.defect == Some(Defect::UnderExposed);

    // Good phantoms must pass the paper's gate: grow the lungs until they cover enough.
    if case.defect.is_none() {
        for _ in 0..12 {
            if lung_fraction(&anat, pose, n) >= GOOD_LUNG_FRACTION {
                break;
            }
            anat.grow(1.04);
        }
    }
    let lesions = Lesions::sample(&mut lrng, case.label, &config.difficulty, &anat)
        .scaled(irng.random_range(0.85..1.15));

    let mut img = vec![0.0f32; n * n];
    let mut right = vec![false; n * n];
    let mut left = vec![false; n * n];
    let mut lesion_px = vec![false; n * n];
    let inv = 1.0 / n as f32;
    for y in 0..n {
        for x in 0..n {
            let (u, v) = ((x as f32 + 0.5) * inv, (y as f32 + 0.5) * inv);
            let (au, av) = pose.to_anatomy(u, v);
            let i = y * n + x;
            let px = if lateral {
                lateral_pixel(&anat, au, av)
            } else {
                frontal_pixel(&anat, au, av, under)
            };
            img[i] = px.value;
            right[i] = px.right > 0.0;
            left[i] = px.left > 0.0;
            if with_lesions && !lateral {
                let tex = fbm(anat.texture_seed ^ 0x6A55, au * 14.0, av * 14.0);
                let o = lesions.opacity(au, av, tex) * px.lung_soft;
                img[i] += o;
                lesion_px[i] = o > LESION_VISIBLE;
            }
        }
    }

    apply_style(&mut img, n, &style, &mut irng, under);
    let confounder = config.confounder.as_ref().map(|c| {
        let present = c.present(case.image_seed, case.label, case.source());
        if present {
            c.draw(&mut img, n);
        }
        present
    });
    let image = GrayImage::from_raw(
        n as u32,
        n as u32,
        img.iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect(),
    )
    .expect("n*n samples");
    let mask =
        |m: &[bool]| LungMask::from_fn(n as u32, n as u32, |x, y| m[y as usize * n + x as usize]);
    Phantom {
        case: case.clone(),
        image,
        right_lung: mask(&right),
        left_lung: mask(&left),
        lesions: mask(&lesion_px),
        pattern: if with_lesions && !lateral {
            lesions.pattern
        } else {
            Pattern::None
        },
        confounder,
    }
}

fn lung_fraction(anat: &Anatomy, pose: Pose, n: usize) -> f64 {
    // A quarter-resolution estimate is plenty to decide whether to grow.
    let m = (n / 4).max(16);
    let inv = 1.0 / m as f32;
    let mut count = 0usize;
    for y in 0..m {
        for x in 0..m {
            let (au, av) = pose.to_anatomy((x as f32 + 0.5) * inv, (y as f32 + 0.5) * inv);
            if anat.lung_depth(Side::Right, au, av) > 0.0
                || anat.lung_depth(Side::Left, au, av) > 0.0
            {
                count += 1;
            }
        }
    }
    count as f64 / (m * m) as f64
}

struct Pixel {
    value: f32,
    right: f32,
    left: f32,
    lung_soft: f32,
}

fn frontal_pixel(a: &Anatomy, u: f32, v: f32, under: bool) -> Pixel {
    let dxc = (u - a.cx).abs();
    // Body: a boxy superellipse from the shoulders down.
    let body = Ellipse {
        cx: a.cx,
        cy: 0.6,
        rx: a.body_hw,
        ry: 0.62,
    };
    let e = ((u - body.cx) / body.rx).abs().powi(4) + ((v - body.cy) / body.ry).abs().powi(4);
    let body_soft = smoothstep(0.0, 0.012, (1.0 - e.sqrt()) * body.rx);
    let mut val = 0.07 + body_soft * (0.46 + 0.1 * (1.0 - (dxc / a.body_hw).powi(2)).max(0.0));
    // Abdomen below the diaphragm, mediastinum, spine, heart.
    let floor = a.right.base.min(a.left.base);
    val += 0.1 * body_soft * smoothstep(floor - 0.04, floor + 0.04, v);
    let gap = (a.left.medial - a.right.medial) * 0.5;
    val += 0.16
        * body_soft
        * smoothstep(0.01, -0.01, dxc - gap - 0.01)
        * smoothstep(a.top - 0.08, a.top, v);
    val += 0.05 * body_soft * smoothstep(0.004, -0.004, dxc - 0.03);
    let heart = smoothstep(0.0, -0.02, a.heart.outside(u, v)) * body_soft;
    val = val.max(0.07 + 0.66 * heart);

    // Lungs.
    let visible_to = |side: Side| {
        if under {
            a.top + UNDER_EXPOSED_VISIBLE * (a.lung(side).base - a.top) - v
        } else {
            f32::INFINITY
        }
    };
    let dr = a.lung_depth(Side::Right, u, v).min(visible_to(Side::Right));
    let dl = a.lung_depth(Side::Left, u, v).min(visible_to(Side::Left));
    let lung_soft = smoothstep(0.0, 0.008, dr.max(dl));
    if lung_soft > 0.0 {
        let tex = fbm(a.texture_seed, u * 22.0, v * 22.0);
        let (side, medial) = if u < a.cx {
            (Side::Right, a.right.medial)
        } else {
            (Side::Left, a.left.medial)
        };
        let hy = a.top + 0.45 * (a.lung(side).base - a.top);
        let hilum = (-((u - medial).powi(2) / 0.004 + (v - hy).powi(2) / 0.01)).exp();
        let lung_val = 0.19 + 0.07 * tex + 0.12 * hilum;
        val += (lung_val - val) * lung_soft;
    }

    // Posterior ribs over the chest, clavicles at the top.
    let mut bone = 0.0f32;
    for side in [Side::Right, Side::Left] {
        let t = a.lateral(side, u);
        let l = a.lung(side);
        if t < -0.01 || t > l.width + 0.04 {
            continue;
        }
        let r = (t / l.width).clamp(0.0, 1.2);
        for k in 0..11 {
            let y0 = a.top + a.rib_phase + k as f32 * a.rib_spacing;
            let yc = y0 - 0.03 * r + 0.12 * r * r;
            bone += 0.8 * (-((v - yc) / 0.016).powi(2)).exp();
        }
        let cx0 = l.medial;
        let cx1 = l.medial + if side == Side::Right { -0.34 } else { 0.34 };
        let (y0, y1) = (a.top + 0.03, a.top - 0.035);
        let f = ((u - cx0) / (cx1 - cx0)).clamp(0.0, 1.0);
        let yc = y0 + (y1 - y0) * f;
        bone += 1.8 * (-((v - yc) / 0.013).powi(2)).exp() * smoothstep(-0.02, 0.0, f * (1.0 - f));
    }
    val += 0.07 * bone.min(1.6) * body_soft * (0.6 + 0.4 * lung_soft);
    Pixel {
        value: val,
        right: dr,
        left: dl,
        lung_soft,
    }
}

fn lateral_pixel(a: &Anatomy, u: f32, v: f32) -> Pixel {
    let body = Ellipse {
        cx: 0.52,
        cy: 0.58,
        rx: 0.4,
        ry: 0.6,
    };
    let body_soft = smoothstep(0.0, 0.015, -body.outside(u, v));
    let mut val = 0.07 + 0.5 * body_soft;
    let field = Ellipse {
        cx: 0.5 + (a.cx - 0.5),
        cy: 0.44,
        rx: 0.25,
        ry: 0.29,
    };
    let heart = Ellipse {
        cx: 0.36,
        cy: 0.62,
        rx: 0.13,
        ry: 0.12,
    };
    let d = (-field.outside(u, v))
        .min(heart.outside(u, v))
        .min(0.72 - v);
    let lung_soft = smoothstep(0.0, 0.008, d);
    let tex = fbm(a.texture_seed, u * 22.0, v * 22.0);
    val += (0.22 + 0.06 * tex - val) * lung_soft;
    val += 0.2 * body_soft * smoothstep(0.01, -0.01, (u - 0.8).abs() - 0.035);
    val += 0.1 * smoothstep(0.0, -0.02, heart.outside(u, v));
    Pixel {
        value: val,
        right: d,
        left: -1.0,
        lung_soft,
    }
}

fn apply_style(img: &mut [f32], n: usize, style: &Style, rng: &mut ChaCha8Rng, under: bool) {
    gaussian_blur(img, n, n, style.blur * n as f32);
    let noise = Normal::new(0.0f32, style.noise.max(1e-6)).expect("positive sigma");
    for v in img.iter_mut() {
        let mut x = ((*v - 0.5) * style.contrast + 0.5 + style.brightness).clamp(0.0, 1.0);
        x = x.powf(style.gamma);
        if under {
            x = 0.58 + 0.3 * x;
        }
        *v = x + noise.sample(rng);
    }
    let b = (style.border * n as f32).round() as usize;
    if b > 0 {
        for y in 0..n {
            for x in 0..n {
                if x < b || y < b || x >= n - b || y >= n - b {
                    img[y * n + x] = style.border_value;
                }
            }
        }
    }
    draw_marker(img, n, &style.marker, style.marker_corner);
}

fn draw_marker(img: &mut [f32], n: usize, text: &str, corner: Corner) {
    let glyphs: Vec<[u8; 7]> = text.chars().filter_map(glyph).collect();
    if glyphs.is_empty() {
        return;
    }
    let px = (n / 96).max(1);
    let (w, h) = (glyphs.len() * 6 * px, 7 * px);
    let margin = n / 20;
    let x0 = match corner {
        Corner::TopLeft | Corner::BottomLeft => margin,
        Corner::TopRight | Corner::BottomRight => n.saturating_sub(margin + w),
    };
    let y0 = match corner {
        Corner::TopLeft | Corner::TopRight => margin,
        Corner::BottomLeft | Corner::BottomRight => n.saturating_sub(margin + h),
    };
    for (g, rows) in glyphs.iter().enumerate() {
        for (ry, bits) in rows.iter().enumerate() {
            for cx in 0..5 {
                if bits & (0x10 >> cx) == 0 {
                    continue;
                }
                for dy in 0..px {
                    for dx in 0..px {
                        let x = x0 + (g * 6 + cx) * px + dx;
                        let y = y0 + ry * px + dy;
                        if x < n && y < n {
                            img[y * n + x] = 0.97;
                        }
                    }
                }
            }
        }
    }
}
