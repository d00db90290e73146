//! Is this event one that AWS built for a function URL? A principal allowed `lambda:InvokeFunction` (instead of only
//! `lambda:InvokeFunctionUrl`) can invoke a function directly with an event of its own making, skipping the function
//! URL's SigV4 check and naming any IAM caller in `requestContext`. IAM is the control that stops this: the template
//! grants only `lambda:InvokeFunctionUrl`. This check is the second line: it refuses events that lack what the
//! function-URL service always sets, which catches the synthetic events of the Lambda console, `aws lambda invoke`
//! and API Gateway test templates. A forger who copies every field of a real event still passes it, which is why the
//! IAM policy is the guarantee.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// How far `requestContext.timeEpoch` may be from now: the function-URL service stamps the event milliseconds
/// before it invokes the function; a stored or hand-written event is older.
pub const MAX_EVENT_AGE_MS: i64 = 5 * 60 * 1000;

/// Why an event is refused (for the log and the audit trail; the caller gets a generic answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotAFunctionUrlEvent {
    #[error("the event has no function-URL request context")]
    NoRequestContext,
    #[error("the request context lacks `{0}`")]
    Missing(&'static str),
    #[error("the request context's domain is not this region's function-URL domain of its apiId")]
    ForeignDomain,
    #[error("the request context's timeEpoch is not recent")]
    Stale,
}

/// `Ok` when `request` carries every field the function-URL service sets, a domain
/// `<apiId>.lambda-url.<region>.on.aws` (the region is the function's own, from the invoked function ARN the Runtime
/// API gives, not from the event), and a fresh `timeEpoch`; `now_ms` is the Unix time in ms. (The local stack's
/// `cargo lambda watch` sets no `accountId` or `apiId` and a `localhost` domain: local development skips this.)
pub fn check_function_url_event(request: &Request, now_ms: i64) -> Result<(), NotAFunctionUrlEvent> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = request.request_context_ref() else {
        return Err(NotAFunctionUrlEvent::NoRequestContext);
    };
    let present = |value: &Option<String>, name| match value.as_deref() {
        Some(text) if !text.is_empty() => Ok(text.to_owned()),
        _ => Err(NotAFunctionUrlEvent::Missing(name)),
    };
    present(&ctx.request_id, "requestId")?;
    present(&ctx.http.source_ip, "http.sourceIp")?;
    let domain = present(&ctx.domain_name, "domainName")?;
    present(&ctx.account_id, "accountId")?;
    let api_id = present(&ctx.apiid, "apiId")?;
    if present(&ctx.domain_prefix, "domainPrefix")? != api_id {
        return Err(NotAFunctionUrlEvent::ForeignDomain);
    }
    let expected_suffix = match own_region(request) {
        Some(region) => format!(".lambda-url.{region}.on.aws"),
        None => ".on.aws".to_owned(),
    };
    let rest = domain.strip_prefix(&api_id).unwrap_or_default();
    if !rest.ends_with(&expected_suffix) || !rest.starts_with(".lambda-url.") {
        return Err(NotAFunctionUrlEvent::ForeignDomain);
    }
    if ctx.time_epoch == 0 {
        return Err(NotAFunctionUrlEvent::Missing("timeEpoch"));
    }
    if (now_ms - ctx.time_epoch).abs() > MAX_EVENT_AGE_MS {
        return Err(NotAFunctionUrlEvent::Stale);
    }
    Ok(())
}

/// The region of the invoked function's ARN (`arn:aws:lambda:<region>:<account>:function:<name>`), when the
/// request came through the Lambda runtime.
fn own_region(request: &Request) -> Option<String> {
    let context = request.lambda_context_ref()?;
    let region = context.invoked_function_arn.split(':').nth(3)?;
    (!region.is_empty()).then(|| region.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: i64 = 1_796_177_236_000;

    fn real_event() -> serde_json::Value {
        serde_json::json!({
          "version": "2.0", "routeKey": "$default", "rawPath": "/clients", "rawQueryString": "",
          "headers": {"host": "abc.lambda-url.eu-west-1.on.aws"},
          "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "02/Dec/2026:02:07:16 +0000", "timeEpoch": NOW_MS - 40,
            "authorizer": {"iam": {"accessKey": "AKIA", "accountId": "123456789012", "callerId": "AIDA",
                                   "userArn": "arn:aws:iam::123456789012:user/ops", "userId": "AIDA"}},
            "http": {"method": "GET", "path": "/clients", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9",
                     "userAgent": "wif-admin/0.1"}
          },
          "isBase64Encoded": false
        })
    }

    /// Checks `event` as invoked in `region` (`None`: outside the Lambda runtime).
    fn check_in(region: Option<&str>, event: &serde_json::Value) -> Result<(), NotAFunctionUrlEvent> {
        let mut request = lambda_http::request::from_str(&event.to_string()).unwrap();
        if let Some(region) = region {
            let mut context = lambda_http::Context::default();
            context.invoked_function_arn = format!("arn:aws:lambda:{region}:123456789012:function:admin");
            request = request.with_lambda_context(context);
        }
        check_function_url_event(&request, NOW_MS)
    }

    #[test]
    fn a_function_url_event_passes() {
        for region in [Some("eu-west-1"), None] {
            assert_eq!(check_in(region, &real_event()), Ok(()));
        }
    }

    #[test]
    fn synthetic_events_are_refused() {
        let mut without_context = real_event();
        without_context.as_object_mut().unwrap().remove("requestContext");
        without_context["requestContext"] = serde_json::json!({"http": {"method": "GET"}});
        assert!(check_in(None, &without_context).is_err());

        for (field, expected) in [
            ("accountId", NotAFunctionUrlEvent::Missing("accountId")),
            ("apiId", NotAFunctionUrlEvent::Missing("apiId")),
            ("requestId", NotAFunctionUrlEvent::Missing("requestId")),
            ("domainName", NotAFunctionUrlEvent::Missing("domainName")),
            ("timeEpoch", NotAFunctionUrlEvent::Missing("timeEpoch")),
        ] {
            let mut event = real_event();
            event["requestContext"].as_object_mut().unwrap().remove(field);
            assert_eq!(check_in(Some("eu-west-1"), &event), Err(expected), "{field}");
        }

        // The console's API Gateway HTTP API test event, another region's URL, a prefix that is not the apiId.
        for domain in [
            "id.execute-api.us-east-1.amazonaws.com",
            "abc.lambda-url.us-east-1.on.aws",
            "abc.evil.example",
            "abcd.lambda-url.eu-west-1.on.aws",
        ] {
            let mut event = real_event();
            event["requestContext"]["domainName"] = domain.into();
            assert_eq!(
                check_in(Some("eu-west-1"), &event),
                Err(NotAFunctionUrlEvent::ForeignDomain),
                "{domain}"
            );
        }

        let mut stale = real_event();
        stale["requestContext"]["timeEpoch"] = (NOW_MS - MAX_EVENT_AGE_MS - 1).into();
        assert_eq!(check_in(None, &stale), Err(NotAFunctionUrlEvent::Stale));
    }
}
