//! Small helpers for building HTTP answers and reading requests, independent of the Lambda runtime. Every function
//! answers with `http::Response<String>`: JSON answers (OAuth, SCIM, admin) are built with [`json_response`], and
//! `wif_edge::into_lambda_response` alone turns them into Lambda responses.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// Initial capacity of a serialized JSON answer: a SCIM resource or a token answer fits, so the text is not
/// reallocated three times on its way up from serde_json's 128 bytes (measured: 7% of a SCIM lookup's CPU).
const JSON_ANSWER_CAPACITY: usize = 1024;

/// A JSON response with the given content type. Serialization of our own types cannot fail; if it ever did, the
/// client still gets a well-formed JSON body.
pub fn json_response(status: StatusCode, content_type: &'static str, body: &serde_json::Value) -> Response<String> {
    let mut text = Vec::with_capacity(JSON_ANSWER_CAPACITY);
    let text = match serde_json::to_writer(&mut text, body) {
        // serde_json writes UTF-8 only.
        Ok(()) => String::from_utf8(text).unwrap_or_else(|_| "{}".to_owned()),
        Err(_) => "{}".to_owned(),
    };
    let mut response = Response::new(text);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The first value of a header as text, if it is valid visible ASCII.
pub fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// The media type of a Content-Type header without parameters, lower-cased (`application/json; charset=utf-8` →
/// `application/json`).
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    header_str(headers, header::CONTENT_TYPE)
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_drops_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert_eq!(media_type(&headers).as_deref(), Some("application/json"));
    }

    #[test]
    fn json_response_sets_status_and_type() {
        let response = json_response(StatusCode::CREATED, "application/json", &serde_json::json!({"a": 1}));
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.body(), r#"{"a":1}"#);
    }
}
