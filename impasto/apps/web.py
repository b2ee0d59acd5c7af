"""``impasto web``: a page to paint from, on this machine. Upload, tune, watch the preview, download.

The page holds no algorithm: each job runs through ``impasto.apps.painter.Painter`` (``impasto.stylize`` with
one network loaded when the server starts, in a worker thread), and the page polls the run's current image a
few times a second. Gradio (``pip install 'impasto[web]'``) serves it; it is imported only here. The command
``impasto web`` is ``impasto.cli.web``.

Safety, since a page is reachable by others: it binds 127.0.0.1 unless told otherwise; uploads are size
limited and opened by impasto's own reader (the decompression-bomb guard applies); the server only opens the
copies Gradio stored of the uploads, never a path the client names; one painting runs at a time, the others
wait in a bounded queue; every job's files live in a temporary folder removed when the job ends (Gradio
keeps its own copy for the download), and the server's whole temporary tree is removed when it stops.
"""
# No ``from __future__ import annotations`` here: Gradio reads the ``request: gr.Request`` annotation of the
# event handlers at run time to pass them the request.

import contextlib
import errno
import os
import shutil
import socket
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from ..config.choices import BIT_DEPTHS, PRESERVE_COLORS, PROTECT_CHOICES
from ..config.options import Options
from ..config.presets import DEFAULT_PRESET, PRESETS, QUALITY_LEVELS
from ..errors import ImpastoError, OptionError
from .painter import NO_MODEL, NO_PRESERVATION, Painter, client_message

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_QUEUE = 8  # jobs waiting behind the running one; past this a user is told the server is busy
DEFAULT_MAX_UPLOAD_MB = 25
SIZE_RANGE = (64, 2048)  # the page's size slider; larger prints belong to the command line


def build_app(painter: Painter):
    """The Gradio page (a ``gr.Blocks``) for ``painter``."""
    import gradio as gr

    with gr.Blocks(title="impasto", delete_cache=(600, 3600)) as app:
        gr.Markdown("# impasto\nRepaint a photo in the style of a painting. Drop both (or use the sample "
                    "pair), press **Paint**, watch it form, download the result.")
        controls = _layout(gr, list(painter.models))
        _connect(gr, painter, controls)
    return app


# What the drop zones take: any image a browser calls one, and the formats phones and cameras write that it
# does not (the reader opens them all, impasto.imaging.images).
UPLOAD_TYPES = ["image", ".heic", ".heif", ".avif", ".tif", ".tiff"]


def _drop_zone(gr: ModuleType, **settings):
    """One image drop zone that shows the image once dropped (Gradio's image component), whose value is the
    uploaded file itself, untouched: Gradio's own preprocessing would decode it with Pillow, turning a bad
    upload into a stack trace and dropping its colour profile and EXIF; impasto's reader opens it instead.

    The one method is replaced on the instance, not in a subclass: Gradio writes a type-stub file beside the
    source of every component class defined (into the installed package)."""
    zone = gr.Image(type="filepath", sources=["upload", "clipboard"], **settings)
    zone.preprocess = lambda payload: None if payload is None else str(payload.path)
    return zone


def _layout(gr: ModuleType, models: Sequence[str] = ()) -> dict:
    """The page's three columns (uploads, settings, result); returns its components by name."""
    with gr.Row():
        with gr.Column():
            content = _drop_zone(gr, label="Photo: drop it here (JPEG, PNG, HEIC, AVIF, TIFF, 16-bit too)",
                                 height=260, elem_id="content")
            styles = gr.Gallery(label="Painting(s): drop one or more here", type="filepath", interactive=True,
                                file_types=UPLOAD_TYPES, height=200, columns=4, elem_id="styles")
            sample = gr.Button("Use the sample pair", elem_id="sample")
        with gr.Column():
            model = gr.Dropdown([NO_MODEL, *models], value=NO_MODEL, elem_id="model",
                                label="Trained model (impasto train): paints the photo at once, no painting needed")
            preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Recipe (preset)", elem_id="preset")
            quality = gr.Radio(list(QUALITY_LEVELS), value="default", label="Quality (impasto recipe)",
                               elem_id="quality")
            size = gr.Slider(*SIZE_RANGE, value=512, step=16, label="Output size (long side, px)", elem_id="size")
            strength = gr.Slider(0.25, 4.0, value=1.0, step=0.05, label="Style strength (x the recipe's)",
                                 elem_id="strength")
            preserve = gr.Radio([NO_PRESERVATION, *PRESERVE_COLORS], value=NO_PRESERVATION,
                                label="Keep the photo's colours", elem_id="preserve")
            protect = gr.Radio(list(PROTECT_CHOICES), value=Options.protect,
                               label="Protect: faces (or whole people) painted lightly, kept recognisable",
                               elem_id="protect")
            style_scale = gr.Slider(0.25, 4.0, value=1.0, step=0.05,
                                    label="Stroke size (style scale: smaller = finer strokes)", elem_id="style-scale")
            blend = gr.Textbox(label="Blend weights for several paintings (e.g. 0.7, 0.3)", elem_id="blend")
            masks = gr.Gallery(label="Where each painting goes (optional): one mask per painting, in order; "
                                     "white = here, black = not here", type="filepath", interactive=True,
                               file_types=UPLOAD_TYPES, height=140, columns=4, elem_id="masks")
            seed = gr.Number(value=0, precision=0, label="Seed", elem_id="seed")
            with gr.Row():
                run = gr.Button("Paint", variant="primary", elem_id="paint")
                halt = gr.Button("Stop", variant="stop", elem_id="stop")
        with gr.Column():
            result = gr.Image(label="Preview", interactive=False, elem_id="preview", format="png")
            status = gr.Markdown("Ready.", elem_id="status")
            bit_depth = gr.Radio(list(BIT_DEPTHS), value=Options.bit_depth, elem_id="bit-depth",
                                 label="Bits per channel of the PNG (16: smooth skies for big prints)")
            downloads = gr.File(label="Downloads: the full-size PNG (sRGB, with the photo's EXIF and the run's "
                                      "settings) and the sheet", file_count="multiple", interactive=False,
                                elem_id="downloads")
    return {"content": content, "styles": styles, "sample": sample, "preset": preset, "quality": quality,
            "size": size, "strength": strength, "preserve": preserve, "protect": protect,
            "style_scale": style_scale, "blend": blend, "masks": masks, "seed": seed, "model": model, "run": run,
            "halt": halt, "result": result, "status": status, "bit_depth": bit_depth, "downloads": downloads}


def _gallery_paths(value) -> list[str]:
    """A gallery's value (``(path, caption)`` pairs, or paths) as paths."""
    return [item[0] if isinstance(item, (tuple, list)) else item for item in (value or [])]


def _connect(gr: ModuleType, painter: Painter, ui: dict) -> None:
    """The page's events: a dropped image checked (and shown, if the browser cannot show its format), the
    sample pair, Paint (streamed) and Stop."""
    from ..imaging.samples import sample_painting, sample_photo

    def page_error(error: ImpastoError, uploads: Sequence[str]) -> Exception:
        """Impasto's one-line errors become a message in the page, not a stack trace, and one line in the
        server's log."""
        text = client_message(error, uploads)
        log(f"refused: {text}")
        return gr.Error(text, title="impasto", print_exception=False)

    def paint(content, styles, masks, preset, quality, size, strength, blend, preserve_colors, style_scale, seed,
              model, protect, bit_depth, request: gr.Request):
        styles, masks = _gallery_paths(styles), _gallery_paths(masks)
        try:
            yield from painter.paint(request.session_hash, content, styles, preset, quality, size, strength,
                                     blend, preserve_colors, style_scale, seed, masks, model, protect=protect,
                                     bit_depth=int(bit_depth))
        except ImpastoError as error:
            raise page_error(error, [content or "", *styles, *masks]) from None

    def stop(request: gr.Request) -> str:
        return painter.stop(request.session_hash)

    def dropped_photo(path):
        try:
            return painter.viewable(path, "content image") if path else None
        except ImpastoError as error:
            raise page_error(error, [path]) from None

    def dropped_images(value, role: str, colours: bool = True):
        paths = _gallery_paths(value)
        try:
            return [painter.viewable(path, f"{role} {i}", colours) for i, path in enumerate(paths, start=1)]
        except ImpastoError as error:
            raise page_error(error, paths) from None

    def sample_pair():
        folder = Path(tempfile.mkdtemp(prefix="sample-", dir=painter.root))
        photo, painting = folder / "sample_photo.png", folder / "sample_painting.png"
        sample_photo().save(photo)
        sample_painting().save(painting)
        return str(photo), [str(painting)]

    # A dropped image is opened at once, so that a bad one is reported before Paint. These events go through
    # the queue (Gradio shows their errors only from there), so its bound counts them too.
    ui["content"].upload(dropped_photo, ui["content"], ui["content"])
    ui["styles"].upload(lambda value: dropped_images(value, "style image"), ui["styles"], ui["styles"])
    ui["masks"].upload(lambda value: dropped_images(value, "style mask", False), ui["masks"], ui["masks"])
    ui["sample"].click(sample_pair, None, [ui["content"], ui["styles"]], queue=False)
    ui["run"].click(paint, [ui[name] for name in ("content", "styles", "masks", "preset", "quality", "size",
                                                  "strength", "blend", "preserve", "style_scale", "seed",
                                                  "model", "protect", "bit_depth")],
                    [ui["result"], ui["status"], ui["downloads"]])
    # Stop must reach the running job at once, not wait in the queue behind it.
    ui["halt"].click(stop, None, ui["status"], queue=False)


def log(text: str) -> None:
    """One line in the server's log (stderr): control characters a client may have put in a name escaped."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    print(f"impasto web: {shown}", file=sys.stderr, flush=True)


def check_address(host: str, port: int) -> None:
    """Fail in one line, before anything loads, if the server could not listen on ``host``:``port`` (a port
    another program holds, an address this machine does not have, a name that does not resolve)."""
    where = f"{host}:{port}"
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                                flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else "not a valid host name"
        raise OptionError(f"cannot serve on {where}: the host {host!r} is not an address or a name this "
                          f"machine can resolve ({reason})") from None
    with socket.socket(family, kind, protocol) as probe:
        # As the server itself binds (uvicorn sets SO_REUSEADDR): a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                reason = f"port {port} is in use by another program: choose another with --port"
            elif error.errno == errno.EADDRNOTAVAIL:
                reason = f"{host} is not an address of this machine: give one it has (--host 127.0.0.1 or 0.0.0.0)"
            elif error.errno == errno.EACCES:
                reason = f"port {port} needs privileges this user does not have: choose one above 1023"
            else:
                reason = error.strerror or str(error)
            raise OptionError(f"cannot serve on {where}: {reason}") from None


class _QueueLog:
    """Stands in for the ``traceback`` module in Gradio's queue, which prints the stack of every request it
    refuses: a client path outside the uploads (Gradio's ``InvalidPathError``) is one line in the server's
    log; any other failure keeps its stack, as it may be a bug."""

    def __getattr__(self, name: str):
        return getattr(traceback, name)

    def print_exc(self, *args, **kwargs) -> None:
        from gradio.exceptions import InvalidPathError

        error = sys.exc_info()[1]
        if isinstance(error, InvalidPathError):
            log(f"refused a client's path: {error}")
        else:
            traceback.print_exc(*args, **kwargs)


def _gradio_folders() -> list[Path]:
    """Folders Gradio makes outside our tree when it was imported before GRADIO_TEMP_DIR was set (its
    default cache folder and the one it makes in it at launch), deepest first, that do not exist yet."""
    import gradio.route_utils

    default = Path(getattr(gradio.route_utils, "DEFAULT_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio"))
    return [folder for folder in (default / "vibe_edit_history", default) if not folder.exists()]


def offered_models(models: Sequence[str] = ()) -> list[str]:
    """The models the page offers: the bundled ones (``--model candy``...), then ``models``; a given model
    named like a bundled one takes its place (the page lists models by file stem)."""
    from ..net.model_file import bundled_models

    given = {Path(path).stem for path in models}
    return [str(path) for name, path in bundled_models().items() if name not in given] + list(models)


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, queue: int = DEFAULT_QUEUE,
          max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, weights: str | None = None, models: Sequence[str] = ()) -> None:
    """Run the page until interrupted; the temporary tree goes with it. A port or host the server cannot
    listen on is an ``OptionError``, said before anything loads."""
    check_address(host, port)
    root = Path(tempfile.mkdtemp(prefix="impasto-web-"))
    # Gradio stores uploads and downloads under GRADIO_TEMP_DIR, read when it is imported: inside our tree.
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # PyTorch makes its compiler's cache folder in the temporary folder when its optimizers first load it
    # (nothing is compiled here): inside our tree too, so that no empty folder outlives the server.
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(root / "torchinductor"))
    leftovers: list[Path] = []
    try:
        import gradio.queueing

        leftovers = _gradio_folders()
        gradio.queueing.traceback = _QueueLog()
        from ..engine import load_network

        painter = Painter(root, load_network(weights), offered_models(models))
        app = build_app(painter)
        app.queue(max_size=queue, default_concurrency_limit=1)
        print(f"impasto web: http://{host}:{port} (Ctrl-C to stop)", flush=True)
        try:
            app.launch(server_name=host, server_port=port, max_file_size=f"{max_upload_mb}mb", quiet=True,
                       show_error=True, footer_links=[], allowed_paths=[str(root)])
        except OSError as error:  # taken between the check and the launch
            raise OptionError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
        for folder in leftovers:  # only if Gradio made them and left them empty
            with contextlib.suppress(OSError):
                folder.rmdir()
