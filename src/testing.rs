//! What the library's unit tests share (compiled for tests only).

use std::path::{Path, PathBuf};

/// A file or directory under `tests/fixtures/`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}
