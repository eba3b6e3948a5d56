"""Compile cost of `saga!`: builds a crate holding a 100-step `saga!` and the same crate
written by hand (plain calls and a hand-written compensation ladder), from a warm
dependency cache, and reports the build times, their ratio, and the size of the
expansion. Run from anywhere: `python3 bench/compile/compile_cost.py`.

`python3 bench/compile/compile_cost.py --join 200` instead times `cargo check` of a
crate holding one async `saga!` whose `join!` has that many branches, and
`--join-then-step 200` the same with a step after the group (its outputs then live
across an await); `python3 bench/compile/compile_cost.py --fan-out 1000` times the same crate
with a `join!(for _ in 0..1000 { ... })` instead, whose code does not depend on the
count.

Prints `figure NAME: VALUE` lines. Uses RUSTC_BOOTSTRAP=1 only to print the expansion
(`-Zunpretty=expanded`); the timed builds are plain `cargo build`.
"""

import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
N = 100

PRELUDE = """
use std::hint::black_box;
#[derive(Debug)]
pub struct Fail;
pub fn noop_body(x: &u64) -> Result<u64, Fail> { Ok(black_box(*x)) }
pub fn undo_body(_x: &u64, out: &u64) -> Result<(), Fail> { black_box(out); Ok(()) }
"""


def saga_crate():
    lines = [PRELUDE, "#[tale::step(compensate = undo)]",
             "fn noop(x: &u64) -> Result<u64, Fail> { noop_body(x) }",
             "fn undo(x: &u64, out: &u64) -> Result<(), Fail> { undo_body(x, out) }",
             "pub fn run(x: &u64) -> Result<u64, tale::SagaError<Fail>> {", "    tale::saga! {"]
    lines += [f"        let o{i} = noop(x);" for i in range(N)]
    lines += [f"        o0 + o{N - 1}", "    }", "}"]
    return "\n".join(lines) + "\n"


def hand_crate():
    lines = [PRELUDE, "pub fn run(x: &u64) -> Result<u64, Fail> {", f"    let mut done = [0u64; {N}];"]
    for i in range(N):
        lines.append(
            f"    match noop_body(x) {{ Ok(o) => done[{i}] = o, Err(e) => {{ for o in done[..{i}].iter().rev() {{ let _ = undo_body(x, o); }} return Err(e); }} }}")
    lines += [f"    Ok(done[0] + done[{N - 1}])", "}"]
    return "\n".join(lines) + "\n"


def join_crate(n, then_step=False):
    names = ", ".join(f"o{i}" if i in (0, n - 1) else "_" for i in range(n))
    steps = ", ".join("noop(x)" for _ in range(n))
    return "\n".join([
        PRELUDE, "#[tale::step(compensate = undo)]",
        "async fn noop(x: &u64) -> Result<u64, Fail> { noop_body(x) }",
        "async fn undo(x: &u64, out: &u64) -> Result<(), Fail> { undo_body(x, out) }",
        "pub async fn run(x: &u64) -> Result<u64, tale::SagaError<Fail>> {",
        "    tale::saga!(async {", f"        let ({names}) = join!({steps});",
        *(["        let last = noop(&o0);", f"        o0 + o{n - 1} + last"] if then_step
          else [f"        o0 + o{n - 1}"]),
        "    }).await", "}"]) + "\n"


def fan_out_crate(n):
    return "\n".join([
        PRELUDE, "#[tale::step(compensate = undo)]",
        "async fn noop(x: &u64) -> Result<u64, Fail> { noop_body(x) }",
        "async fn undo(x: &u64, out: &u64) -> Result<(), Fail> { undo_body(x, out) }",
        "pub async fn run(x: &u64) -> Result<u64, tale::SagaError<Fail>> {",
        "    tale::saga!(async {", f"        let outputs = join!(for _ in 0..{n} {{ noop(x) }});",
        "        outputs[0] + outputs[outputs.len() - 1]", "    }).await", "}"]) + "\n"


def check_time(dir, target):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), CARGO_INCREMENTAL="0")
    subprocess.run(["cargo", "check", "-q"], cwd=dir, env=env, check=True)
    (dir / "src" / "lib.rs").touch()
    start = time.perf_counter()
    subprocess.run(["cargo", "check", "-q"], cwd=dir, env=env, check=True)
    return time.perf_counter() - start


def make(dir, name, source, with_tale):
    (dir / "src").mkdir(parents=True)
    deps = f'tale = {{ path = "{ROOT / "tale"}", package = "tale-saga" }}\n' if with_tale else ""
    (dir / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2024"\n\n[dependencies]\n{deps}\n[workspace]\n')
    (dir / "src" / "lib.rs").write_text(source)


def build_time(dir, target, runs=5):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    subprocess.run(["cargo", "build", "-q"], cwd=dir, env=env, check=True)
    times = []
    for _ in range(runs):
        (dir / "src" / "lib.rs").touch()
        start = time.perf_counter()
        subprocess.run(["cargo", "build", "-q"], cwd=dir, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def expanded_lines(dir, target):
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), RUSTC_BOOTSTRAP="1")
    out = subprocess.run(["cargo", "rustc", "-q", "--", "-Zunpretty=expanded"], cwd=dir, env=env,
                         check=True, capture_output=True, text=True).stdout
    # Deep nesting indents the pretty-printed ladder far to the right: count what is
    # not whitespace.
    return len(out.splitlines()), sum(1 for ch in out if not ch.isspace())


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="tale-compile-cost-"))
    try:
        if len(sys.argv) == 3 and sys.argv[1] in ("--join", "--join-then-step"):
            n = int(sys.argv[2])
            then_step = sys.argv[1] == "--join-then-step"
            make(work / "join", "join_crate", join_crate(n, then_step), True)
            t = check_time(work / "join", work / "target")
            name = "join_then_step" if then_step else "join"
            print(f"figure check_{name}_{n}_branches_s: {t:.2f}")
            return
        if len(sys.argv) == 3 and sys.argv[1] == "--fan-out":
            n = int(sys.argv[2])
            make(work / "fan_out", "fan_out_crate", fan_out_crate(n), True)
            t = check_time(work / "fan_out", work / "target")
            print(f"figure check_fan_out_{n}_items_s: {t:.2f}")
            return
        target = work / "target"
        make(work / "saga", "saga_crate", saga_crate(), True)
        make(work / "hand", "hand_crate", hand_crate(), True)
        t_saga = build_time(work / "saga", target)
        t_hand = build_time(work / "hand", target)
        saga_lines, saga_chars = expanded_lines(work / "saga", target)
        hand_lines, hand_chars = expanded_lines(work / "hand", target)
        print(f"figure compile_{N}_steps_saga_s: {t_saga:.3f}")
        print(f"figure compile_{N}_steps_hand_s: {t_hand:.3f}")
        print(f"figure compile_{N}_steps_ratio_vs_hand: {t_saga / t_hand:.3f}")
        print(f"figure expansion_{N}_steps_lines: {saga_lines}")
        print(f"figure expansion_{N}_steps_non_blank_chars: {saga_chars}")
        print(f"figure expansion_{N}_steps_chars_ratio_vs_hand: {saga_chars / hand_chars:.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
