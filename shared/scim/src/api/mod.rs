//! The SCIM HTTP surface over the `http` crate's types, without an HTTP stack: an `http::Request` whose path is
//! the part after the SCIM base (`/Users/123?…`), plus the authenticated caller → an `http::Response<String>`.
//! The Lambda adapter only strips the base path and turns the answer into a Lambda response; everything a client
//! can get wrong is answered here, always as `application/scim+json`, errors in the RFC 7644 §3.12 schema.
//!
//! Routes: `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}`, `POST /Users/.search`, `POST /Groups/.search`,
//! `POST /.search`, `POST /Bulk`, `/ServiceProviderConfig`, `/ResourceTypes[/{id}]`, `/Schemas[/{id}]`. A known path with
//! another method is 405 (with `Allow`); anything else 404. Query parameters are in [`query`], the SearchRequest
//! body in [`search`].

pub mod query;
mod search;

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::Value;
use wif_common::http_util::{header_str, json_response};

use crate::bulk;
use crate::error::ScimError;
use crate::schema::ResourceKind;
use crate::schema::ResourceSchema;
use crate::schema::discovery::{self, DiscoveryConfig};
use crate::service::{Caller, DirectoryService, PatchResponse, RequestContext, ResourceResponse, etag};
use crate::store::ResourceId;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Largest request body accepted (a group PUT with thousands of members fits; DynamoDB items are capped lower).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// A SCIM JSON answer.
fn json(status: StatusCode, body: &Value) -> Response<String> {
    json_response(status, SCIM_CONTENT_TYPE, body)
}

/// The RFC 7644 §3.12 error answer of `err`, with its status (and `Retry-After` on 503 and 429).
pub fn error_response(err: &ScimError) -> Response<String> {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = json(status, &err.to_json());
    match err.retry_after() {
        Some(seconds) => with_header(response, header::RETRY_AFTER, &seconds.to_string()),
        None => response,
    }
}

fn empty(status: StatusCode) -> Response<String> {
    let mut response = Response::new(String::new());
    *response.status_mut() = status;
    response
}

fn with_header(mut response: Response<String>, name: header::HeaderName, value: &str) -> Response<String> {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// The API over a directory service.
#[derive(Debug)]
pub struct ScimApi {
    service: DirectoryService,
    documentation_uri: Option<String>,
}

enum Route<'a> {
    ServiceProviderConfig,
    ResourceTypes(Option<&'a str>),
    Schemas(Option<&'a str>),
    Collection(ResourceKind),
    Search(Option<ResourceKind>),
    Bulk,
    /// The id comes from the path; from here on it is a [`ResourceId`], never confused with the tenant.
    Resource(ResourceKind, ResourceId),
}

/// The discovery documents that exist as a list and one by one.
#[derive(Clone, Copy)]
enum Listing {
    ResourceTypes,
    Schemas,
}

fn route(path: &str) -> Option<Route<'_>> {
    let trimmed = path.trim_end_matches('/');
    let segments: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let kind = |s: &str| {
        if s.eq_ignore_ascii_case("Users") {
            Some(ResourceKind::User)
        } else if s.eq_ignore_ascii_case("Groups") {
            Some(ResourceKind::Group)
        } else {
            None
        }
    };
    match segments.as_slice() {
        // `serviceConfiguration`: the name Microsoft's SCIM reference code and Postman collection use.
        [s] if s.eq_ignore_ascii_case("ServiceProviderConfig") || s.eq_ignore_ascii_case("serviceConfiguration") => {
            Some(Route::ServiceProviderConfig)
        }
        [s] if s.eq_ignore_ascii_case("ResourceTypes") => Some(Route::ResourceTypes(None)),
        [s, id] if s.eq_ignore_ascii_case("ResourceTypes") => Some(Route::ResourceTypes(Some(id))),
        [s] if s.eq_ignore_ascii_case("Schemas") => Some(Route::Schemas(None)),
        [s, id] if s.eq_ignore_ascii_case("Schemas") => Some(Route::Schemas(Some(id))),
        [".search"] => Some(Route::Search(None)),
        [s] if s.eq_ignore_ascii_case("Bulk") => Some(Route::Bulk),
        [s] => kind(s).map(Route::Collection),
        [s, ".search"] => kind(s).map(|k| Route::Search(Some(k))),
        [s, id] if !id.is_empty() => kind(s).map(|k| Route::Resource(k, ResourceId::new(*id))),
        _ => None,
    }
}

fn method_not_allowed(method: &Method, allow: &str) -> Response<String> {
    let err = ScimError::method_not_allowed(format!("{method} is not supported here; allowed: {allow}"));
    with_header(error_response(&err), header::ALLOW, allow)
}

/// Accept: SCIM or plain JSON, a wildcard, or nothing (Entra sometimes sends none or `application/json`).
fn accept_ok(header: Option<&str>) -> bool {
    let Some(header) = header else { return true };
    if header.trim().is_empty() {
        return true;
    }
    header.split(',').any(|item| {
        let media = item.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        matches!(
            media.as_str(),
            "*/*" | "application/*" | "application/json" | "application/scim+json"
        )
    })
}

/// Parses a JSON request body: SCIM or plain JSON media type (or none), within the size cap.
fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, ScimError> {
    if let Some(content_type) = header_str(headers, header::CONTENT_TYPE) {
        let media = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !media.is_empty() && media != SCIM_CONTENT_TYPE && media != "application/json" {
            return Err(ScimError::new(
                415,
                None,
                format!("Content-Type {media} is not supported; send application/scim+json or application/json"),
            ));
        }
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ScimError::new(
            413,
            None,
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request needs a JSON body"));
    }
    serde_json::from_slice(body).map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn resource_response(status: StatusCode, resource: ResourceResponse, with_location: bool) -> Response<String> {
    let response = with_header(json(status, &resource.body), header::ETAG, &etag(resource.version));
    if with_location {
        with_header(response, header::LOCATION, &resource.location)
    } else {
        response
    }
}

/// The method in upper case: methods are case-sensitive in HTTP, but this API has always accepted `get`.
fn method_of<B>(request: &Request<B>) -> Method {
    let upper = request.method().as_str().to_ascii_uppercase();
    Method::from_bytes(upper.as_bytes()).unwrap_or_else(|_| request.method().clone())
}

type Answer = Result<Response<String>, ScimError>;

impl ScimApi {
    pub fn new(service: DirectoryService) -> Self {
        Self {
            service,
            documentation_uri: None,
        }
    }

    pub fn with_documentation_uri(mut self, uri: impl Into<String>) -> Self {
        self.documentation_uri = Some(uri.into());
        self
    }

    pub fn service(&self) -> &DirectoryService {
        &self.service
    }

    /// What `/ServiceProviderConfig` advertises: exactly the service's limits.
    pub fn discovery_config(&self, base_url: &str) -> DiscoveryConfig {
        let config = self.service.config();
        let mut discovery = DiscoveryConfig::new(base_url);
        discovery.documentation_uri = self.documentation_uri.clone();
        discovery.default_page_size = u32::try_from(config.default_page_size).unwrap_or(u32::MAX);
        discovery.max_page_size = u32::try_from(config.max_page_size).unwrap_or(u32::MAX);
        discovery.max_filter_results = u32::try_from(config.max_page_size).unwrap_or(u32::MAX);
        discovery.cursor_pagination = true;
        discovery.bulk_max_operations = u32::try_from(config.bulk.max_operations).unwrap_or(u32::MAX);
        discovery.bulk_max_payload_bytes = u32::try_from(config.bulk.max_payload_bytes).unwrap_or(u32::MAX);
        discovery
    }

    /// `/ServiceProviderConfig`: exactly the RFC 7643 §5 document (plus RFC 9865's `pagination`). Limits RFC 7643
    /// has no field for (members per group representation, the scan budget, the body cap) are documented, not
    /// added as an extension: strict clients such as scim2-cli reject unknown members in this document.
    pub fn service_provider_config(&self, base_url: &str) -> Value {
        discovery::service_provider_config(&self.discovery_config(base_url))
    }

    /// Answers one request: `request`'s path is the part after the SCIM base. Never panics and never fails:
    /// every problem is a SCIM error response.
    pub async fn handle<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        caller: Caller,
        base_url: &str,
        request_id: Option<String>,
    ) -> Response<String> {
        if !accept_ok(header_str(request.headers(), header::ACCEPT)) {
            return error_response(&ScimError::new(
                406,
                None,
                "responses are application/scim+json; accept it, application/json or */*",
            ));
        }
        let ctx = RequestContext {
            caller,
            base_url: base_url.trim_end_matches('/').to_owned(),
            request_id,
        };
        match self.dispatch(request, &ctx).await {
            Ok(response) => response,
            Err(err) => error_response(&err),
        }
    }

    async fn dispatch<B: AsRef<[u8]>>(&self, request: &Request<B>, ctx: &RequestContext) -> Answer {
        let method = method_of(request);
        let path = request.uri().path();
        let Some(route) = route(path) else {
            return Err(ScimError::not_found(format!("no SCIM endpoint at {path}")));
        };
        let params = query::Params::parse(request.uri().query().unwrap_or_default())?;
        match route {
            Route::ServiceProviderConfig => match method {
                Method::GET => Ok(json(StatusCode::OK, &self.service_provider_config(&ctx.base_url))),
                _ => Ok(method_not_allowed(&method, "GET")),
            },
            Route::ResourceTypes(id) => self.discovery(&method, Listing::ResourceTypes, id, &ctx.base_url),
            Route::Schemas(id) => self.discovery(&method, Listing::Schemas, id, &ctx.base_url),
            Route::Collection(kind) => self.collection(&method, kind, request, &params, ctx).await,
            Route::Search(scope) => match method {
                Method::POST => {
                    let body = json_body(request.headers(), request.body().as_ref())?;
                    let query = search::search_request(&body)?;
                    Ok(json(StatusCode::OK, &self.service.list(ctx, scope, &query).await?))
                }
                _ => Ok(method_not_allowed(&method, "POST")),
            },
            Route::Bulk => match method {
                Method::POST => self.bulk(request, ctx).await,
                _ => Ok(method_not_allowed(&method, "POST")),
            },
            Route::Resource(kind, id) => self.resource(&method, kind, &id, request, &params, ctx).await,
        }
    }

    /// `POST /Bulk`: the size limit is checked before the body is read, the operation count before any runs.
    async fn bulk<B: AsRef<[u8]>>(&self, request: &Request<B>, ctx: &RequestContext) -> Answer {
        let limits = self.service.config().bulk;
        let raw = request.body().as_ref();
        bulk::check_payload(raw.len(), &limits)?;
        let parsed = bulk::parse(&json_body(request.headers(), raw)?, &limits)?;
        Ok(json(StatusCode::OK, &self.service.bulk(ctx, &parsed).await))
    }

    /// `/ResourceTypes[/{id}]` and `/Schemas[/{id}]`: GET only, the whole list or one document by id.
    fn discovery(&self, method: &Method, listing: Listing, id: Option<&str>, base_url: &str) -> Answer {
        if *method != Method::GET {
            return Ok(method_not_allowed(method, "GET"));
        }
        let schemas = [ResourceSchema::user(), ResourceSchema::group()];
        let config = self.discovery_config(base_url);
        let Some(id) = id else {
            let documents = match listing {
                Listing::ResourceTypes => discovery::resource_types(&config, &schemas),
                Listing::Schemas => discovery::schemas(&config, &schemas),
            };
            return Ok(json(StatusCode::OK, &discovery::list_response(documents)));
        };
        let (document, what) = match listing {
            Listing::ResourceTypes => (discovery::resource_type_by_id(&config, &schemas, id), "resource type"),
            Listing::Schemas => (discovery::schema_by_id(&config, &schemas, id), "schema"),
        };
        document
            .map(|doc| json(StatusCode::OK, &doc))
            .ok_or_else(|| ScimError::not_found(format!("no {what} \"{id}\"")))
    }

    /// `GET|POST /Users`, `/Groups`.
    async fn collection<B: AsRef<[u8]>>(
        &self,
        method: &Method,
        kind: ResourceKind,
        request: &Request<B>,
        params: &query::Params,
        ctx: &RequestContext,
    ) -> Answer {
        match *method {
            Method::GET => {
                let query = params.list_query()?;
                Ok(json(StatusCode::OK, &self.service.list(ctx, Some(kind), &query).await?))
            }
            Method::POST => {
                let body = json_body(request.headers(), request.body().as_ref())?;
                let projection = params.projection()?;
                let created = self.service.create(ctx, kind, body, &projection).await?;
                Ok(resource_response(StatusCode::CREATED, created, true))
            }
            _ => Ok(method_not_allowed(method, "GET, POST")),
        }
    }

    /// `GET|PUT|PATCH|DELETE /Users/{id}`, `/Groups/{id}`.
    async fn resource<B: AsRef<[u8]>>(
        &self,
        method: &Method,
        kind: ResourceKind,
        id: &ResourceId,
        request: &Request<B>,
        params: &query::Params,
        ctx: &RequestContext,
    ) -> Answer {
        let projection = params.projection()?;
        let headers = request.headers();
        let if_match = header_str(headers, header::IF_MATCH);
        let body = || json_body(headers, request.body().as_ref());
        match *method {
            Method::GET => {
                let resource = self.service.get(ctx, kind, id, &projection).await?;
                let current = resource.version.to_string();
                if crate::resource::if_none_match_hits(header_str(headers, header::IF_NONE_MATCH), &current) {
                    return Ok(with_header(
                        empty(StatusCode::NOT_MODIFIED),
                        header::ETAG,
                        &etag(resource.version),
                    ));
                }
                Ok(resource_response(StatusCode::OK, resource, false))
            }
            Method::PUT => {
                let resource = self
                    .service
                    .replace(ctx, kind, id, body()?, if_match, &projection)
                    .await?;
                Ok(resource_response(StatusCode::OK, resource, false))
            }
            Method::PATCH => match self
                .service
                .patch(ctx, kind, id, &body()?, if_match, &projection)
                .await?
            {
                PatchResponse::Resource(resource) => Ok(resource_response(StatusCode::OK, resource, false)),
                PatchResponse::NoContent { version: Some(version) } => {
                    Ok(with_header(empty(StatusCode::NO_CONTENT), header::ETAG, &etag(version)))
                }
                PatchResponse::NoContent { version: None } => Ok(empty(StatusCode::NO_CONTENT)),
            },
            Method::DELETE => {
                self.service.delete(ctx, kind, id, if_match).await?;
                Ok(empty(StatusCode::NO_CONTENT))
            }
            _ => Ok(method_not_allowed(method, "GET, PUT, PATCH, DELETE")),
        }
    }
}

#[cfg(test)]
mod tests;
