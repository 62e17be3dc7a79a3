//! The agent's flags, defined once: by hand, for both `memcanary agent` and
//! the lean `memcanary-agent`.
//!
//! The lean binary must not link clap (nor a regex engine: see
//! [`crate::logging`]): `mlockall` would pin them for four flags. So this
//! parser is the only definition. `memcanary agent` hands it its raw
//! arguments (clap collects them unparsed) and prints [`USAGE`] for
//! `--help`, so both spellings accept the same flags and say the same
//! things about them.

use std::ffi::OsString;
use std::path::PathBuf;

/// The help of `memcanary agent` and `memcanary-agent`.
pub const USAGE: &str = "\
memcanary agent (or memcanary-agent): the on-host early-warning daemon

Usage: memcanary agent [--config FILE] [--log FILTER] [--in-process]
       memcanary-agent [--config FILE] [--log FILTER]

Options:
  -c, --config FILE   config file (TOML); without it: defaults, alerts on stdout
                      [env: MEMCANARY_CONFIG]
      --log FILTER    log filter: a level or `target=level` list, e.g. `info,memcanary=debug`
                      [env: MEMCANARY_LOG] [default: info]
      --in-process    run inside `memcanary` instead of exec'ing the lean
                      `memcanary-agent` next to it (more memory to lock);
                      `memcanary-agent` always runs in its own process
  -h, --help          print this help
  -V, --version       print the version
";

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run the agent.
    Run {
        /// `--config`.
        config: Option<PathBuf>,
        /// `--log`.
        log: String,
        /// `--in-process`.
        in_process: bool,
    },
    /// `--help`.
    Help,
    /// `--version`.
    Version,
}

/// A command-line mistake, with the word it is about.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UsageError {
    /// An option that needs a value came last.
    #[error("{0} needs a value")]
    MissingValue(String),
    /// Anything else.
    #[error("unexpected argument {0:?} (try --help)")]
    Unexpected(String),
}

/// Parses the arguments after the program name; `env` looks up
/// `MEMCANARY_CONFIG` and `MEMCANARY_LOG` (flags win).
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<Invocation, UsageError> {
    let mut config = env("MEMCANARY_CONFIG").map(PathBuf::from);
    let mut log = env("MEMCANARY_LOG").and_then(|s| s.into_string().ok());
    let mut in_process = false;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy().into_owned();
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (text.clone(), None),
        };
        let value = |it: &mut dyn Iterator<Item = OsString>| match &inline {
            Some(v) => Ok(OsString::from(v)),
            None => it
                .next()
                .ok_or_else(|| UsageError::MissingValue(name.clone())),
        };
        match name.as_str() {
            "-c" | "--config" => config = Some(PathBuf::from(value(&mut it)?)),
            "--log" => log = Some(value(&mut it)?.to_string_lossy().into_owned()),
            "--in-process" if inline.is_none() => in_process = true,
            "-h" | "--help" => return Ok(Invocation::Help),
            "-V" | "--version" => return Ok(Invocation::Version),
            _ => return Err(UsageError::Unexpected(text)),
        }
    }
    Ok(Invocation::Run {
        config,
        log: log.unwrap_or_else(|| "info".into()),
        in_process,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Invocation, UsageError> {
        parse(args.iter().map(OsString::from), |_| None)
    }

    #[test]
    fn flags_values_and_defaults() {
        assert_eq!(
            p(&[]),
            Ok(Invocation::Run {
                config: None,
                log: "info".into(),
                in_process: false
            })
        );
        assert_eq!(
            p(&["-c", "/etc/m.toml", "--log=debug"]),
            Ok(Invocation::Run {
                config: Some("/etc/m.toml".into()),
                log: "debug".into(),
                in_process: false
            })
        );
        assert_eq!(
            p(&["--config=/x.toml"]),
            Ok(Invocation::Run {
                config: Some("/x.toml".into()),
                log: "info".into(),
                in_process: false
            })
        );
        assert_eq!(p(&["--log", "warn", "--help"]), Ok(Invocation::Help));
        assert_eq!(p(&["-V"]), Ok(Invocation::Version));
    }

    #[test]
    fn mistakes_name_the_argument() {
        assert_eq!(
            p(&["--config"]),
            Err(UsageError::MissingValue("--config".into()))
        );
        assert_eq!(p(&["agent"]), Err(UsageError::Unexpected("agent".into())));
        assert_eq!(
            p(&["--cofnig=x"]).map_err(|e| e.to_string()),
            Err("unexpected argument \"--cofnig=x\" (try --help)".into())
        );
    }

    #[test]
    fn flags_win_over_the_environment() {
        let env = |k: &str| match k {
            "MEMCANARY_CONFIG" => Some(OsString::from("/env.toml")),
            "MEMCANARY_LOG" => Some(OsString::from("trace")),
            _ => None,
        };
        assert_eq!(
            parse(vec![OsString::from("--log"), OsString::from("warn")], env),
            Ok(Invocation::Run {
                config: Some("/env.toml".into()),
                log: "warn".into(),
                in_process: false
            })
        );
    }

    #[test]
    fn in_process_is_a_switch() {
        assert_eq!(
            p(&["--in-process", "-c", "a.toml"]),
            Ok(Invocation::Run {
                config: Some("a.toml".into()),
                log: "info".into(),
                in_process: true
            })
        );
        assert_eq!(
            p(&["--in-process=yes"]),
            Err(UsageError::Unexpected("--in-process=yes".into()))
        );
    }

    /// The help and the parser are the one definition of the flags: every
    /// option the help lists is accepted (with a value when it names one).
    #[test]
    fn every_flag_in_the_usage_text_is_accepted() {
        let mut checked = 0;
        for line in USAGE.lines() {
            let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
            let flags = words.iter().take_while(|w| w.starts_with('-')).count();
            let value = words
                .get(flags)
                .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()));
            for name in &words[..flags] {
                let mut args = vec![*name];
                args.extend(value.map(|_| "v"));
                assert!(p(&args).is_ok(), "{name} refused");
                checked += 1;
            }
        }
        assert_eq!(checked, 8, "flags checked");
    }
}
