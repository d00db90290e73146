//! Whether every Lambda function resolves its shared dependencies with the same features. `sam build` builds each
//! function alone (`cargo lambda build --release --arm64 --bin <function>`), and cargo unifies features only
//! across what one invocation builds: a dependency whose features differ between two functions is compiled twice,
//! and so is everything above it (the AWS SDK crates were compiled three times before `wif-unified-features`).

use std::collections::{BTreeMap, BTreeSet};

/// One function's resolved dependency graph: package (`name vX.Y.Z`) → its enabled features.
pub type FeatureSet = BTreeMap<String, String>;

/// Parses `cargo tree -e normal --prefix none -f "{p} [{f}]"`: one `name vX.Y.Z [(path)] [features]` per line,
/// repeats marked `(*)`.
pub fn parse_cargo_tree(output: &str) -> FeatureSet {
    output
        .lines()
        .filter_map(|line| {
            let line = line.trim().trim_end_matches(" (*)");
            let (package, features) = line.rsplit_once(" [")?;
            let mut words = package.split_whitespace();
            let name = format!("{} {}", words.next()?, words.next()?);
            Some((name, features.trim_end_matches(']').to_owned()))
        })
        .collect()
}

/// Every package two functions share but resolve with different features, as `package: features in f1 | in f2`.
/// `own` lists the functions' own packages, which are expected to differ.
pub fn drift(sets: &BTreeMap<String, FeatureSet>, own: &BTreeSet<String>) -> Vec<String> {
    let mut seen: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for (function, set) in sets {
        for (package, features) in set {
            let name = package.split_whitespace().next().unwrap_or_default();
            if !own.contains(name) {
                seen.entry(package)
                    .or_default()
                    .entry(features)
                    .or_default()
                    .push(function);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, variants)| variants.len() > 1)
        .map(|(package, variants)| {
            let shown: Vec<String> = variants
                .iter()
                .map(|(features, functions)| format!("[{features}] in {}", functions.join(", ")))
                .collect();
            format!("{package}: {}", shown.join(" | "))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "token v0.1.0 (/w/functions/token) []\ntower v0.5.3 [retry,util]\nserde v1.0.1 [std] (*)\n";
    const SCIM: &str = "scim v0.1.0 (/w/functions/scim) []\ntower v0.5.3 [util]\nserde v1.0.1 [std]\n";

    #[test]
    fn a_dependency_with_other_features_in_one_function_is_reported() {
        let own: BTreeSet<String> = ["token", "scim"].map(str::to_owned).into();
        let sets = BTreeMap::from([
            ("token".to_owned(), parse_cargo_tree(TOKEN)),
            ("scim".to_owned(), parse_cargo_tree(SCIM)),
        ]);
        assert_eq!(sets["token"]["serde v1.0.1"], "std");
        assert_eq!(
            drift(&sets, &own),
            ["tower v0.5.3: [retry,util] in token | [util] in scim"]
        );
        let same = BTreeMap::from([
            ("token".to_owned(), parse_cargo_tree(TOKEN)),
            ("admin".to_owned(), parse_cargo_tree(TOKEN)),
        ]);
        assert!(drift(&same, &own).is_empty());
    }
}
