//! Writes the benchmarked sagas, which are too long to write by hand: `saga!` sagas of
//! N no-op steps and the same calls with a hand-written compensation ladder.

use std::fmt::Write;
use std::path::PathBuf;

fn sync_saga(n: usize) -> String {
    let mut s = format!("/// {n} no-op steps with `saga!`; the last one fails if `fail`.\n");
    s +=
        &format!("pub fn saga_{n}(x: &u64, fail: bool) -> Result<u64, tale::SagaError<Fail>> {{\n");
    s += "    tale::saga! {\n        #![saga(name = \"bench\")]\n";
    for i in 0..n - 1 {
        let _ = writeln!(s, "        let o{i} = noop(x);");
    }
    let _ = writeln!(s, "        let o{} = noop_or_fail(x, fail);", n - 1);
    s += &format!("        o0 + o{}\n    }}\n}}\n\n", n - 1);
    s
}

fn hand_sync(n: usize) -> String {
    let mut s = format!("/// The same {n} calls written by hand, with a compensation ladder.\n");
    s += &format!("pub fn hand_{n}(x: &u64, fail: bool) -> Result<u64, Fail> {{\n");
    s += &format!("    let mut done = [0u64; {n}];\n");
    for i in 0..n {
        let call = if i == n - 1 {
            "noop_or_fail_body(x, fail)"
        } else {
            "noop_body(x)"
        };
        let _ = writeln!(
            s,
            "    match {call} {{ Ok(o) => done[{i}] = o, Err(e) => {{ for o in done[..{i}].iter().rev() {{ let _ = undo_body(x, o); }} return Err(e); }} }}"
        );
    }
    s += &format!("    Ok(done[0] + done[{}])\n}}\n\n", n - 1);
    s
}

fn async_saga(n: usize) -> String {
    let mut s = format!("/// {n} async no-op steps with `saga!(async ...)`.\n");
    s +=
        &format!("pub async fn async_saga_{n}(x: &u64) -> Result<u64, tale::SagaError<Fail>> {{\n");
    s += "    tale::saga!(async {\n        #![saga(name = \"bench\", executor = tale::Executor::new().with_clock(tale::TokioClock::new()))]\n";
    for i in 0..n {
        let _ = writeln!(s, "        let o{i} = async_noop(x);");
    }
    s += &format!("        o0 + o{}\n    }})\n    .await\n}}\n\n", n - 1);
    s
}

/// `n` async no-op steps whose last one fails if `fail`, so that every other step is
/// compensated (the async form of `saga_{n}`).
fn async_saga_fallible(n: usize) -> String {
    let mut s = format!(
        "/// {n} async no-op steps with `saga!(async ...)`; the last one fails if `fail`.\n"
    );
    s += &format!(
        "pub async fn async_saga_fallible_{n}(x: &u64, fail: bool) -> Result<u64, tale::SagaError<Fail>> {{\n"
    );
    s += "    tale::saga!(async {\n        #![saga(name = \"bench\", executor = tale::Executor::new().with_clock(tale::TokioClock::new()))]\n";
    for i in 0..n - 1 {
        let _ = writeln!(s, "        let o{i} = async_noop(x);");
    }
    let _ = writeln!(s, "        let o{} = async_noop_or_fail(x, fail);", n - 1);
    s += &format!("        o0 + o{}\n    }})\n    .await\n}}\n\n", n - 1);
    s
}

fn async_hand(n: usize) -> String {
    let mut s = format!("/// The same {n} async calls written by hand.\n");
    s += &format!("pub async fn async_hand_{n}(x: &u64) -> Result<u64, Fail> {{\n");
    s += &format!("    let mut done = [0u64; {n}];\n");
    for i in 0..n {
        let _ = writeln!(
            s,
            "    match async_noop_body(x).await {{ Ok(o) => done[{i}] = o, Err(e) => {{ for o in done[..{i}].iter().rev() {{ let _ = undo_body(x, o); }} return Err(e); }} }}"
        );
    }
    s += &format!("    Ok(done[0] + done[{}])\n}}\n\n", n - 1);
    s
}

/// The same calls as `async_saga_fallible_{n}` by hand: `async_hand_{n}` with a last
/// step that fails if `fail`.
fn async_hand_fallible(n: usize) -> String {
    let mut s =
        format!("/// The same {n} async calls written by hand; the last one fails if `fail`.\n");
    s += &format!(
        "pub async fn async_hand_fallible_{n}(x: &u64, fail: bool) -> Result<u64, Fail> {{\n"
    );
    s += &format!("    let mut done = [0u64; {n}];\n");
    for i in 0..n {
        let call = if i == n - 1 {
            "async_noop_or_fail_body(x, fail)"
        } else {
            "async_noop_body(x)"
        };
        let _ = writeln!(
            s,
            "    match {call}.await {{ Ok(o) => done[{i}] = o, Err(e) => {{ for o in done[..{i}].iter().rev() {{ let _ = undo_body(x, o); }} return Err(e); }} }}"
        );
    }
    s += &format!("    Ok(done[0] + done[{}])\n}}\n\n", n - 1);
    s
}

/// A `join!` of `n` async no-op steps, and the same futures joined by hand with
/// `futures::future::join_all`, compensating the ones that succeeded if any failed.
fn join(n: usize) -> String {
    let mut s = format!("/// A `join!` of {n} async no-op steps.\n");
    s += &format!("pub async fn join_saga_{n}(x: &u64) -> Result<u64, tale::SagaError<Fail>> {{\n");
    s += "    tale::saga!(async {\n        #![saga(name = \"bench\", executor = tale::Executor::new().with_clock(tale::TokioClock::new()))]\n";
    let names: Vec<String> = (0..n)
        .map(|i| {
            if i == 0 || i == n - 1 {
                format!("o{i}")
            } else {
                "_".to_owned()
            }
        })
        .collect();
    let steps = vec!["async_noop(x)"; n];
    let _ = writeln!(
        s,
        "        let ({}) = join!({});",
        names.join(", "),
        steps.join(", ")
    );
    s += &format!("        o0 + o{}\n    }})\n    .await\n}}\n\n", n - 1);
    s += &format!("/// The same {n} futures with `futures::future::join_all`.\n");
    s += &format!("pub async fn join_hand_{n}(x: &u64) -> Result<u64, Fail> {{\n");
    s += &format!(
        "    let results = futures_util::future::join_all((0..{n}).map(|_| async_noop_body(x))).await;\n"
    );
    s += "    if let Some(error) = results.iter().find_map(|r| r.err()) {\n";
    s += "        for o in results.iter().rev().flatten() { let _ = undo_body(x, o); }\n";
    s += "        return Err(error);\n    }\n";
    s += &format!(
        "    Ok(results[0].unwrap_or(0) + results[{}].unwrap_or(0))\n}}\n",
        n - 1
    );
    s
}

fn main() {
    let mut out = String::new();
    for n in [10, 100] {
        out += &sync_saga(n);
        out += &hand_sync(n);
        out += &async_saga(n);
        out += &async_hand(n);
        out += &async_saga_fallible(n);
        out += &async_hand_fallible(n);
    }
    let path =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("generated.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
    let path = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("join.rs");
    std::fs::write(path, join(1000)).expect("OUT_DIR is writable");
    println!("cargo::rerun-if-changed=build.rs");
}
