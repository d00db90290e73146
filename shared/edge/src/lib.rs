//! The one place where the HTTP functions meet the Lambda runtime. Inside, every function works with the `http`
//! crate's types: requests in, `http::Response<String>` out. Here are what a function reads from a function-URL
//! event besides the HTTP request itself ([`RequestMeta`]: the Lambda request id for the per-request tracing span and
//! the audit trail, the caller's source IP and user agent, the IAM principal that signed the request with
//! `AuthType: AWS_IAM`; [`body_bytes`]: the raw body), the one conversion of an answer into a Lambda response
//! ([`into_lambda_response`]), and the runtime loop that serves an [`HttpFunction`] ([`serve`]).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};

/// Facts about one request that are not part of the HTTP message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The Lambda request id (`-` outside Lambda, e.g. in unit tests).
    pub request_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// ARN of the IAM principal that signed the request, when the function URL uses AWS_IAM auth.
    pub iam_principal: Option<String>,
    /// The host name the request was sent to (function URL or custom domain).
    pub domain_name: Option<String>,
}

impl RequestMeta {
    pub fn of(request: &Request) -> Self {
        let request_id = request
            .lambda_context_ref()
            .map(|ctx| ctx.request_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "-".to_owned());
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let mut meta = RequestMeta {
            request_id,
            user_agent: header("user-agent"),
            domain_name: header("host"),
            ..Default::default()
        };
        if let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() {
            meta.source_ip = ctx.http.source_ip.clone();
            if ctx.http.user_agent.is_some() {
                meta.user_agent = ctx.http.user_agent.clone();
            }
            if ctx.domain_name.is_some() {
                meta.domain_name = ctx.domain_name.clone();
            }
            meta.iam_principal = ctx
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.iam.as_ref())
                .and_then(|iam| iam.user_arn.clone().or_else(|| iam.caller_id.clone()));
        }
        meta
    }

    /// The host to build this deployment's own URLs from when none is configured (the token metadata's issuer, SCIM
    /// `meta.location`): the request's host if it looks like a host name (it comes from the client, and ends up in
    /// responses), else `localhost`.
    pub fn public_host(&self) -> &str {
        self.domain_name
            .as_deref()
            .filter(|host| {
                !host.is_empty()
                    && host.len() <= 253
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            })
            .unwrap_or("localhost")
    }

    /// The span every log line of this request is attached to.
    pub fn span(&self, function: &'static str, method: &str, path: &str) -> tracing::Span {
        tracing::info_span!("request", function, request_id = %self.request_id, method, path)
    }
}

/// The request body as bytes, whatever encoding the event used (lambda_http already base64-decoded it).
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// Converts a response built with plain `http` types into the Lambda response type.
pub fn into_lambda_response(response: lambda_http::http::Response<String>) -> lambda_http::Response<Body> {
    let (parts, body) = response.into_parts();
    lambda_http::Response::from_parts(parts, if body.is_empty() { Body::Empty } else { Body::Text(body) })
}

/// An HTTP function: what it builds once per Lambda environment, answering each request.
pub trait HttpFunction: Send + Sync + 'static {
    /// Answers one request. Every outcome is an answer: an error here would be a Lambda invocation error, which
    /// the caller sees as a bare 502 instead of an HTTP error of the function's protocol.
    fn handle(&self, request: Request) -> impl Future<Output = lambda_http::Response<Body>> + Send;
}

/// Runs `function` under the Lambda runtime until the environment shuts down.
pub async fn serve(function: impl HttpFunction) -> Result<(), lambda_http::Error> {
    let function = Arc::new(function);
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let function = function.clone();
        async move { Ok::<_, Infallible>(function.handle(request).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_requests_have_defaults() {
        let request = lambda_http::http::Request::builder()
            .uri("/clients")
            .header("user-agent", "curl/8")
            .header("host", "127.0.0.1:9000")
            .body(Body::Text("{}".into()))
            .unwrap();
        let request: Request = request;
        let meta = RequestMeta::of(&request);
        assert_eq!(meta.request_id, "-");
        assert_eq!(meta.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(meta.domain_name.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(meta.iam_principal, None);
        assert_eq!(body_bytes(&request), b"{}");
    }

    #[test]
    fn public_host_ignores_strange_hosts() {
        let meta = |host: &str| RequestMeta {
            domain_name: Some(host.to_owned()),
            ..RequestMeta::default()
        };
        for strange in ["evil.com/<script>", "", "a b", &"a".repeat(254)] {
            assert_eq!(meta(strange).public_host(), "localhost", "{strange:?}");
        }
        assert_eq!(RequestMeta::default().public_host(), "localhost");
        for host in ["abc.lambda-url.eu-west-1.on.aws", "127.0.0.1:9000", "[::1]:9000"] {
            assert_eq!(meta(host).public_host(), host);
        }
    }

    #[test]
    fn function_url_events_carry_source_ip_and_iam_principal() {
        let event = r#"{
          "version": "2.0", "routeKey": "$default", "rawPath": "/clients", "rawQueryString": "",
          "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "user-agent": "wif-admin/0.1"},
          "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "02/Dec/2026:02:07:16 +0000", "timeEpoch": 1796177236000,
            "authorizer": {"iam": {"accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
                                   "userArn": "arn:aws:iam::123456789012:user/ops", "userId": "AIDA"}},
            "http": {"method": "GET", "path": "/clients", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "wif-admin/0.1"}
          },
          "isBase64Encoded": false
        }"#;
        let request = lambda_http::request::from_str(event).unwrap();
        let meta = RequestMeta::of(&request);
        assert_eq!(meta.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(
            meta.iam_principal.as_deref(),
            Some("arn:aws:iam::123456789012:user/ops")
        );
        assert_eq!(meta.domain_name.as_deref(), Some("abc.lambda-url.eu-west-1.on.aws"));
    }
}
