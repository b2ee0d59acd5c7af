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


@pytest.mark.parametrize("argv", [[], ["photos", "-o", "out"], ["photos", "-s", "a.png", "-o", "out", "--jobs", "j.csv"],
                                  ["photos", "-s", "a.png", "-o", "out", "--workers", "0"],
                                  ["photos", "-s", "a.png", "-o", "out", "--style-mask", "m.png"]])
def test_batch_usage_errors_are_one_line(tmp_path, argv):
    result = batch_cli(*argv, cwd=tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("impasto batch: error:") and "Traceback" not in result.stderr
