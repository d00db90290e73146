//! Offline checks that infra/template.yaml and the code agree, run by `cargo test --workspace`:
//! - [`consistency::check`]: every table the code touches exists in the template, every environment variable a
//!   function reads is set on it (and nothing else), and each function's IAM role grants exactly the DynamoDB
//!   actions its `permissions.rs` declares, on exactly those tables — no wildcards, no extra tables;
//! - [`template::Evaluator`]: the environment a function really gets for a set of parameters, so tests can feed it
//!   to the function's own configuration loader;
//! - [`recorder::IamRecorder`]: an SDK interceptor recording the authorisation every DynamoDB request needs, so
//!   tests can prove the declarations cover what the code actually sends;
//! - [`artifacts`]: what `sam build` must produce for each function (an arm64 `bootstrap`, checked from its ELF
//!   header) and how the template describes that build; `infra/checks/sam_build.sh` runs the real build.
//!
//! cfn-lint, the SAM transform and checkov run from `infra/checks/run.sh`.

pub mod artifacts;
pub mod cfn;
pub mod consistency;
pub mod feature_sets;
pub mod recorder;
pub mod template;

pub use consistency::{FunctionSpec, Violation, check};

/// The template as committed, read at compile time so the checks and the code always see the same file.
pub const TEMPLATE_YAML: &str = include_str!("../../template.yaml");
