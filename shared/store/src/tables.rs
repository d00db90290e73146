//! The tables, as `infra/template.yaml` defines them. The template is the single source of truth: the local
//! stack and the integration tests create their tables from the definitions parsed here, and the IaC consistency
//! test compares the code's table usage with the same file.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use yaml_rust2::{Yaml, YamlLoader};

use wif_common::config::{EnvSource, required};

/// The template, compiled in so a deployed binary and the local stack agree on it.
pub const TEMPLATE_YAML: &str = include_str!("../../../infra/template.yaml");

/// Every table of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    Clients,
    Tokens,
    Keys,
    Directory,
    Audit,
    RateLimits,
}

/// Why a function's declarations disagree with its configuration, if they do: `permissions` must name exactly the
/// tables it configures, in order, and `env_vars` must include each of their environment variables. The IaC tests
/// (infra/checks) check every function's `permissions.rs` with this, then compare the declarations with the
/// template.
pub fn declaration_mismatch(
    permissions: &[(TableKind, &[&str])],
    configured: &[TableKind],
    env_vars: &[&str],
) -> Option<String> {
    let declared: Vec<TableKind> = permissions.iter().map(|(kind, _)| *kind).collect();
    if declared != configured {
        return Some(format!(
            "permissions declare {declared:?}, the configuration reads {configured:?}"
        ));
    }
    configured
        .iter()
        .find(|kind| !env_vars.contains(&kind.env_var()))
        .map(|kind| format!("{} is not among the environment variables", kind.env_var()))
}

impl TableKind {
    pub const ALL: [TableKind; 6] = [
        TableKind::Clients,
        TableKind::Tokens,
        TableKind::Keys,
        TableKind::Directory,
        TableKind::Audit,
        TableKind::RateLimits,
    ];

    /// The resource's logical id in infra/template.yaml.
    pub fn logical_id(self) -> &'static str {
        match self {
            TableKind::Clients => "ClientsTable",
            TableKind::Tokens => "TokensTable",
            TableKind::Keys => "KeysTable",
            TableKind::Directory => "DirectoryTable",
            TableKind::Audit => "AuditTable",
            TableKind::RateLimits => "RateLimitsTable",
        }
    }

    /// The environment variable carrying the table's physical name.
    pub fn env_var(self) -> &'static str {
        match self {
            TableKind::Clients => "WIF_CLIENTS_TABLE",
            TableKind::Tokens => "WIF_TOKENS_TABLE",
            TableKind::Keys => "WIF_KEYS_TABLE",
            TableKind::Directory => "WIF_DIRECTORY_TABLE",
            TableKind::Audit => "WIF_AUDIT_TABLE",
            TableKind::RateLimits => "WIF_RATE_LIMITS_TABLE",
        }
    }
}

/// Physical table names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub clients: String,
    pub tokens: String,
    pub keys: String,
    pub directory: String,
    pub audit: String,
    pub rate_limits: String,
}

impl TableNames {
    /// `<prefix>-<LogicalId>` for every table: what the local stack and the tests use.
    pub fn with_prefix(prefix: &str) -> Self {
        let name = |kind: TableKind| format!("{prefix}-{}", kind.logical_id());
        Self {
            clients: name(TableKind::Clients),
            tokens: name(TableKind::Tokens),
            keys: name(TableKind::Keys),
            directory: name(TableKind::Directory),
            audit: name(TableKind::Audit),
            rate_limits: name(TableKind::RateLimits),
        }
    }

    pub fn get(&self, kind: TableKind) -> &str {
        match kind {
            TableKind::Clients => &self.clients,
            TableKind::Tokens => &self.tokens,
            TableKind::Keys => &self.keys,
            TableKind::Directory => &self.directory,
            TableKind::Audit => &self.audit,
            TableKind::RateLimits => &self.rate_limits,
        }
    }

    /// Reads only the tables a function uses, each from its environment variable; a missing one is a start-up
    /// error naming the variable.
    pub fn from_env_for(
        env: &(impl EnvSource + ?Sized),
        kinds: &[TableKind],
    ) -> Result<PartialTableNames, wif_common::ConfigError> {
        let mut names = PartialTableNames::default();
        for &kind in kinds {
            names.set(kind, required(env, kind.env_var())?);
        }
        Ok(names)
    }
}

/// Table names of just the tables one function may touch (least privilege also in configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartialTableNames(std::collections::BTreeMap<&'static str, String>);

impl PartialTableNames {
    pub fn set(&mut self, kind: TableKind, name: String) {
        self.0.insert(kind.logical_id(), name);
    }

    /// The name of a table this function was configured with.
    pub fn get(&self, kind: TableKind) -> Result<&str, wif_common::ConfigError> {
        self.0
            .get(kind.logical_id())
            .map(String::as_str)
            .ok_or(wif_common::ConfigError::Missing { name: kind.env_var() })
    }
}

impl From<&TableNames> for PartialTableNames {
    fn from(names: &TableNames) -> Self {
        let mut partial = PartialTableNames::default();
        for kind in TableKind::ALL {
            partial.set(kind, names.get(kind).to_owned());
        }
        partial
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("infra/template.yaml is not valid YAML: {0}")]
    Yaml(String),
    #[error("infra/template.yaml: {0}")]
    Shape(String),
}

/// A key attribute of a table or index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    pub hash: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub keys: Vec<KeyAttribute>,
    pub projection: String,
    /// For `INCLUDE` projections: the non-key attributes copied into the index.
    pub non_key_attributes: Vec<String>,
}

/// What the template says about one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    pub logical_id: String,
    /// (attribute name, S/N/B)
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyAttribute>,
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: Option<String>,
}

fn text(node: &Yaml, what: &str) -> Result<String, TemplateError> {
    node.as_str()
        .map(str::to_owned)
        .ok_or_else(|| TemplateError::Shape(format!("{what} must be a string")))
}

fn key_schema(node: &Yaml, what: &str) -> Result<Vec<KeyAttribute>, TemplateError> {
    let elements = node
        .as_vec()
        .ok_or_else(|| TemplateError::Shape(format!("{what}.KeySchema must be a list")))?;
    elements
        .iter()
        .map(|element| {
            Ok(KeyAttribute {
                name: text(&element["AttributeName"], "KeySchema.AttributeName")?,
                hash: text(&element["KeyType"], "KeySchema.KeyType")? == "HASH",
            })
        })
        .collect()
}

/// Parses every `AWS::DynamoDB::Table` of a template.
pub fn table_definitions(template: &str) -> Result<Vec<TableDefinition>, TemplateError> {
    let docs = YamlLoader::load_from_str(template).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    let doc = docs
        .first()
        .ok_or_else(|| TemplateError::Shape("empty document".into()))?;
    let resources = doc["Resources"]
        .as_hash()
        .ok_or_else(|| TemplateError::Shape("Resources must be a mapping".into()))?;
    let mut tables = Vec::new();
    for (logical_id, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::DynamoDB::Table") {
            continue;
        }
        let logical_id = text(logical_id, "resource logical id")?;
        let props = &resource["Properties"];
        let attributes = props["AttributeDefinitions"]
            .as_vec()
            .ok_or_else(|| TemplateError::Shape(format!("{logical_id}.AttributeDefinitions must be a list")))?
            .iter()
            .map(|attr| {
                Ok((
                    text(&attr["AttributeName"], "AttributeName")?,
                    text(&attr["AttributeType"], "AttributeType")?,
                ))
            })
            .collect::<Result<Vec<_>, TemplateError>>()?;
        let keys = key_schema(&props["KeySchema"], &logical_id)?;
        let indexes = match props["GlobalSecondaryIndexes"].as_vec() {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .map(|index| {
                    let name = text(&index["IndexName"], "IndexName")?;
                    Ok(IndexDefinition {
                        keys: key_schema(&index["KeySchema"], &name)?,
                        projection: index["Projection"]["ProjectionType"]
                            .as_str()
                            .unwrap_or("ALL")
                            .to_owned(),
                        non_key_attributes: index["Projection"]["NonKeyAttributes"]
                            .as_vec()
                            .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
                            .unwrap_or_default(),
                        name,
                    })
                })
                .collect::<Result<Vec<_>, TemplateError>>()?,
        };
        let ttl = &props["TimeToLiveSpecification"];
        let ttl_attribute = match (ttl["AttributeName"].as_str(), ttl["Enabled"].as_bool()) {
            (Some(name), Some(true)) => Some(name.to_owned()),
            _ => None,
        };
        tables.push(TableDefinition {
            logical_id,
            attributes,
            keys,
            indexes,
            ttl_attribute,
        });
    }
    Ok(tables)
}

/// The compiled-in template's tables.
pub fn product_tables() -> Result<Vec<TableDefinition>, TemplateError> {
    table_definitions(TEMPLATE_YAML)
}

fn key_elements(keys: &[KeyAttribute]) -> Result<Vec<KeySchemaElement>, aws_sdk_dynamodb::error::BuildError> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.name)
                .key_type(if key.hash { KeyType::Hash } else { KeyType::Range })
                .build()
        })
        .collect()
}

/// Creates (if absent) every product table under the given names, with TTL enabled where the template enables it.
/// Used by the local stack and integration tests; production tables come from CloudFormation.
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), crate::StoreError> {
    let definitions = product_tables().map_err(|e| crate::StoreError::Backend(e.to_string()))?;
    for kind in TableKind::ALL {
        let definition = definitions
            .iter()
            .find(|d| d.logical_id == kind.logical_id())
            .ok_or_else(|| crate::StoreError::Backend(format!("template has no {}", kind.logical_id())))?;
        create_table(client, names.get(kind), definition).await?;
    }
    Ok(())
}

/// Creates one table from its definition; an existing table is left as it is.
pub async fn create_table(client: &Client, name: &str, definition: &TableDefinition) -> Result<(), crate::StoreError> {
    let build = |e: aws_sdk_dynamodb::error::BuildError| crate::StoreError::Backend(e.to_string());
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_elements(&definition.keys).map_err(build)?));
    for (attr, kind) in &definition.attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(build)?,
        );
    }
    for index in &definition.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_elements(&index.keys).map_err(build)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .set_non_key_attributes(
                            (!index.non_key_attributes.is_empty()).then(|| index.non_key_attributes.clone()),
                        )
                        .build(),
                )
                .build()
                .map_err(build)?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err) => {
            let service = err.as_service_error();
            if service.is_some_and(|e| e.is_resource_in_use_exception()) {
                return Ok(());
            }
            return Err(crate::dynamo::backend(err));
        }
    }
    if let Some(ttl) = &definition.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .map_err(build)?,
            )
            .send()
            .await
            .map_err(crate::dynamo::backend)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_mismatch_names_what_disagrees() {
        const GET: &[&str] = &["dynamodb:GetItem"];
        let permissions = [(TableKind::Clients, GET), (TableKind::Keys, GET)];
        let configured = [TableKind::Clients, TableKind::Keys];
        assert_eq!(
            declaration_mismatch(&permissions, &configured, &["WIF_CLIENTS_TABLE", "WIF_KEYS_TABLE"]),
            None
        );
        let missing_var = declaration_mismatch(&permissions, &configured, &["WIF_CLIENTS_TABLE"]);
        assert!(missing_var.is_some_and(|m| m.contains("WIF_KEYS_TABLE")));
        let extra_table = declaration_mismatch(&permissions, &[TableKind::Clients], &["WIF_CLIENTS_TABLE"]);
        assert!(extra_table.is_some_and(|m| m.contains("Keys")));
    }

    #[test]
    fn template_defines_every_table() {
        let tables = product_tables().unwrap();
        for kind in TableKind::ALL {
            assert!(
                tables.iter().any(|t| t.logical_id == kind.logical_id()),
                "template lacks {}",
                kind.logical_id()
            );
        }
        let clients = tables.iter().find(|t| t.logical_id == "ClientsTable").unwrap();
        assert_eq!(
            clients.keys,
            vec![KeyAttribute {
                name: "client_id".into(),
                hash: true
            }]
        );
        // Registrations are found by client_id or through a trust's marker item, never through an index.
        let indexes: Vec<&str> = clients.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(indexes, vec!["TenantIndex"]);
        let tokens = tables.iter().find(|t| t.logical_id == "TokensTable").unwrap();
        assert_eq!(tokens.ttl_attribute.as_deref(), Some("expires_at"));
        let by_client = tokens.indexes.iter().find(|i| i.name == "ClientIndex").unwrap();
        assert_eq!(
            (by_client.projection.as_str(), by_client.non_key_attributes.as_slice()),
            ("INCLUDE", &["revoked".to_owned()][..])
        );
    }

    #[test]
    fn every_key_attribute_is_defined() {
        for table in product_tables().unwrap() {
            let defined: Vec<&str> = table.attributes.iter().map(|(n, _)| n.as_str()).collect();
            for key in table
                .keys
                .iter()
                .chain(table.indexes.iter().flat_map(|i| i.keys.iter()))
            {
                assert!(
                    defined.contains(&key.name.as_str()),
                    "{}: {} undefined",
                    table.logical_id,
                    key.name
                );
            }
        }
    }
}
