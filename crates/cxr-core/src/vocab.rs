//! The shared vocabulary: [`Label`], [`SourceId`], [`View`], [`Sex`].
//!
//! Every type has one stable string form, used in CSV files, JSON and on the command
//! line (`Display` writes it, `FromStr` and serde read it).

use crate::error::ParseError;

/// Defines a fieldless enum with a stable string form per variant, `Display`, `FromStr`,
/// serde as that string, and `ALL` in declaration order.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal, $expected:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable string form.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($text) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                Err(ParseError::new($kind, s, $expected))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

string_enum! {
    /// The three classes of the paper's classifier.
    Label, "label", "healthy, covid or bacterial" {
        /// No finding.
        Healthy = "healthy",
        /// Covid-19 (PCR-confirmed where the source says so).
        Covid = "covid",
        /// Bacterial pneumonia, tuberculosis included (as in the paper's Table 1).
        Bacterial = "bacterial",
    }
}

impl Label {
    /// Number of classes.
    pub const COUNT: usize = 3;

    /// Index of the class in the classifier's output (healthy 0, covid 1, bacterial 2).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The label at a classifier output index.
    pub fn from_index(i: usize) -> Option<Label> {
        Label::ALL.get(i).copied()
    }
}

string_enum! {
    /// The public sources with an adapter here (the paper's sources; PadChest and its
    /// covid cohort are two adapters, the paper counts them as one source).
    AdapterSource, "source", "covid-idc, coviddsl, padchest, bimcv-covid, nlm-tb, tbportals, qmenta or chestxray8" {
        /// COVID-19 Image Data Collection (Cohen et al.).
        CovidIdc = "covid-idc",
        /// HM Hospitales Covid Data Save Lives.
        Coviddsl = "coviddsl",
        /// PadChest (BIMCV).
        Padchest = "padchest",
        /// BIMCV-COVID19+ (the paper's PadChest-covid).
        BimcvCovid = "bimcv-covid" | "padchest-covid",
        /// U.S. National Library of Medicine tuberculosis sets (Montgomery, Shenzhen).
        NlmTb = "nlm-tb",
        /// NIAID TB Portals.
        TbPortals = "tbportals" | "tb-portals",
        /// QMenta (the Kermany pediatric pneumonia layout).
        Qmenta = "qmenta",
        /// NIH ChestX-ray8 / ChestX-ray14.
        Chestxray8 = "chestxray8" | "chestx-ray8" | "nih",
    }
}

/// The name of a source without an adapter: a hospital's own images, or a public set
/// outside the paper (Actualmed, Figure 1, OpenIST…), as named in a `records.csv`.
///
/// 1 to 64 characters among ASCII letters, digits, `-`, `_` and `.`, kept in lower case;
/// never one of the adapters' names. Names are interned (each distinct name is stored
/// once for the life of the process), so the type is `Copy` like the adapters' ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserSource(&'static str);

impl UserSource {
    /// Longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// Checks and interns `name` (trimmed, lower-cased). `None` for an adapter's name or
    /// an invalid one.
    pub fn new(name: &str) -> Option<UserSource> {
        let name = name.trim().to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.len() <= Self::MAX_LEN
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid || name.parse::<AdapterSource>().is_ok() {
            return None;
        }
        static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
        let interned = match names.get(name.as_str()) {
            Some(s) => *s,
            None => {
                let s: &'static str = Box::leak(name.into_boxed_str());
                names.insert(s);
                s
            }
        };
        Some(UserSource(interned))
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Debug for UserSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserSource({:?})", self.0)
    }
}

/// Where an image comes from: one of the public sources with an adapter, or a source
/// of the user's own ([`UserSource`]), accepted wherever a `records.csv` is read.
///
/// The adapters' sources come first in every ordering (in [`SourceId::ALL`] order), user
/// sources after them by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceId {
    /// COVID-19 Image Data Collection (Cohen et al.).
    CovidIdc,
    /// HM Hospitales Covid Data Save Lives.
    Coviddsl,
    /// PadChest (BIMCV).
    Padchest,
    /// BIMCV-COVID19+ (the paper's PadChest-covid).
    BimcvCovid,
    /// U.S. National Library of Medicine tuberculosis sets (Montgomery, Shenzhen).
    NlmTb,
    /// NIAID TB Portals.
    TbPortals,
    /// QMenta (the Kermany pediatric pneumonia layout).
    Qmenta,
    /// NIH ChestX-ray8 / ChestX-ray14.
    Chestxray8,
    /// A source without an adapter, named by the user.
    User(UserSource),
}

impl From<AdapterSource> for SourceId {
    fn from(a: AdapterSource) -> Self {
        match a {
            AdapterSource::CovidIdc => SourceId::CovidIdc,
            AdapterSource::Coviddsl => SourceId::Coviddsl,
            AdapterSource::Padchest => SourceId::Padchest,
            AdapterSource::BimcvCovid => SourceId::BimcvCovid,
            AdapterSource::NlmTb => SourceId::NlmTb,
            AdapterSource::TbPortals => SourceId::TbPortals,
            AdapterSource::Qmenta => SourceId::Qmenta,
            AdapterSource::Chestxray8 => SourceId::Chestxray8,
        }
    }
}

impl SourceId {
    /// The eight sources with an adapter, in the paper's order.
    pub const ALL: &'static [SourceId] = &[
        SourceId::CovidIdc,
        SourceId::Coviddsl,
        SourceId::Padchest,
        SourceId::BimcvCovid,
        SourceId::NlmTb,
        SourceId::TbPortals,
        SourceId::Qmenta,
        SourceId::Chestxray8,
    ];

    /// The stable string form (an adapter's id, or the user's name).
    pub const fn as_str(self) -> &'static str {
        match self {
            SourceId::CovidIdc => "covid-idc",
            SourceId::Coviddsl => "coviddsl",
            SourceId::Padchest => "padchest",
            SourceId::BimcvCovid => "bimcv-covid",
            SourceId::NlmTb => "nlm-tb",
            SourceId::TbPortals => "tbportals",
            SourceId::Qmenta => "qmenta",
            SourceId::Chestxray8 => "chestxray8",
            SourceId::User(u) => u.as_str(),
        }
    }

    /// The adapter's source, `None` for a user source.
    pub fn adapter(self) -> Option<AdapterSource> {
        AdapterSource::ALL.get(self.rank()).copied()
    }

    /// Whether the source has an adapter here.
    pub const fn has_adapter(self) -> bool {
        !matches!(self, SourceId::User(_))
    }

    /// Position in the order sources are listed: an adapter's index in [`SourceId::ALL`];
    /// `ALL.len()` for every user source (sort by `(rank, name)` to order those by name).
    pub const fn rank(self) -> usize {
        match self {
            SourceId::CovidIdc => 0,
            SourceId::Coviddsl => 1,
            SourceId::Padchest => 2,
            SourceId::BimcvCovid => 3,
            SourceId::NlmTb => 4,
            SourceId::TbPortals => 5,
            SourceId::Qmenta => 6,
            SourceId::Chestxray8 => 7,
            SourceId::User(_) => 8,
        }
    }

    /// Parses an adapter's id only (a command line option that needs an adapter).
    ///
    /// # Errors
    ///
    /// A [`ParseError`] listing the adapters' ids.
    pub fn parse_adapter(s: &str) -> Result<SourceId, ParseError> {
        s.parse::<AdapterSource>().map(SourceId::from)
    }

    /// Human-readable name, as in the paper's Table 1 (a user source's own name).
    pub const fn display_name(self) -> &'static str {
        match self {
            SourceId::CovidIdc => "Covid-19 Image Data Collection",
            SourceId::Coviddsl => "COVIDDSL",
            SourceId::Padchest => "PadChest",
            SourceId::BimcvCovid => "PadChest-covid (BIMCV-COVID19+)",
            SourceId::NlmTb => "U.S. NLM Tuberculosis Datasets",
            SourceId::TbPortals => "TB Portals",
            SourceId::Qmenta => "QMenta",
            SourceId::Chestxray8 => "NIH ChestX-ray8",
            SourceId::User(u) => u.as_str(),
        }
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SourceId {
    type Err = ParseError;
    /// An adapter's id or alias (any case), else a user source name.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Ok(a) = s.parse::<AdapterSource>() {
            return Ok(a.into());
        }
        UserSource::new(s).map(SourceId::User).ok_or_else(|| {
            ParseError::new(
                "source",
                s,
                "an adapter's id (covid-idc, coviddsl, padchest, bimcv-covid, nlm-tb, \
                 tbportals, qmenta, chestxray8) or a name of your own: 1 to 64 letters, \
                 digits, `-`, `_` or `.`",
            )
        })
    }
}

impl serde::Serialize for SourceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for SourceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

string_enum! {
    /// Radiographic projection.
    View, "view", "PA, AP, AP Supine, lateral, other or unknown" {
        /// Posterior-anterior.
        Pa = "PA" | "POSTEROANTERIOR",
        /// Anterior-posterior, patient erect or unknown.
        Ap = "AP" | "ANTEROPOSTERIOR" | "AP Erect" | "AP semi erect",
        /// Anterior-posterior, patient supine.
        ApSupine = "AP Supine" | "APS" | "AP_horizontal" | "AP_SUPINE",
        /// Lateral (either side).
        Lateral = "lateral" | "L" | "LL" | "LAT" | "RL",
        /// Anything else (CT slices, oblique).
        Other = "other",
        /// Not recorded (an empty field, `unknown`). Kept where a frontal view is
        /// required: the lung quality gate is then what keeps lateral images out.
        Unknown = "unknown" | "" | "n/a" | "na" | "none",
    }
}

impl View {
    /// Frontal views are the ones the paper keeps: PA, AP and AP supine.
    pub const fn is_frontal(self) -> bool {
        matches!(self, View::Pa | View::Ap | View::ApSupine)
    }

    /// Frontal, or not recorded (the quality gate decides): what a tool reading a
    /// user's manifest keeps.
    pub const fn may_be_frontal(self) -> bool {
        self.is_frontal() || matches!(self, View::Unknown)
    }
}

string_enum! {
    /// Patient sex as recorded by the source.
    Sex, "sex", "M, F or O" {
        /// Male.
        Male = "M" | "male",
        /// Female.
        Female = "F" | "female",
        /// Other (DICOM `O`).
        Other = "O" | "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_index() {
        for (i, l) in Label::ALL.iter().enumerate() {
            assert_eq!(l.index(), i);
            assert_eq!(Label::from_index(i), Some(*l));
            assert_eq!(l.to_string().parse::<Label>().unwrap(), *l);
        }
        assert_eq!(Label::ALL.len(), Label::COUNT);
        assert_eq!(" Covid ".parse::<Label>().unwrap(), Label::Covid);
        let e = "viral".parse::<Label>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid label `viral` (expected healthy, covid or bacterial)"
        );
    }

    #[test]
    fn views_accept_source_spellings() {
        assert_eq!("AP_horizontal".parse::<View>().unwrap(), View::ApSupine);
        assert_eq!("ap supine".parse::<View>().unwrap(), View::ApSupine);
        assert_eq!("POSTEROANTERIOR".parse::<View>().unwrap(), View::Pa);
        assert_eq!("L".parse::<View>().unwrap(), View::Lateral);
        assert!(View::Ap.is_frontal());
        assert!(!View::Lateral.is_frontal());
        assert!("Axial".parse::<View>().is_err());
        assert_eq!("".parse::<View>().unwrap(), View::Unknown);
        assert_eq!(" Unknown ".parse::<View>().unwrap(), View::Unknown);
        assert!(View::Unknown.may_be_frontal() && !View::Unknown.is_frontal());
        assert!(!View::Lateral.may_be_frontal());
    }

    #[test]
    fn any_valid_name_is_a_user_source_after_the_adapters() {
        let mine: SourceId = "My-Hospital".parse().unwrap();
        assert_eq!(mine.as_str(), "my-hospital");
        assert_eq!(mine, "my-hospital".parse().unwrap());
        assert!(!mine.has_adapter() && mine.adapter().is_none());
        assert_eq!(mine.rank(), SourceId::ALL.len());
        // Adapter names and aliases stay adapters, in any case.
        assert_eq!("NIH".parse::<SourceId>().unwrap(), SourceId::Chestxray8);
        assert_eq!(SourceId::Padchest.adapter(), Some(AdapterSource::Padchest));
        assert!(UserSource::new("padchest").is_none());
        // Adapters sort first, user sources after them by name.
        let actualmed: SourceId = "actualmed".parse().unwrap();
        let mut v = vec![mine, SourceId::Chestxray8, actualmed, SourceId::CovidIdc];
        v.sort();
        assert_eq!(
            v,
            [SourceId::CovidIdc, SourceId::Chestxray8, actualmed, mine]
        );
        for bad in ["", "a b", "x:y", "é", &"a".repeat(65)] {
            let e = bad.parse::<SourceId>().unwrap_err().to_string();
            assert!(e.contains("a name of your own"), "{bad}: {e}");
        }
        assert!(SourceId::parse_adapter("my-hospital").is_err());
        assert_eq!(
            SourceId::parse_adapter("tb-portals").unwrap(),
            SourceId::TbPortals
        );
    }

    #[test]
    fn serde_uses_the_string_form() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct Row {
            s: SourceId,
            l: Label,
        }
        let mut w = csv::Writer::from_writer(vec![]);
        w.serialize(Row {
            s: SourceId::BimcvCovid,
            l: Label::Bacterial,
        })
        .unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "s,l\nbimcv-covid,bacterial\n");
        let mut r = csv::Reader::from_reader("s,l\npadchest-covid,covid\n".as_bytes());
        let row: Row = r.deserialize().next().unwrap().unwrap();
        assert_eq!(
            row,
            Row {
                s: SourceId::BimcvCovid,
                l: Label::Covid
            }
        );
    }
}
