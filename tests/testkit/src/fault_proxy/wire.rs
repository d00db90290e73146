//! DynamoDB's error answers as they come over the wire (awsJson1_0: a JSON body whose `__type` names the error),
//! so the SDK classifies them exactly as it would classify DynamoDB's: throttling errors and 500s are retried with
//! backoff, and once the retries are spent the caller sees the typed error.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::rules::ThrottleError;

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

fn answer(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"__type": error_type, "message": message}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE),
    );
    if let Ok(id) = hyper::header::HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string().to_uppercase()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// The 400 DynamoDB sends when a request is throttled.
pub fn throttled(error: ThrottleError) -> Response<Full<Bytes>> {
    let (namespace, message) = match error {
        ThrottleError::ProvisionedThroughputExceededException => (
            "com.amazonaws.dynamodb.v20120810",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your \
             provisioning level with the UpdateTable API.",
        ),
        ThrottleError::ThrottlingException => (
            "com.amazon.coral.availability",
            "Rate of requests exceeds the allowed throughput.",
        ),
        ThrottleError::RequestLimitExceeded => (
            "com.amazonaws.dynamodb.v20120810",
            "Throughput exceeds the current throughput limit for your account.",
        ),
    };
    answer(
        StatusCode::BAD_REQUEST,
        &format!("{namespace}#{}", error.name()),
        message,
    )
}

/// The 500 DynamoDB sends on an internal failure.
pub fn internal_server_error() -> Response<Full<Bytes>> {
    answer(
        StatusCode::INTERNAL_SERVER_ERROR,
        "com.amazonaws.dynamodb.v20120810#InternalServerError",
        "Internal server error",
    )
}

/// A 200 with the given body, as DynamoDB answers a repeated transaction.
pub fn success(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}

/// The 400 for a `ClientRequestToken` reused with other parameters.
pub fn idempotent_parameter_mismatch() -> Response<Full<Bytes>> {
    answer(
        StatusCode::BAD_REQUEST,
        "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
        "The request uses the same client token as a previous, but non-identical request.",
    )
}

/// The proxy's own answer when the server behind it cannot be reached (what any HTTP proxy answers).
pub fn bad_gateway(reason: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!(
        "fault proxy: upstream failed: {reason}"
    ))));
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}
