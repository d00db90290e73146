//! Successful admin-API answers: JSON bodies (the wire types of `wif-admin-api`) with `Cache-Control: no-store`,
//! because a created secret's value travels in one of them.

use lambda_http::http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

/// A JSON answer no cache may keep.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<String> {
    let mut response = wif_common::http_util::json_response(status, "application/json", body);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 200 with `body`.
pub fn ok(body: &impl Serialize) -> Response<String> {
    json(StatusCode::OK, &serde_json::to_value(body).unwrap_or_default())
}

/// 201 with `body`, and the new resource's path in `Location`.
pub fn created(location: &str, body: &impl Serialize) -> Response<String> {
    let mut response = json(StatusCode::CREATED, &serde_json::to_value(body).unwrap_or_default());
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
