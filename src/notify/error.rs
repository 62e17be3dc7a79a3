//! [`NotifyError`]: what can go wrong configuring or starting notifications.
//! Every variant names the config key or file; none holds a secret.

use std::path::PathBuf;

/// An error from the notify layer.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A config value is wrong.
    #[error("{key}: {message}")]
    Invalid {
        /// Key path, e.g. `notify.sinks[1].url`.
        key: String,
        /// What is wrong (quotes the value unless it is secret).
        message: String,
    },
    /// An environment variable named by `*_env` is missing.
    #[error("{key}: environment variable {var} is not set")]
    MissingEnv {
        /// Key path.
        key: String,
        /// Variable name.
        var: String,
    },
    /// A `*_file` could not be read.
    #[error("{key}: cannot read {}", path.display())]
    SecretFile {
        /// Key path.
        key: String,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The spool directory could not be used.
    #[error("spool {}: {what}", path.display())]
    Spool {
        /// File or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A dispatcher thread could not be started.
    #[error("cannot start notification thread")]
    Thread(#[source] std::io::Error),
}

impl NotifyError {
    /// An [`NotifyError::Invalid`].
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> NotifyError {
        NotifyError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}
