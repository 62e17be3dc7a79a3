//! A VictoriaMetrics serving HTTPS with a certificate from a CA of the
//! test's own (made with the `openssl` CLI) and basic auth
//! (`-httpAuth.username` / `-httpAuth.password`), a trace imported into it.
//! Three watchers at once: with `ca_file` and `password_file` they complete
//! cycles and see the host; without `ca_file` every cycle fails with one line
//! naming the certificate; with a wrong password, one line with the 401. The
//! password appears in no log line and no `/metrics`.

use super::{bin, Proc, Watch};
use crate::common::{self, fixture};
use crate::fault::harness::count_lines;
use std::path::Path;
use std::process::{Command, Stdio};

const TEST: &str = "watch_over_https_with_a_custom_ca_and_basic_auth";
const USER: &str = "memcanary";
const PASSWORD: &str = "s3cret-Watch-Pw-7f1c";

/// `openssl ARGS` in `dir`; panics with its stderr if it fails.
fn openssl(bin: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `dir/ca.pem`, and `dir/server.pem` + `dir/server.key` for 127.0.0.1
/// signed by it.
fn make_certs(bin: &Path, dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req", "-x509", "-days", "2", "-keyout", "ca.key", "-out", "ca.pem",
    ];
    ca.extend(ec);
    ca.extend([
        "-subj",
        "/CN=memcanary test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(bin, dir, &ca);
    let mut csr = vec!["req", "-keyout", "server.key", "-out", "server.csr"];
    csr.extend(ec);
    csr.extend(["-subj", "/CN=127.0.0.1"]);
    openssl(bin, dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        bin,
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// `curl --cacert ca.pem -u USER:PASSWORD ARGS URL`: true if it answered 2xx.
fn curl(dir: &Path, url: &str, args: &[&str]) -> bool {
    Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", "--cacert"])
        .arg(dir.join("ca.pem"))
        .arg("-u")
        .arg(format!("{USER}:{PASSWORD}"))
        .args(args)
        .arg(url)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// VictoriaMetrics on HTTPS with basic auth; its URL.
fn https_vm(bin: &Path, dir: &Path) -> (Proc, String) {
    let addr = format!("127.0.0.1:{}", common::free_port());
    let child = Command::new(bin)
        .arg(format!("-httpListenAddr={addr}"))
        .arg(format!("-storageDataPath={}", dir.join("data").display()))
        .arg("-retentionPeriod=100y")
        .arg("-search.latencyOffset=1s")
        .arg("-tls")
        .arg(format!("-tlsCertFile={}", dir.join("server.pem").display()))
        .arg(format!("-tlsKeyFile={}", dir.join("server.key").display()))
        .arg(format!("-httpAuth.username={USER}"))
        .arg(format!("-httpAuth.password={PASSWORD}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("vm.log")).unwrap())
        .spawn()
        .unwrap();
    let vm = (Proc(child), format!("https://{addr}"));
    let health = format!("{}/health", vm.1);
    assert!(
        super::wait(30, || curl(dir, &health, &[])),
        "VictoriaMetrics did not answer on {health}"
    );
    (vm.0, vm.1)
}

/// The incident trace under `job`, ending a minute ago, imported over HTTPS.
fn import(dir: &Path, vm: &str, job: &str) {
    let src = std::fs::read_to_string(fixture(crate::watch::TRACE)).unwrap();
    let last = src
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .flat_map(|v| v["timestamps"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t.as_i64())
        .max()
        .unwrap();
    let shift = memcanary::clock::wall_ms() - 60_000 - last;
    let body = dir.join("import.jsonl");
    std::fs::write(&body, crate::watch::rewrite(&src, job, shift, false)).unwrap();
    let data = format!("@{}", body.display());
    assert!(curl(
        dir,
        &format!("{vm}/api/v1/import"),
        &["--data-binary", &data]
    ));
    assert!(curl(dir, &format!("{vm}/internal/force_flush"), &[]));
}

/// A `[watch]` over `vm` with `auth` lines; alerts to stdout.
fn config(vm: &str, job: &str, auth: &str) -> String {
    format!(
        "[watch]\nurl = \"{vm}\"\nselector = '{{job=\"{job}\"}}'\ninterval = \"1s\"\n\
         latency_offset = \"1s\"\ntimeout = \"2s\"\nmax_backoff = \"1s\"\n{auth}\n\
         [[notify.sinks]]\nname = \"out\"\nkind = \"stdout\"\n"
    )
}

#[test]
fn watch_over_https_with_a_custom_ca_and_basic_auth() {
    let Some(vm_bin) = bin(TEST, "MEMCANARY_TEST_VM_BIN", "50-watch.sh") else {
        return;
    };
    let Some(openssl_bin) = bin(TEST, "MEMCANARY_TEST_OPENSSL_BIN", "56-watch-real.sh") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    make_certs(&openssl_bin, dir);
    let (_vm, url) = https_vm(&vm_bin, dir);
    let job = format!("watch-tls-{}", std::process::id());
    import(dir, &url, &job);
    std::fs::write(dir.join("pw"), format!("{PASSWORD}\n")).unwrap();
    std::fs::write(dir.join("wrong"), "not-the-password\n").unwrap();
    let ca = format!("ca_file = \"{}\"\n", dir.join("ca.pem").display());
    let auth = |file: &str| {
        format!(
            "username = \"{USER}\"\npassword_file = \"{}\"\n",
            dir.join(file).display()
        )
    };
    let good = Watch::start(
        dir,
        "good",
        &config(&url, &job, &(ca.clone() + &auth("pw"))),
    );
    let no_ca = Watch::start(dir, "no-ca", &config(&url, &job, &auth("pw")));
    let wrong = Watch::start(dir, "wrong", &config(&url, &job, &(ca + &auth("wrong"))));

    good.wait(30, "cycles over HTTPS with the CA and the password", |w| {
        w.cycles("ok") >= 3.0 && w.metric("memcanary_watch_hosts") == Some(1.0)
    });
    assert_eq!(good.metric("memcanary_watch_datasource_up"), Some(1.0));
    for (w, what) in [(&no_ca, "certificate"), (&wrong, "401")] {
        w.wait(30, &format!("failed cycles ({what})"), |w| {
            w.cycles("failed") >= 3.0
        });
        assert_eq!(w.cycles("ok"), 0.0, "{what}: no cycle succeeds");
        assert_eq!(w.metric("memcanary_watch_datasource_up"), Some(0.0));
        let log = w.log();
        let failed = w.cycles("failed") as usize;
        let lines = count_lines(&log, &[what]);
        assert!(
            lines >= 1 && lines <= failed + 1,
            "{what}: one line per failed cycle ({failed} failed, {lines} lines):\n{log}"
        );
        let line = log.lines().find(|l| l.contains(what)).unwrap_or_default();
        eprintln!("{what}: {line}");
    }
    for (w, name) in [(&good, "good"), (&no_ca, "no-ca"), (&wrong, "wrong")] {
        let checked = common::memcanary()
            .args(["check-config", "--config"])
            .arg(dir.join(format!("{name}.toml")))
            .output()
            .unwrap();
        let checked = format!(
            "{}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        let texts = [
            ("log", w.log()),
            ("/metrics", w.metrics()),
            ("check-config", checked),
        ];
        for (what, text) in texts {
            assert!(
                !text.contains(PASSWORD),
                "{name}: the password in its {what}:\n{text}"
            );
        }
    }
}
