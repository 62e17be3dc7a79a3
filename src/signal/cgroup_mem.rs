//! One memory cgroup's counters, from its files' bytes: how close it is to
//! its own limit, how often it hit it, and how much it stalls there.
//!
//! | [`CgroupMem`] field | cgroup v2 | cgroup v1 |
//! | --- | --- | --- |
//! | `usage_bytes` | `memory.current` | `memory.usage_in_bytes` |
//! | `limit_bytes` | `memory.max` (`max`: none) | `memory.limit_in_bytes` (v1's page-rounded `LONG_MAX`: none) |
//! | `limit_hits` | `memory.events` `max` | `memory.failcnt` |
//! | `oom_kills` | `memory.events` `oom_kill` | `memory.oom_control` `oom_kill` (4.13+; else 0) |
//! | `major_faults` | `memory.stat` `pgmajfault` | `memory.stat` `total_pgmajfault` |
//! | `full_stall_us` | `memory.pressure` `full` total | none (v1 has no per-cgroup PSI) |
//!
//! Every value is a level or a counter: what it means comes from two
//! readings (the agent's [`crate::agent::cgroups`]). Pure: bytes in, values
//! or an error naming the file out.

use super::Psi;

/// A cgroup file whose text could not be read as a number or its keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {why}")]
pub struct CgroupMemError {
    /// The file's name, e.g. `memory.failcnt`.
    pub file: &'static str,
    /// What is wrong, quoting the text.
    pub why: String,
}

/// One reading of one memory cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgroupMem {
    /// Memory charged to the cgroup, bytes.
    pub usage_bytes: u64,
    /// Its limit, bytes; `None`: unlimited.
    pub limit_bytes: Option<u64>,
    /// Times it hit its limit (a counter).
    pub limit_hits: u64,
    /// OOM kills inside it (a counter).
    pub oom_kills: u64,
    /// Major page faults inside it, children included (a counter).
    pub major_faults: u64,
    /// PSI "full" stall time inside it, microseconds (v2 only).
    pub full_stall_us: Option<u64>,
}

/// The texts of a v1 memory cgroup's files.
#[derive(Debug, Clone, Copy, Default)]
pub struct V1Texts<'a> {
    /// `memory.usage_in_bytes`.
    pub usage: &'a [u8],
    /// `memory.limit_in_bytes`.
    pub limit: &'a [u8],
    /// `memory.failcnt`.
    pub failcnt: &'a [u8],
    /// `memory.stat`.
    pub stat: &'a [u8],
    /// `memory.oom_control`, if it could be read.
    pub oom_control: Option<&'a [u8]>,
}

/// The texts of a v2 memory cgroup's files.
#[derive(Debug, Clone, Copy, Default)]
pub struct V2Texts<'a> {
    /// `memory.current`.
    pub current: &'a [u8],
    /// `memory.max`.
    pub max: &'a [u8],
    /// `memory.events`.
    pub events: &'a [u8],
    /// `memory.stat`.
    pub stat: &'a [u8],
    /// `memory.pressure`, if it could be read.
    pub pressure: Option<&'a [u8]>,
}

/// At or above this, a v1 limit is "unlimited" (the kernel shows
/// `LONG_MAX` rounded down to a page).
const V1_UNLIMITED: u64 = 1 << 62;

impl CgroupMem {
    /// A v1 cgroup's reading.
    pub fn parse_v1(t: &V1Texts<'_>) -> Result<CgroupMem, CgroupMemError> {
        let limit = number("memory.limit_in_bytes", t.limit)?;
        let oom_kills = match t.oom_control {
            Some(text) => key_or_zero("memory.oom_control", text, "oom_kill")?,
            None => 0,
        };
        Ok(CgroupMem {
            usage_bytes: number("memory.usage_in_bytes", t.usage)?,
            limit_bytes: (limit < V1_UNLIMITED).then_some(limit),
            limit_hits: number("memory.failcnt", t.failcnt)?,
            oom_kills,
            major_faults: key("memory.stat", t.stat, "total_pgmajfault")?,
            full_stall_us: None,
        })
    }

    /// A v2 cgroup's reading.
    pub fn parse_v2(t: &V2Texts<'_>) -> Result<CgroupMem, CgroupMemError> {
        let max = trimmed(t.max);
        let limit_bytes = if max == b"max" {
            None
        } else {
            Some(number("memory.max", t.max)?)
        };
        let full_stall_us = match t.pressure {
            Some(text) => Psi::parse_bytes(text)
                .map_err(|e| CgroupMemError {
                    file: "memory.pressure",
                    why: e.to_string(),
                })?
                .full
                .map(|f| f.total_us),
            None => None,
        };
        Ok(CgroupMem {
            usage_bytes: number("memory.current", t.current)?,
            limit_bytes,
            limit_hits: key("memory.events", t.events, "max")?,
            oom_kills: key_or_zero("memory.events", t.events, "oom_kill")?,
            major_faults: key("memory.stat", t.stat, "pgmajfault")?,
            full_stall_us,
        })
    }
}

fn trimmed(text: &[u8]) -> &[u8] {
    text.trim_ascii()
}

/// A one-number file.
fn number(file: &'static str, text: &[u8]) -> Result<u64, CgroupMemError> {
    parse(trimmed(text)).ok_or_else(|| bad(file, trimmed(text)))
}

/// The value of `name` in a `key value` per line file; missing is an error.
fn key(file: &'static str, text: &[u8], name: &str) -> Result<u64, CgroupMemError> {
    find(file, text, name)?.ok_or_else(|| CgroupMemError {
        file,
        why: format!("no {name:?} line"),
    })
}

/// The value of `name`, 0 when the kernel does not print it.
fn key_or_zero(file: &'static str, text: &[u8], name: &str) -> Result<u64, CgroupMemError> {
    Ok(find(file, text, name)?.unwrap_or(0))
}

fn find(file: &'static str, text: &[u8], name: &str) -> Result<Option<u64>, CgroupMemError> {
    for line in text.split(|&b| b == b'\n') {
        let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
        if parts.next() != Some(name.as_bytes()) {
            continue;
        }
        let value = parts.next().unwrap_or(b"");
        return parse(value)
            .map(Some)
            .ok_or_else(|| bad(file, trimmed(line)));
    }
    Ok(None)
}

fn parse(digits: &[u8]) -> Option<u64> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cold]
fn bad(file: &'static str, text: &[u8]) -> CgroupMemError {
    let shown: String = String::from_utf8_lossy(text).chars().take(40).collect();
    CgroupMemError {
        file,
        why: format!("not a number: {shown:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_STAT: &[u8] = b"cache 0\nrss 67108864\npgmajfault 12\ntotal_pgmajfault 340\n";

    fn v1() -> V1Texts<'static> {
        V1Texts {
            usage: b"67043328\n",
            limit: b"67108864\n",
            failcnt: b"5120\n",
            stat: V1_STAT,
            oom_control: Some(b"oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"),
        }
    }

    fn v2() -> V2Texts<'static> {
        V2Texts {
            current: b"67043328\n",
            max: b"67108864\n",
            events: b"low 0\nhigh 0\nmax 812\noom 1\noom_kill 1\n",
            stat: b"anon 60000000\nfile 0\npgfault 9000\npgmajfault 77\n",
            pressure: Some(
                b"some avg10=40.00 avg60=10.00 avg300=2.00 total=9000000\n\
                  full avg10=30.00 avg60=8.00 avg300=1.00 total=7000000\n",
            ),
        }
    }

    #[test]
    fn a_v1_cgroup_reads_its_limit_failcnt_and_hierarchical_faults() {
        let m = CgroupMem::parse_v1(&v1()).unwrap();
        assert_eq!(
            m,
            CgroupMem {
                usage_bytes: 67_043_328,
                limit_bytes: Some(64 << 20),
                limit_hits: 5120,
                oom_kills: 2,
                major_faults: 340,
                full_stall_us: None,
            }
        );
        let unlimited = V1Texts {
            limit: b"9223372036854771712\n",
            oom_control: None,
            ..v1()
        };
        let m = CgroupMem::parse_v1(&unlimited).unwrap();
        assert_eq!((m.limit_bytes, m.oom_kills), (None, 0));
    }

    #[test]
    fn a_v2_cgroup_reads_events_stat_and_its_own_psi() {
        let m = CgroupMem::parse_v2(&v2()).unwrap();
        assert_eq!(
            m,
            CgroupMem {
                usage_bytes: 67_043_328,
                limit_bytes: Some(64 << 20),
                limit_hits: 812,
                oom_kills: 1,
                major_faults: 77,
                full_stall_us: Some(7_000_000),
            }
        );
        let open = V2Texts {
            max: b"max\n",
            pressure: None,
            ..v2()
        };
        let m = CgroupMem::parse_v2(&open).unwrap();
        assert_eq!((m.limit_bytes, m.full_stall_us), (None, None));
    }

    #[test]
    fn malformed_text_is_named_by_file_and_quoted() {
        let err = |r: Result<CgroupMem, CgroupMemError>| r.unwrap_err().to_string();
        assert_eq!(
            err(CgroupMem::parse_v1(&V1Texts {
                failcnt: b"lots\n",
                ..v1()
            })),
            "memory.failcnt: not a number: \"lots\""
        );
        assert_eq!(
            err(CgroupMem::parse_v1(&V1Texts {
                stat: b"cache 0\n",
                ..v1()
            })),
            "memory.stat: no \"total_pgmajfault\" line"
        );
        assert_eq!(
            err(CgroupMem::parse_v2(&V2Texts {
                events: b"low 0\nmax -3\n",
                ..v2()
            })),
            "memory.events: not a number: \"max -3\""
        );
        assert_eq!(
            err(CgroupMem::parse_v2(&V2Texts { max: b"\n", ..v2() })),
            "memory.max: not a number: \"\""
        );
        assert!(err(CgroupMem::parse_v2(&V2Texts {
            pressure: Some(b"full avg10=1.00 total=x\n"),
            ..v2()
        }))
        .starts_with("memory.pressure: "));
    }
}
