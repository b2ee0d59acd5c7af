"""impasto batch: job lists, naming, skip/resume, failures that do not stop the batch, workers."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from impasto import Stylizer
from impasto.apps.batch import (BatchJob, Worker, check_outputs, jobs_from_file, jobs_from_images, run_batch,
                           run_batch_on_ray, summary)
from impasto.errors import OptionError
from impasto.config.options import resolve_options
from tests.conftest import gradient_image, stripes_image

FAST = {"size": 48, "scales": 1, "iterations": 2, "seed": 0}
FAST_FLAGS = ["--size", "48", "--scales", "1", "--iterations", "2", "--seed", "0"]


@pytest.fixture
def pictures(tmp_path):
    photos, paintings = tmp_path / "photos", tmp_path / "paintings"
    photos.mkdir()
    paintings.mkdir()
    for seed in range(2):
        gradient_image(64, 48, seed=seed).save(photos / f"photo{seed}.png")
    stripes_image(64, 64, seed=1).save(paintings / "stripes.png")
    stripes_image(64, 64, seed=5).save(paintings / "bands.jpg")
    (photos / "notes.txt").write_text("not an image, not picked up from a folder")
    return photos, paintings


def batch_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "impasto", "batch", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_folders_times_styles_make_predictably_named_jobs(pictures, tmp_path):
    photos, paintings = pictures
    jobs = jobs_from_images([str(photos)], [str(paintings)], tmp_path / "out")
    assert [job.output.name for job in jobs] == ["photo0__bands.png", "photo0__stripes.png",
                                                 "photo1__bands.png", "photo1__stripes.png"]
    blended = jobs_from_images([str(photos / "photo*.png")], [str(paintings)], tmp_path / "out", ".jpg", blend=True)
    assert [job.output.name for job in blended] == ["photo0__bands+stripes.jpg", "photo1__bands+stripes.jpg"]
    assert all(len(job.styles) == 2 for job in blended)
    with pytest.raises(OptionError, match="matches no image"):
        jobs_from_images([str(photos / "*.gif")], [str(paintings)], tmp_path / "out")


def test_jobs_files_csv_and_json(pictures, tmp_path):
    photos, paintings = pictures
    table = tmp_path / "jobs.csv"
    table.write_text("content,style,output,size,style_weight,iterations\n"
                     f"photos/photo0.png,paintings/stripes.png;paintings/bands.jpg,mix.png,64,2.5,\"3,2\"\n"
                     f"{photos / 'photo1.png'},paintings/bands.jpg,,,,\n")
    first, second = jobs_from_file(table, tmp_path / "out")
    assert first.content == str(tmp_path / "photos" / "photo0.png")
    assert first.styles == [str(tmp_path / "paintings" / "stripes.png"), str(tmp_path / "paintings" / "bands.jpg")]
    assert first.output == tmp_path / "out" / "mix.png"
    assert first.options == {"size": 64, "style_weight": 2.5, "iterations": [3, 2]}
    assert second.output.name == "photo1__bands.png" and second.options == {}
    listing = tmp_path / "jobs.json"
    listing.write_text(json.dumps([{"content": "photos/photo0.png", "style": ["paintings/bands.jpg"],
                                    "preserve_colors": "luminance"}]))
    (job,) = jobs_from_file(listing, tmp_path / "out")
    assert job.options == {"preserve_colors": "luminance"} and job.output.name == "photo0__bands.png"
    listing.write_text('{"content": "a.png"}')
    with pytest.raises(OptionError, match="list of objects"):
        jobs_from_file(listing, tmp_path / "out")


def test_two_jobs_may_not_write_one_file(tmp_path):
    jobs = [BatchJob("a.png", ["s.png"], tmp_path / "x.png"), BatchJob("b.png", ["s.png"], tmp_path / "x.png")]
    with pytest.raises(OptionError, match="jobs 1 and 2 would both write"):
        check_outputs(jobs)


def test_a_batch_paints_skips_what_exists_and_goes_on_after_a_failure(pictures, tmp_path):
    photos, paintings = pictures
    out = tmp_path / "out"
    jobs = jobs_from_images([str(photos)], [str(paintings / "stripes.png")], out)
    jobs.append(BatchJob(str(photos / "missing.png"), [str(paintings / "stripes.png")], out / "missing.png"))
    jobs.append(BatchJob(str(photos / "photo0.png"), [str(paintings / "stripes.png")], out / "bad.png",
                         {"style_weight": -1}))
    results = run_batch(jobs, "impasto", FAST)
    assert summary(results) == {"done": 2, "skipped": 0, "failed": 2, "interrupted": 0}
    failed = {result.job.output.name: result.message for result in results if result.status == "failed"}
    assert "missing.png" in failed["missing.png"] and "style_weight" in failed["bad.png"]
    assert sorted(path.name for path in out.iterdir()) == ["photo0__stripes.png", "photo1__stripes.png"]
    painted = Image.open(out / "photo0__stripes.png")
    assert max(painted.size) == 48 and "impasto" in painted.info  # the single run's metadata
    # A rerun (an interrupted batch resumed) skips every finished output and redoes only the rest.
    again = run_batch(jobs, "impasto", FAST)
    assert summary(again) == {"done": 0, "skipped": 2, "failed": 2, "interrupted": 0}


def test_the_worker_shares_one_network_and_the_paintings_targets(pictures, tmp_path):
    photos, paintings = pictures
    worker = Worker("impasto", FAST)
    jobs = jobs_from_images([str(photos)], [str(paintings / "stripes.png")], tmp_path / "out")
    assert worker.run(jobs[0]).status == "done"
    cached = len(worker.style_cache)
    assert cached > 0
    assert worker.run(jobs[1]).status == "done"  # another photo, the same painting and size: nothing new to compute
    assert len(worker.style_cache) == cached


def test_cached_targets_give_the_same_painting_bit_for_bit(vgg19_weights):
    options = resolve_options(size=64, scales=2, min_size=32, iterations=[3, 2], seed=0)
    cache: OrderedDict = OrderedDict()
    photo, painting = gradient_image(96, 64), stripes_image(80, 80)
    first = Stylizer(photo, painting, options, weights=vgg19_weights, style_cache=cache)
    uncached = np.asarray(Stylizer(photo, painting, options, weights=vgg19_weights).run())
    assert np.array_equal(np.asarray(first.run()), uncached)
    entries = len(cache)
    # Same painting, another photo: served from the cache, and the same result as computing afresh.
    other = gradient_image(96, 64, seed=3)
    from_cache = np.asarray(Stylizer(other, painting, options, weights=vgg19_weights, style_cache=cache).run())
    assert len(cache) == entries
    assert np.array_equal(from_cache, np.asarray(Stylizer(other, painting, options, weights=vgg19_weights).run()))
    # Another painting is never served a cached target: new entries.
    Stylizer(photo, stripes_image(80, 80, seed=9), options, weights=vgg19_weights, style_cache=cache).run()
    assert len(cache) == 2 * entries


def test_the_command_line_batch(pictures, tmp_path):
    photos, paintings = pictures
    out = tmp_path / "out"
    result = batch_cli(str(photos), "--style", str(paintings / "bands.jpg"), "-o", str(out), "-q", *FAST_FLAGS,
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 done, 0 skipped, 0 failed" in result.stderr
    assert sorted(path.name for path in out.iterdir()) == ["photo0__bands.png", "photo1__bands.png"]
    # A failing job: logged in one line, the others still done, exit code 1.
    (photos / "broken.png").write_text("not a picture")
    result = batch_cli(str(photos), "--style", str(paintings / "bands.jpg"), "-o", str(out), "-q", *FAST_FLAGS,
                       cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "failed: 'broken__bands.png':" in result.stderr and "0 done, 2 skipped, 1 failed" in result.stderr
    # Usage errors: one line, exit code 2.
    usage = batch_cli(str(photos), "-o", str(out), cwd=tmp_path)
    assert usage.returncode == 2 and "at least one --style" in usage.stderr


def test_two_worker_processes(pictures, tmp_path):
    photos, paintings = pictures
    out = tmp_path / "out"
    result = batch_cli(str(photos), "--style", str(paintings), "-o", str(out), "-q", "--workers", "2",
                       *FAST_FLAGS, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "4 done" in result.stderr
    assert len(list(out.glob("*.png"))) == 4 and not list(out.glob(".*"))  # no temporary names left


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster as Ray's docs start one (``ray start --head``), two CPUs, stopped afterwards."""
    ray_bin = Path(sys.executable).parent / "ray"
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = subprocess.run([str(ray_bin), "start", "--head", "--num-cpus", "2", "--port", str(port),
                              "--include-dashboard=false", "--disable-usage-stats"],
                             capture_output=True, text=True, env=environment, timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray_bin), "stop", "--force"], capture_output=True, env=environment, timeout=300)


def test_the_batch_on_a_ray_cluster(ray_cluster, pictures, tmp_path):
    photos, paintings = pictures
    stripes_image(64, 64, seed=8).save(paintings / "third.png")
    out = tmp_path / "out"
    jobs = jobs_from_images([str(photos)], [str(paintings)], out)
    jobs.append(BatchJob(str(photos / "missing.png"), [str(paintings / "bands.jpg")], out / "missing.png"))
    results = run_batch_on_ray(jobs, "impasto", FAST, address=ray_cluster, workers=2)
    assert summary(results) == {"done": 6, "skipped": 0, "failed": 1, "interrupted": 0}
    assert len({result.worker for result in results if result.status == "done"}) == 2  # two actors worked
    assert "missing.png" in next(result.message for result in results if result.status == "failed")
    assert len(list(out.glob("*.png"))) == 6 and not list(out.glob(".*"))
    # The same batch from the command line on the same cluster: everything finished is skipped.
    again = batch_cli(str(photos), "--style", str(paintings), "-o", str(out), "-q", "--ray", ray_cluster,
                      *FAST_FLAGS, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 done, 6 skipped, 0 failed" in again.stderr


def test_an_interrupted_batch_keeps_the_running_jobs_best_image_and_resumes(pictures, tmp_path):
    import signal
    import time

    photos, paintings = pictures
    out = tmp_path / "out"
    listing = tmp_path / "jobs.json"
    listing.write_text(json.dumps([
        {"content": "photos/photo0.png", "style": "paintings/stripes.png", "iterations": 2},
        {"content": "photos/photo1.png", "style": "paintings/stripes.png", "iterations": 100000},
    ]))
    process = subprocess.Popen([sys.executable, "-m", "impasto", "batch", "--jobs", str(listing), "-o", str(out),
                                "-q", "--size", "48", "--scales", "1", "--seed", "0"],
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 300
    while not (out / "photo0__stripes.png").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # the second job is painting now
    process.send_signal(signal.SIGINT)
    stderr = process.communicate(timeout=120)[1]
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted: 'photo1__stripes.png'" in stderr
    assert (out / "photo1__stripes.partial.png").exists() and not (out / "photo1__stripes.png").exists()
    # The rerun skips the finished job, paints the interrupted one and drops its partial image.
    listing.write_text(json.dumps([
        {"content": "photos/photo0.png", "style": "paintings/stripes.png", "iterations": 2},
        {"content": "photos/photo1.png", "style": "paintings/stripes.png", "iterations": 2},
    ]))
    again = batch_cli("--jobs", str(listing), "-o", str(out), "-q", "--size", "48", "--scales", "1", cwd=tmp_path)
    assert again.returncode == 0 and "1 done, 1 skipped, 0 failed" in again.stderr, again.stderr
    assert sorted(path.name for path in out.iterdir()) == ["photo0__stripes.png", "photo1__stripes.png"]


def test_a_style_cache_must_be_an_ordered_dict(vgg19_weights):
    with pytest.raises(OptionError, match="OrderedDict"):
        Stylizer(gradient_image(96, 64), stripes_image(80, 80), resolve_options(**FAST), weights=vgg19_weights,
                 style_cache={})


def test_a_batch_of_16_bit_tiffs_at_a_print_size(pictures, tmp_path):
    import tifffile

    photos, paintings = pictures
    out = tmp_path / "out"
    result = batch_cli(str(photos), "--style", str(paintings / "bands.jpg"), "-o", str(out), "-q", "--scales", "1",
                       "--iterations", "2", "--format", "tif", "--bit-depth", "16", "--print", "2x1.5in", "--dpi",
                       "32", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("photo0__bands.tif", "photo1__bands.tif"):
        with tifffile.TiffFile(out / name) as tiff:
            pixels = tiff.asarray()
            assert pixels.dtype == np.uint16 and pixels.shape == (48, 64, 3)  # 2 inches at 32 DPI
            assert tiff.pages[0].tags["XResolution"].value == (32, 1)


@pytest.mark.parametrize("argv", [[], ["photos", "-o", "out"],
                                  ["photos", "-s", "a.png", "-o", "out", "--jobs", "j.csv"],
                                  ["photos", "-s", "a.png", "-o", "out", "--workers", "0"],
                                  ["photos", "-s", "a.png", "-o", "out", "--style-mask", "m.png"],
                                  ["photos", "-s", "a.png", "-o", "out", "--bit-depth", "16", "--format", "jpg"],
                                  ["photos", "-s", "a.png", "-o", "out", "--print", "4x3in", "--size", "64"]])
def test_batch_usage_errors_are_one_line(tmp_path, argv):
    result = batch_cli(*argv, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("impasto batch: error:") and "Traceback" not in result.stderr


# -- issue 22: careless and hostile use -------------------------------------------------------------------

def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("impasto: error: ")
    return lines[0]


def test_an_output_folder_that_cannot_be_made_is_one_line(pictures, tmp_path):
    photos, paintings = pictures
    (tmp_path / "a_file").write_text("a file, not a folder")
    line = one_line_error(batch_cli(str(photos), "-s", str(paintings / "bands.jpg"), "-o", "a_file/out",
                                    *FAST_FLAGS, cwd=tmp_path))
    assert "'a_file/out' has a part that is a file, not a folder" in line
    if Path("/proc/self").is_dir():  # a virtual file system: no folder can be made there
        line = one_line_error(batch_cli(str(photos), "-s", str(paintings / "bands.jpg"), "-o", "/proc/impasto_out",
                                        *FAST_FLAGS, cwd=tmp_path))
        assert "cannot write in the output folder '/proc/impasto_out'" in line


def test_a_bad_cell_fails_its_own_job_and_the_batch_goes_on(pictures, tmp_path):
    photos, paintings = pictures
    table = tmp_path / "jobs.csv"
    table.write_text("content,style,output,style_blend,size\n"
                     "photos/photo0.png,paintings/stripes.png;paintings/bands.jpg,blend.png,abc,\n"
                     "photos/photo0.png,paintings/stripes.png,list.png,,[1]\n"
                     "photos/photo1.png,paintings/stripes.png,good.png,,\n")
    results = run_batch(jobs_from_file(table, tmp_path / "out"), "impasto", FAST)
    assert summary(results) == {"done": 1, "skipped": 0, "failed": 2, "interrupted": 0}
    failed = {result.job.output.name: result.message for result in results if result.status == "failed"}
    assert failed["blend.png"] == "bad option: style_blend = 'abc': could not convert string to float: 'a'"
    assert failed["list.png"] == "size must be an integer from 32 to 65,536, got [1]"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["good.png"]


@pytest.mark.parametrize("output", ["../../escaped.png", "../escaped.png", "sub/../../escaped.png",
                                    "/tmp/impasto-escaped.png"])
def test_a_jobs_files_output_outside_the_output_folder_is_refused_up_front(pictures, tmp_path, output):
    table = tmp_path / "jobs.csv"
    table.write_text(f"content,style,output\nphotos/photo0.png,paintings/stripes.png,inside.png\n"
                     f"photos/photo1.png,paintings/stripes.png,{output}\n")
    with pytest.raises(OptionError, match=r"job 2 in '.*jobs.csv': output .* is outside the output folder"):
        jobs_from_file(table, tmp_path / "out")
    line = one_line_error(batch_cli("--jobs", "jobs.csv", "-o", "out", *FAST_FLAGS, cwd=tmp_path))
    assert "job 2 in 'jobs.csv'" in line and "outside the output folder" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.png").exists()  # nothing painted
    assert not Path("/tmp/impasto-escaped.png").exists()
    # A subfolder of the output folder is inside it.
    table.write_text("content,style,output\nphotos/photo0.png,paintings/stripes.png,sub/inside.png\n")
    assert jobs_from_file(table, tmp_path / "out")[0].output == tmp_path / "out" / "sub" / "inside.png"


def test_an_output_that_is_an_input_is_refused_not_skipped(pictures, tmp_path):
    photos, paintings = pictures
    before = (photos / "photo0.png").read_bytes()
    table = tmp_path / "jobs.csv"
    table.write_text("content,style,output\nphotos/photo0.png,paintings/stripes.png,photo0.png\n")
    line = one_line_error(batch_cli("--jobs", "jobs.csv", "-o", "photos", *FAST_FLAGS, cwd=tmp_path))
    assert line == ("impasto: error: job 1's output 'photos/photo0.png' is an input of the batch (job 1's photo); "
                    "give it another name")
    # Another job's input (here a style) is refused as well, in the library too.
    jobs = [BatchJob(str(photos / "photo0.png"), [str(paintings / "stripes.png")], tmp_path / "out" / "a.png"),
            BatchJob(str(photos / "photo1.png"), [str(paintings / "bands.jpg")], paintings / "stripes.png")]
    with pytest.raises(OptionError, match=r"job 2's output .* is an input of the batch \(job 1's style\)"):
        run_batch(jobs, "impasto", FAST)
    assert (photos / "photo0.png").read_bytes() == before


def test_the_output_folder_may_not_be_where_the_inputs_are_read_from(pictures, tmp_path):
    photos, paintings = pictures
    with pytest.raises(OptionError, match="is the input folder"):
        jobs_from_images([str(photos)], [str(paintings / "stripes.png")], photos)
    with pytest.raises(OptionError, match="is the input folder"):
        jobs_from_images([str(photos / "photo0.png")], [str(paintings)], paintings)
    with pytest.raises(OptionError, match="matches the input pattern"):
        jobs_from_images([str(photos / "*.png")], [str(paintings / "stripes.png")], photos)
    # A pattern the results cannot match, and a subfolder (folders are not read recursively), are fine.
    assert len(jobs_from_images([str(photos / "photo*.png")], [str(paintings / "stripes.png")], photos, ".jpg")) == 2
    assert len(jobs_from_images([str(photos)], [str(paintings / "stripes.png")], photos / "painted")) == 2
    line = one_line_error(batch_cli("photos", "-s", "paintings/stripes.png", "-o", "photos/", *FAST_FLAGS,
                                    cwd=tmp_path))
    assert "is the input folder 'photos'" in line
    assert sorted(path.name for path in photos.iterdir()) == ["notes.txt", "photo0.png", "photo1.png"]


def test_a_spreadsheets_csv_works(pictures, tmp_path):
    """UTF-8 with a byte-order mark, a preset column, TRUE/FALSE, ';' as the separator, empty rows."""
    table = tmp_path / "jobs.csv"
    table.write_bytes("\ufeffcontent,style,preset,clamp_pixels,size\r\n"
                      "photos/photo0.png,paintings/stripes.png,impasto,TRUE,48\r\n"
                      ",,,,\r\n".encode("utf-8"))
    (job,) = jobs_from_file(table, tmp_path / "out")
    assert job.content == str(tmp_path / "photos" / "photo0.png")
    assert job.options == {"preset": "impasto", "clamp_pixels": True, "size": 48}
    results = run_batch([job], "d2l", {"scales": 1, "iterations": 2, "seed": 0})  # the row's preset wins
    assert [result.status for result in results] == ["done"], results[0].message
    painted = Image.open(job.output)
    assert max(painted.size) == 48 and json.loads(painted.info["impasto"])["options"]["preset"] == "impasto"
    semicolons = tmp_path / "semicolons.csv"
    semicolons.write_text('content;style;style_weight\nphotos/photo0.png;"paintings/stripes.png;paintings/bands.jpg";2.5\n'
                          ";;\n")
    (job,) = jobs_from_file(semicolons, tmp_path / "out")
    assert [Path(style).name for style in job.styles] == ["stripes.png", "bands.jpg"]
    assert job.options == {"style_weight": 2.5}


def test_every_option_by_its_python_name_works_in_a_jobs_file(pictures, tmp_path, monkeypatch):
    from dataclasses import fields

    import impasto.api
    from impasto.config.options import Options

    given: list[dict] = []

    def fake_stylize(content, style, *, preset, output, network, style_cache, callback, **options):
        given.append({"preset": preset, **options})
        Path(output).write_bytes(b"painted")

    monkeypatch.setattr(impasto.api, "stylize", fake_stylize)
    defaults = resolve_options("impasto", **FAST).to_dict()
    samples = {"stage_shapes": [[48, 64]], "style_size": 48, "style_scale": 1.0, "style_blend": [1.0],
               "tile": 128, "tile_overlap": 8, "preserve_colors": "luminance", "weights": None}
    # Options that only act with another one (the run refuses them alone, as it should).
    lbfgs = {"optimizer": "lbfgs"}
    companions = {"lbfgs_history": lbfgs, "lbfgs_restart": lbfgs, "line_search": lbfgs,
                  "tv_beta": {"tv_weight": 1.0, "tv_kind": "keras"},
                  "tv_kind": {"tv_weight": 1.0}, "lr_decay_every": {"lr_decay": 0.5}, "tile_overlap": {"tile": 128}}
    rows = []
    for option in fields(Options):
        value = samples.get(option.name, defaults[option.name])
        if option.name in samples and samples[option.name] is None:
            continue  # a weights file: none to hand here (resolved from the jobs file's folder like images)
        if isinstance(value, list):
            value = [list(item) if isinstance(item, tuple) else item for item in value]
        rows.append({"content": "photos/photo0.png", "style": "paintings/stripes.png", "output": f"{option.name}.png",
                     **companions.get(option.name, {}), option.name: value})
    listing = tmp_path / "jobs.json"
    listing.write_text(json.dumps(rows))
    worker = Worker("impasto", FAST)
    results = [worker.run(job) for job in jobs_from_file(listing, tmp_path / "out")]
    failures = {result.job.output.stem: result.message for result in results if result.status != "done"}
    assert failures == {}, failures
    assert len(given) == len(rows) == len(fields(Options)) - 1
    assert all(options["preset"] == "impasto" for options in given)


@pytest.mark.parametrize("name, text", [("jobs.csv", ""), ("jobs.csv", "content,style,size\n"),
                                        ("jobs.csv", "\ufeffcontent,style\r\n,\r\n"), ("jobs.json", "[]")])
def test_an_empty_jobs_file_is_an_error(tmp_path, name, text):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(OptionError, match="holds no job"):
        jobs_from_file(tmp_path / name, tmp_path / "out")
    line = one_line_error(batch_cli("--jobs", name, "-o", "out", cwd=tmp_path))
    assert line.startswith(f"impasto: error: jobs file '{name}' holds no job")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_warnings_in_a_batch_are_one_line(pictures, tmp_path, workers):
    photos, paintings = pictures
    gradient_image(20, 16).save(photos / "tiny.png")
    result = batch_cli(str(photos / "tiny.png"), str(photos / "photo0.png"), "-s", str(paintings / "bands.jpg"),
                       "-o", "out", "-q", "--workers", workers, "--size", "64", "--scales", "1", "--iterations", "2",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["impasto: warning: 'tiny__bands.png': the content image is 20x16; it is upscaled 3.2x to the "
                     "output size, so expect a soft result", "impasto batch: 2 done, 0 skipped, 0 failed"]


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        found += [int(child) for child in children]
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def interrupt_a_running_batch(tmp_path: Path, how: str, *flags: str) -> tuple[subprocess.Popen, str, float, list]:
    """A batch of a short job and two endless ones on two workers: once the short one is done both workers
    paint, and the batch gets ``how`` (SIGINT to its process group, as a terminal sends, or SIGTERM to it)."""
    import signal
    import time

    listing = tmp_path / "jobs.json"
    listing.write_text(json.dumps([
        {"content": "photos/photo1.png", "style": "paintings/bands.jpg", "output": "short.png", "iterations": 2},
        {"content": "photos/photo0.png", "style": "paintings/stripes.png", "iterations": 1000000},
        {"content": "photos/photo1.png", "style": "paintings/stripes.png", "iterations": 1000000},
    ]))
    process = subprocess.Popen([sys.executable, "-m", "impasto", "batch", "--jobs", str(listing), "-o", "out", "-q",
                                "--size", "48", "--scales", "1", "--seed", "0", *flags],
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path, start_new_session=True,
                               env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    deadline = time.time() + 120
    while not (tmp_path / "out" / "short.png").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.2)
    time.sleep(3.0)  # both workers paint an endless job now
    workers = [pid for pid in _children(process.pid)
               if _alive(pid) and b"spawn_main" in _cmdline(pid)]
    sent = time.time()
    if how == "SIGINT to the group":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGTERM)
    try:
        stderr = process.communicate(timeout=120)[1]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stderr = process.communicate()[1]
        pytest.fail(f"the batch did not end within 120 s of {how}: {stderr}")
    return process, stderr, time.time() - sent, workers


def check_interrupted_batch(tmp_path: Path, process: subprocess.Popen, stderr: str, seconds: float) -> None:
    out = tmp_path / "out"
    assert process.returncode == 130, stderr
    assert seconds < 30, f"took {seconds:.0f} s"
    assert "Traceback" not in stderr and "warning" not in stderr.lower(), stderr
    assert "impasto batch: 1 done, 0 skipped, 0 failed, 2 interrupted" in stderr
    assert "interrupted: 'photo0__stripes.png': best image so far in" in stderr
    assert "interrupted: 'photo1__stripes.png': best image so far in" in stderr
    assert sorted(path.name for path in out.iterdir()) == ["photo0__stripes.partial.png",
                                                           "photo1__stripes.partial.png", "short.png"]
    for name in ("photo0__stripes.partial.png", "photo1__stripes.partial.png"):
        assert max(Image.open(out / name).size) == 48


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM"])
def test_ctrl_c_and_sigterm_end_every_worker_and_keep_their_best_images(pictures, tmp_path, how):
    process, stderr, seconds, workers = interrupt_a_running_batch(tmp_path, how, "--workers", "2")
    check_interrupted_batch(tmp_path, process, stderr, seconds)
    assert len(workers) == 2
    assert not [pid for pid in workers if _alive(pid)]  # none left painting


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM"])
def test_ctrl_c_and_sigterm_end_a_batch_on_ray(ray_cluster, pictures, tmp_path, how):
    # -o relative: the actors, which run in a folder of Ray's choosing, still write where the command means.
    process, stderr, seconds, _ = interrupt_a_running_batch(tmp_path, how, "--ray", ray_cluster, "--workers", "2")
    check_interrupted_batch(tmp_path, process, stderr, seconds)
