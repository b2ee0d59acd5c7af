"""What one optimisation step costs, and what the cheaper-step levers would save: one VGG-19 forward and
input-gradient backward to relu5_1 at 512x512 (the unit benchmarks/quality.py states times in), on this CPU.

    python benchmarks/step_cost.py                 # writes step_cost.md into --out (about 3 minutes)

Rows: as impasto runs it (fp32, channels_last, PyTorch's threads); bfloat16 autocast; torch.compile (its
first pass includes the compilation); one thread; the network cut after relu4_2 instead of relu5_1 (what a
step costs when the deepest layer is not needed). Each time is the median of --repeats passes after
one warm-up pass, each variant in its own process.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

VARIANT_CODE = """
import json, statistics, sys, time, torch
from impasto.net.features import VGGFeatures
from impasto.net.weights import load_weights
variant, size, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if variant == "one thread":
    torch.set_num_threads(1)
last = "relu4_2" if variant == "to relu4_2" else "relu5_1"
layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2"] + ([] if last == "relu4_2" else ["relu5_1"])
network = VGGFeatures(load_weights(), layers)
run = network
if variant == "torch.compile":
    run = torch.compile(network)
x = torch.rand(1, 3, size, size, requires_grad=True)
def one():
    x.grad = None
    start = time.perf_counter()
    if variant == "bfloat16 autocast":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            features = run(x)
    else:
        features = run(x)
    sum(f.float().square().mean() for f in features.values()).backward()
    return time.perf_counter() - start
first = one()
times = [one() for _ in range(repeats)]
print(json.dumps({"first": first, "median": statistics.median(times)}))
"""

VARIANTS = ("as impasto runs it", "bfloat16 autocast", "torch.compile", "one thread", "to relu4_2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant in VARIANTS:
        result = subprocess.run([sys.executable, "-c", VARIANT_CODE, variant, str(args.size), str(args.repeats)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            rows.append({"variant": variant, "error": result.stderr.strip().splitlines()[-1][:120]})
        else:
            rows.append({"variant": variant, **json.loads(result.stdout.strip().splitlines()[-1])})
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["median"]
    lines = [f"One VGG-19 forward + input-gradient backward at {args.size}x{args.size} (median of {args.repeats})", "",
             "| variant | first pass s | pass s | relative to impasto's |", "|---|---|---|---|"]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['variant']} | failed: {row['error']} | | |")
        else:
            lines.append(f"| {row['variant']} | {row['first']:.2f} | {row['median']:.3f} | {row['median'] / base:.2f} |")
    (args.out / "step_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
