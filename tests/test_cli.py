import json
import subprocess
import sys

from PIL import Image

from impasto.cli.main import main

TINY = ["--size", "48", "--scales", "2", "--iterations", "3,2", "--quiet"]


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "impasto", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_clean_failure(result, fragment):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_missing_content_file(tmp_path, style_path):
    result = run_cli(tmp_path / "nope.jpg", style_path, "-o", tmp_path / "out.png", *TINY)
    assert_clean_failure(result, "does not exist")
    assert not (tmp_path / "out.png").exists()


def test_unknown_layer(tmp_path, content_path, style_path):
    result = run_cli(content_path, style_path, "-o", tmp_path / "out.png", "--style-layers", "relu9_1", *TINY)
    assert_clean_failure(result, "unknown layer 'relu9_1'")
    assert not (tmp_path / "out.png").exists()


def test_missing_output_folder_is_reported_before_the_run(tmp_path, content_path, style_path):
    result = run_cli(content_path, style_path, "-o", tmp_path / "no" / "out.png", *TINY)
    assert_clean_failure(result, "does not exist")


def test_usage_error_exit_code(tmp_path, content_path):
    result = run_cli(content_path, "-o", tmp_path / "out.png")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_full_run_writes_image_and_reports(tmp_path, content_path, style_path, capsys):
    output = tmp_path / "out.png"
    code = main([str(content_path), str(style_path), str(style_path), "-o", str(output), *TINY,
                 "--style-blend", "3,1", "--plot", str(tmp_path / "loss.png"), "--history", str(tmp_path / "h.json"),
                 "--side-by-side", str(tmp_path / "sheet.jpg"), "--save-every", "2", "--snapshots",
                 str(tmp_path / "snaps"), "--seed", "4", "--style-layers", "relu1_1,block2_conv1:0.5,10"])
    assert code == 0
    with Image.open(output) as image:
        assert image.size == (48, 32)
        meta = json.loads(image.text["impasto"])
    assert meta["options"]["seed"] == 4 and meta["options"]["style_blend"] == [3.0, 1.0]
    assert meta["options"]["style_layers"] == [["relu1_1", 1.0], ["relu2_1", 0.5], ["conv3_1", 1.0]]
    history = json.loads((tmp_path / "h.json").read_text())
    assert [row["stage"] for row in history] == [1, 1, 1, 2, 2]
    with Image.open(tmp_path / "loss.png") as plot:
        assert plot.format == "PNG" and plot.width > 300
    with Image.open(tmp_path / "sheet.jpg") as sheet:
        assert sheet.format == "JPEG" and sheet.width > 3 * 48
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["step_00002.png", "step_00004.png"]
    assert capsys.readouterr().err == ""
