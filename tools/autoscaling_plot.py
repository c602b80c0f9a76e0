"""Draw the autoscaling signal test's samples: `python -m tools.autoscaling_plot`.

Reads .run/autoscaling/samples.json (written by tests/e2e/test_autoscaling_signal.py) and
writes docs/images/autoscaling-signal.png: the signal (waiting + due delayed + held) and
the old `waiting`-only reading on top, and below them the worker pods the HPA formula
ceil(signal / (processes x threads)) asks for, over the test's time, one band per scenario.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / ".run" / "autoscaling" / "samples.json"
OUTPUT = ROOT / "docs" / "images" / "autoscaling-signal.png"
SCENARIOS = {
    "a": "(a) burst absorbed",
    "c": "(c) all busy,\nnothing waiting",
    "d-zero-workers": "(d) due retries,\n0 workers",
    "b-deferred": "(b) rate-limited\nbacklog",
}


def plot(samples_path: Path, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(samples_path.read_text())
    samples, capacity = data["samples"], data["capacity"]
    t = [s["t"] for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(10, 6), dpi=100)
    top.step(t, [s["signal"] for s in samples], where="post", label="tributary_autoscaling_backlog")
    top.step(
        t, [s["old_waiting"] for s in samples], where="post", linestyle="--", label="old: waiting"
    )
    top.axhline(capacity, color="grey", linewidth=0.8, label=f"one pod's capacity ({capacity})")
    top.set_ylabel("messages")
    top.legend(loc="center right", fontsize=8)
    bottom.step(t, [s["desired"] for s in samples], where="post", label="pods asked for")
    bottom.step(
        t, [s["old_desired"] for s in samples], where="post", linestyle="--", label="old signal"
    )
    bottom.step(
        t,
        [s["live_workers"] for s in samples],
        where="post",
        linestyle=":",
        label="live worker processes",
    )
    bottom.set_ylabel("worker pods")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper right", fontsize=8)
    for phase, group in itertools.groupby(samples, key=lambda s: s["phase"]):
        points = list(group)
        if phase in SCENARIOS:
            start, end = points[0]["t"], points[-1]["t"]
            for axis in (top, bottom):
                axis.axvspan(start, end, alpha=0.1, color="tab:green")
            top.text(start, top.get_ylim()[1] * 0.95, SCENARIOS[phase], fontsize=7, va="top")
    fig.suptitle("Autoscaling signal under load (tests/e2e/test_autoscaling_signal.py)")
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--samples", type=Path, default=SAMPLES)
    p.add_argument("--output", type=Path, default=OUTPUT)
    args = p.parse_args(argv)
    plot(args.samples, args.output)
    print(args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
