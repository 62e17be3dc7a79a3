//! Issue 14 item 6: a heartbeat endpoint that accepts the connection and
//! never answers must not delay alerts (it ran on the thread that hands
//! events to the dispatcher: every alert waited out the 10 s ping).

use super::{agent_config, Agent, FakeProc, Hook};
use std::time::{Duration, Instant};

#[test]
fn a_hung_heartbeat_endpoint_does_not_delay_an_alert() {
    let d = tempfile::tempdir().unwrap();
    let proc = FakeProc::new(&d.path().join("proc"));
    // Listening, never accepting: connects succeed, requests hang.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = Hook::start("/hook", 200);
    let cfg = agent_config(
        d.path(),
        &proc,
        "",
        &format!(
            "[agent.heartbeat]\nurl = \"http://{}/ping\"\nevery = \"1s\"\n",
            hung.local_addr().unwrap()
        ),
        &format!(
            "[[notify.sinks]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
            hook.url
        ),
    );
    let agent = Agent::start(&cfg);
    assert!(
        agent.wait_log("memcanary agent starting", Duration::from_secs(10)),
        "{}",
        agent.log_text()
    );
    // Let the first ping get stuck, then make the kernel kill something.
    std::thread::sleep(Duration::from_millis(1500));
    let fired = Instant::now();
    proc.oom_kills(1);
    let at = hook.firing("oom_kill", Duration::from_secs(15));
    let Some(at) = at else {
        panic!("no oom_kill alert arrived; log:\n{}", agent.log_text());
    };
    let late = at.duration_since(fired);
    assert!(
        late < Duration::from_millis(2000),
        "the alert took {late:?} behind a hung heartbeat; log:\n{}",
        agent.log_text()
    );
    drop(hung);
}
