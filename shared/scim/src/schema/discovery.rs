//! RFC 7644 §4 discovery documents: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//!
//! Everything deployment-specific (base URL, limits) comes in through [`DiscoveryConfig`], so the documents always
//! advertise exactly what the directory service enforces.

use serde_json::{Value, json};

use super::{
    LIST_RESPONSE_SCHEMA, RESOURCE_TYPE_SCHEMA, ResourceSchema, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA,
    SchemaDef,
};

/// What the service enforces, advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// The SCIM base URL without a trailing slash, e.g. `https://api.example.com/scim/v2`; `meta.location` values are
    /// built from it.
    pub base_url: String,
    pub documentation_uri: Option<String>,
    /// The most resources one filtered query returns (`filter.maxResults`).
    pub max_filter_results: u32,
    /// Page size when the client gives no `count`.
    pub default_page_size: u32,
    /// The largest `count` honoured.
    pub max_page_size: u32,
    /// RFC 9865 cursor pagination offered next to index pagination.
    pub cursor_pagination: bool,
    /// Seconds a cursor stays valid (RFC 9865 `cursorTimeout`), when the service guarantees one.
    pub cursor_timeout_seconds: Option<u32>,
    /// Whether PATCH/PUT may set `password` (RFC 7643 §5 `changePassword`).
    pub change_password: bool,
    /// `POST /Bulk` limits (`bulk.maxOperations`, `bulk.maxPayloadSize` in bytes); 0 operations: no Bulk.
    pub bulk_max_operations: u32,
    pub bulk_max_payload_bytes: u32,
}

impl DiscoveryConfig {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            documentation_uri: None,
            max_filter_results: 200,
            default_page_size: 100,
            max_page_size: 200,
            cursor_pagination: true,
            cursor_timeout_seconds: None,
            change_password: true,
            bulk_max_operations: 0,
            bulk_max_payload_bytes: 0,
        }
    }

    fn location(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base_url)
    }
}

/// The `/ServiceProviderConfig` document (RFC 7643 §5) with the RFC 9865 `pagination` object.
pub fn service_provider_config(config: &DiscoveryConfig) -> Value {
    let mut pagination = json!({
        "cursor": config.cursor_pagination,
        "index": true,
        "defaultPaginationMethod": "index",
        "defaultPageSize": config.default_page_size,
        "maxPageSize": config.max_page_size,
    });
    if let Some(timeout) = config.cursor_timeout_seconds {
        pagination["cursorTimeout"] = json!(timeout);
    }
    let mut doc = json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_SCHEMA],
        "patch": {"supported": true},
        "bulk": {
            "supported": config.bulk_max_operations > 0,
            "maxOperations": config.bulk_max_operations,
            "maxPayloadSize": config.bulk_max_payload_bytes,
        },
        "filter": {"supported": true, "maxResults": config.max_filter_results},
        "changePassword": {"supported": config.change_password},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": pagination,
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with an OAuth 2.0 access token (RFC 6750) obtained with a client assertion (RFC 7523).",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": config.location("/ServiceProviderConfig"),
        },
    });
    if let Some(uri) = &config.documentation_uri {
        doc["documentationUri"] = json!(uri);
        doc["authenticationSchemes"][0]["documentationUri"] = json!(uri);
    }
    doc
}

/// One `/ResourceTypes/{id}` document (RFC 7643 §6).
pub fn resource_type(config: &DiscoveryConfig, schema: &ResourceSchema) -> Value {
    let name = schema.resource_type();
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": schema.endpoint(),
        "description": schema.description,
        "schema": schema.core.id,
        "schemaExtensions": schema.extensions.iter().map(|e| json!({
            "schema": e.schema.id,
            "required": e.required,
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "ResourceType",
            "location": config.location(&format!("/ResourceTypes/{name}")),
        },
    })
}

/// All `/ResourceTypes` documents.
pub fn resource_types(config: &DiscoveryConfig, schemas: &[&ResourceSchema]) -> Vec<Value> {
    schemas.iter().map(|s| resource_type(config, s)).collect()
}

/// `/ResourceTypes/{id}`; ids compare case-insensitively.
pub fn resource_type_by_id(config: &DiscoveryConfig, schemas: &[&ResourceSchema], id: &str) -> Option<Value> {
    schemas
        .iter()
        .find(|s| s.resource_type().eq_ignore_ascii_case(id))
        .map(|s| resource_type(config, s))
}

/// One `/Schemas/{id}` document (RFC 7643 §7).
pub fn schema_document(config: &DiscoveryConfig, schema: &SchemaDef) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": schema.id,
        "name": schema.name,
        "description": schema.description,
        "attributes": schema.attributes.iter().map(|a| a.to_json()).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "Schema",
            "location": config.location(&format!("/Schemas/{}", schema.id)),
        },
    })
}

/// Every schema used by the given resource types, each once, core schemas first.
pub fn schemas(config: &DiscoveryConfig, resource_schemas: &[&ResourceSchema]) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let cores = resource_schemas.iter().map(|s| (&s.core, Some(*s)));
    let extensions = resource_schemas
        .iter()
        .flat_map(|s| s.extensions.iter().map(|e| (&e.schema, None)));
    for (schema, resource) in cores.chain(extensions) {
        if seen.iter().any(|id| id.eq_ignore_ascii_case(&schema.id)) {
            continue;
        }
        seen.push(&schema.id);
        out.push(listed_document(config, schema, resource));
    }
    out
}

/// A schema document as `/Schemas` lists it. A core schema also lists the resource's `externalId`: RFC 7643 §3.1
/// makes it a common attribute of no schema, but clients that check which attributes a server knows by reading
/// `/Schemas` (Microsoft's validation harness) look for it there.
fn listed_document(config: &DiscoveryConfig, schema: &SchemaDef, resource: Option<&ResourceSchema>) -> Value {
    let mut document = schema_document(config, schema);
    let external_id = resource.and_then(|r| r.common.iter().find(|a| a.name == "externalId"));
    if let (Some(attr), Some(attributes)) = (external_id, document["attributes"].as_array_mut()) {
        attributes.push(attr.to_json());
    }
    document
}

/// `/Schemas/{id}`; URNs compare case-insensitively.
pub fn schema_by_id(config: &DiscoveryConfig, resource_schemas: &[&ResourceSchema], id: &str) -> Option<Value> {
    for resource in resource_schemas {
        if resource.core.is(id) {
            return Some(listed_document(config, &resource.core, Some(resource)));
        }
        if let Some(extension) = resource.extensions.iter().find(|e| e.schema.is(id)) {
            return Some(listed_document(config, &extension.schema, None));
        }
    }
    None
}

/// A ListResponse (RFC 7644 §3.4.2) holding every item, as discovery endpoints answer (they are not paginated).
pub fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

    fn config() -> DiscoveryConfig {
        DiscoveryConfig::new("https://scim.example.com/scim/v2/")
    }

    #[test]
    fn service_provider_config_advertises_what_the_service_does() {
        let mut cfg = config();
        cfg.cursor_timeout_seconds = Some(600);
        cfg.documentation_uri = Some("https://docs.example.com/scim".into());
        let doc = service_provider_config(&cfg);
        assert_eq!(doc["schemas"][0], SERVICE_PROVIDER_CONFIG_SCHEMA);
        assert_eq!(doc["patch"]["supported"], true);
        assert_eq!(doc["bulk"]["supported"], false);
        assert_eq!(doc["filter"]["maxResults"], 200);
        assert_eq!(doc["etag"]["supported"], true);
        assert_eq!(doc["sort"]["supported"], true);
        assert_eq!(doc["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(doc["pagination"]["cursor"], true);
        assert_eq!(doc["pagination"]["index"], true);
        assert_eq!(doc["pagination"]["maxPageSize"], 200);
        assert_eq!(doc["pagination"]["cursorTimeout"], 600);
        assert_eq!(doc["documentationUri"], "https://docs.example.com/scim");
        assert_eq!(
            doc["meta"]["location"],
            "https://scim.example.com/scim/v2/ServiceProviderConfig"
        );
    }

    #[test]
    fn resource_types_and_schemas() {
        let cfg = config();
        let all = [ResourceSchema::user(), ResourceSchema::group()];
        let types = resource_types(&cfg, &all);
        assert_eq!(types.len(), 2);
        assert_eq!(types[0]["endpoint"], "/Users");
        assert_eq!(types[0]["schemaExtensions"][0]["schema"], ENTERPRISE_USER_SCHEMA);
        assert_eq!(types[1]["schema"], GROUP_SCHEMA);
        assert_eq!(
            resource_type_by_id(&cfg, &all, "user").map(|v| v["meta"]["location"].clone()),
            Some(json!("https://scim.example.com/scim/v2/ResourceTypes/User"))
        );
        assert!(resource_type_by_id(&cfg, &all, "Device").is_none());

        let docs = schemas(&cfg, &all);
        let ids: Vec<_> = docs
            .iter()
            .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, vec![USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        let user = schema_by_id(&cfg, &all, &USER_SCHEMA.to_uppercase()).expect("user schema");
        let user_name = user["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "userName"))
            .cloned()
            .expect("userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["caseExact"], false);
        let emails = user["attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["name"] == "emails"))
            .cloned()
            .expect("emails");
        assert_eq!(emails["multiValued"], true);
        assert!(emails.get("caseExact").is_none());
        assert_eq!(emails["subAttributes"][2]["canonicalValues"][0], "work");
        assert_eq!(
            user["meta"]["location"],
            format!("https://scim.example.com/scim/v2/Schemas/{USER_SCHEMA}")
        );
        let names = |doc: &Value| -> Vec<String> {
            doc["attributes"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x["name"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            names(&user),
            [
                "userName",
                "name",
                "displayName",
                "nickName",
                "profileUrl",
                "title",
                "userType",
                "preferredLanguage",
                "locale",
                "timezone",
                "active",
                "password",
                "emails",
                "phoneNumbers",
                "ims",
                "photos",
                "addresses",
                "groups",
                "entitlements",
                "roles",
                "x509Certificates",
                "externalId"
            ]
        );
        let enterprise = schema_by_id(&cfg, &all, ENTERPRISE_USER_SCHEMA).expect("enterprise");
        assert_eq!(
            names(&enterprise),
            [
                "employeeNumber",
                "costCenter",
                "organization",
                "division",
                "department",
                "manager"
            ]
        );
        let group = schema_by_id(&cfg, &all, GROUP_SCHEMA).expect("group");
        assert_eq!(names(&group), ["displayName", "members", "externalId"]);
        let listed_group = docs.iter().find(|d| d["id"] == GROUP_SCHEMA).expect("listed group");
        assert_eq!(names(listed_group), ["displayName", "members", "externalId"]);
        assert_eq!(group["attributes"][1]["subAttributes"][1]["name"], "$ref");
        assert_eq!(
            group["attributes"][1]["subAttributes"][1]["referenceTypes"],
            json!(["User", "Group"])
        );
        let list = list_response(docs);
        assert_eq!(list["totalResults"], 3);
        assert_eq!(list["Resources"].as_array().map(Vec::len), Some(3));
    }
}
