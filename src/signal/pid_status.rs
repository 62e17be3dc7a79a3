//! [`parse_status`]: the fields of `/proc/[pid]/status` the top-consumer
//! snapshot needs (`Name`, `VmRSS`, `VmSwap`), kB converted to bytes.

/// `(Name, VmRSS bytes, VmSwap bytes)` from a `/proc/[pid]/status` text;
/// `None` for kernel threads (no `VmRSS`). A missing `VmSwap` counts as 0.
pub fn parse_status(text: &str) -> Option<(String, u64, u64)> {
    let mut name = None;
    let mut rss = None;
    let mut swap = 0;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let kb = || {
            v.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
                .map(|x| x * 1024)
        };
        match k {
            "Name" => name = Some(v.trim().to_string()),
            "VmRSS" => rss = kb(),
            "VmSwap" => swap = kb().unwrap_or(0),
            _ => {}
        }
    }
    Some((name?, rss?, swap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_name_rss_swap_and_skips_kernel_threads() {
        let t = "Name:\tcc1plus\nState:\tR\nVmRSS:\t  1024 kB\nVmSwap:\t     2 kB\n";
        assert_eq!(parse_status(t), Some(("cc1plus".into(), 1024 * 1024, 2048)));
        assert_eq!(parse_status("Name:\tkworker/0:1\nState:\tI\n"), None);
    }
}
