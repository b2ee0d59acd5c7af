"""``impasto video --model NAME.pt``: a clip painted at frame rate by a trained model.

Every frame goes through the feed-forward network once; there is no optical flow at inference: the same
photo always gives the same painting, so a still scene stays still. What keeps strokes from being redrawn as
the camera moves is the training: a model trained with the motion-stability term (``impasto train
--stability-weight``, ``impasto.engine.training.camera_motion``) paints a photo moved a few pixels as its
painting moved alike; the bundled models have it (``benchmarks/video.py`` measures the flicker against
``impasto video``; benchmarks/RESULTS.md, "Steady video"). Bolder strokes move more: ``mosaic-steady`` is the
mosaic model of before, lighter and steadier, for clips. The frames stream from the decoder
through the network into the encoder; the sound is kept. Ctrl-C ends the clip at the last painted frame,
which is written as a playable (shorter) clip.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterator, Optional

from PIL import Image

from ..config.checks import check_int
from ..engine.instant import InstantPainter
from ..errors import Interrupted, OptionError
from ..imaging.images import image_to_tensor, tensor_to_image
from ..imaging.video_io import open_clip, output_kind, write_clip
from .video import FrameProgress, VideoResult, check_not_among_inputs, check_output, frame_shape


def paint_video_with_model(input: str | os.PathLike, model: InstantPainter | str, output: str | os.PathLike, *,
                           size: int = 512, preserve_colors: Optional[str] = None, max_frames: Optional[int] = None,
                           device: str = "auto", precision: str = "auto",
                           callback: Optional[Callable[[FrameProgress], None]] = None) -> VideoResult:
    """Paint the clip ``input`` with ``model`` (an ``InstantPainter`` or a model file) into ``output``, each
    frame's long side ``size`` px; ``preserve_colors="luminance"`` keeps each frame's own colours."""
    if preserve_colors not in (None, "luminance"):
        raise OptionError("a video painted by a model keeps colours with preserve_colors='luminance' only")
    check_int("size", size)
    if max_frames is not None:
        check_int("max_frames", max_frames)
    painter = model if isinstance(model, InstantPainter) else InstantPainter(model, device, precision)
    output = Path(output)
    kind = output_kind(output)
    clip = open_clip(input)
    check_output(output, kind, (input,) if isinstance(model, InstantPainter) else (input, model))
    check_not_among_inputs(output, clip)
    shape = frame_shape(clip, size)
    total = min(clip.frames, max_frames) if max_frames else clip.frames
    seconds: list[float] = []
    interrupted = []
    start = time.perf_counter()

    def painted_frames() -> Iterator[Image.Image]:
        try:
            for index, frame in enumerate(clip.read()):
                if index >= total:
                    return
                began = time.perf_counter()
                rgb = image_to_tensor(frame, shape)
                image = tensor_to_image(painter.paint_tensor(rgb, preserve_colors=preserve_colors))
                seconds.append(time.perf_counter() - began)
                if callback is not None:
                    callback(FrameProgress(index + 1, total, seconds[-1], time.perf_counter() - start, 0))
                yield image
        except KeyboardInterrupt:
            # The encoder gets the frames painted so far as a whole clip.
            interrupted.append(True)

    written = write_clip(output, painted_frames(), clip.fps, clip if kind != "folder" else None)
    if interrupted:
        raise Interrupted(None, [written])
    return VideoResult(written, len(seconds), len(seconds), seconds)
