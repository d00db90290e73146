//! Intentionally empty: see this crate's `Cargo.toml`. Its dependencies exist only for their features.
