//! `bench/run --smoke --psconform-only` still works: it generates a five-case suite, runs this
//! build of psconform against its built-in simulator and against `psconform serve`, and prints
//! the table. It needs no nginx and no peers, so it always runs; the real benchmark is not part
//! of `cargo test` (see bench/README.md).

#![cfg(unix)]

use std::process::Command;

use crate::harness::files::root;

#[test]
fn bench_smoke_runs_psconform_and_prints_its_rows() {
    let out = Command::new("bash")
        .arg(root().join("bench/run"))
        .args(["--smoke", "--psconform-only"])
        .env("PSCONFORM_BIN", env!("CARGO_BIN_EXE_psconform"))
        .output()
        .expect("bash runs bench/run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench/run --smoke --psconform-only failed ({}):\n{stdout}\n{stderr}", out.status);
    for row in ["| psconform built-in simulator ", "| psconform psconform-serve "] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no table row `{row}` in:\n{stdout}\n{stderr}"));
        assert!(!line.contains("FAILED"), "psconform's smoke run failed: {line}\n{stderr}");
        // wall s, CPU s: numbers.
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(cells[2].parse::<f64>().is_ok_and(|w| w > 0.0), "no wall time in {line}");
    }
    assert!(stdout.contains("N=5 cases (10 requests)"), "no N=5 table in:\n{stdout}");
}
