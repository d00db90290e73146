//! [`BuiltOnFirstUse`]: an HTTP client built when the first request needs it, not when the function starts.
//!
//! Building a reqwest client with rustls loads and parses every root certificate of the system store (about 150
//! on Amazon Linux): a few milliseconds and about a megabyte of heap, paid in every cold start. The token and
//! admin functions rarely fetch anything (keys come from the Keys table; connection tests are rare), so that cost
//! moves to the first fetch of an environment. A failed build is not remembered: the next request tries again.

use std::sync::OnceLock;

/// A value built by `build` on first use and shared afterwards.
pub struct BuiltOnFirstUse<T, E> {
    cell: OnceLock<T>,
    build: Box<dyn Fn() -> Result<T, E> + Send + Sync>,
}

/// The reqwest client of a fetcher or poster.
pub type LazyClient = BuiltOnFirstUse<reqwest::Client, reqwest::Error>;

impl<T, E> BuiltOnFirstUse<T, E> {
    pub fn new(build: impl Fn() -> Result<T, E> + Send + Sync + 'static) -> Self {
        Self {
            cell: OnceLock::new(),
            build: Box::new(build),
        }
    }

    /// The value, built now if this is the first use (or if every earlier build failed). Two first uses at the
    /// same time may both build; one result is kept.
    pub fn get(&self) -> Result<&T, E> {
        if let Some(value) = self.cell.get() {
            return Ok(value);
        }
        let value = (self.build)()?;
        Ok(self.cell.get_or_init(|| value))
    }

    /// Whether the value has been built (for tests).
    pub fn is_built(&self) -> bool {
        self.cell.get().is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(fail_first: usize) -> (BuiltOnFirstUse<usize, String>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let lazy = BuiltOnFirstUse::new(move || {
            let call = seen.fetch_add(1, Ordering::SeqCst);
            if call < fail_first {
                Err(format!("build {call} failed"))
            } else {
                Ok(call)
            }
        });
        (lazy, calls)
    }

    #[test]
    fn nothing_is_built_before_the_first_use_and_once_after() {
        let (lazy, calls) = counting(0);
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(!lazy.is_built());
        assert_eq!(lazy.get(), Ok(&0));
        assert_eq!(lazy.get(), Ok(&0));
        assert!(lazy.is_built());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_build_is_retried_on_the_next_use() {
        let (lazy, calls) = counting(1);
        assert_eq!(lazy.get(), Err("build 0 failed".to_owned()));
        assert!(!lazy.is_built());
        assert_eq!(lazy.get(), Ok(&1));
        assert_eq!(lazy.get(), Ok(&1));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
