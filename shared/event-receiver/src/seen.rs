//! The `jti`s already processed, remembered in a file (one per line) before they are acknowledged, so a crash
//! between processing and acknowledging never processes an event twice.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

pub struct Seen {
    ids: HashSet<String>,
    file: Option<(PathBuf, File)>,
}

impl Seen {
    /// In memory only.
    pub fn volatile() -> Self {
        Self {
            ids: HashSet::new(),
            file: None,
        }
    }

    /// Backed by `path` (created if missing).
    pub fn at(path: PathBuf) -> std::io::Result<Self> {
        let mut ids = HashSet::new();
        if let Ok(existing) = File::open(&path) {
            for line in BufReader::new(existing).lines() {
                ids.insert(line?);
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            ids,
            file: Some((path, file)),
        })
    }

    /// Remembers `jti`; `false` if it was seen before.
    pub fn insert(&mut self, jti: &str) -> std::io::Result<bool> {
        if !self.ids.insert(jti.to_owned()) {
            return Ok(false);
        }
        if let Some((_, file)) = &mut self.file {
            writeln!(file, "{jti}")?;
            file.sync_data()?;
        }
        Ok(true)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}
