//! The product's tables by kind, their logical ids in `infra/template.yaml` and the environment variables that
//! carry their physical names. The template is the single source of truth for the table definitions: the local
//! stack and the integration tests create their tables from it (`wif-testkit`'s `tables` module), and the IaC
//! consistency tests (`infra/checks`) compare the code's table usage with the same file. Production code never
//! reads the template.

use wif_common::config::{EnvSource, required};

/// Every table of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    Clients,
    Tokens,
    Keys,
    Directory,
    Audit,
    RateLimits,
    Portal,
}

/// Why a function's declarations disagree with its configuration, if they do: `permissions` must name exactly the
/// tables it configures, in order, and `env_vars` must include each of their environment variables. The IaC tests
/// (infra/checks) check every function's `permissions.rs` with this, then compare the declarations with the
/// template. Test support: only tests call it.
#[cfg(any(test, feature = "test-support"))]
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
    pub const ALL: [TableKind; 7] = [
        TableKind::Clients,
        TableKind::Tokens,
        TableKind::Keys,
        TableKind::Directory,
        TableKind::Audit,
        TableKind::RateLimits,
        TableKind::Portal,
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
            TableKind::Portal => "PortalTable",
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
            TableKind::Portal => "WIF_PORTAL_TABLE",
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
    pub portal: String,
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
            portal: name(TableKind::Portal),
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
            TableKind::Portal => &self.portal,
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
}
