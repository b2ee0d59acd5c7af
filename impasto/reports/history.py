"""The loss history a run logs: written as a table (CSV/JSON) and drawn as curves (PNG/PDF/SVG)."""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Sequence

from ..errors import OutputError, display_path
from ..files import atomic_write

PLOT_FORMATS = (".png", ".pdf", ".svg")
# The loss terms (content, style, tv, ... whatever the run's objective had) sit between these.
LEADING_FIELDS = ("step", "stage", "height", "width", "iteration")
TRAILING_FIELDS = ("total", "lr", "elapsed")
OPTIONAL_LEADING_FIELDS = ("tile",)  # only in tiled runs' histories (big outputs)


def history_fields(history: Sequence[dict]) -> list[str]:
    """The columns of a history: the fixed ones around every loss term that appears, in order of appearance."""
    fixed = set(LEADING_FIELDS + TRAILING_FIELDS + OPTIONAL_LEADING_FIELDS)
    terms = dict.fromkeys(key for row in history for key in row if key not in fixed)
    optional = [key for key in OPTIONAL_LEADING_FIELDS if any(key in row for row in history)]
    return [*LEADING_FIELDS, *optional, *terms, *TRAILING_FIELDS]


def loss_terms(history: Sequence[dict]) -> list[str]:
    """The names of the loss terms a history logged."""
    return [key for key in history_fields(history)[len(LEADING_FIELDS):-len(TRAILING_FIELDS)]
            if key not in OPTIONAL_LEADING_FIELDS]


def write_history(history: Sequence[dict], path: str | os.PathLike) -> Path:
    """Every logged iteration as CSV (``.csv``) or JSON (``.json``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".json":
        text = json.dumps(list(history), indent=1)
    elif suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=history_fields(history), lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        text = buffer.getvalue()
    else:
        raise OutputError(f"history file {display_path(path)} must end in .csv or .json")
    return atomic_write(path, lambda file: file.write(text.encode()))


def plot_losses(history: Sequence[dict], path: str | os.PathLike, title: str = "impasto losses") -> Path:
    """Every loss term and the total over iterations (log scale), with each change of scale marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    steps = [row["step"] for row in history]
    figure, axes = pyplot.subplots(figsize=(8, 4.5), dpi=100)
    colors = iter(pyplot.rcParams["axes.prop_cycle"].by_key()["color"] * 4)
    for key in (*loss_terms(history), "total"):
        values = [row.get(key, 0.0) for row in history]
        if any(value > 0 for value in values):
            total = key == "total"
            axes.plot(steps, values, label=key, color="black" if total else next(colors),
                      linewidth=1.6 if total else 1.2, linestyle=":" if total else "-")
    axes.set_yscale("log")
    stage_starts = [row for i, row in enumerate(history) if i == 0 or row["stage"] != history[i - 1]["stage"]]
    for row in stage_starts:
        axes.axvline(row["step"] - 0.5, color="gray", linestyle="--", linewidth=0.8)
        axes.annotate(f"{row['width']}x{row['height']}", (row["step"], 1.0), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", fontsize=8, color="dimgray")
    axes.set_xlabel("iteration (all scales)")
    axes.set_ylabel("weighted loss")
    axes.set_title(title)
    axes.legend(loc="upper right")
    axes.grid(True, which="major", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix.lower().lstrip(".") or "png")
    pyplot.close(figure)
    return atomic_write(path, lambda file: file.write(buffer.getvalue()))
