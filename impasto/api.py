"""The public Python API: ``impasto.stylize(content, style, **options)``; the CLI is built on it."""
from __future__ import annotations

import os
import platform
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from PIL import Image

from .config.options import check_int, resolve_options
from .config.presets import DEFAULT_PRESET
from .engine import Progress, Stylizer
from .errors import Interrupted, OptionError, OutputError, ResourceError, saved_to
from .files import check_distinct_outputs, check_writable, display_path, path_kind, same_file
from .imaging.images import ImageLike, output_format, save_image
from .net.features import VGGFeatures
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
            saved.append(save_image(image, self.output, run_metadata(stylizer, interrupted)))
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
    outputs = RunOutputs(output, plot, history, side_by_side, snapshots, save_every, timelapse, timelapse_every)
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
        "device": str(stylizer.device), "torch": torch.__version__, "python": platform.python_version(),
    }
