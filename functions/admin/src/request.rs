//! Reading an admin-API request: query parameters and JSON bodies, each problem an [`AdminError`] naming the
//! parameter or `body`.

use lambda_http::Request;
use lambda_http::http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use wif_edge::body_bytes;

use crate::MAX_BODY_BYTES;
use crate::error::AdminError;

/// The first value of a query parameter.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    })
}

pub fn parse_number<T: std::str::FromStr>(request: &Request, name: &str) -> Result<Option<T>, AdminError> {
    match query_param(request, name) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| AdminError::bad_request(format!("{name}: must be a non-negative integer"))),
    }
}

pub fn parse_flag(request: &Request, name: &str) -> Result<bool, AdminError> {
    match query_param(request, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(AdminError::bad_request(format!("{name}: must be true or false"))),
    }
}

/// Refuses any method but `method` (the resource allows `allow`).
pub fn only(request: &Request, method: Method, allow: &'static str) -> Result<(), AdminError> {
    if *request.method() == method {
        Ok(())
    } else {
        Err(AdminError::MethodNotAllowed { allow })
    }
}

/// A JSON body that may be absent altogether (`POST /clients/{id}/secrets` with no options).
pub fn parse_optional_json<T: DeserializeOwned + Default>(request: &Request) -> Result<T, AdminError> {
    if body_bytes(request).iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(request)
}

/// A JSON body: within the size cap, `application/json` (or no media type), well-formed.
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, AdminError> {
    let body = body_bytes(request);
    if body.len() > MAX_BODY_BYTES {
        return Err(AdminError::BadRequest {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            description: format!("body: larger than {MAX_BODY_BYTES} bytes"),
        });
    }
    if let Some(kind) = wif_common::http_util::media_type(request.headers())
        && kind != "application/json"
    {
        return Err(AdminError::BadRequest {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            description: format!("Content-Type must be application/json, not {kind}"),
        });
    }
    serde_json::from_slice(body).map_err(|err| AdminError::bad_request(format!("body: {err}")))
}
