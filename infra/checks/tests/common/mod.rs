//! What every test of this crate shares: the functions' own declarations, an environment that records what a
//! configuration loader reads, and a moto-backed DynamoDB client that records every request.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use infra_checks::FunctionSpec;
use infra_checks::recorder::{IamCall, IamRecorder};
use wif_common::config::EnvSource;
use wif_store::{TableKind, TableNames};

/// Every function of the product with the declarations from its `src/permissions.rs`.
pub const FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "token",
        logical_id: "TokenFunction",
        dynamodb: token::permissions::DYNAMODB_PERMISSIONS,
        env_vars: token::permissions::ENV_VARS,
        kms_signing: &[],
    },
    FunctionSpec {
        name: "scim",
        logical_id: "ScimFunction",
        dynamodb: scim::permissions::DYNAMODB_PERMISSIONS,
        env_vars: scim::permissions::ENV_VARS,
        kms_signing: &[],
    },
    FunctionSpec {
        name: "jwks-refresh",
        logical_id: "JwksRefreshFunction",
        dynamodb: jwks_refresh::permissions::DYNAMODB_PERMISSIONS,
        env_vars: jwks_refresh::permissions::ENV_VARS,
        kms_signing: &[],
    },
    FunctionSpec {
        name: "admin",
        logical_id: "AdminFunction",
        dynamodb: admin::permissions::DYNAMODB_PERMISSIONS,
        env_vars: admin::permissions::ENV_VARS,
        kms_signing: &[],
    },
    FunctionSpec {
        name: "portal",
        logical_id: "PortalFunction",
        dynamodb: portal::permissions::DYNAMODB_PERMISSIONS,
        env_vars: portal::permissions::ENV_VARS,
        kms_signing: portal::permissions::KMS_PERMISSIONS,
    },
];

pub fn spec(logical_id: &str) -> &'static FunctionSpec {
    FUNCTIONS
        .iter()
        .find(|spec| spec.logical_id == logical_id)
        .unwrap_or_else(|| panic!("no declaration for {logical_id}"))
}

/// Values from a map; remembers every name asked for, set or not.
pub struct RecordingEnv {
    values: BTreeMap<String, String>,
    read: Mutex<BTreeSet<String>>,
}

impl RecordingEnv {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self {
            values,
            read: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn read(&self) -> BTreeSet<String> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EnvSource for RecordingEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned());
        self.values.get(name).cloned()
    }
}

/// (table logical id, action or index name) pairs.
pub type TablePairs = BTreeSet<(String, String)>;

/// Fresh tables on the shared moto server, a client that records every request, and one for seeding data
/// without recording it.
pub struct Dynamo {
    pub recorded: aws_sdk_dynamodb::Client,
    pub unrecorded: aws_sdk_dynamodb::Client,
    pub names: TableNames,
    pub recorder: IamRecorder,
}

impl Dynamo {
    pub async fn start() -> Self {
        let config = wif_testkit::sdk_config(wif_testkit::shared_moto().endpoint()).await;
        let unrecorded = aws_sdk_dynamodb::Client::new(&config);
        let names = TableNames::with_prefix(&wif_testkit::unique_prefix());
        wif_testkit::tables::create_tables(&unrecorded, &names)
            .await
            .expect("create the template's tables in moto");
        let recorder = IamRecorder::new();
        let builder = aws_sdk_dynamodb::config::Builder::from(&config).interceptor(recorder.clone());
        Self {
            recorded: aws_sdk_dynamodb::Client::from_conf(builder.build()),
            unrecorded,
            names,
            recorder,
        }
    }

    /// A function environment naming this test's tables, plus `extra` variables: what the function's own config
    /// loader reads, so the functions are wired exactly as `main.rs` wires them.
    pub fn env(&self, extra: &[(&str, &str)]) -> std::collections::HashMap<String, String> {
        TableKind::ALL
            .into_iter()
            .map(|kind| (kind.env_var().to_owned(), self.names.get(kind).to_owned()))
            .chain(
                extra
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
            )
            .collect()
    }

    fn kind_of(&self, physical: &str) -> Option<TableKind> {
        TableKind::ALL
            .into_iter()
            .find(|kind| self.names.get(*kind) == physical)
    }

    /// What the code sent: (table logical id, action) and (table logical id, index) pairs. A request to a table
    /// that is not one of this test's tables fails the test: it could not have been declared.
    pub fn sent(&self) -> (TablePairs, TablePairs) {
        let mut actions = BTreeSet::new();
        let mut indexes = BTreeSet::new();
        for IamCall { action, table, index } in self.recorder.calls() {
            let kind = self
                .kind_of(&table)
                .unwrap_or_else(|| panic!("{action} on unknown table {table:?}"));
            if let Some(index) = index {
                indexes.insert((kind.logical_id().to_owned(), index));
            }
            actions.insert((kind.logical_id().to_owned(), action));
        }
        (actions, indexes)
    }
}

/// (table logical id, action) pairs a declaration lists.
pub fn declared(spec: &FunctionSpec) -> TablePairs {
    spec.dynamodb
        .iter()
        .flat_map(|(kind, actions)| {
            actions
                .iter()
                .map(move |action| (kind.logical_id().to_owned(), (*action).to_owned()))
        })
        .collect()
}

/// Compares what a function's code sent with its declaration and with the indexes its role is granted.
pub fn assert_sent_matches_declared(dynamo: &Dynamo, logical_id: &str, role: &str) {
    let spec = spec(logical_id);
    let (sent, indexes) = dynamo.sent();
    let declared = declared(spec);
    let undeclared: Vec<_> = sent.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "{logical_id} sent {undeclared:?}, which functions/{}/src/permissions.rs does not declare \
         (it would be denied in AWS)",
        spec.name
    );
    let unexercised: Vec<_> = declared.difference(&sent).collect();
    assert!(
        unexercised.is_empty(),
        "{logical_id} declares {unexercised:?} but the driver in infra/checks/tests never made the code send it: \
         drive the code path that needs it, or drop the grant"
    );
    let granted = infra_checks::consistency::granted_indexes(infra_checks::TEMPLATE_YAML, role).unwrap();
    assert_eq!(
        indexes, granted,
        "{role}: the indexes the code queries (left) must be exactly the index ARNs the template grants (right)"
    );
}
