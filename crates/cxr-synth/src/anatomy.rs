//! The chest's geometry in normalised coordinates (u right, v down, both 0..1 across the
//! image), and the signed lung "depth" that both the picture and the masks derive from.
//!
//! Image left is the patient's right (standard frontal display).

use std::f32::consts::PI;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Patient's right or left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Patient's right lung (image left).
    Right,
    /// Patient's left lung (image right).
    Left,
}

/// An axis-aligned ellipse.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ellipse {
    pub cx: f32,
    pub cy: f32,
    pub rx: f32,
    pub ry: f32,
}

impl Ellipse {
    /// Approximate signed distance, positive outside.
    pub fn outside(&self, u: f32, v: f32) -> f32 {
        let e = ((u - self.cx) / self.rx).powi(2) + ((v - self.cy) / self.ry).powi(2);
        (e.sqrt() - 1.0) * self.rx.min(self.ry)
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Lung {
    /// x of the medial border.
    pub medial: f32,
    /// Full width at the base.
    pub width: f32,
    /// y of the diaphragm at mid-lung.
    pub base: f32,
    pub wobble_amp: f32,
    pub wobble_freq: f32,
    pub wobble_phase: f32,
}

/// The sampled anatomy of one patient.
#[derive(Debug, Clone)]
pub(crate) struct Anatomy {
    pub cx: f32,
    pub top: f32,
    pub right: Lung,
    pub left: Lung,
    pub dome: f32,
    pub heart: Ellipse,
    pub right_heart: Ellipse,
    pub body_hw: f32,
    pub rib_spacing: f32,
    pub rib_phase: f32,
    pub texture_seed: u64,
}

impl Anatomy {
    pub fn sample(rng: &mut ChaCha8Rng, male: bool) -> Anatomy {
        let size = if male { 1.02 } else { 0.99 };
        let cx = 0.5 + rng.random_range(-0.012..0.012);
        let top = rng.random_range(0.09..0.125);
        let base_left = rng.random_range(0.79..0.835);
        let base_right = base_left - rng.random_range(0.01..0.03);
        let gap = rng.random_range(0.045..0.06);
        let lung = |medial: f32, base: f32, rng: &mut ChaCha8Rng| Lung {
            medial,
            width: rng.random_range(0.34..0.375) * size,
            base,
            wobble_amp: rng.random_range(0.0..0.04),
            wobble_freq: rng.random_range(1.5..3.0),
            wobble_phase: rng.random_range(0.0..2.0 * PI),
        };
        let right = lung(cx - gap, base_right, rng);
        let left = lung(cx + gap, base_left, rng);
        let heart = Ellipse {
            cx: cx + rng.random_range(0.07..0.1),
            cy: base_left - rng.random_range(0.11..0.14),
            rx: rng.random_range(0.15..0.185),
            ry: rng.random_range(0.12..0.15),
        };
        let right_heart = Ellipse {
            cx: cx - rng.random_range(0.02..0.04),
            cy: base_right - rng.random_range(0.08..0.11),
            rx: rng.random_range(0.06..0.08),
            ry: rng.random_range(0.08..0.11),
        };
        let body_hw = (right.width.max(left.width) + gap) + rng.random_range(0.03..0.05);
        Anatomy {
            cx,
            top,
            right,
            left,
            dome: rng.random_range(0.03..0.06),
            heart,
            right_heart,
            body_hw,
            rib_spacing: rng.random_range(0.06..0.07),
            rib_phase: rng.random_range(0.0..0.02),
            texture_seed: rng.random(),
        }
    }

    /// Makes both lungs a little larger (used until a good phantom passes the 30 % gate).
    pub fn grow(&mut self, factor: f32) {
        for l in [&mut self.right, &mut self.left] {
            l.width *= factor;
            l.base += 0.01 * factor;
        }
        self.top -= 0.004;
        self.body_hw = self.body_hw.max(self.cx.max(1.0 - self.cx) - 0.01);
    }

    pub fn lung(&self, side: Side) -> &Lung {
        match side {
            Side::Right => &self.right,
            Side::Left => &self.left,
        }
    }

    /// Lateral distance from the medial border (≥ 0 towards the lung's outer side).
    pub fn lateral(&self, side: Side, u: f32) -> f32 {
        match side {
            Side::Right => self.right.medial - u,
            Side::Left => u - self.left.medial,
        }
    }

    /// Vertical position within the lung, 0 at the apex, 1 at the diaphragm's level.
    pub fn height_frac(&self, side: Side, v: f32) -> f32 {
        (v - self.top) / (self.lung(side).base - self.top)
    }

    /// Width of the lung at vertical fraction `s`.
    pub fn width_at(&self, side: Side, s: f32) -> f32 {
        if s <= 0.0 {
            return 0.0;
        }
        let l = self.lung(side);
        // Quarter-ellipse apex, then a convex lateral border widest two-thirds down.
        let a = (s / 0.32).min(1.0);
        let apex = (1.0 - (1.0 - a) * (1.0 - a)).sqrt();
        let belly = 0.84 + 0.16 * (PI * 0.75 * s.min(1.0)).sin();
        l.width
            * apex
            * belly
            * (1.0 + l.wobble_amp * (2.0 * PI * l.wobble_freq * s + l.wobble_phase).sin())
    }

    /// y of the diaphragm under lateral position `t`.
    pub fn floor_at(&self, side: Side, t: f32) -> f32 {
        let l = self.lung(side);
        let r = (t / l.width).clamp(0.0, 1.0);
        l.base - self.dome * (PI * r).sin() + 0.05 * r.powi(3)
    }

    /// Signed depth inside the lung (> 0 inside), in normalised units.
    pub fn lung_depth(&self, side: Side, u: f32, v: f32) -> f32 {
        let s = self.height_frac(side, v);
        // The medial border curves outwards towards the apex.
        let m = self.lung(side).width * 0.22 * (1.0 - (s / 0.3).clamp(0.0, 1.0)).powi(2);
        let t = self.lateral(side, u) - m;
        let w = self.width_at(side, s) - m;
        let d = t
            .min(w - t)
            .min(self.floor_at(side, t) - v)
            .min(v - self.top);
        let notch = match side {
            Side::Left => self.heart.outside(u, v),
            Side::Right => self.right_heart.outside(u, v),
        };
        d.min(notch)
    }

    /// Point of the lung at lateral fraction `r` (0 medial, 1 lateral) and vertical
    /// fraction `s`.
    pub fn point(&self, side: Side, r: f32, s: f32) -> (f32, f32) {
        let t = r * self.width_at(side, s);
        let u = match side {
            Side::Right => self.right.medial - t,
            Side::Left => self.left.medial + t,
        };
        let v = self.top + s * (self.lung(side).base - self.top);
        (u, v)
    }
}
