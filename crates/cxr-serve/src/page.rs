//! The review page served at `/`: plain HTML, CSS and JavaScript compiled into the
//! binary (no CDN, no build step; works offline). A radiologist drops or picks one image
//! (or several of one patient-day), sees it with the lung mask and the saliency overlay
//! (toggles and an opacity slider), the probabilities as bars with the operating points
//! marked, the gate's verdict and reason, and the model served. Errors are shown as the
//! service worded them.

/// The page.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
