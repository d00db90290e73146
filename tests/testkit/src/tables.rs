//! The product's tables as `infra/template.yaml` defines them, created in a DynamoDB-compatible server. The
//! template is the single source of truth: the local stack (`local-stack create-tables`) and the integration tests
//! create their tables from the definitions parsed here, and production tables come from CloudFormation. Kept out
//! of `wif-store` so that no Lambda links the template or a YAML parser.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use wif_store::{TableKind, TableNames};
use yaml_rust2::{Yaml, YamlLoader};

/// The template, compiled in so the local stack and the tests create exactly the tables it deploys.
pub const TEMPLATE_YAML: &str = include_str!("../../../infra/template.yaml");

/// Why the tables could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateTablesError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("the template has no {0}")]
    Missing(&'static str),
    #[error("table {table}: {reason}")]
    Create { table: String, reason: String },
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
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub stream_view_type: Option<String>,
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
            stream_view_type: props["StreamSpecification"]["StreamViewType"]
                .as_str()
                .map(str::to_owned),
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
pub async fn create_tables(client: &Client, names: &TableNames) -> Result<(), CreateTablesError> {
    let definitions = product_tables()?;
    for kind in TableKind::ALL {
        let definition = definitions
            .iter()
            .find(|d| d.logical_id == kind.logical_id())
            .ok_or(CreateTablesError::Missing(kind.logical_id()))?;
        create_table(client, names.get(kind), definition).await?;
    }
    Ok(())
}

/// Creates one table from its definition; an existing table is left as it is.
pub async fn create_table(client: &Client, name: &str, definition: &TableDefinition) -> Result<(), CreateTablesError> {
    let failed = |reason: String| CreateTablesError::Create {
        table: name.to_owned(),
        reason,
    };
    let build = |e: aws_sdk_dynamodb::error::BuildError| failed(e.to_string());
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_elements(&definition.keys).map_err(build)?));
    if let Some(view) = &definition.stream_view_type {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view.as_str()))
                .build()
                .map_err(build)?,
        );
    }
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
            return Err(failed(DisplayErrorContext(&err).to_string()));
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
            .map_err(|err| failed(DisplayErrorContext(&err).to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let directory = tables.iter().find(|t| t.logical_id == "DirectoryTable").unwrap();
        assert_eq!(directory.stream_view_type.as_deref(), Some("NEW_AND_OLD_IMAGES"));
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
