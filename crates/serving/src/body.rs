//! Reading a JSON request body straight into a typed request, with a 400 that names the
//! field at fault (`dataKey.key`, `instances[3]`) instead of a generic parse failure.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::ApiError;

/// Parses `body` as JSON into `T`, or says precisely what is wrong with it.
///
/// Bytes that are not JSON, trailing bytes after the value, and a value of the wrong
/// shape are all [`ApiError::InvalidArgument`]; the message carries the field path
/// whenever the fault is below the top level.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept a JSON array, which would yield odd paths such
    // as `[0]`; every request of the API is an object, so say so up front.
    if body.trim_ascii_start().first() != Some(&b'{') {
        let message = "Invalid JSON payload received: the body must be a JSON object";
        return Err(ApiError::InvalidArgument(message.into()));
    }

    let mut deserializer = serde_json::Deserializer::from_slice(body);

    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        describe(&path, error.inner())
    })?;

    deserializer.end().map_err(|error| describe(".", &error))?;
    Ok(value)
}

/// The message for a JSON error found at `path` (`.` for the whole body).
fn describe(path: &str, error: &serde_json::Error) -> ApiError {
    let message = match error.classify() {
        Category::Data if path != "." => format!("Invalid value at '{path}': {error}"),
        _ => format!("Invalid JSON payload received: {error}"),
    };
    ApiError::InvalidArgument(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        count: u32,
    }

    fn message(body: &str) -> String {
        match parse_json::<Outer>(body.as_bytes()) {
            Err(ApiError::InvalidArgument(message)) => message,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn wrong_type_below_the_top_names_the_field() {
        let text = message(r#"{"inner": {"count": "many"}}"#);

        assert!(text.starts_with("Invalid value at 'inner.count'"), "{text}");
    }

    #[test]
    fn not_json_and_trailing_bytes_are_payload_errors() {
        assert!(message("{not json").starts_with("Invalid JSON payload"));
        assert!(message(r#"{"inner": null} x"#).starts_with("Invalid JSON payload"));
        assert!(message("").starts_with("Invalid JSON payload"));
        assert!(message("[1]").contains("must be a JSON object"));
        assert!(message(" 7").contains("must be a JSON object"));
    }

    #[test]
    fn valid_body_parses() {
        let outer: Outer = parse_json(br#"{"inner": {"count": 3}}"#).unwrap();

        assert_eq!(outer.inner.unwrap().count, 3);
    }
}
