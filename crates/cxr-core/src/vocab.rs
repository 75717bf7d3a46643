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
    /// The public data sources of the paper (PadChest and its covid cohort are two
    /// adapters: the paper counts them as one source).
    SourceId, "source", "covid-idc, coviddsl, padchest, bimcv-covid, nlm-tb, tbportals, qmenta or chestxray8" {
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

impl SourceId {
    /// Human-readable name, as in the paper's Table 1.
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
        }
    }
}

string_enum! {
    /// Radiographic projection.
    View, "view", "PA, AP, AP Supine, lateral or other" {
        /// Posterior-anterior.
        Pa = "PA" | "POSTEROANTERIOR",
        /// Anterior-posterior, patient erect or unknown.
        Ap = "AP" | "ANTEROPOSTERIOR" | "AP Erect" | "AP semi erect",
        /// Anterior-posterior, patient supine.
        ApSupine = "AP Supine" | "APS" | "AP_horizontal" | "AP_SUPINE",
        /// Lateral (either side).
        Lateral = "lateral" | "L" | "LL" | "LAT" | "RL",
        /// Anything else (CT slices, oblique, unknown).
        Other = "other",
    }
}

impl View {
    /// Frontal views are the ones the paper keeps: PA, AP and AP supine.
    pub const fn is_frontal(self) -> bool {
        matches!(self, View::Pa | View::Ap | View::ApSupine)
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
