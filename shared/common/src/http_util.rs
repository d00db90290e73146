//! Small helpers for building HTTP answers and reading requests, independent of the Lambda runtime. Every function
//! answers with `http::Response<String>`: JSON answers (OAuth, SCIM, admin) are built with [`json_response`], and
//! `wif_edge::into_lambda_response` alone turns them into Lambda responses.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

/// A JSON response with the given content type. Serialization of our own types cannot fail; if it ever did, the
/// client still gets a well-formed JSON body.
pub fn json_response(status: StatusCode, content_type: &'static str, body: &serde_json::Value) -> Response<String> {
    let mut response = Response::new(serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned()));
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
