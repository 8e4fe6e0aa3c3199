//! Shape inference on a large body: `cargo bench --bench shape`.
//!
//! Builds a ~50 MB JSON array of secret-like objects, then shapes it the way a run does
//! (streaming, no `Value` tree) and, for comparison, through a parsed `Value`. Prints the time
//! of each and the process's peak resident memory after each phase. The numbers in README.md
//! come from this.

use std::time::Instant;

use psconform::shape::{Node, ResponseShape};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn body(target_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target_bytes + 1024);
    out.push(b'[');
    let mut i = 0u64;
    while out.len() < target_bytes {
        if i > 0 {
            out.push(b',');
        }
        let item = format!(
            r#"{{"Id":"6f1d0c3a-2b4e-4c8d-9a1f-{i:012x}","Title":"secret {i}","Description":null,"Username":"svc-{i}","SecretType":"Credential","FolderPath":"safe/folder/{}","CreatedOn":"2024-12-10T08:57:45.9","Owners":[{{"GroupId":null,"UserId":{i},"Name":"owner","Email":"o{i}@example.com"}}],"IsFavorite":{},"Urls":[]}}"#,
            i % 97,
            i.is_multiple_of(2)
        );
        out.extend_from_slice(item.as_bytes());
        i += 1;
    }
    out.push(b']');
    out
}

fn main() {
    let body = body(50 * 1000 * 1000);
    let mib = body.len() as f64 / (1024.0 * 1024.0);
    println!("body: {:.1} MiB; peak RSS after building it: {:.0} MiB", mib, peak_rss_mib());

    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        let shape = ResponseShape::infer(200, Some("application/json"), [], &body);
        let secs = t.elapsed().as_secs_f64();
        best = best.min(secs);
        assert!(shape.render().contains("[].Owners[].Email: string(email)"));
    }
    println!("streaming shape: best of 3 {:.3} s ({:.0} MiB/s); peak RSS {:.0} MiB", best, mib / best, peak_rss_mib());

    let t = Instant::now();
    let value: serde_json::Value = serde_json::from_slice(&body).expect("the generated body is JSON");
    let node = Node::infer(&value);
    let secs = t.elapsed().as_secs_f64();
    drop(value);
    assert!(!node.is_unknown());
    println!("via serde_json::Value: {:.3} s; peak RSS {:.0} MiB", secs, peak_rss_mib());
}
