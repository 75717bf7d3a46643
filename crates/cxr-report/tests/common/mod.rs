//! Helpers the analysis tests share.

/// Asserts that every number in `expected` appears in `written` at the same place, to a
/// relative 1e-12 (the JSON text round trip may move a float by an ulp).
pub fn assert_json_close(written: &serde_json::Value, expected: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (written, expected) {
        (Value::Number(w), Value::Number(e)) => {
            let (w, e) = (w.as_f64().unwrap(), e.as_f64().unwrap());
            assert!(
                (w - e).abs() <= 1e-12 * e.abs().max(1e-300),
                "{at}: {w} != {e}"
            );
        }
        (Value::Array(w), Value::Array(e)) => {
            assert_eq!(w.len(), e.len(), "{at}: lengths");
            for (i, (w, e)) in w.iter().zip(e).enumerate() {
                assert_json_close(w, e, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(w), Value::Object(e)) => {
            assert_eq!(
                w.keys().collect::<Vec<_>>(),
                e.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, e) in e {
                assert_json_close(&w[k], e, &format!("{at}.{k}"));
            }
        }
        (w, e) => assert_eq!(w, e, "{at}"),
    }
}
