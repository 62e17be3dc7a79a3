//! What the library's unit tests share (compiled for tests only).

use std::path::{Path, PathBuf};

/// A file or directory under `tests/fixtures/`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A gzip copy of `plain` in `dir`, named `name`.
pub(crate) fn gzipped_copy(plain: &Path, dir: &Path, name: &str) -> PathBuf {
    use std::io::Write as _;
    let gz = dir.join(name);
    let file = std::fs::File::create(&gz).unwrap();
    let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    enc.write_all(&std::fs::read(plain).unwrap()).unwrap();
    enc.finish().unwrap();
    gz
}
