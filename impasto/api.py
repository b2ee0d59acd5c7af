"""The public Python API: ``impasto.stylize(content, style, **options)``; the CLI is built on it."""
from __future__ import annotations

import math
import os
import platform
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from PIL import Image

from .config.options import Options, check_int, resolve_options
from .config.limits import DEFAULT_MAX_INPUT_PIXELS
from .config.presets import DEFAULT_PRESET
from .config.training import TrainingOptions, training_options
from .engine import Progress, Stylizer
from .engine.instant import InstantPainter
from .engine.training import Trainer, TrainingProgress, painting_digest
from .errors import Interrupted, OptionError, OutputError, ResourceError, saved_to
from .files import check_distinct_outputs, check_writable, display_path, path_kind, same_file
from .imaging.images import ImageLike, load_image, output_format, save_image
from .imaging.writers import PLAIN_FILE, FileSettings, check_bit_depth
from .imaging.photos import SCALE_RANGE as PHOTO_SCALE_RANGE
from .net.features import VGGFeatures
from .net.model_file import TrainedModel, check_onnx_export, export_onnx, load_model, resolve_model, save_model
from .reports.history import PLOT_FORMATS, plot_losses, write_history
from .reports.sheets import side_by_side as make_side_by_side
from .reports.timelapse import Timelapse, default_interval, timelapse_format

PathLike = str | os.PathLike


@dataclass(frozen=True)
class RunOutputs:
    """Where a run writes: the image, its reports and its snapshots. ``check`` refuses what cannot be written
    before the run starts; ``write`` writes what was asked, atomically, also after an interrupt."""

    output: Optional[PathLike] = None
    plot: Optional[PathLike] = None
    history: Optional[PathLike] = None
    side_by_side: Optional[PathLike] = None
    snapshots: Optional[PathLike] = None
    save_every: int = 0
    timelapse: Optional[PathLike] = None
    timelapse_every: int = 0
    file: FileSettings = PLAIN_FILE

    def files(self) -> list[tuple[str, Optional[PathLike]]]:
        return [("output", self.output), ("plot", self.plot), ("history", self.history),
                ("side-by-side sheet", self.side_by_side), ("timelapse", self.timelapse)]

    def check(self, inputs: tuple) -> None:
        """Every output writable, none an input or another output, each with a format impasto writes."""
        for role, path in self.files():
            if path is not None:
                check_writable(path, inputs, role)
        check_distinct_outputs(self.files())
        for path in (self.output, self.side_by_side):
            if path is not None:
                output_format(path)
        if self.output is not None:
            check_bit_depth(self.file.bit_depth, output_format(self.output), display_path(self.output))
        if self.history is not None and Path(self.history).suffix.lower() not in (".csv", ".json"):
            raise OptionError(f"history file {display_path(self.history)} must end in .csv or .json")
        if self.plot is not None and Path(self.plot).suffix.lower() not in PLOT_FORMATS:
            raise OptionError(f"plot file {display_path(self.plot)} must end in one of {', '.join(PLOT_FORMATS)}")
        if self.snapshots is not None:
            _check_snapshots_folder(Path(self.snapshots), inputs, self.files())
        if self.timelapse is not None:
            timelapse_format(self.timelapse)
        check_int("timelapse_every", self.timelapse_every)
        if self.timelapse_every and self.timelapse is None:
            raise OptionError("timelapse_every needs a timelapse file to say where the frames go")
        check_int("save_every", self.save_every)
        if self.save_every and self.snapshots is None:
            raise OptionError("save_every needs a snapshots folder to say where the snapshots go")

    def write(self, stylizer: Stylizer, image: Image.Image, movie: Optional[Timelapse],
              interrupted: bool) -> list[Path]:
        """The result and the reports asked for; returns the paths written."""
        saved = []
        if movie is not None:
            written = movie.save(final=image)
            saved += [written] if written is not None else []
        if self.output is not None:
            pixels = stylizer.best_pixels() if self.file.bit_depth == 16 else None
            saved.append(save_image(image, self.output, run_metadata(stylizer, interrupted), settings=self.file,
                                    photo=stylizer.content_image, pixels=pixels))
        if self.history is not None and stylizer.history:
            saved.append(write_history(stylizer.history, self.history))
        if self.plot is not None and stylizer.history:
            saved.append(plot_losses(stylizer.history, self.plot))
        if self.side_by_side is not None:
            sheet = make_side_by_side(stylizer.content_image, stylizer.style_images, image)
            saved.append(save_image(sheet, self.side_by_side))
        return saved


def stylize(
    content: ImageLike,
    style: ImageLike | Sequence[ImageLike],
    *,
    preset: str = DEFAULT_PRESET,
    output: Optional[PathLike] = None,
    plot: Optional[PathLike] = None,
    history: Optional[PathLike] = None,
    side_by_side: Optional[PathLike] = None,
    snapshots: Optional[PathLike] = None,
    save_every: int = 0,
    timelapse: Optional[PathLike] = None,
    timelapse_every: int = 0,
    style_masks: Optional[Sequence[ImageLike]] = None,
    callback: Optional[Callable[[Progress], None]] = None,
    on_start: Optional[Callable[[Stylizer], None]] = None,
    network: Optional[VGGFeatures] = None,
    init_image: Optional[ImageLike] = None,
    style_cache: Optional[OrderedDict] = None,
    **options,
) -> Image.Image:
    """Repaint ``content`` in the style of ``style`` (one image or a list) and return the result.

    Images may be paths, PIL images or NumPy arrays. ``options`` are the fields of ``impasto.Options``
    (``size``, ``style_weight``, ``style_layers``, ``optimizer``, ``seed``...); they override ``preset``.
    ``callback`` receives a ``Progress`` after every iteration. Given paths, the result and the reports are
    written there (atomically; the PNG carries the run's parameters). On KeyboardInterrupt the best image so
    far and the reports are still written, then ``Interrupted`` is raised.

    ``network`` (``impasto.load_network()``) shares one loaded VGG between runs; ``init_image`` is an image
    (path, PIL image or array) to start from, used as it is unless ``init_palette="style"`` is given.
    ``style_masks`` (one per style image, the content's aspect ratio) say where each style paints.
    ``style_cache`` (an empty ``collections.OrderedDict`` the caller keeps) reuses the paintings' targets
    across runs that share paintings and sizes, as ``impasto batch`` does.
    ``snapshots`` (a folder) receives the current image every ``save_every`` iterations; ``timelapse``
    (.gif, .webp or .png) an animation of the painting forming, a frame every ``timelapse_every``
    iterations (0: about 100 frames in all), ending on the result.
    """
    if init_image is not None:
        options.setdefault("init_palette", "content")
    resolved = resolve_options(preset, **options)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    outputs = RunOutputs(output, plot, history, side_by_side, snapshots, save_every, timelapse, timelapse_every,
                         FileSettings.of(resolved))
    outputs.check((content, *styles, resolved.init, init_image, *(style_masks or ())))

    live = _LiveOutputs(outputs, callback)
    stylizer = Stylizer(content, styles, resolved, network=network, init_image=init_image, style_masks=style_masks,
                        callback=live, style_cache=style_cache)
    live.attach(stylizer)
    if on_start is not None:
        on_start(stylizer)
    return _paint(stylizer, outputs, live.movie)


class _LiveOutputs:
    """What is written while the run goes (snapshots, timelapse frames) before the caller's own callback."""

    def __init__(self, outputs: RunOutputs, callback: Optional[Callable[[Progress], None]]):
        self.outputs, self.callback = outputs, callback
        self.stylizer: Optional[Stylizer] = None
        self.movie: Optional[Timelapse] = None
        self.frame_every = 1

    def attach(self, stylizer: Stylizer) -> None:
        outputs = self.outputs
        self.stylizer = stylizer
        self.movie = Timelapse(outputs.timelapse) if outputs.timelapse is not None else None
        self.frame_every = outputs.timelapse_every or default_interval(stylizer.total_steps)
        if outputs.snapshots is not None:
            Path(outputs.snapshots).mkdir(exist_ok=True)

    def __call__(self, progress: Progress) -> None:
        outputs = self.outputs
        if outputs.save_every and outputs.snapshots is not None and progress.step % outputs.save_every == 0:
            save_image(self.stylizer.current_image(), Path(outputs.snapshots) / f"step_{progress.step:05d}.png")
        if self.movie is not None and (progress.step - 1) % self.frame_every == 0:
            self.movie.add(self.stylizer.current_image())
        if self.callback is not None:
            self.callback(progress)


def _paint(stylizer: Stylizer, outputs: RunOutputs, movie: Optional[Timelapse]) -> Image.Image:
    """Run, then write; an interrupt or running out of memory writes the best image so far and says so."""
    try:
        result = stylizer.run()
    except KeyboardInterrupt:
        image = stylizer.best_image()
        raise Interrupted(image, outputs.write(stylizer, image, movie, interrupted=True)) from None
    except (MemoryError, RuntimeError) as error:
        if not isinstance(error, MemoryError) and not _is_out_of_memory(error):
            raise
        saved = outputs.write(stylizer, stylizer.best_image(), movie, interrupted=True)
        raise ResourceError(f"ran out of memory; try a smaller output size. Best image so far saved to "
                            f"{saved_to(saved)}") from None
    outputs.write(stylizer, result, movie, interrupted=False)
    return result


def _check_snapshots_folder(folder: Path, inputs: tuple, outputs: list) -> None:
    """The snapshots go into ``folder`` (made if missing) as step_NNNNN.png: none may be another output."""
    kind = path_kind(folder, "snapshots folder", OutputError)
    if kind not in ("dir", "missing"):
        raise OptionError(f"snapshots {display_path(folder)} is a file, not a folder")
    check_writable(folder / "step_00001.png" if kind == "dir" else folder, inputs, "snapshots folder")
    for role, path in outputs:
        if path is not None and re.fullmatch(r"step_\d{5}\.png", Path(path).name) \
                and same_file(Path(path).parent, folder):
            raise OutputError(f"the {role} {display_path(path)} is named like a snapshot in the snapshots "
                              f"folder and could be overwritten; give it another name")


def _is_out_of_memory(error: RuntimeError) -> bool:
    text = str(error).lower()
    return "out of memory" in text or "can't allocate memory" in text or "failed to allocate" in text


def run_metadata(stylizer: Stylizer, interrupted: bool) -> dict:
    """What the output PNG records about how it was made."""
    from . import __version__

    inputs = stylizer.inputs
    return {
        "impasto": __version__, "options": stylizer.options.to_dict(), "weights": stylizer.network.source,
        "stages": [{"shape": list(stage.shape), "iterations": stage.iterations} for stage in stylizer.stages],
        "init_image": "given" if stylizer.options.init == "content" and inputs.init_image is not None else None,
        "style_masks": [str(mask) if isinstance(mask, (str, os.PathLike)) else "in memory"
                        for mask in inputs.style_mask_sources] if inputs.style_mask_sources else None,
        "seed_used": stylizer.seed, "steps_done": stylizer.step,
        "loss_calibration": stylizer.plan.calibration, "style_balance": stylizer.plan.style_balance,
        "tiling": {"tile": stylizer.tiling.tile, "overlap": stylizer.tiling.overlap,
                   "tiles": [len(stylizer.tiling.boxes(stage.shape)) for stage in stylizer.stages]}
        if stylizer.tiling.tile else None,
        "seconds": round(stylizer.elapsed, 2), "interrupted": interrupted,
        "device": str(stylizer.device),
        "precision_used": stylizer.placement.precision_used,
        "torch": torch.__version__, "python": platform.python_version(),
    }


# -- trained models: impasto train, and painting with one ---------------------------------------------------

def _training_start(output: Path, resume: bool, start_from: Optional[PathLike],
                    options: dict) -> tuple[Optional[TrainedModel], Optional[Path], dict]:
    """The model a training continues (``resume``: the one in ``output``; ``start_from``: another's network
    with a fresh optimizer), the start model's path, and the options: a continued model keeps the settings
    it was trained with, but those given now (more steps...)."""
    if resume and start_from is not None:
        raise OptionError("resume continues the model in the output file; start_from begins from another: "
                          "give one of them")
    previous = _resumable(output) if resume else None
    start_path = resolve_model(start_from) if start_from is not None else None
    if start_path is not None:
        started = load_model(start_path)
        previous = TrainedModel(started.network, started.record, started.thumbnails)  # the optimizer starts afresh
    if previous is not None:
        recorded = previous.record.get("training_options")
        options = {**(recorded if isinstance(recorded, dict) else {}), **options}
    return previous, start_path, options


def _check_model_names(output: Path, onnx: Optional[PathLike]) -> None:
    """The model file ends in .pt; an ONNX file in .onnx, with the exporter installed."""
    if output.suffix.lower() != ".pt":
        raise OptionError(f"model file {display_path(output)} must end in .pt")
    if onnx is not None:
        if Path(onnx).suffix.lower() != ".onnx":
            raise OptionError(f"ONNX file {display_path(onnx)} must end in .onnx")
        check_onnx_export()


def _preview_photo(preview: Optional[ImageLike], paths: list[Path],
                   settings: TrainingOptions) -> tuple[Optional[Image.Image], Optional[Path], list[Path]]:
    """The photo painted every ``preview_every`` steps, the training photo held out for it (when none was
    given: the last one), and the photos left to train on."""
    held_out = None
    if preview is None and len(paths) > 1 and settings.preview_every:
        held_out, paths = paths[-1], paths[:-1]  # the last photo is kept out of training to show progress
    source = preview if preview is not None else held_out
    image = load_image(source, "preview photo", settings.max_input_pixels) if source is not None else None
    return image, held_out, paths


def _training_record(paintings: Sequence[ImageLike], photos: int, held_out: Optional[Path],
                     start_from: Optional[PathLike], previous: Optional[TrainedModel], resume: bool) -> dict:
    """What a model file records of its training's sources (the Trainer adds its options and steps)."""
    # Where a fine-tuning began: the model it started from, or (resumed) what the resumed model recorded.
    started_from = ({"model": _source_name(start_from), "steps": previous.steps, "record": previous.record}
                    if start_from is not None else previous.record.get("started_from") if resume else None)
    return {"impasto": _version(), "paintings": [{"name": _source_name(p)} for p in paintings],
            "photos": photos, "held_out": str(held_out) if held_out is not None else None,
            **({"started_from": started_from} if started_from is not None else {})}


def train(
    paintings: ImageLike | Sequence[ImageLike],
    photos: Sequence[PathLike],
    output: PathLike,
    *,
    resume: bool = False,
    start_from: Optional[PathLike] = None,
    preview: Optional[ImageLike] = None,
    previews: Optional[PathLike] = None,
    onnx: Optional[PathLike] = None,
    keep_training_state: bool = True,
    callback: Optional[Callable[[TrainingProgress], None]] = None,
    on_start: Optional[Callable[[Trainer], None]] = None,
    network: Optional[VGGFeatures] = None,
    **options,
) -> TrainedModel:
    """Train a feed-forward painter for ``paintings`` (several blend by ``style_blend``) on ``photos``
    (folders, glob patterns, image files, video clips) and write it to ``output`` (a .pt model file).

    ``options`` are ``impasto.config.training.TrainingOptions`` fields (``steps``, ``batch_size``, ``crop``,
    ``style_weight``, ``stability_weight``, ``model_width``...). The model file is written every
    ``checkpoint_every`` steps and at the end; ``resume`` continues the model in ``output`` (its paintings
    must be these). ``start_from`` (a model file, or a bundled model's name) begins from that model's network
    and steps with a fresh optimizer: to fine-tune it (say, for video with ``stability_weight``) or to reach
    another painting sooner. ``preview`` (default: one photo of the set, held out of training) is painted into the
    ``previews`` folder (default ``OUTPUT.previews``) every ``preview_every`` steps. On KeyboardInterrupt the
    model as it stands is written, then ``Interrupted`` is raised. ``onnx`` also exports the result.
    """
    from .imaging.photos import load_photos, photo_paths

    output = Path(output)
    previous, start_path, options = _training_start(output, resume, start_from, options)
    settings = training_options(**options)
    painting_list = list(paintings) if isinstance(paintings, (list, tuple)) else [paintings]
    if not painting_list:
        raise OptionError("at least one painting is needed")
    _check_model_names(output, onnx)
    paths = photo_paths(photos)
    inputs = (*painting_list, *paths, preview, start_path)
    for role, path in (("model file", output), ("ONNX file", onnx)):
        if path is not None:
            check_writable(path, inputs, role)
    check_distinct_outputs([("model file", output), ("ONNX file", onnx)])
    images = [load_image(p, f"painting {i + 1}", settings.max_input_pixels) for i, p in enumerate(painting_list)]
    if resume:
        _check_same_paintings(previous, images, output)
    shape = previous.network.architecture if previous is not None else None
    if shape is not None and shape != {"width": settings.model_width, "blocks": settings.model_blocks}:
        # The weights fix the network's shape: a given --model-width would otherwise be recorded, not used.
        raise OptionError(f"the model's network has width {shape['width']} and {shape['blocks']} residual "
                          f"block{'' if shape['blocks'] == 1 else 's'}; a trained network's shape cannot change "
                          f"(train a new one for another)")
    if previous is not None and settings.steps <= previous.steps:
        raise OptionError(f"the model has {previous.steps} steps already: ask for more (steps counts them all, e.g. "
                          f"{previous.steps + 500})")
    preview_image, held_out, paths = _preview_photo(preview, paths, settings)
    preview_folder = Path(previews) if previews is not None else output.with_name(output.stem + ".previews")
    photo_tensors = load_photos(paths, math.ceil(settings.crop * PHOTO_SCALE_RANGE[1]), settings.max_input_pixels)
    record = _training_record(painting_list, len(photo_tensors), held_out, start_from, previous, resume)
    trainer = Trainer(images, photo_tensors, settings, network=network, resume=previous, record=record)
    if on_start is not None:
        on_start(trainer)

    def each_step(progress: TrainingProgress) -> None:
        if settings.checkpoint_every and progress.step % settings.checkpoint_every == 0:
            save_model(output, trainer.model(), keep_training_state)
        if preview_image is not None and settings.preview_every and progress.step % settings.preview_every == 0:
            preview_folder.mkdir(exist_ok=True)
            save_image(trainer.preview(preview_image, settings.style_size),
                       preview_folder / f"step_{progress.step:06d}.jpg")
        if callback is not None:
            callback(progress)

    try:
        model = trainer.run(each_step)
    except KeyboardInterrupt:
        saved = save_model(output, trainer.model(), keep_training_state)
        raise Interrupted(None, [saved]) from None
    save_model(output, model, keep_training_state)
    if onnx is not None:
        export_onnx(model.network, onnx)
    return model


def _resumable(output: PathLike) -> TrainedModel:
    if path_kind(output, "model file") == "missing":
        raise OptionError(f"nothing to resume: {display_path(output)} does not exist")
    previous = load_model(output)
    if previous.training is None:
        raise OptionError(f"{display_path(output)} was saved without its training state; it cannot be resumed")
    return previous


def _check_same_paintings(previous: TrainedModel, images: list[Image.Image], output: Path) -> None:
    recorded = [painting.get("digest") for painting in previous.record.get("paintings", [])]
    if recorded != [painting_digest(image) for image in images]:
        raise OptionError(f"{display_path(output)} was trained on other paintings; resume it with the same "
                          f"ones, or train a new model under another name")


def _source_name(source: ImageLike) -> str:
    return Path(source).name if isinstance(source, (str, os.PathLike)) else "in memory"


def _version() -> str:
    from . import __version__

    return __version__


def paint_with_model(
    content: ImageLike,
    model: PathLike | TrainedModel | InstantPainter,
    *,
    output: Optional[PathLike] = None,
    size: Optional[int] = Options.size,
    preserve_colors: Optional[str] = None,
    tile: Optional[int] = None,
    side_by_side: Optional[PathLike] = None,
    device: str = "auto",
    precision: str = "auto",
    max_input_pixels: Optional[int] = DEFAULT_MAX_INPUT_PIXELS,
    keep_profile: bool = False,
    keep_gps: bool = False,
    dpi: Optional[float] = None,
) -> Image.Image:
    """Paint ``content`` with a trained model (a model file, a loaded ``TrainedModel`` or an
    ``InstantPainter`` shared between calls) in one network pass, its long side ``size`` px (None: the
    photo's own). Given ``output``, it is written atomically, the PNG recording the model's record, in sRGB
    (or the photo's own profile: ``keep_profile``) with the photo's EXIF (GPS only with ``keep_gps``) and
    DPI (or ``dpi``). ``device``, ``precision`` and ``max_input_pixels`` as for a still (None: no limit);
    ``device`` and ``precision`` are the shared painter's own when one is given."""
    if size is not None:
        check_int("size", size)
    if tile is not None:
        check_int("tile", tile)
    model_path = model if isinstance(model, (str, os.PathLike)) else None
    for role, path in (("output", output), ("side-by-side sheet", side_by_side)):
        if path is not None:
            check_writable(path, (content, model_path), role)
            output_format(path)
    check_distinct_outputs([("output", output), ("side-by-side sheet", side_by_side)])
    painter = model if isinstance(model, InstantPainter) else InstantPainter(model, device, precision)
    started = time.perf_counter()
    result = painter.paint(content, size, preserve_colors, tile, max_input_pixels)
    seconds = time.perf_counter() - started
    if output is not None:
        record = painter.record
        metadata = {"impasto": _version(), "model": str(model_path) if model_path is not None else "in memory",
                    "model_record": {key: record.get(key) for key in ("paintings", "steps", "impasto")},
                    "size": size, "preserve_colors": preserve_colors, "seconds": round(seconds, 3),
                    "device": str(painter.device), "precision": painter.precision_used, "torch": torch.__version__}
        settings = FileSettings(keep_profile=keep_profile, keep_gps=keep_gps, dpi=dpi)
        photo = load_image(content, max_pixels=max_input_pixels)  # its EXIF, DPI and profile
        save_image(result, output, metadata, settings=settings, photo=photo)
    if side_by_side is not None:
        thumbnails = [Image.fromarray(t.numpy(), "RGB") for t in painter.model.thumbnails]
        save_image(make_side_by_side(load_image(content), thumbnails, result), side_by_side)
    return result
