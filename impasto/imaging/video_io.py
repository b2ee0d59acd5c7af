"""Reading and writing clips: video files through PyAV (its wheel carries FFmpeg), or folders of frames.

Inputs: anything FFmpeg decodes (MP4/H.264, MOV, WebM, MKV, AVI, GIF...) or a folder of numbered images.
Outputs, by the name: .mp4 / .mov / .mkv (H.264), .webm (VP9), .gif, or a folder (numbered PNG frames).
The frame rate is kept, and the input's audio track is carried over into containers that take one
(re-encoded to AAC, or Opus for WebM), cut at the end of the frames written. Files are written atomically.
"""
from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Optional

from PIL import Image

from ..errors import ImageInputError, OptionError, OutputError, display_path
from ..files import atomic_write, path_kind
from .images import load_image

# suffix: (FFmpeg container, video codec, pixel format, audio codec or None)
VIDEO_FORMATS = {
    ".mp4": ("mp4", "libx264", "yuv420p", "aac"),
    ".mov": ("mov", "libx264", "yuv420p", "aac"),
    ".mkv": ("matroska", "libx264", "yuv420p", "aac"),
    ".webm": ("webm", "libvpx-vp9", "yuv420p", "libopus"),
    ".gif": ("gif", None, None, None),  # written by Pillow: an adaptive palette per frame, no sound
}
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FOLDER_FPS = Fraction(25)  # a folder of frames has no rate of its own


def _av():
    try:
        import av
    except ImportError:
        raise OptionError("video needs PyAV: pip install 'impasto[video]'") from None
    return av


@dataclass
class Clip:
    """An input clip: where it is, its frame count, rate and size, and whether it has sound."""

    path: Path
    frames: int
    fps: Fraction
    size: tuple[int, int]  # (width, height)
    has_audio: bool
    folder_frames: Optional[list[Path]] = None  # a folder's images, in order
    # A folder's frames whose size is not the first one's: (how many, the first of them, its size)
    other_sizes: tuple[int, Optional[Path], Optional[tuple[int, int]]] = (0, None, None)

    def read(self, start: int = 0) -> Iterator[Image.Image]:
        """The frames as RGB images, from frame ``start`` (0-based). A frame that cannot be decoded (a
        damaged or cut-off file, a frame file that is not an image) is an ``ImageInputError`` naming it."""
        if self.folder_frames is not None:
            for number, path in enumerate(self.folder_frames[start:], start=start + 1):
                yield load_image(path, f"input frame {number}")
            return
        av = _av()
        index = -1
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for index, frame in enumerate(container.decode(stream)):
                    if index >= start:
                        yield frame.to_image().convert("RGB")
        except av.error.FFmpegError as error:
            where = f"past its frame {index + 1}" if index >= 0 else "from its first frame"
            raise ImageInputError(f"input video {display_path(self.path)} is damaged or cut off: FFmpeg cannot "
                                  f"decode it {where} ({error.strerror or type(error).__name__})") from None


def _numbered(paths: Iterable[Path]) -> list[Path]:
    """Image files in the order of the (last) number in their names: frame2 before frame10."""
    def key(path: Path):
        numbers = re.findall(r"\d+", path.stem)
        return (int(numbers[-1]) if numbers else -1, path.name)
    return sorted(paths, key=key)


def open_clip(path: str | os.PathLike) -> Clip:
    """Probe an input clip; a clear one-line error when it is missing, not a video, or has no frames."""
    path = Path(path)
    kind = path_kind(path, "input video", ImageInputError)
    if kind == "missing":
        raise ImageInputError(f"input video {display_path(path)} does not exist")
    if kind == "dir":
        frames = _numbered(p for p in path.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file())
        if not frames:
            raise ImageInputError(f"input folder {display_path(path)} has no image frames "
                                  f"({', '.join(FRAME_SUFFIXES)})")
        sizes = [_frame_size(frame, number) for number, frame in enumerate(frames, start=1)]
        others = [(frame, size) for frame, size in zip(frames, sizes) if size != sizes[0]]
        other_sizes = (len(others), *others[0]) if others else (0, None, None)
        return Clip(path, len(frames), FOLDER_FPS, sizes[0], False, frames, other_sizes)
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ImageInputError(f"input video {display_path(path)} has no video stream")
            stream = container.streams.video[0]
            has_audio = bool(container.streams.audio)
            fps = Fraction(stream.average_rate or stream.guessed_rate or FOLDER_FPS)
            # Count by demuxing (no decoding): containers such as WebM and GIF do not store the count.
            frames = sum(1 for packet in container.demux(stream) if packet.size)
            size = (stream.codec_context.width, stream.codec_context.height)
    except ImageInputError:
        raise
    except av.error.FFmpegError as error:
        raise ImageInputError(f"input video {display_path(path)} cannot be read as a video "
                              f"({error.strerror or type(error).__name__})") from None
    if frames == 0 or not all(size):
        raise ImageInputError(f"input video {display_path(path)} has no frames")
    return Clip(path, frames, fps, size, has_audio)


def _frame_size(path: Path, number: int) -> tuple[int, int]:
    """The size in a frame file's header (nothing decoded): a file that is not an image is refused before
    any frame is painted."""
    try:
        with Image.open(path) as image:
            return image.size
    except Image.DecompressionBombError:
        raise ImageInputError(f"input frame {number} {display_path(path)} is larger than Pillow's pixel limit "
                              f"(a guard against decompression bombs)") from None
    except PermissionError:
        raise ImageInputError(f"input frame {number} {display_path(path)} cannot be read (permission denied)"
                              ) from None
    except (OSError, SyntaxError, ValueError):
        raise ImageInputError(f"input frame {number} {display_path(path)} is not an image Pillow can read") from None


def output_kind(path: str | os.PathLike) -> str:
    """``"folder"`` for a path without a suffix (or an existing folder), else the video suffix; others refused."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        return "folder"
    suffix = path.suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise OutputError(f"cannot tell the video format of {display_path(path)}: use one of "
                          f"{', '.join(VIDEO_FORMATS)}, or a folder for numbered PNG frames")
    return suffix


def write_clip(path: str | os.PathLike, frames: Iterable[Image.Image], fps: Fraction,
               audio_from: Optional[Clip] = None) -> Path:
    """Encode ``frames`` (RGB images of one even size) at ``fps`` into ``path``, atomically; with
    ``audio_from``, its sound track up to the last frame's end. A folder gets frame_000001.png..."""
    path = Path(path)
    kind = output_kind(path)
    if kind == "folder":
        path.mkdir(exist_ok=True)
        for count, frame in enumerate(frames, start=1):
            atomic_write(path / f"frame_{count:06d}.png", lambda file, frame=frame: frame.save(file, format="PNG"))
        return path
    av = _av()
    codec = VIDEO_FORMATS[kind][1]
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise OutputError(f"no frames to write into {display_path(path)}")
    width, height = first.size
    if codec is not None and (width % 2 or height % 2):
        raise OutputError(f"{codec} needs even frame sizes, got {width}x{height}: make the frames' width and "
                          f"height even before writing {display_path(path)}")
    sized = _of_one_size(itertools.chain([first], frames), first.size, path)
    if kind == ".gif":
        next(sized)  # the first frame, saved as the GIF's own
        # GIF counts time in hundredths of a second: the nearest frame duration to 1/fps.
        duration = max(20, round(100 / fps) * 10)
        return atomic_write(path, lambda file: first.save(file, format="GIF", save_all=True, append_images=sized,
                                                           duration=duration, loop=0))
    return atomic_write(path, lambda file: _encode(av, file, kind, sized, first.size, fps, audio_from))


def _of_one_size(frames: Iterable[Image.Image], size: tuple[int, int], path: Path) -> Iterator[Image.Image]:
    """``frames`` as they come; an ``OutputError`` at the first one whose size is not ``size``."""
    for number, frame in enumerate(frames, start=1):
        if frame.size != size:
            raise OutputError(f"frame {number} is {frame.size[0]}x{frame.size[1]}, not {size[0]}x{size[1]} like "
                              f"the first: the frames of a clip have one size ({display_path(path)} not written)")
        yield frame


def _encode(av, file, kind: str, frames: Iterable[Image.Image], size: tuple[int, int], fps: Fraction,
            audio_from: Optional[Clip]) -> None:
    """The frames (and ``audio_from``'s sound) encoded into ``file`` in ``kind``'s container and codecs."""
    container_format, codec, pixel_format, audio_codec = VIDEO_FORMATS[kind]
    with av.open(file, "w", format=container_format) as output:
        # Every stream is added before the first packet: the container's header is written then.
        video = output.add_stream(codec, rate=fps)
        video.width, video.height = size
        video.pix_fmt = pixel_format
        if codec == "libx264":
            video.options = {"crf": "18", "preset": "medium"}  # visually lossless for stills
        elif codec == "libvpx-vp9":
            video.options = {"crf": "30", "b": "0", "deadline": "good", "cpu-used": "4"}
        sound = _audio_stream(av, audio_from, output, audio_codec) \
            if audio_from is not None and audio_from.has_audio and audio_codec is not None else None
        written = 0
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_image(frame)):
                output.mux(packet)
            written += 1
        for packet in video.encode():
            output.mux(packet)
        if sound is not None:
            _copy_audio(av, audio_from.path, output, sound, written / fps)


def _audio_stream(av, clip: Clip, output, codec: str):
    """An audio stream in ``output`` for ``clip``'s first track: its rate (one Opus takes) and layout."""
    with av.open(str(clip.path)) as container:
        context = container.streams.audio[0].codec_context
        rate = context.sample_rate or 48000
        layout = context.layout.name if context.layout else "stereo"
    if codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
        rate = 48000  # Opus takes only these rates
    audio = output.add_stream(codec, rate=rate)
    audio.layout = layout
    return audio


def _copy_audio(av, source: Path, output, audio, seconds: Fraction) -> None:
    """Re-encode the first audio track of ``source`` into ``audio`` (a stream of ``output``), up to
    ``seconds``."""
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        rate = audio.codec_context.sample_rate
        resampler = av.AudioResampler(format=audio.codec_context.format.name,
                                      layout=audio.codec_context.layout.name, rate=rate)
        limit = int(seconds * rate)
        done = 0
        for frame in container.decode(stream):
            for converted in resampler.resample(frame):
                if done >= limit:
                    break
                converted.pts = None
                done += converted.samples
                for packet in audio.encode(converted):
                    output.mux(packet)
        for packet in audio.encode():
            output.mux(packet)
