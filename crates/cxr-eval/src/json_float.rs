//! A metric that can be infinite or undefined (a likelihood ratio with no false positive,
//! a predictive value with no positive call, a cutoff of `+∞`) as JSON, which has no such
//! numbers: finite values are written as numbers (byte for byte what serde writes for an
//! `f64`), the others as the strings `"inf"`, `"-inf"` and `"NaN"`; reading accepts those,
//! numbers, and `null` (how files written before this wrote them) as NaN. So
//! `metrics.json` always reads back into an [`crate::Evaluation`].
//!
//! Used as `#[serde(with = "crate::json_float")]`.

use serde::Serializer;
use serde::de::{self, Deserializer, Visitor};

/// Writes `v` as a number when finite, else as `"inf"`, `"-inf"` or `"NaN"`.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

/// Reads a number, `"inf"`, `"-inf"`, `"NaN"` or `null` (NaN).
///
/// # Errors
/// Anything else.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number, \"inf\", \"-inf\", \"NaN\" or null")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_none<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "NaN" => Ok(f64::NAN),
                other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
            }
        }
    }
    d.deserialize_any(V)
}

/// One bound, through [`serialize`] / [`deserialize`].
#[derive(serde::Serialize, serde::Deserialize)]
struct Bound(#[serde(with = "self")] f64);

/// `Option<[f64; 2]>` (a confidence interval) with each bound as [`serialize`] writes it:
/// an interval whose upper bound is infinite (a likelihood ratio with no false positive)
/// reads `[12.5, "inf"]`, not `[12.5, null]`. `None` is `null`.
///
/// Used as `#[serde(with = "crate::json_float::interval")]`.
pub mod interval {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Bound;

    /// Writes `null` or a pair of bounds.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &Option<[f64; 2]>, s: S) -> Result<S::Ok, S::Error> {
        v.map(|[a, b]| [Bound(a), Bound(b)]).serialize(s)
    }

    /// Reads `null` or a pair of bounds (numbers, `"inf"`, `"-inf"`, `"NaN"`, `null`).
    ///
    /// # Errors
    /// Anything else.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
        Ok(Option::<[Bound; 2]>::deserialize(d)?.map(|[a, b]| [a.0, b.0]))
    }
}

/// A map of named intervals (`bootstrap_ci95`), each as [`interval`] writes it.
///
/// Used as `#[serde(with = "crate::json_float::interval_map")]`.
pub mod interval_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Bound;

    /// Writes each interval as [`super::interval`] does.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(
        v: &BTreeMap<String, Option<[f64; 2]>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|(k, i)| (k, i.map(|[a, b]| [Bound(a), Bound(b)])))
            .collect::<BTreeMap<_, _>>()
            .serialize(s)
    }

    /// Reads what [`serialize`] writes.
    ///
    /// # Errors
    /// Anything else.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Option<[f64; 2]>>, D::Error> {
        Ok(BTreeMap::<String, Option<[Bound; 2]>>::deserialize(d)?
            .into_iter()
            .map(|(k, i)| (k, i.map(|[a, b]| [a.0, b.0])))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct T {
        #[serde(with = "super")]
        x: f64,
    }

    #[test]
    fn every_value_round_trips_and_finite_ones_look_as_before() {
        for (v, text) in [
            (0.25, r#"{"x":0.25}"#),
            (f64::INFINITY, r#"{"x":"inf"}"#),
            (f64::NEG_INFINITY, r#"{"x":"-inf"}"#),
        ] {
            let s = serde_json::to_string(&T { x: v }).unwrap();
            assert_eq!(s, text);
            assert_eq!(serde_json::from_str::<T>(&s).unwrap().x, v);
        }
        assert_eq!(
            serde_json::to_string(&T { x: 0.1 + 0.2 }).unwrap(),
            serde_json::to_string(&serde_json::json!({"x": 0.1 + 0.2})).unwrap()
        );
        let nan = serde_json::to_string(&T { x: f64::NAN }).unwrap();
        assert_eq!(nan, r#"{"x":"NaN"}"#);
        assert!(serde_json::from_str::<T>(&nan).unwrap().x.is_nan());
        // What older files hold for a non-finite value.
        assert!(
            serde_json::from_str::<T>(r#"{"x":null}"#)
                .unwrap()
                .x
                .is_nan()
        );
        assert_eq!(serde_json::from_str::<T>(r#"{"x":3}"#).unwrap().x, 3.0);
        assert!(serde_json::from_str::<T>(r#"{"x":"big"}"#).is_err());
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct I {
        #[serde(with = "super::interval")]
        i: Option<[f64; 2]>,
        #[serde(with = "super::interval_map")]
        m: std::collections::BTreeMap<String, Option<[f64; 2]>>,
    }

    #[test]
    fn intervals_keep_their_infinite_bounds() {
        let v = I {
            i: Some([12.5, f64::INFINITY]),
            m: [
                ("lr_pos".to_owned(), Some([0.5, f64::INFINITY])),
                ("f1".to_owned(), None),
            ]
            .into_iter()
            .collect(),
        };
        let text = serde_json::to_string(&v).unwrap();
        assert_eq!(
            text,
            r#"{"i":[12.5,"inf"],"m":{"f1":null,"lr_pos":[0.5,"inf"]}}"#
        );
        assert_eq!(serde_json::from_str::<I>(&text).unwrap(), v);
        // What files written before this hold: an infinite bound as null reads as NaN.
        let old: I = serde_json::from_str(r#"{"i":[12.5,null],"m":{}}"#).unwrap();
        let [lo, hi] = old.i.unwrap();
        assert_eq!(lo, 12.5);
        assert!(hi.is_nan());
        let none: I = serde_json::from_str(r#"{"i":null,"m":{}}"#).unwrap();
        assert_eq!(none.i, None);
    }
}

/// A [`crate::PerClass`] of such metrics (`class_accuracy`: a class with no units has an
/// undefined accuracy), each as [`serialize`] writes it.
///
/// Used as `#[serde(with = "crate::json_float::per_class")]`.
pub mod per_class {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Bound;
    use crate::PerClass;

    /// Writes each class's value as [`super::serialize`] does.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(v: &PerClass<f64>, s: S) -> Result<S::Ok, S::Error> {
        PerClass::from_fn(|l| Bound(*v.get(l))).serialize(s)
    }

    /// Reads what [`serialize`] writes (and `null`, as files written before it hold).
    ///
    /// # Errors
    /// Anything else.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PerClass<f64>, D::Error> {
        let b = PerClass::<Bound>::deserialize(d)?;
        Ok(PerClass::from_fn(|l| b.get(l).0))
    }
}
