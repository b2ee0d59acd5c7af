"""``impasto video``: a clip repainted frame by frame without flicker (Ruder, Dosovitskiy and Brox 2016).

The first frame is painted as a still, with the whole coarse-to-fine recipe. Every later frame starts from
the previous painted frame warped along the optical flow (``impasto.flow``) and is optimised at the output
size only, for a few iterations (the style matched at that size only: the large strokes come with the
warped frame), with one more named loss term, ``temporal``: the squared distance to that warped frame where
the flow is reliable (forward-backward consistent, off motion boundaries, and the previous input frame
warped along it looking like this one); elsewhere the frame starts from its photo in the painted colours. The strokes
then move with the picture instead of being drawn anew each frame. The painting's style weight (with the
first frame's style balance) is fixed for the whole clip, so the strength of the style does not flicker.

Each finished frame is written at once, as a PNG, into a work folder beside the output
(``OUTPUT.frames``); the video is encoded from them at the end, and also when the run is interrupted (a
playable clip of the frames done). ``--resume`` continues from the frames in the work folder; a finished
video removes it. The command's parser is ``impasto.cli.video``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from PIL import Image

from ..engine import Stylizer, load_network
from ..errors import ImpastoError, ImpastoWarning, Interrupted, OptionError, OutputError, display_path
from ..net.features import VGGFeatures
from ..files import atomic_write, check_writable, path_kind
from ..imaging.flow import FLOW_METHODS, optical_flow, reliable, warp
from ..imaging.images import ImageLike, fit_long_side, image_to_tensor, load_image, tensor_to_image
from ..loss.terms import TemporalLoss
from ..loss.objective import NamedTerm
from ..config.checks import check_int, check_number
from ..config.limits import DEFAULT_FRAME_ITERATIONS, DEFAULT_TEMPORAL_WEIGHT
from ..config.options import Options, resolve_options
from ..imaging.palette import color_statistics, match_colors
from ..config.presets import DEFAULT_PRESET
from ..imaging.video_io import Clip, open_clip, output_kind, write_clip

SETTINGS_FILE = "impasto-video.json"


@dataclass
class FrameProgress:
    """What the callback gets after every frame."""

    frame: int  # 1-based
    frames: int
    seconds: float  # this frame's
    elapsed: float  # the run's (this session's, when resumed)
    done_before: int  # frames found finished when the run started (resume)

    @property
    def eta(self) -> float:
        painted = self.frame - self.done_before
        return self.elapsed / painted * (self.frames - self.frame) if painted else float("inf")


@dataclass
class VideoResult:
    output: Path
    frames: int
    painted: int  # frames painted in this run (the others were resumed)
    seconds_per_frame: list[float]


def work_folder(output: Path) -> Path:
    """Where the finished frames wait: the output folder itself, or ``OUTPUT.frames`` beside a file."""
    return output if output_kind(output) == "folder" else output.with_name(output.name + ".frames")


def frame_shape(clip: Clip, size: int) -> tuple[int, int]:
    """(height, width) of every painted frame: the first frame's aspect, long side ``size``, both even (H.264
    and VP9 need it). Frames of another size are resized to it."""
    height, width = fit_long_side(clip.size[0], clip.size[1], size)
    return max(2, height - height % 2), max(2, width - width % 2)


def _long_side(still: Options) -> int:
    """The long side a still of these options is painted at: a fixed recipe's last stage, or ``size``."""
    return max(still.stage_shapes[-1]) if still.stage_shapes is not None else still.size


def _still_at(still: Options, shape: tuple[int, int]) -> Options:
    """The still's options painting exactly at ``shape`` (the clip's even size), so the first frame has the
    size of all the others: a fixed recipe's stages keep their long sides at the clip's aspect."""
    height, width = shape
    if still.stage_shapes is not None:
        stages = [fit_long_side(width, height, max(stage)) for stage in still.stage_shapes[:-1]]
        return replace(still, stage_shapes=[*stages, shape]).validate()
    return replace(still, size=max(shape)).validate()


def stylize_video(
    input: str | os.PathLike,
    style: ImageLike | Sequence[ImageLike],
    output: str | os.PathLike,
    *,
    preset: str = DEFAULT_PRESET,
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT,
    frame_iterations: int = DEFAULT_FRAME_ITERATIONS,
    flow: str = "dis",
    independent: bool = False,
    resume: bool = False,
    max_frames: Optional[int] = None,
    keep_frames: bool = False,
    network: Optional[VGGFeatures] = None,
    callback: Optional[Callable[[FrameProgress], None]] = None,
    **options,
) -> VideoResult:
    """Repaint the clip ``input`` (a video file or a folder of numbered frames) in ``style`` into ``output``
    (.mp4, .mov, .mkv, .webm, .gif, or a folder for PNG frames), keeping its frame rate and sound.

    ``options`` are a still's (``size``, ``style_weight``, ``preserve_colors``, ``style_blend``...).
    ``temporal_weight`` holds each frame to the previous one warped along the ``flow`` ("dis" or
    "farneback"); ``independent`` paints every frame as a still of its own instead (it flickers: for
    comparison). On KeyboardInterrupt the frames done so far are encoded into ``output`` and ``Interrupted``
    is raised; ``resume`` continues an interrupted run from its work folder.
    """
    _check_video_settings(flow, temporal_weight, frame_iterations, max_frames)
    styles = list(style) if isinstance(style, (list, tuple)) else [style]
    still = resolve_options(preset, **options)
    output = Path(output)
    kind = output_kind(output)
    clip = open_clip(input)
    check_output(output, kind, (input, *styles))
    check_not_among_inputs(work_folder(output), clip)
    style_images = [load_image(image, f"style image {index}") for index, image in enumerate(styles, start=1)]
    shape = frame_shape(clip, _long_side(still))
    _warn_other_sizes(clip, shape)
    total = min(clip.frames, max_frames) if max_frames else clip.frames
    folder = work_folder(output)
    settings = {"input": str(Path(input).resolve()), "styles": [_describe(image) for image in styles],
                "preset": preset, "options": still.to_dict(), "temporal_weight": temporal_weight,
                "frame_iterations": frame_iterations, "flow": flow, "independent": independent,
                "shape": list(shape)}
    network = network if network is not None else load_network(still.weights, still.model)
    done, style_weight = _prepare_folder(folder, settings, resume)
    seed = still.seed if still.seed is not None else int.from_bytes(os.urandom(8), "little") >> 1
    painter = _FramePainter(_still_at(still, shape), style_images, network, seed, temporal_weight,
                            frame_iterations, flow, independent)
    try:
        seconds = _paint_frames(clip, painter, folder, settings, shape, done, total, style_weight, callback)
    except (KeyboardInterrupt, Interrupted):
        raise _interrupted(clip, folder, output, kind, shape) from None
    except ImpastoError as error:
        # A frame that cannot be read half way (a cut-off file, a damaged frame), or a frame's run that
        # fails: the frames done are kept as an interrupt keeps them, and the error says where.
        raise _failed(error, clip, folder, output, kind, shape) from None
    finished = _count_frames(folder)
    if finished < total:
        warnings.warn(f"input video {display_path(input)} ended after {finished} of the {total} frames its "
                      f"container lists (a damaged or cut-off file?)", ImpastoWarning)
    if kind != "folder":
        write_clip(output, _frames(folder, finished, shape), clip.fps, clip)
        if not keep_frames:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        (folder / SETTINGS_FILE).unlink(missing_ok=True)
    return VideoResult(output, finished, len(seconds), seconds)


def _paint_frames(clip: Clip, painter: _FramePainter, folder: Path, settings: dict, shape: tuple[int, int],
                  done: int, total: int, style_weight: Optional[float],
                  callback: Optional[Callable[[FrameProgress], None]]) -> list[float]:
    """Paint the frames after the ``done`` ones up to ``total`` into the work ``folder``, each held to the
    one before it; the seconds each took. The first frame painted fixes the style weight (balance included)
    for every later one, and the settings file records it (``style_weight`` given: a resumed run's)."""
    previous = _resumed_frame(clip, folder, done, shape)
    seconds: list[float] = []
    start = time.perf_counter()
    for index, frame in enumerate(clip.read(done), start=done):
        if index >= total:
            break
        began = time.perf_counter()
        content = frame.resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
        stylizer = painter.stylizer(content, previous, style_weight)
        painted = stylizer.run()
        if painted.size != content.size:  # never: every frame is painted at the clip's size
            painted = painted.resize(content.size, Image.Resampling.LANCZOS)
        if style_weight is None:
            style_weight = stylizer.plan.style_weight
            _write_settings(folder, {**settings, "style_weight_used": style_weight})
        _save_frame(painted, folder, index + 1)
        previous = (content, image_to_tensor(painted))
        seconds.append(time.perf_counter() - began)
        if callback is not None:
            callback(FrameProgress(index + 1, total, seconds[-1], time.perf_counter() - start, done))
    return seconds


def _check_video_settings(flow: str, temporal_weight: float, frame_iterations: int,
                          max_frames: Optional[int]) -> None:
    if flow not in FLOW_METHODS:
        raise OptionError(f"flow must be one of {', '.join(FLOW_METHODS)}, got {flow!r}")
    check_number("temporal_weight", temporal_weight)
    check_int("frame_iterations", frame_iterations)
    if max_frames is not None:
        check_int("max_frames", max_frames)


@dataclass
class _FramePainter:
    """What every frame of a clip is painted with: the still's options, the paintings, one network, one
    seed and one style cache for the whole clip, and the temporal settings."""

    still: Options
    styles: list[Image.Image]
    network: VGGFeatures
    seed: int
    temporal_weight: float
    iterations: int
    flow: str
    independent: bool
    style_cache: OrderedDict = field(default_factory=OrderedDict)

    def stylizer(self, content: Image.Image, previous: Optional[tuple[Image.Image, torch.Tensor]],
                 style_weight: Optional[float]) -> Stylizer:
        """The first frame (or every frame, ``independent``) as a still; the others from the one before."""
        if previous is None or self.independent:
            return Stylizer(content, self.styles, replace(self.still, seed=self.seed), network=self.network,
                            style_cache=self.style_cache)
        return _warm_stylizer(content, self.styles, self.still, previous, style_weight, self.temporal_weight,
                              self.iterations, self.flow, self.seed, self.network, self.style_cache)


def check_output(output: Path, kind: str, inputs: tuple) -> None:
    """The output (a video file, or a folder for PNG frames) can be written and is none of the inputs."""
    if kind == "folder":
        exists = path_kind(output, "output folder", OutputError)
        if exists == "file":
            raise OutputError(f"output {display_path(output)} is a file; give a folder, or a video file name")
        # An existing folder must take files; a new one is made where its parent must take it.
        check_writable(output / "frame_000001.png" if exists == "dir" else output, inputs, "output")
    else:
        check_writable(output, inputs, "output video")


def _resumed_frame(clip: Clip, folder: Path, done: int,
                   shape: tuple[int, int]) -> Optional[tuple[Image.Image, torch.Tensor]]:
    """(input frame, painted frame) where a resumed run's next frame starts from; None with nothing done."""
    if not done:
        return None
    last_input = next(clip.read(done - 1))
    with Image.open(folder / _frame_name(done)) as image:
        last_painted = image_to_tensor(image.convert("RGB"), shape)
    return last_input.resize((shape[1], shape[0]), Image.Resampling.LANCZOS), last_painted


def check_not_among_inputs(folder: Path, clip: Clip) -> None:
    """The painted frames are never written among a folder's input frames: the folder they go to (the
    output folder, or ``OUTPUT.frames``) may be neither the input folder nor inside it."""
    if clip.folder_frames is None:
        return
    source, target = clip.path.resolve(), folder.resolve()
    if target == source or source in target.parents:
        where = "is" if target == source else "is inside"
        raise OutputError(f"the painted frames would be written to {display_path(folder)}, which {where} the "
                          f"input folder {display_path(clip.path)}: choose an output outside it")


def _warn_other_sizes(clip: Clip, shape: tuple[int, int]) -> None:
    count, first, size = clip.other_sizes
    if count:
        warnings.warn(f"{count} input frame(s) differ in size from the first ({clip.size[0]}x{clip.size[1]}), "
                      f"from {display_path(first.name)} ({size[0]}x{size[1]}) on: every frame is resized to the "
                      f"clip's {shape[1]}x{shape[0]}", ImpastoWarning)


def _saved(clip: Clip, folder: Path, output: Path, kind: str, shape: tuple[int, int]) -> tuple[int, list[Path]]:
    """The frames done so far encoded into a playable ``output`` (or left in the output folder): (how many,
    what holds them)."""
    finished = _count_frames(folder)
    if not finished:  # nothing to keep: the run's settings go, and the work folder with them when it is empty
        (folder / SETTINGS_FILE).unlink(missing_ok=True)
        if kind != "folder":
            with contextlib.suppress(OSError):
                folder.rmdir()
        return 0, []
    saved = []
    if kind != "folder":
        saved.append(write_clip(output, _frames(folder, finished, shape), clip.fps, clip))
    else:
        saved.append(folder)
    return finished, saved


def _interrupted(clip: Clip, folder: Path, output: Path, kind: str, shape: tuple[int, int]) -> Interrupted:
    finished, saved = _saved(clip, folder, output, kind, shape)
    last = Image.open(folder / _frame_name(finished)).convert("RGB") if finished else None
    return Interrupted(last, saved)


def _failed(error: ImpastoError, clip: Clip, folder: Path, output: Path, kind: str,
            shape: tuple[int, int]) -> ImpastoError:
    """``error`` (of its own class), saying where the frames done before it are kept."""
    finished, saved = _saved(clip, folder, output, kind, shape)
    if not finished:
        kept = "no frame was finished"
    elif kind == "folder":
        kept = f"the {finished} frame(s) done are in {display_path(folder)} (fix the input, then add --resume)"
    else:
        kept = (f"the {finished} frame(s) done are in {display_path(output)}, and in {display_path(folder)} for "
                f"--resume once the input is fixed")
    try:
        return type(error)(f"{error}; {kept}")
    except TypeError:  # an error class that takes more than its message
        return ImpastoError(f"{error}; {kept}")


def _warm_stylizer(content: Image.Image, styles: list[Image.Image], still: Options,
                   previous: tuple[Image.Image, torch.Tensor], style_weight: float, temporal_weight: float,
                   iterations: int, method: str, seed: int, network: VGGFeatures, style_cache) -> Stylizer:
    """A frame after the first: one scale at the output size, from the previous painted frame warped along
    the flow, with the temporal term where the flow is reliable."""
    previous_input, previous_painted = previous
    backward = optical_flow(content, previous_input, method)  # frame t -> t-1: where each pixel came from
    forward = optical_flow(previous_input, content, method)
    warped = warp(previous_painted, backward).clamp(0, 1)
    mask = reliable(backward, forward, content, previous_input)
    # Where the flow is not reliable (what a moving object uncovers, what it drags along) the warped frame
    # holds paint from somewhere else: start there from this frame's photo in the painted frames' colours.
    photo = match_colors(image_to_tensor(content), color_statistics(previous_painted)).clamp(0, 1)
    start = mask * warped + (1 - mask) * photo
    options = replace(still, stage_shapes=[(content.height, content.width)], iterations=[iterations],
                      lr_decay_every=[still.lr_decay_every[-1]], optimizer=still.stage_optimizers()[-1],
                      init="content", init_palette="content", style_balance=0.0, style_weight=style_weight,
                      style_octaves=1,
                      seed=seed, tile=None).validate()

    def temporal(stage, box) -> list[NamedTerm]:
        if not temporal_weight:
            return []
        return [NamedTerm("temporal", TemporalLoss(box.crop(warped), box.crop(mask), temporal_weight,
                                                   network.normalization))]

    return Stylizer(content, styles, options, network=network, init_image=tensor_to_image(start),
                    style_cache=style_cache, extra_terms=temporal)


def _describe(image: ImageLike) -> str:
    return str(Path(image).resolve()) if isinstance(image, (str, os.PathLike)) else "in memory"


def _frame_name(number: int) -> str:
    return f"frame_{number:06d}.png"


def _save_frame(image: Image.Image, folder: Path, number: int) -> None:
    atomic_write(folder / _frame_name(number), lambda file: image.save(file, format="PNG"))


def _count_frames(folder: Path) -> int:
    """Finished frames: frame_000001.png, frame_000002.png... without a gap."""
    count = 0
    while (folder / _frame_name(count + 1)).exists():
        count += 1
    return count


def _frames(folder: Path, count: int, shape: tuple[int, int]):
    """The painted frames, each at the clip's size (a frame of another size, left by an older version, is
    resized: the encoder never sees two sizes)."""
    for number in range(1, count + 1):
        with Image.open(folder / _frame_name(number)) as image:
            frame = image.convert("RGB")
        yield frame if frame.size == (shape[1], shape[0]) else frame.resize((shape[1], shape[0]),
                                                                            Image.Resampling.LANCZOS)


def _write_settings(folder: Path, settings: dict) -> None:
    text = json.dumps(settings, indent=1, default=str)
    atomic_write(folder / SETTINGS_FILE, lambda file: file.write(text.encode()))


def _prepare_folder(folder: Path, settings: dict, resume: bool) -> tuple[int, Optional[float]]:
    """Make the work folder, or check the one an earlier run left: (frames done, its style weight). With
    ``resume`` and nothing to resume, the clip starts from its first frame."""
    kind_now = path_kind(folder, "work folder", OutputError)
    if kind_now == "file":
        raise OutputError(f"work folder {display_path(folder)} is a file; move it away")
    done = _count_frames(folder) if kind_now == "dir" else 0
    saved_file = folder / SETTINGS_FILE
    if done and not saved_file.exists():
        raise OutputError(f"{display_path(folder)} already holds {done} frame(s) that no unfinished run left "
                          f"(a finished clip?): choose another output, or empty it")
    if done:
        if not resume:
            raise OutputError(f"{done} painted frame(s) from an earlier run are in {display_path(folder)}: "
                              f"add --resume to continue them, or delete that folder to start again")
        try:
            saved = json.loads(saved_file.read_text())
        except (OSError, ValueError):
            raise OutputError(f"cannot resume: {display_path(saved_file)} is damaged") from None
        differs = sorted(key for key in settings if saved.get(key) != json.loads(json.dumps(settings[key],
                                                                                         default=str)))
        if differs:
            raise OptionError(f"cannot resume: the frames in {display_path(folder)} were made with other "
                              f"settings ({', '.join(differs)} differ)")
        return done, saved.get("style_weight_used")
    folder.mkdir(exist_ok=True)
    _write_settings(folder, settings)
    return 0, None
