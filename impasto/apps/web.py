"""``impasto web``: a page to paint from, on this machine. Upload, tune, watch the preview, download.

The page holds no algorithm: each job calls ``impasto.stylize`` with one network loaded when the server
starts, in a worker thread, and the page polls the run's current image a few times a second. Gradio
(``pip install 'impasto[web]'``) serves it; it is imported only here.

Safety, since a page is reachable by others: it binds 127.0.0.1 unless told otherwise; uploads are size
limited and opened by impasto's own reader (the decompression-bomb guard applies); the server only opens the
copies Gradio stored of the uploads, never a path the client names; one painting runs at a time, the others
wait in a bounded queue; every job's files live in a temporary folder removed when the job ends (Gradio
keeps its own copy for the download), and the server's whole temporary tree is removed when it stops.
"""

import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

from PIL import Image

from ..errors import ImpastoError, Interrupted, OptionError, display_path
from ..config.presets import DEFAULT_PRESET, PRESETS, QUALITY_LEVELS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_QUEUE = 8  # jobs waiting behind the running one; past this a user is told the server is busy
DEFAULT_MAX_UPLOAD_MB = 25
PREVIEW_SIDE = 384  # long side of the live preview
POLL_SECONDS = 0.25  # how often the page's preview is refreshed while a job runs
SIZE_RANGE = (64, 2048)  # the page's size slider; larger prints belong to the command line


@dataclass
class Job:
    """One painting: its temporary folder, its run (once started) and what the page shows of it."""

    folder: Path
    stylizer: object = None
    progress: object = None
    result: Optional[Image.Image] = None
    error: Optional[str] = None
    stopped: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopped = True
        if self.stylizer is not None:
            self.stylizer.stop()


def parse_blend(text: str, count: int) -> Optional[list[float]]:
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


def status_text(progress, stopped: bool = False) -> str:
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
    image = image.convert("RGB")
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return image


class Painter:
    """The server side: one loaded network, the temporary tree, the jobs by browser session."""

    def __init__(self, root: Path, network=None):
        from ..engine import load_network

        self.root = root
        self.network = network if network is not None else load_network()
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

    def thumbnail(self, path: Optional[str], role: str) -> Optional[Image.Image]:
        """An uploaded image opened the way a run opens it, so a bad upload is reported at once."""
        if not path:
            return None
        from ..imaging.images import load_image

        return preview(load_image(path, role))

    def paint(self, session: str, content: Optional[str], styles: Optional[Sequence[str]], preset: str,
              quality: str, size: int, strength: float, blend: str, preserve_colors: str, style_scale: float,
              seed: Optional[float], masks: Optional[Sequence[str]] = None) -> Iterator[tuple]:
        """The job generator: yields (preview, status, downloads) until the run ends."""
        from ..api import stylize
        from ..config.options import resolve_options

        if not content:
            raise OptionError("upload a content image (the photo), or press \"Use the sample pair\"")
        styles = [style for style in (styles or []) if style]
        if not styles:
            raise OptionError("upload at least one style image (the painting)")
        masks = [mask for mask in (masks or []) if mask] or None
        if masks is not None and len(masks) != len(styles):
            raise OptionError(f"{len(masks)} mask(s) for {len(styles)} style image(s): give one mask per painting, "
                              f"in the order of the paintings (or none)")
        options = {"size": int(size), "seed": None if seed in (None, "") else int(seed),
                   "style_blend": parse_blend(blend, len(styles)),
                   "preserve_colors": None if preserve_colors == "none" else preserve_colors,
                   "style_scale": None if float(style_scale) == 1.0 else float(style_scale)}
        if preset == DEFAULT_PRESET:
            options["quality"] = quality
        # The strength multiplies whatever style weight the recipe (and quality level) has.
        options["style_weight"] = resolve_options(preset, **options).style_weight * float(strength)
        job = self.new_job(session)
        output, sheet = job.folder / "impasto.png", job.folder / "side_by_side.png"

        def started(stylizer) -> None:
            job.stylizer = stylizer
            if job.stopped:
                stylizer.stop()

        def work() -> None:
            try:
                job.result = stylize(content, styles, preset=preset, output=output, side_by_side=sheet,
                                     network=self.network, on_start=started, style_masks=masks,
                                     callback=lambda progress: setattr(job, "progress", progress), **options)
            except Interrupted as interrupted:
                job.result = interrupted.image
            except ImpastoError as error:
                job.error = str(error)
            except Exception as error:  # noqa: BLE001 - the page gets one line, the server log the rest
                job.error = f"the run failed: {error}"
                raise
            finally:
                job.done.set()

        try:
            threading.Thread(target=work, name="impasto-job", daemon=True).start()
            last_step = -1
            while not job.done.wait(POLL_SECONDS):
                progress, stylizer = job.progress, job.stylizer
                if progress is not None and stylizer is not None and progress.step != last_step:
                    last_step = progress.step
                    yield preview(stylizer.current_image()), status_text(progress, job.stopped), None
            if job.error is not None:
                raise OptionError(job.error)
            seconds = job.stylizer.elapsed if job.stylizer is not None else 0.0
            verb = "Stopped" if job.stopped else "Done"
            width, height = job.result.size
            downloads = [str(path) for path in (output, sheet) if path.exists()]
            yield (preview(job.result), f"{verb} in {seconds:.1f} s: {width}x{height} px. Download below.",
                   downloads)
        finally:
            job.stop()  # a page closed mid-run ends its job too
            job.done.wait()
            self.end_job(session, job)


def build_app(painter: Painter):
    """The Gradio page (a ``gr.Blocks``) for ``painter``."""
    import gradio as gr

    from ..imaging.samples import sample_painting, sample_photo

    def page_error(error: ImpastoError, uploads: Sequence[str]) -> Exception:
        """Impasto's one-line errors become a message in the page, not a stack trace."""
        return gr.Error(client_message(error, uploads), title="impasto", print_exception=False)

    def paint(content, styles, masks, preset, quality, size, strength, blend, preserve_colors, style_scale, seed,
              request: gr.Request):
        try:
            yield from painter.paint(request.session_hash, content, styles, preset, quality, size, strength,
                                     blend, preserve_colors, style_scale, seed, masks)
        except ImpastoError as error:
            raise page_error(error, [content or "", *(styles or []), *(masks or [])]) from None

    def stop(request: gr.Request) -> str:
        return painter.stop(request.session_hash)

    def content_thumbnail(path):
        try:
            return painter.thumbnail(path, "content image")
        except ImpastoError as error:
            raise page_error(error, [path]) from None

    def style_thumbnails(paths):
        try:
            return [painter.thumbnail(path, f"style image {i}") for i, path in enumerate(paths or [], start=1)]
        except ImpastoError as error:
            raise page_error(error, paths) from None

    def sample_pair():
        folder = Path(tempfile.mkdtemp(prefix="sample-", dir=painter.root))
        photo, painting = folder / "sample_photo.png", folder / "sample_painting.png"
        sample_photo().save(photo)
        sample_painting().save(painting)
        return str(photo), [str(painting)]

    with gr.Blocks(title="impasto", delete_cache=(600, 3600)) as app:
        gr.Markdown("# impasto\nRepaint a photo in the style of a painting. Upload both (or use the sample "
                    "pair), press **Paint**, watch it form, download the result.")
        with gr.Row():
            with gr.Column():
                content = gr.File(label="Content image (the photo)", file_types=["image"], elem_id="content")
                content_view = gr.Image(label="Photo", interactive=False, height=200, elem_id="content-view")
                styles = gr.File(label="Style image(s) (the painting)", file_types=["image"],
                                 file_count="multiple", elem_id="styles")
                styles_view = gr.Gallery(label="Paintings", interactive=False, height=160, columns=4)
                sample = gr.Button("Use the sample pair", elem_id="sample")
            with gr.Column():
                preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Recipe (preset)",
                                     elem_id="preset")
                quality = gr.Radio(list(QUALITY_LEVELS), value="default", label="Quality (impasto recipe)",
                                   elem_id="quality")
                size = gr.Slider(*SIZE_RANGE, value=512, step=16, label="Output size (long side, px)",
                                 elem_id="size")
                strength = gr.Slider(0.25, 4.0, value=1.0, step=0.05, label="Style strength (x the recipe's)",
                                     elem_id="strength")
                preserve = gr.Radio(["none", "luminance", "histogram"], value="none",
                                    label="Keep the photo's colours", elem_id="preserve")
                style_scale = gr.Slider(0.25, 4.0, value=1.0, step=0.05,
                                        label="Stroke size (style scale: smaller = finer strokes)",
                                        elem_id="style-scale")
                blend = gr.Textbox(label="Blend weights for several paintings (e.g. 0.7, 0.3)", elem_id="blend")
                masks = gr.File(label="Where each painting goes (optional): one mask per painting, in order; "
                                      "white = here, black = not here", file_types=["image"],
                                file_count="multiple", elem_id="masks")
                seed = gr.Number(value=0, precision=0, label="Seed", elem_id="seed")
                with gr.Row():
                    run = gr.Button("Paint", variant="primary", elem_id="paint")
                    halt = gr.Button("Stop", variant="stop", elem_id="stop")
            with gr.Column():
                result = gr.Image(label="Preview", interactive=False, elem_id="preview", format="png")
                status = gr.Markdown("Ready.", elem_id="status")
                downloads = gr.File(label="Downloads: the full-size PNG (with its settings) and the sheet",
                                    file_count="multiple", interactive=False, elem_id="downloads")
        # The thumbnails go through the queue (Gradio shows their errors only from there), so its bound counts
        # them too: a bound of 1 would refuse one of the two that the sample pair starts at once.
        content.change(content_thumbnail, content, content_view)
        styles.change(style_thumbnails, styles, styles_view)
        sample.click(sample_pair, None, [content, styles], queue=False)
        run.click(paint, [content, styles, masks, preset, quality, size, strength, blend, preserve, style_scale,
                          seed],
                  [result, status, downloads])
        # Stop must reach the running job at once, not wait in the queue behind it.
        halt.click(stop, None, status, queue=False)
    return app


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, queue: int = DEFAULT_QUEUE,
          max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, weights: Optional[str] = None) -> None:
    """Run the page until interrupted; the temporary tree goes with it."""
    root = Path(tempfile.mkdtemp(prefix="impasto-web-"))
    # Gradio stores uploads and downloads under GRADIO_TEMP_DIR, read when it is imported: inside our tree.
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from ..engine import load_network

        painter = Painter(root, load_network(weights))
        app = build_app(painter)
        app.queue(max_size=queue, default_concurrency_limit=1)
        print(f"impasto web: http://{host}:{port} (Ctrl-C to stop)", flush=True)
        app.launch(server_name=host, server_port=port, max_file_size=f"{max_upload_mb}mb", quiet=True,
                   show_error=True, footer_links=[], allowed_paths=[str(root)])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ..cli.main import OneLineParser

    parser = OneLineParser(prog="impasto web", description="Serve impasto's page on this machine.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--queue", type=int, default=DEFAULT_QUEUE,
                        help=f"jobs that may wait behind the running one (default {DEFAULT_QUEUE})")
    parser.add_argument("--max-upload-mb", type=int, default=DEFAULT_MAX_UPLOAD_MB,
                        help=f"largest accepted upload in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--weights", help="VGG weights file (default: the bundled VGG-19)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"port must be from 1 to 65535, got {args.port}")
    if args.queue < 2 or args.max_upload_mb < 1:
        parser.error("queue must be at least 2 and max-upload-mb at least 1")
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("impasto: error: the web page needs Gradio: pip install 'impasto[web]'", file=sys.stderr)
        return 1
    try:
        serve(args.host, args.port, args.queue, args.max_upload_mb, args.weights)
    except KeyboardInterrupt:
        pass
    except ImpastoError as error:
        print(f"impasto: error: {error}", file=sys.stderr)
        return 1
    return 0
