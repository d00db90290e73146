//! Every function of the template resolves its shared dependencies with the same features for the arm64 target
//! (see `infra_checks::feature_sets`), so the per-function `sam build` compiles each dependency once. When this
//! fails, add the features it names to `shared/unified-features/Cargo.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use infra_checks::TEMPLATE_YAML;
use infra_checks::artifacts::function_builds;
use infra_checks::feature_sets::{drift, parse_cargo_tree};
use infra_checks::template::Template;

#[test]
fn every_function_resolves_its_dependencies_with_the_same_features() {
    let template = Template::parse(TEMPLATE_YAML).expect("template");
    let functions: BTreeSet<String> = function_builds(&template)
        .into_iter()
        .filter_map(|f| f.binary)
        .collect();
    assert!(functions.len() >= 8, "{functions:?}");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let sets: BTreeMap<String, _> = functions
        .iter()
        .map(|function| {
            let output = Command::new(&cargo)
                .args(["tree", "--quiet", "--locked", "-p", function, "-e", "normal"])
                .args([
                    "--target",
                    "aarch64-unknown-linux-gnu",
                    "--prefix",
                    "none",
                    "-f",
                    "{p} [{f}]",
                ])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .output()
                .expect("cargo tree runs");
            assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
            (
                function.clone(),
                parse_cargo_tree(&String::from_utf8_lossy(&output.stdout)),
            )
        })
        .collect();
    let drifted = drift(&sets, &functions);
    assert!(
        drifted.is_empty(),
        "dependencies resolved differently per function:\n{}",
        drifted.join("\n")
    );
}
