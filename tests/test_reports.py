import csv
import json

from PIL import Image

from impasto.reports.history import history_fields, loss_terms, plot_losses, write_history
from impasto.reports.sheets import side_by_side

HISTORY = [
    {"step": i + 1, "stage": 1 + (i >= 3), "height": 10, "width": 20, "iteration": i + 1, "content": 1.0 + i,
     "style": 100.0 / (i + 1), "tv": 0.5, "total": 101.5, "lr": 0.1, "elapsed": 0.1 * i}
    for i in range(6)
]


def test_history_csv_and_json(tmp_path):
    write_history(HISTORY, tmp_path / "h.csv")
    rows = list(csv.DictReader((tmp_path / "h.csv").open()))
    assert list(rows[0]) == ["step", "stage", "height", "width", "iteration", "content", "style", "tv", "total",
                             "lr", "elapsed"]
    assert len(rows) == 6 and float(rows[2]["style"]) == 100.0 / 3
    write_history(HISTORY, tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text()) == HISTORY


def test_columns_follow_the_runs_loss_terms():
    rows = [{"step": 1, "stage": 1, "height": 1, "width": 1, "iteration": 1, "style": 2.0, "temporal": 1.0,
             "total": 3.0, "lr": 0.1, "elapsed": 0.0}]
    assert loss_terms(rows) == ["style", "temporal"]
    fields = history_fields(rows)
    assert fields[5:7] == ["style", "temporal"] and fields[-3:] == ["total", "lr", "elapsed"]


def test_plot_is_a_png(tmp_path):
    plot_losses(HISTORY, tmp_path / "plot.png")
    with Image.open(tmp_path / "plot.png") as image:
        assert image.format == "PNG" and image.size == (800, 450)


def test_side_by_side_layout():
    sheet = side_by_side(Image.new("RGB", (40, 20), "red"), [Image.new("RGB", (10, 10), "green")],
                         Image.new("RGB", (60, 30), "blue"), gap=5)
    assert sheet.size == (60 + 30 + 60 + 4 * 5, 30 + 10 + 18)
    assert sheet.getpixel((5 + 1, 5 + 1)) == (255, 0, 0)
    assert sheet.getpixel((5 + 60 + 5 + 1, 5 + 1)) == (0, 128, 0)
