//! The SCIM HTTP surface without an HTTP stack: (method, path after `/scim/v2`, raw query, headers, body, caller)
//! → (status, headers, body). The Lambda adapter only translates to and from lambda_http; everything a client can
//! get wrong is answered here, always as `application/scim+json`, errors in the RFC 7644 §3.12 schema.
//!
//! Routes: `/Users`, `/Users/{id}`, `/Groups`, `/Groups/{id}`, `POST /Users/.search`, `POST /Groups/.search`,
//! `POST /.search`, `/ServiceProviderConfig`, `/ResourceTypes[/{id}]`, `/Schemas[/{id}]`. A known path with
//! another method is 405 (with `Allow`); anything else 404.

pub mod query;

use serde_json::Value;

use crate::error::ScimError;
use crate::schema::discovery::{self, DiscoveryConfig};
use crate::schema::{ResourceKind, ResourceSchema, SEARCH_REQUEST_SCHEMA};
use crate::service::{
    Caller, DirectoryService, ListQuery, PatchResponse, Projection, RequestContext, ResourceResponse, etag,
};

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Largest request body accepted (a group PUT with thousands of members fits; DynamoDB items are capped lower).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// One HTTP request, as the API sees it. Header names are matched case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// The path after the SCIM base (`/Users/123`), without query.
    pub path: String,
    /// The raw query string (no leading `?`); `+` means space.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None` for 204 / 304.
    pub body: Option<Vec<u8>>,
}

impl ApiResponse {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), SCIM_CONTENT_TYPE.into())],
            body: Some(serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec())),
        }
    }

    pub fn error(err: &ScimError) -> Self {
        let response = Self::json(err.status, &err.to_json());
        match err.retry_after() {
            Some(seconds) => response.with_header("Retry-After", seconds.to_string()),
            None => response,
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (tests and tools).
    pub fn json_body(&self) -> Option<Value> {
        self.body.as_deref().and_then(|b| serde_json::from_slice(b).ok())
    }
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
    Resource(ResourceKind, &'a str),
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
        [s] if s.eq_ignore_ascii_case("ServiceProviderConfig") => Some(Route::ServiceProviderConfig),
        [s] if s.eq_ignore_ascii_case("ResourceTypes") => Some(Route::ResourceTypes(None)),
        [s, id] if s.eq_ignore_ascii_case("ResourceTypes") => Some(Route::ResourceTypes(Some(id))),
        [s] if s.eq_ignore_ascii_case("Schemas") => Some(Route::Schemas(None)),
        [s, id] if s.eq_ignore_ascii_case("Schemas") => Some(Route::Schemas(Some(id))),
        [".search"] => Some(Route::Search(None)),
        [s] => kind(s).map(Route::Collection),
        [s, ".search"] => kind(s).map(|k| Route::Search(Some(k))),
        [s, id] if !id.is_empty() => kind(s).map(|k| Route::Resource(k, id)),
        _ => None,
    }
}

fn method_not_allowed(method: &str, allow: &str) -> ApiResponse {
    ApiResponse::error(&ScimError::method_not_allowed(format!(
        "{method} is not supported here; allowed: {allow}"
    )))
    .with_header("Allow", allow.to_owned())
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
fn json_body(request: &ApiRequest) -> Result<Value, ScimError> {
    if let Some(content_type) = request.header("content-type") {
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
    if request.body.len() > MAX_BODY_BYTES {
        return Err(ScimError::new(
            413,
            None,
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        ));
    }
    if request.body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request needs a JSON body"));
    }
    serde_json::from_slice(&request.body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not valid JSON: {e}")))
}

fn resource_response(status: u16, resource: ResourceResponse, with_location: bool) -> ApiResponse {
    let mut response = ApiResponse::json(status, &resource.body).with_header("ETag", etag(resource.version));
    if with_location {
        response = response.with_header("Location", resource.location);
    }
    response
}

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
        discovery
    }

    /// `/ServiceProviderConfig`: exactly the RFC 7643 §5 document (plus RFC 9865's `pagination`). Limits RFC 7643
    /// has no field for (members per group representation, the scan budget, the body cap) are documented, not
    /// added as an extension: strict clients such as scim2-cli reject unknown members in this document.
    pub fn service_provider_config(&self, base_url: &str) -> Value {
        discovery::service_provider_config(&self.discovery_config(base_url))
    }

    /// Answers one request. Never panics and never fails: every problem is a SCIM error response.
    pub async fn handle(
        &self,
        request: &ApiRequest,
        caller: Caller,
        base_url: &str,
        request_id: Option<String>,
    ) -> ApiResponse {
        if !accept_ok(request.header("accept")) {
            return ApiResponse::error(&ScimError::new(
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
            Err(err) => ApiResponse::error(&err),
        }
    }

    async fn dispatch(&self, request: &ApiRequest, ctx: &RequestContext) -> Result<ApiResponse, ScimError> {
        let method = request.method.to_ascii_uppercase();
        let Some(route) = route(&request.path) else {
            return Err(ScimError::not_found(format!("no SCIM endpoint at {}", request.path)));
        };
        let params = query::Params::parse(&request.query)?;
        let discovery = || self.discovery_config(&ctx.base_url);
        let schemas = [ResourceSchema::user(), ResourceSchema::group()];
        match route {
            Route::ServiceProviderConfig => match method.as_str() {
                "GET" => Ok(ApiResponse::json(200, &self.service_provider_config(&ctx.base_url))),
                _ => Ok(method_not_allowed(&method, "GET")),
            },
            Route::ResourceTypes(id) => match (method.as_str(), id) {
                ("GET", None) => Ok(ApiResponse::json(
                    200,
                    &discovery::list_response(discovery::resource_types(&discovery(), &schemas)),
                )),
                ("GET", Some(id)) => discovery::resource_type_by_id(&discovery(), &schemas, id)
                    .map(|doc| ApiResponse::json(200, &doc))
                    .ok_or_else(|| ScimError::not_found(format!("no resource type \"{id}\""))),
                _ => Ok(method_not_allowed(&method, "GET")),
            },
            Route::Schemas(id) => match (method.as_str(), id) {
                ("GET", None) => Ok(ApiResponse::json(
                    200,
                    &discovery::list_response(discovery::schemas(&discovery(), &schemas)),
                )),
                ("GET", Some(id)) => discovery::schema_by_id(&discovery(), &schemas, id)
                    .map(|doc| ApiResponse::json(200, &doc))
                    .ok_or_else(|| ScimError::not_found(format!("no schema \"{id}\""))),
                _ => Ok(method_not_allowed(&method, "GET")),
            },
            Route::Collection(kind) => match method.as_str() {
                "GET" => {
                    let query = params.list_query()?;
                    Ok(ApiResponse::json(
                        200,
                        &self.service.list(ctx, Some(kind), &query).await?,
                    ))
                }
                "POST" => {
                    let body = json_body(request)?;
                    let projection = params.projection()?;
                    let created = self.service.create(ctx, kind, body, &projection).await?;
                    Ok(resource_response(201, created, true))
                }
                _ => Ok(method_not_allowed(&method, "GET, POST")),
            },
            Route::Search(scope) => match method.as_str() {
                "POST" => {
                    let body = json_body(request)?;
                    let query = search_request(&body)?;
                    Ok(ApiResponse::json(200, &self.service.list(ctx, scope, &query).await?))
                }
                _ => Ok(method_not_allowed(&method, "POST")),
            },
            Route::Resource(kind, id) => {
                let projection = params.projection()?;
                let if_match = request.header("if-match");
                match method.as_str() {
                    "GET" => {
                        let resource = self.service.get(ctx, kind, id, &projection).await?;
                        let current = resource.version.to_string();
                        if crate::resource::if_none_match_hits(request.header("if-none-match"), &current) {
                            return Ok(ApiResponse::empty(304).with_header("ETag", etag(resource.version)));
                        }
                        Ok(resource_response(200, resource, false))
                    }
                    "PUT" => {
                        let body = json_body(request)?;
                        let resource = self.service.replace(ctx, kind, id, body, if_match, &projection).await?;
                        Ok(resource_response(200, resource, false))
                    }
                    "PATCH" => {
                        let body = json_body(request)?;
                        match self.service.patch(ctx, kind, id, &body, if_match, &projection).await? {
                            PatchResponse::Resource(resource) => Ok(resource_response(200, resource, false)),
                            PatchResponse::NoContent { version: Some(version) } => {
                                Ok(ApiResponse::empty(204).with_header("ETag", etag(version)))
                            }
                            PatchResponse::NoContent { version: None } => Ok(ApiResponse::empty(204)),
                        }
                    }
                    "DELETE" => {
                        self.service.delete(ctx, kind, id, if_match).await?;
                        Ok(ApiResponse::empty(204))
                    }
                    _ => Ok(method_not_allowed(&method, "GET, PUT, PATCH, DELETE")),
                }
            }
        }
    }
}

/// A SearchRequest body (RFC 7644 §3.4.3).
fn search_request(body: &Value) -> Result<ListQuery, ScimError> {
    let Some(object) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "a search body must be a SearchRequest JSON object",
        ));
    };
    let get = |name: &str| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    if let Some(schemas) = get("schemas") {
        let ok = schemas.as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(format!(
                "'schemas' of a search body must contain {SEARCH_REQUEST_SCHEMA}"
            )));
        }
    }
    let text = |name: &str| -> Result<Option<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("'{name}' must be a string"))),
        }
    };
    let list = |name: &str| -> Result<Option<String>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must list strings")))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| Some(v.join(","))),
            Some(_) => Err(ScimError::invalid_value(format!(
                "'{name}' must be an array of attribute names"
            ))),
        }
    };
    let number = |name: &str| -> Result<Option<i64>, ScimError> {
        match get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ScimError::invalid_value(format!("'{name}' must be an integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ScimError::invalid_value(format!("'{name}' must be an integer"))),
            Some(_) => Err(ScimError::invalid_value(format!("'{name}' must be an integer"))),
        }
    };
    Ok(ListQuery {
        filter: text("filter")?,
        sort_by: text("sortBy")?,
        sort_order: text("sortOrder")?,
        start_index: number("startIndex")?,
        count: number("count")?,
        cursor: text("cursor")?,
        projection: Projection::parse(list("attributes")?.as_deref(), list("excludedAttributes")?.as_deref())?,
    })
}

#[cfg(test)]
mod tests;
