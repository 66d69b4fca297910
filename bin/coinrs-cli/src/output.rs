//! Printing answers as bitcoin-cli does.

use serde_json::Value;

/// What to print for a result: a string bare (no quotes), null (or an empty string) nothing,
/// anything else as JSON indented by 2. Numbers keep the server's exact text (`50.00000000`),
/// thanks to serde_json's `arbitrary_precision`, and object keys keep the server's order
/// (`preserve_order`).
pub fn format_result(result: &Value) -> Option<String> {
    match result {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn strings_are_bare() {
        assert_eq!(format_result(&json!("00ab")), Some("00ab".to_string()));
        assert_eq!(
            format_result(&json!("a \"quoted\" word")).unwrap(),
            "a \"quoted\" word"
        );
    }

    #[test]
    fn null_prints_nothing() {
        assert_eq!(format_result(&Value::Null), None);
        assert_eq!(format_result(&json!("")), None);
    }

    #[test]
    fn numbers_and_booleans() {
        assert_eq!(format_result(&json!(7)).unwrap(), "7");
        assert_eq!(format_result(&json!(true)).unwrap(), "true");
        assert_eq!(
            format_result(&parse("4.656542373906925e-10")).unwrap(),
            "4.656542373906925e-10"
        );
    }

    /// Keys keep the server's order (the workspace enables serde_json's `preserve_order`).
    #[test]
    fn objects_are_pretty_with_two_spaces() {
        let v = parse(r#"{"blocks":1,"tx":["a","b"],"empty":[]}"#);
        assert_eq!(
            format_result(&v).unwrap(),
            "{\n  \"blocks\": 1,\n  \"tx\": [\n    \"a\",\n    \"b\"\n  ],\n  \"empty\": []\n}"
        );
    }

    #[test]
    fn amounts_are_printed_exactly() {
        let v = parse(r#"{"value":50.00000000,"fee":0.00010000,"big":20999999.97690000}"#);
        let text = format_result(&v).unwrap();
        assert!(text.contains("\"value\": 50.00000000"), "{text}");
        assert!(text.contains("\"fee\": 0.00010000"), "{text}");
        assert!(text.contains("\"big\": 20999999.97690000"), "{text}");
        assert_eq!(format_result(&parse("0.10000000")).unwrap(), "0.10000000");
    }
}
