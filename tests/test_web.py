"""The web page, in a real browser (Playwright driving headless Chromium), and its server-side pieces."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from impasto.errors import ImageInputError, OptionError
from impasto.apps.painter import client_message, parse_blend, status_text

ROOT = Path(__file__).resolve().parent.parent


def chromium() -> str:
    """Debian's Chromium (Playwright's own download cannot reach the internet here), installed if missing."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    subprocess.run(["bash", str(ROOT / "scripts" / "get-chromium")], check=True, timeout=900)
    found = shutil.which("chromium")
    assert found, "scripts/get-chromium ran but no chromium is on PATH"
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(temp: Path, *options: str, quiet_log: bool = True, logs: list | None = None):
    """``impasto web`` on a free port, its temporary files in ``temp`` (to check the clean-up). ``quiet_log``:
    the server printed no traceback (not asked where browsers are closed mid-stream, which Gradio's server
    may log as an ASGI exception). ``logs`` gets the server's log once it has stopped."""
    port = free_port()
    environment = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(temp)}
    process = subprocess.Popen([sys.executable, "-m", "impasto", "web", "--port", str(port), *options],
                               env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"impasto web did not start: {process.stdout.read()}")
            time.sleep(0.5)
    yield url
    process.send_signal(signal.SIGINT)
    log = process.communicate(timeout=60)[0]
    if logs is not None:
        logs.append(log)
    assert process.returncode == 0, log
    assert "Traceback" not in log or not quiet_log, log
    # The server's temporary tree (uploads, job folders, Gradio's cache) went with it.
    assert not list(temp.glob("impasto-web-*")), list(temp.iterdir())
    assert not list(temp.rglob("*")), list(temp.rglob("*"))  # nor any folder (Gradio's, empty) beside it


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    temp = tmp_path_factory.mktemp("server-tmp")
    with running_server(temp, "--max-upload-mb", "1") as url:
        yield url, temp


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield launched
        launched.close()


def preview_source(page) -> str | None:
    image = page.locator("#preview img")
    return image.first.get_attribute("src") if image.count() else None


def set_slider(page, element_id: str, value) -> None:
    box = page.locator(f"#{element_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_the_page_paints_previews_stops_and_downloads(server, browser, tmp_path):
    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)

    # A file that is not an image: one clear message in the page.
    bad = tmp_path / "holiday.png"
    bad.write_text("not a picture")
    page.locator("#content input[type=file]").set_input_files(str(bad))
    message = page.get_by_text("'holiday.png' is not an image Pillow can read")
    message.first.wait_for(timeout=30_000)
    assert "/" not in message.first.inner_text().split("'holiday.png'")[0][-30:]  # no server path shown

    # A run that is stopped: the preview changes at least twice, then Stop keeps the best image so far.
    prepare_sample_run(page, url, "high", 256)
    page.locator("#paint").click()
    sources = []
    deadline = time.time() + 120
    while len(set(filter(None, sources))) < 3 and time.time() < deadline:
        sources.append(preview_source(page))
        time.sleep(0.2)
    assert len(set(filter(None, sources))) >= 3, "the preview did not change twice"
    assert "iteration" in page.locator("#status").inner_text()
    page.locator("#stop").click()
    page.get_by_text("Stopped in").wait_for(timeout=60_000)
    page.screenshot(path=str(tmp_path / "stopped.png"))

    # A run that completes, then its download: a real painting of the photo at the asked size, in 16 bits.
    page.get_by_label("draft").check()
    page.locator("#bit-depth").get_by_label("16").check()
    set_slider(page, "size", 128)
    page.locator("#paint").click()
    page.get_by_text("Done in").wait_for(timeout=120_000)
    page.screenshot(path=str(tmp_path / "done.png"), full_page=True)
    link = page.locator("#downloads a[download='impasto.png']")
    with page.expect_download() as download:
        link.first.click()
    saved = tmp_path / "result.png"
    download.value.save_as(saved)
    result = Image.open(saved)
    assert max(result.size) == 128 and "impasto" in result.info  # the CLI's metadata rides along
    import png

    _, _, rows, info = png.Reader(filename=str(saved)).asDirect()
    assert info["bitdepth"] == 16 and len(np.unique(np.vstack(list(rows)))) > 256

    from impasto.reports.quality import QualityJudge
    from impasto.imaging.samples import sample_painting, sample_photo

    photo = sample_photo()
    judge = QualityJudge(photo, [sample_painting()])
    photo_at_size = photo.resize(result.size, Image.Resampling.LANCZOS)
    # Painted: much closer to the painting than the photo is, and not the photo itself...
    assert judge.style_distance(result, 128) < 0.8 * judge.style_distance(photo_at_size, 128)
    assert np.abs(np.asarray(result.convert("RGB"), float) - np.asarray(photo_at_size, float)).mean() > 8
    # ...and not noise: the photo's edges are still there.
    assert judge.structure_distance(result) < 0.8
    page.close()


def test_an_upload_over_the_limit_is_refused(server, browser, tmp_path):
    url, _ = server
    page = browser.new_page()
    page.goto(url)
    big = tmp_path / "huge.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (800, 800, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > 1_000_000  # the server was started with --max-upload-mb 1
    page.locator("#content input[type=file]").set_input_files(str(big))
    page.get_by_text("exceed the maximum allowed size").first.wait_for(timeout=30_000)
    page.close()


def prepare_sample_run(page, url: str, quality: str, size: int) -> None:
    page.goto(url)
    page.locator("#sample").click()
    page.locator("#content img").wait_for(timeout=90_000)
    page.get_by_label(quality).check()
    set_slider(page, "size", size)


def test_one_painting_at_a_time_and_a_bounded_queue(tmp_path_factory, browser):
    with running_server(tmp_path_factory.mktemp("queue-tmp"), "--queue", "2", quiet_log=False) as url:
        # Four visitors (separate browser contexts, so separate sessions).
        pages = [browser.new_context().new_page() for _ in range(4)]
        for page in pages:
            prepare_sample_run(page, url, "high", 256)
        first, second, third, fourth = pages
        first.locator("#paint").click()
        first.locator("#status").filter(has_text="iteration").wait_for(timeout=60_000)
        second.locator("#paint").click()
        second.get_by_text(re.compile(r"queue: 1/\d")).first.wait_for(timeout=30_000)  # its place in the queue
        third.locator("#paint").click()
        third.get_by_text(re.compile(r"queue: 2/\d")).first.wait_for(timeout=30_000)
        fourth.locator("#paint").click()
        fourth.get_by_text("currently busy").first.wait_for(timeout=30_000)  # past the bound: told so
        assert "iteration" not in second.locator("#status").inner_text()  # still waiting its turn
        first.locator("#stop").click()
        first.get_by_text("Stopped in").wait_for(timeout=60_000)
        second.locator("#status").filter(has_text="iteration").wait_for(timeout=60_000)  # now its turn
        second.locator("#stop").click()
        second.get_by_text("Stopped in").wait_for(timeout=60_000)
        third.locator("#status").filter(has_text="iteration").wait_for(timeout=60_000)
        third.locator("#stop").click()
        third.get_by_text("Stopped in").wait_for(timeout=60_000)
        for page in pages:
            page.context.close()


def test_parse_blend():
    assert parse_blend("", 2) is None
    assert parse_blend("0.7, 0.3", 2) == [0.7, 0.3]
    with pytest.raises(OptionError, match="one per style"):
        parse_blend("1", 2)
    with pytest.raises(OptionError, match="numbers"):
        parse_blend("a,b", 2)


def test_client_message_names_uploads_by_their_own_name():
    error = ImageInputError("content image file '/tmp/impasto-web-x/gradio/abc/photo.png' is not an image")
    assert str(client_message(error, ["/tmp/impasto-web-x/gradio/abc/photo.png", ""])) == \
        "content image file 'photo.png' is not an image"


def test_status_text_before_and_during_a_run():
    from impasto.engine import Progress
    from impasto.engine.schedule import Stage

    assert "Starting" in status_text(None)
    progress = Progress(Stage(1, (96, 128), 30, 0), 3, 12, 42, 90, {"content": 0.5, "style": 1.25}, 1.75, 0.1,
                        10.0, 0.5)
    assert status_text(progress) == ("Scale 2/3 (128x96 px) · iteration 12/30 · content 0.5 · style 1.25 · "
                                     "about 10 s left")


def test_a_job_with_two_paintings_and_their_masks_then_its_files_are_gone(tmp_path, vgg19_weights):
    from impasto.net.features import VGGFeatures
    from impasto.apps.painter import Painter
    from tests.conftest import gradient_image, stripes_image

    photo, first, second = tmp_path / "photo.png", tmp_path / "a.png", tmp_path / "b.png"
    gradient_image(96, 64).save(photo)
    stripes_image(64, 64, seed=1).save(first)
    stripes_image(64, 64, seed=4).save(second)
    left, right = tmp_path / "left.png", tmp_path / "right.png"
    half = np.zeros((64, 96), np.uint8)
    half[:, :48] = 255
    Image.fromarray(half).save(left)
    Image.fromarray(255 - half).save(right)
    painter = Painter(tmp_path / "root", VGGFeatures(vgg19_weights))
    painter.root.mkdir()
    frames = list(painter.paint("session", str(photo), [str(first), str(second)], "impasto", "draft", 64, 1.0,
                                "", "none", 1.0, 0, masks=[str(left), str(right)]))
    image, status, downloads = frames[-1]
    assert status.startswith("Done in") and max(image.size) == 64
    assert [Path(path).name for path in downloads] == ["impasto.png", "side_by_side.png"]
    # Gradio copies the downloads when the generator yields them; the job's own folder goes when it ends.
    assert not list(painter.root.iterdir()) and not painter.jobs
    with pytest.raises(OptionError, match="one mask per painting"):
        list(painter.paint("session", str(photo), [str(first), str(second)], "impasto", "draft", 64, 1.0, "",
                           "none", 1.0, 0, masks=[str(left)]))


@pytest.mark.parametrize("argv", [["--port", "abc"], ["--port", "0"], ["--queue", "1"], ["--bogus"]])
def test_web_usage_errors_are_one_line(argv):
    result = subprocess.run([sys.executable, "-m", "impasto", "web", *argv], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("impasto web: error:") and "Traceback" not in result.stderr


# Issue 22: the server's own failures and log lines, against real servers on free loopback ports.
def test_a_taken_port_a_foreign_host_or_an_unknown_name_is_one_line(tmp_path):
    environment = {**os.environ, "TMPDIR": str(tmp_path)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cases = [(["--port", str(port)], f"cannot serve on 127.0.0.1:{port}: port {port} is in use by another "
                                         f"program: choose another with --port"),
                 # 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
                 (["--host", "192.0.2.1", "--port", str(port)], f"cannot serve on 192.0.2.1:{port}: 192.0.2.1 is "
                                                                f"not an address of this machine"),
                 (["--host", "no-such-host.invalid"], "the host 'no-such-host.invalid' is not an address or a name "
                                                      "this machine can resolve")]
        for argv, message in cases:
            started = time.time()
            result = subprocess.run([sys.executable, "-m", "impasto", "web", *argv], capture_output=True, text=True,
                                    env=environment, timeout=120)
            assert result.returncode == 1, result
            assert result.stdout == ""  # no "serving on" line for a server that never served
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("impasto: error: cannot serve on ") \
                and message in result.stderr, result.stderr
            assert time.time() - started < 60  # said before the network loads
    assert not list(tmp_path.iterdir())  # nothing made in the temporary folder


def gradio_event(url: str, elem_id: str, files: list[dict]) -> dict:
    """Run the page's event on the upload component ``elem_id`` (its thumbnail) with ``files`` as a client
    sends them, through Gradio's queue API; returns its closing message."""
    import json
    import uuid

    config = json.load(urllib.request.urlopen(url + "config"))
    components = {component["id"]: component for component in config["components"]}
    event = next(dependency for dependency in config["dependencies"] if len(dependency["inputs"]) == 1 and
                 components[dependency["inputs"][0]]["props"].get("elem_id") == elem_id)
    session = uuid.uuid4().hex[:12]
    body = {"data": [files], "fn_index": event["id"], "session_hash": session, "event_data": None,
            "trigger_id": event["targets"][0][0]}
    if elem_id == "content":
        body["data"] = files
    request = urllib.request.Request(url + "gradio_api/queue/join", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    with urllib.request.urlopen(url + f"gradio_api/queue/data?session_hash={session}", timeout=120) as stream:
        for line in stream:
            if line.startswith(b"data: ") and b'"process_completed"' in line:
                return json.loads(line[len(b"data: "):])
    raise AssertionError("the event never completed")


def upload(url: str, path: Path) -> str:
    """The server's path of ``path`` uploaded through Gradio's upload route, as the page uploads it."""
    import json
    import uuid

    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{path.name}"\r\n'
            f"Content-Type: image/png\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "gradio_api/upload", body,
                                     {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    return json.load(urllib.request.urlopen(request, timeout=30))[0]


def test_the_server_log_says_one_line_for_a_forged_path_and_an_oversized_image(tmp_path_factory, tmp_path):
    huge = tmp_path / "huge.png"
    Image.new("L", (10_000, 10_000)).save(huge, optimize=True)  # 100 million pixels in 100 kB
    logs: list[str] = []
    with running_server(tmp_path_factory.mktemp("log-tmp"), logs=logs) as url:
        file = {"meta": {"_type": "gradio.FileData"}, "orig_name": "x.png"}
        forged = gradio_event(url, "content", [{**file, "path": "/etc/passwd\nimpasto web: forged line"}])
        assert forged["success"] is False and "not uploaded by a user" in forged["output"]["error"]
        refused = gradio_event(url, "content", [{**file, "path": upload(url, huge), "orig_name": "huge.png"}])
        assert refused["success"] is False
        assert refused["output"]["error"].startswith("content image 'huge.png' is 10000x10000 = 100,000,000 pixels")
    lines = [line for line in logs[0].splitlines() if line.strip()]
    assert lines[0].startswith("impasto web: http://127.0.0.1:")
    assert lines[1] == ("impasto web: refused a client's path: Cannot move /etc/passwd\\nimpasto web: forged line "
                        "to the gradio cache dir because it was not uploaded by a user.")
    assert lines[2].startswith("impasto web: refused: content image 'huge.png' is 10000x10000 = 100,000,000 pixels")
    # Then only Gradio's own line about the Ctrl-C: no traceback, no DecompressionBombWarning.
    assert lines[3:] == ["Keyboard interruption in main thread... closing server."], lines


def test_a_trained_model_paints_an_upload_at_once_and_leaves_no_files(tmp_path, vgg19_weights):
    import torch

    from impasto.apps.painter import NO_MODEL, Painter
    from impasto.net.features import VGGFeatures
    from impasto.net.model_file import TrainedModel, save_model
    from impasto.net.transformer import TransformerNet
    from tests.conftest import gradient_image

    torch.manual_seed(0)
    model = save_model(tmp_path / "quick.pt", TrainedModel(TransformerNet(8, 1), {"steps": 0},
                                                            [torch.zeros(4, 4, 3, dtype=torch.uint8)]))
    photo = tmp_path / "photo.png"
    gradient_image(96, 64).save(photo)
    painter = Painter(tmp_path / "root", VGGFeatures(vgg19_weights), models=[str(model)])
    painter.root.mkdir()
    assert list(painter.models) == ["quick"]
    frames = painter.paint("session", str(photo), None, "impasto", "default", 80, 1.0, "", "none", 1.0, 0,
                           model="quick")
    image, status, downloads = next(frames)  # the first thing the page gets is the result
    assert status.startswith("Painted by the model quick in") and image.size == (80, 53)
    assert [Path(path).name for path in downloads] == ["impasto.png", "side_by_side.png"]
    assert all(Path(path).exists() for path in downloads)  # while the page copies them
    assert list(frames) == []
    assert not list(painter.root.iterdir()) and not painter.jobs
    with pytest.raises(OptionError, match="no trained model named"):
        next(painter.paint("session", str(photo), None, "impasto", "default", 80, 1.0, "", "none", 1.0, 0,
                           model="other"))
    # Without a model the page still asks for a painting.
    with pytest.raises(OptionError, match="style image"):
        next(painter.paint("session", str(photo), None, "impasto", "default", 80, 1.0, "", "none", 1.0, 0,
                           model=NO_MODEL))


def test_the_page_paints_with_a_trained_model_in_one_step(tmp_path_factory, browser, tmp_path):
    import torch

    from impasto.net.model_file import TrainedModel, save_model
    from impasto.net.transformer import TransformerNet
    from tests.conftest import gradient_image

    torch.manual_seed(0)
    model = save_model(tmp_path / "quick.pt", TrainedModel(TransformerNet(8, 1), {"steps": 0}, []))
    photo = tmp_path / "photo.heic"  # a phone's photo, which the browser cannot show: the page shows a PNG copy
    import impasto.imaging.images  # noqa: F401 - registers HEIC with Pillow, for the save below

    gradient_image(96, 64).save(photo)
    with running_server(tmp_path_factory.mktemp("model-server-tmp"), "--model", str(model)) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.locator("#content input[type=file]").set_input_files(str(photo))
        page.locator("#content img[src$='.png']").wait_for(timeout=60_000)
        page.locator("#model input").click()
        # The bundled models are offered too, before the ones given with --model.
        offered = ["candy", "mosaic", "mosaic-steady", "udnie", "quick"]
        assert page.get_by_role("option").all_inner_texts()[1:] == offered
        page.get_by_role("option", name="quick").click()
        page.locator("#paint").click()
        page.get_by_text("Painted by the model quick in").wait_for(timeout=60_000)
        assert preview_source(page)
        assert page.locator("#downloads a[download='impasto.png']").count() == 1
        page.close()


def test_the_page_offers_the_bundled_models_and_a_given_one_of_the_same_name_wins(tmp_path):
    from impasto.apps.web import offered_models
    from impasto.net.model_file import bundled_models

    bundled = {name: str(path) for name, path in bundled_models().items()}
    assert offered_models() == [bundled["candy"], bundled["mosaic"], bundled["mosaic-steady"], bundled["udnie"]]
    mine = str(tmp_path / "candy.pt")
    assert offered_models([mine, "b.pt"]) == [bundled["mosaic"], bundled["mosaic-steady"], bundled["udnie"], mine,
                                              "b.pt"]


def test_the_page_leaves_no_files_in_the_package():
    """Gradio writes a type stub beside the source of any component class defined; the page defines none."""
    import gradio as gr

    import impasto.apps.web as web

    with gr.Blocks():
        controls = web._layout(gr, ["quick"])
    assert controls["content"].preprocess(None) is None
    assert not list(Path(web.__file__).parent.glob("*.pyi"))
