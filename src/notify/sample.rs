//! Sample alerts shared by the sinks' snapshot tests
//! (`sink/render_tests.rs`) and the rendering benchmark (`benches/notify.rs`).
//! Not part of the API.

use super::alert::{Alert, Consumer, State};
use crate::detect::{Evidence, Severity, Signal};

/// When the sample alerts happened: 2025-11-28T00:00:00Z.
pub const AT_MS: i64 = 1_764_288_000_000;

/// A critical or warning alert as the agent sends it: every value set, two
/// consumers, a link.
pub fn typical(severity: Severity, state: State) -> Alert {
    let gib = 1u64 << 30;
    Alert {
        instance: "node-b".into(),
        rule: "headroom_forecast".into(),
        severity,
        state,
        at_ms: AT_MS,
        values: Evidence {
            mem_total_bytes: 32 * gib,
            mem_available_bytes: gib,
            swap_total_bytes: 8 * gib,
            swap_free_bytes: gib / 4,
            headroom_bytes: gib + gib / 4,
            headroom_ratio: 0.03125,
            headroom_slope_bytes_per_s: Some(-20.0 * (1 << 20) as f64),
            eta_seconds: Some(64.0),
            psi_some_ratio: Some(0.42),
            psi_full_ratio: Some(0.17),
            pgmajfault_per_s: Some(1200.0),
            pswpin_per_s: Some(3000.0),
            oom_kills: 0,
            signals: [Signal::SwapLow, Signal::PsiSome, Signal::Forecast]
                .into_iter()
                .collect(),
            silent_seconds: None,
        },
        consumers: vec![
            Consumer {
                group: "coily-update.service".into(),
                processes: 16,
                command: "cc1plus".into(),
                bytes: 16_965_120_819,
            },
            Consumer {
                group: "k3s.service".into(),
                processes: 1,
                command: "k3s-server".into(),
                bytes: 900 << 20,
            },
        ],
        url: Some("http://grafana.lan/d/mem?var-host=node-b".into()),
        is_test: false,
        repeat: 0,
        detail: None,
        cgroup: None,
    }
}

/// [`typical`] with every text far over any sink's limits (for Discord's
/// cuts), every signal, and 40 consumers.
pub fn maximal() -> Alert {
    let mut a = typical(Severity::Critical, State::Firing);
    a.instance = "ホスト名-très-long-".repeat(400);
    a.rule = "règle_très_longue_".repeat(300);
    a.values.signals = Signal::ALL.into_iter().collect();
    a.values.silent_seconds = Some(12.0);
    a.values.oom_kills = 3;
    a.consumers = (0..40)
        .map(|i| Consumer {
            group: format!("ünit-名前-{i}-{}.service", "x".repeat(200)),
            processes: i,
            command: "cc1plus-ö".repeat(20),
            bytes: (i as u64 + 1) << 30,
        })
        .collect();
    a
}
