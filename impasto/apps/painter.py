"""The web page's job runner, as library code: one loaded network, a temporary tree, a job per browser session.

``Painter.paint`` is a generator that the page streams: it starts ``impasto.stylize`` in a worker thread and
yields a preview and a status line whenever an iteration has finished, then the result and its download
files. It holds no algorithm and knows nothing of Gradio (``impasto.apps.web`` is the page); the values it
takes are the page's controls (a style strength, blend weights as typed, "none" for no colour
preservation).

Every job's files live in a folder of its own under the painter's root, removed when the job ends.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from ..config.options import Options
from ..config.presets import DEFAULT_PRESET
from ..errors import ImpastoError, Interrupted, OptionError, display_path

if TYPE_CHECKING:
    from ..engine import Progress, Stylizer
    from ..net.features import VGGFeatures

PREVIEW_SIDE = 384  # long side of the live preview
POLL_SECONDS = 0.25  # how often the page's preview is refreshed while a job runs
NO_PRESERVATION = "none"  # the page's choice for keeping the painting's own colours
NO_MODEL = "none: paint from the painting"  # the page's choice of no trained model
# What a browser draws itself (Pillow's format names); other uploads are shown through a PNG copy.
BROWSER_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "AVIF")


@dataclass
class Job:
    """One painting: its temporary folder, its run (once started) and what the page shows of it."""

    folder: Path
    stylizer: Stylizer | None = None
    progress: Progress | None = None
    result: Image.Image | None = None
    error: str | None = None
    stopped: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> Path:
        return self.folder / "impasto.png"

    @property
    def sheet(self) -> Path:
        """The side-by-side sheet (content | style(s) | result)."""
        return self.folder / "side_by_side.png"

    def stop(self) -> None:
        self.stopped = True
        if self.stylizer is not None:
            self.stylizer.stop()


def parse_blend(text: str, count: int) -> list[float] | None:
    """The style blend weights typed on the page ("0.7, 0.3"); empty means equal weights."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        weights = [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise OptionError(f"blend weights must be numbers separated by commas, got {text!r}") from None
    if len(weights) != count:
        raise OptionError(f"{len(weights)} blend weight(s) for {count} style image(s): give one per style")
    return weights


def status_text(progress: Progress | None, stopped: bool = False) -> str:
    """One line for the page: scale, iteration, loss terms, ETA."""
    if progress is None:
        return "Starting (loading the images)..."
    terms = " · ".join(f"{name} {value:.3g}" for name, value in progress.terms.items())
    eta = "stopping..." if stopped else f"about {progress.eta:.0f} s left"
    return (f"Scale {progress.stage.index + 1}/{progress.stages} ({progress.stage.shape[1]}x"
            f"{progress.stage.shape[0]} px) · iteration {progress.iteration}/{progress.stage.iterations} · "
            f"{terms} · {eta}")


def client_message(error: ImpastoError, uploads: Sequence[str]) -> str:
    """The error as the page shows it: an upload named by its own file name, not the server's copy's path."""
    text = str(error)
    for path in filter(None, uploads):
        text = text.replace(display_path(path), display_path(Path(path).name))
    return text


def preview(image: Image.Image) -> Image.Image:
    """The image at the live preview's size."""
    image = image.convert("RGB")
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return image


def _checked_uploads(content: str | None, styles: Sequence[str] | None,
                     masks: Sequence[str] | None) -> tuple[list[str], list[str] | None]:
    """The style images and masks that were uploaded (empty slots dropped), or the reason a job can't start."""
    if not content:
        raise OptionError("upload a content image (the photo), or press \"Use the sample pair\"")
    styles = [style for style in (styles or []) if style]
    if not styles:
        raise OptionError("upload at least one style image (the painting)")
    masks = [mask for mask in (masks or []) if mask] or None
    if masks is not None and len(masks) != len(styles):
        raise OptionError(f"{len(masks)} mask(s) for {len(styles)} style image(s): give one mask per painting, "
                          f"in the order of the paintings (or none)")
    return styles, masks


def page_options(preset: str, quality: str, size: int, strength: float, blend: str, preserve_colors: str,
                 style_scale: float, seed: float | None, style_count: int, protect: str = Options.protect,
                 bit_depth: int = Options.bit_depth) -> dict[str, Any]:
    """The page's controls as ``impasto.stylize`` options (checked: an OptionError says what is wrong)."""
    from ..config.options import resolve_options

    options: dict[str, Any] = {
        "size": int(size), "seed": None if seed in (None, "") else int(seed), "protect": protect,
        "bit_depth": int(bit_depth),
        "style_blend": parse_blend(blend, style_count),
        "preserve_colors": None if preserve_colors == NO_PRESERVATION else preserve_colors,
        "style_scale": None if float(style_scale) == 1.0 else float(style_scale)}
    if preset == DEFAULT_PRESET:
        options["quality"] = quality
    # The strength multiplies whatever style weight the recipe (and quality level) has.
    options["style_weight"] = resolve_options(preset, **options).style_weight * float(strength)
    return options


class Painter:
    """The server side: one loaded network, the temporary tree, the jobs by browser session."""

    def __init__(self, root: Path, network: VGGFeatures | None = None, models: Sequence[str] = ()):
        from ..engine import load_network
        from ..engine.instant import InstantPainter

        self.root = root
        self.network = network if network is not None else load_network()
        # Trained models (impasto train), by the name the page lists them under; loaded once, checked at start.
        self.models = {Path(path).stem: InstantPainter(path) for path in models}
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()

    def new_job(self, session: str) -> Job:
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.root))
        job = Job(folder)
        with self.lock:
            self.jobs[session] = job
        return job

    def end_job(self, session: str, job: Job) -> None:
        shutil.rmtree(job.folder, ignore_errors=True)
        with self.lock:
            if self.jobs.get(session) is job:
                del self.jobs[session]

    def stop(self, session: str) -> str:
        with self.lock:
            job = self.jobs.get(session)
        if job is None:
            return "Nothing is painting."
        job.stop()
        return "Stopping after this iteration; the best image so far will be kept."

    def viewable(self, path: str, role: str, colours: bool = True) -> str:
        """A dropped image, opened the way a run opens it so that a bad one is reported at once, as a file a
        browser shows: the upload itself, or for a format browsers do not show (HEIC, TIFF) a PNG copy
        beside it, in sRGB with the photo's EXIF and DPI, which the run then paints from. ``colours=False``:
        a mask, whose greys are kept as stored."""
        from ..imaging.images import load_image, save_image

        image = load_image(path, role, colours=colours)
        with Image.open(path) as opened:
            shown = opened.format in BROWSER_FORMATS
        if shown:
            return path
        copy = Path(path).with_suffix(".png")
        save_image(image, copy, photo=image)
        return str(copy)

    def paint(self, session: str, content: str | None, styles: Sequence[str] | None, preset: str,
              quality: str, size: int, strength: float, blend: str, preserve_colors: str, style_scale: float,
              seed: float | None, masks: Sequence[str] | None = None, model: str = NO_MODEL, *,
              protect: str = Options.protect, bit_depth: int = Options.bit_depth) -> Iterator[tuple]:
        """The job generator: yields (preview, status, downloads) until the run ends. With a trained ``model``
        the photo is painted in one pass: the first thing yielded is the result. ``protect`` and
        ``bit_depth`` are the options of those names (the download is a PNG of 8 or 16 bits per channel)."""
        if model not in (NO_MODEL, None):
            yield from self._paint_with_model(session, content, model, size, preserve_colors)
            return
        styles, masks = _checked_uploads(content, styles, masks)
        options = page_options(preset, quality, size, strength, blend, preserve_colors, style_scale, seed,
                               len(styles), protect, bit_depth)
        job = self.new_job(session)
        try:
            self._start(job, content, styles, masks, preset, options)
            yield from _previews(job)
            yield _finished(job)
        finally:
            job.stop()  # a page closed mid-run ends its job too
            job.done.wait()
            self.end_job(session, job)

    def _paint_with_model(self, session: str, content: str | None, model: str, size: int,
                          preserve_colors: str) -> Iterator[tuple]:
        """(result, status, downloads) of a photo painted by the trained ``model``."""
        from ..api import paint_with_model

        if not content:
            raise OptionError("upload a content image (the photo), or press \"Use the sample pair\"")
        if model not in self.models:
            raise OptionError(f"no trained model named {model!r} on this server")
        job = self.new_job(session)
        try:
            started = time.perf_counter()
            result = paint_with_model(content, self.models[model], output=job.output, side_by_side=job.sheet,
                                      size=int(size),
                                      preserve_colors=None if preserve_colors == NO_PRESERVATION else preserve_colors)
            seconds = time.perf_counter() - started
            width, height = result.size
            # The page copies the downloads while the generator waits here; the job's folder goes after.
            yield (preview(result), f"Painted by the model {model} in {seconds:.2f} s: {width}x{height} px. "
                                    f"Download below.", [str(job.output), str(job.sheet)])
        finally:
            self.end_job(session, job)

    def _start(self, job: Job, content: str, styles: list[str], masks: list[str] | None, preset: str,
               options: dict[str, Any]) -> None:
        """Paint in a worker thread; the job records the run, its progress and its result or error."""
        from ..api import stylize

        def started(stylizer: Stylizer) -> None:
            job.stylizer = stylizer
            if job.stopped:
                stylizer.stop()

        def work() -> None:
            try:
                job.result = stylize(content, styles, preset=preset, output=job.output, side_by_side=job.sheet,
                                     network=self.network, on_start=started, style_masks=masks,
                                     callback=lambda progress: setattr(job, "progress", progress), **options)
            except Interrupted as interrupted:
                job.result = interrupted.image
            except ImpastoError as error:
                job.error = str(error)
            except Exception as error:  # the page gets one line, the server log the rest
                job.error = f"the run failed: {error}"
                raise
            finally:
                job.done.set()

        threading.Thread(target=work, name="impasto-job", daemon=True).start()


def _previews(job: Job) -> Iterator[tuple]:
    """(preview, status, no downloads yet) after each new iteration, until the job's run ends."""
    last_step = -1
    while not job.done.wait(POLL_SECONDS):
        progress, stylizer = job.progress, job.stylizer
        if progress is not None and stylizer is not None and progress.step != last_step:
            last_step = progress.step
            yield preview(stylizer.current_image()), status_text(progress, job.stopped), None


def _finished(job: Job) -> tuple:
    """(result, the closing status line, the download files) of a run that ended (an OptionError if it failed)."""
    if job.error is not None:
        raise OptionError(job.error)
    seconds = job.stylizer.elapsed if job.stylizer is not None else 0.0
    verb = "Stopped" if job.stopped else "Done"
    width, height = job.result.size
    downloads = [str(path) for path in (job.output, job.sheet) if path.exists()]
    return preview(job.result), f"{verb} in {seconds:.1f} s: {width}x{height} px. Download below.", downloads
