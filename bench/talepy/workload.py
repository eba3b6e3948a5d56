"""talepy 0.8.0's run_transaction on the workload of tale's `composed` benchmark.

Two figures, in nanoseconds per step (median of repeated runs):
- a saga of N no-op steps that all succeed;
- a saga of N no-op steps whose last one fails, so that the N - 1 others are
  executed and compensated.

Run through run.sh, which installs talepy from PyPI into a virtual environment.
"""

import statistics
import sys
import time

from talepy import run_transaction
from talepy.steps import Step


class NoOp(Step):
    def execute(self, state):
        return state

    def compensate(self, state):
        pass


class Fails(Step):
    def execute(self, state):
        raise RuntimeError("no")

    def compensate(self, state):
        pass


def per_step(steps, executed, repeats=200):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        try:
            run_transaction(steps, 0)
        except RuntimeError:
            pass
        samples.append((time.perf_counter_ns() - start) / executed)
    return statistics.median(samples)


def main():
    for n in (10, 100):
        ok = [NoOp() for _ in range(n)]
        print(f"figure talepy_success_{n}_ns_per_step: {per_step(ok, n):.1f}")
        failing = [NoOp() for _ in range(n - 1)] + [Fails()]
        print(f"figure talepy_compensated_{n}_ns_per_step: {per_step(failing, n - 1):.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
