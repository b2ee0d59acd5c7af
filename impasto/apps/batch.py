"""``impasto batch``: many paintings in one go, resumable, with one loaded network per worker.

Jobs come from folders or globs of photos crossed with one or more styles, or from a CSV / JSON list with
per-job options. Each job calls ``impasto.stylize`` (no algorithm here) with the worker's network and a
style cache shared by the worker's jobs, so a painting's targets are computed once per size. A job writes
its result under a temporary name and renames it when it is finished, so an existing output is always a
finished one: a rerun skips it, which is how an interrupted batch resumes. A job that fails is logged with
its one-line reason and the batch goes on; the summary counts done, skipped and failed jobs. The command's
parser and progress bar are ``impasto.cli.batch``.
"""
from __future__ import annotations

import csv
import glob
import json
import os
import socket
import time
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from ..errors import ImpastoError, Interrupted, OptionError, display_path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp")
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


@dataclass
class BatchJob:
    """One painting: a photo, its style image(s), where the result goes, and options of its own."""

    content: str
    styles: list[str]
    output: Path
    options: dict = field(default_factory=dict)

    @property
    def partial(self) -> Path:
        """Where an interrupted job leaves its best image (never taken for a finished output)."""
        return self.output.with_name(f"{self.output.stem}.partial{self.output.suffix}")


@dataclass
class JobResult:
    job: BatchJob
    status: str  # "done", "skipped", "failed" or "interrupted"
    message: str = ""
    seconds: float = 0.0
    worker: str = ""  # host:pid of the process that ran it


def expand_images(sources: Sequence[str], role: str) -> list[str]:
    """Image files from files, folders (their images, sorted, not recursive) and glob patterns."""
    found: list[str] = []
    for source in sources:
        path = Path(source)
        if any(char in source for char in "*?["):
            matches = sorted(match for match in glob.glob(source) if Path(match).suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise OptionError(f"{role} pattern {display_path(source)} matches no image")
            found += matches
        elif path.is_dir():
            images = sorted(str(child) for child in path.iterdir()
                            if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise OptionError(f"{role} folder {display_path(source)} holds no image")
            found += images
        else:
            found.append(source)  # a file (a missing one fails as its own job, with its own reason)
    return found


def output_name(content: str, styles: Sequence[str], suffix: str = ".png") -> str:
    """``photo__painting.png``; several styles blended in one job: ``photo__first+second.png``."""
    return f"{Path(content).stem}__{'+'.join(Path(style).stem for style in styles)}{suffix}"


def jobs_from_images(contents: Sequence[str], styles: Sequence[str], out_dir: Path, suffix: str = ".png",
                     blend: bool = False) -> list[BatchJob]:
    """Every photo times every style (or, with ``blend``, every photo with all the styles at once)."""
    photos, paintings = expand_images(contents, "content"), expand_images(styles, "style")
    groups = [paintings] if blend else [[painting] for painting in paintings]
    return [BatchJob(photo, group, out_dir / output_name(photo, group, suffix))
            for photo in photos for group in groups]


def _cell(value: str):
    """A CSV cell as a typed option value: numbers, JSON lists and booleans; comma lists of numbers."""
    text = value.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    parts = [part.strip() for part in text.split(",")]
    if len(parts) > 1:
        try:
            return [json.loads(part) for part in parts]
        except ValueError:
            pass
    return text


def jobs_from_file(path: Path, out_dir: Path, suffix: str = ".png") -> list[BatchJob]:
    """Jobs from a CSV (a header row) or a JSON list of objects: ``content``, ``style`` (several separated by
    ``;`` in CSV, a list in JSON), optional ``output`` (relative to the output folder) and any option by its
    Python name (``size``, ``style_weight``, ``preserve_colors``...). Relative image paths are taken from the
    jobs file's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OptionError(f"cannot read the jobs file {display_path(path)}: {error}") from None
    if path.suffix.lower() == ".json":
        try:
            rows = json.loads(text)
        except ValueError as error:
            raise OptionError(f"jobs file {display_path(path)} is not valid JSON: {error}") from None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise OptionError(f"jobs file {display_path(path)} must hold a list of objects")
    elif path.suffix.lower() == ".csv":
        rows = [{key.strip(): _cell(value) for key, value in row.items() if key and value not in (None, "")}
                for row in csv.DictReader(text.splitlines())]
    else:
        raise OptionError(f"jobs file {display_path(path)} must end in .csv or .json")
    jobs = []
    for number, row in enumerate(rows, start=1):
        row = dict(row)
        content, style = row.pop("content", None), row.pop("style", row.pop("styles", None))
        if not content or not style:
            raise OptionError(f"job {number} in {display_path(path)} needs a content and a style")
        styles = style if isinstance(style, list) else [part.strip() for part in str(style).split(";")]
        styles = [str(_resolve(path.parent, item)) for item in styles]
        content = str(_resolve(path.parent, str(content)))
        output = row.pop("output", None)
        target = out_dir / (str(output) if output else output_name(content, styles, suffix))
        jobs.append(BatchJob(content, styles, target, row))
    return jobs


def _resolve(folder: Path, item: str) -> Path:
    path = Path(item).expanduser()
    return path if path.is_absolute() else folder / path


def check_outputs(jobs: Sequence[BatchJob]) -> None:
    """Two jobs may not write one file, and every output needs a format impasto writes."""
    seen: dict[Path, int] = {}
    for number, job in enumerate(jobs, start=1):
        if job.output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise OptionError(f"job {number}'s output {display_path(job.output)} needs one of "
                              f"{', '.join(OUTPUT_SUFFIXES)}")
        key = job.output.resolve()
        if key in seen:
            raise OptionError(f"jobs {seen[key]} and {number} would both write {display_path(job.output)}")
        seen[key] = number


# -- running ----------------------------------------------------------------------------------------------

class Worker:
    """What one process keeps between jobs: the network and the style cache."""

    def __init__(self, preset: str, options: dict, threads: int = 0):
        from ..engine import load_network
        from ..config.options import resolve_options

        if threads:
            import torch

            torch.set_num_threads(threads)

        self.preset = preset
        self.options = options
        resolved = resolve_options(preset, **options)  # the batch-wide options are checked once, here
        self.network = load_network(resolved.weights, resolved.model)
        self.style_cache: OrderedDict = OrderedDict()

    def run(self, job: BatchJob) -> JobResult:
        result = self._run(job)
        result.worker = f"{socket.gethostname()}:{os.getpid()}"
        return result

    def _run(self, job: BatchJob) -> JobResult:
        from ..api import stylize

        if job.output.exists():
            return JobResult(job, "skipped", "exists")
        job.output.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        running = job.output.with_name(f".{job.output.stem}.running{job.output.suffix}")
        try:
            stylize(job.content, job.styles, preset=self.preset, output=running, network=self.network,
                    style_cache=self.style_cache, **{**self.options, **job.options})
            os.replace(running, job.output)
        except Interrupted:
            if running.exists():
                os.replace(running, job.partial)
            return JobResult(job, "interrupted", f"best image so far in {display_path(job.partial)}",
                             time.perf_counter() - start)
        except ImpastoError as error:
            running.unlink(missing_ok=True)
            return JobResult(job, "failed", str(error), time.perf_counter() - start)
        except TypeError as error:  # an option name stylize does not know
            running.unlink(missing_ok=True)
            return JobResult(job, "failed", f"bad option: {error}", time.perf_counter() - start)
        job.partial.unlink(missing_ok=True)  # a finished result replaces an earlier interrupted attempt
        return JobResult(job, "done", "", time.perf_counter() - start)


_worker: Optional[Worker] = None


def _start_worker(preset: str, options: dict, threads: int) -> None:
    """A pool process: its share of the cores, its own network."""
    global _worker
    _worker = Worker(preset, options, threads)


def _run_in_worker(job: BatchJob) -> JobResult:
    try:
        return _worker.run(job)
    except KeyboardInterrupt:
        return JobResult(job, "interrupted", "interrupted before it started")


def run_batch(jobs: Sequence[BatchJob], preset: str, options: dict, workers: int = 1,
              on_result: Optional[Callable[[JobResult], None]] = None) -> list[JobResult]:
    """Run ``jobs``: in this process (``workers`` 1) or in that many processes sharing the cores."""
    check_outputs(jobs)
    todo = [job for job in jobs if not job.output.exists()]
    results = [JobResult(job, "skipped", "exists") for job in jobs if job.output.exists()]
    for result in results:
        if on_result:
            on_result(result)
    if not todo:
        return results
    if workers <= 1:
        worker = Worker(preset, options)
        for job in todo:
            result = worker.run(job)
            results.append(result)
            if on_result:
                on_result(result)
            if result.status == "interrupted":
                break
        return results
    threads = max(1, (os.cpu_count() or 1) // workers)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                             initargs=(preset, options, threads)) as pool:
        pending = {pool.submit(_run_in_worker, job) for job in todo}
        interrupted = False
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    result = future.result()
                    results.append(result)
                    interrupted |= result.status == "interrupted"
                    if on_result:
                        on_result(result)
                if interrupted:
                    for future in pending:
                        future.cancel()
        except KeyboardInterrupt:
            # The workers got the same Ctrl-C: each saves its job's best image as a .partial file.
            for future in pending:
                future.cancel()
            for future in pending:
                if not future.cancelled():
                    try:
                        results.append(future.result())
                    except Exception:  # noqa: BLE001 - a worker torn down by the interrupt: nothing to add
                        pass
            results.append(JobResult(todo[0], "interrupted", "batch interrupted"))
    return results


def run_batch_on_ray(jobs: Sequence[BatchJob], preset: str, options: dict, address: Optional[str] = None,
                     workers: int = 0, on_result: Optional[Callable[[JobResult], None]] = None) -> list[JobResult]:
    """Run ``jobs`` on a Ray cluster: one actor per worker holding the network and a style cache (Ray's
    pattern for batch inference), jobs handed to whichever actor is free.

    ``address`` None starts a local cluster on this machine's cores; otherwise it is passed to ``ray.init``
    (``auto``, ``HOST:PORT`` or ``ray://HOST:10001``). ``workers`` 0 gives one single-threaded actor per CPU
    of the cluster. Actors read the photos and write the results at the jobs' paths, so on several machines
    those paths must be on a shared file system; skip, resume and failure rules are those of ``run_batch``.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.exceptions import RayError
    from ray.util import ActorPool

    check_outputs(jobs)
    results = [JobResult(job, "skipped", "exists") for job in jobs if job.output.exists()]
    for result in results:
        if on_result:
            on_result(result)
    todo = [job for job in jobs if not job.output.exists()]
    if not todo:
        return results
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = workers or cpus
        threads = max(1, cpus // count)
        actor_class = ray.remote(num_cpus=threads)(Worker)
        actors = [actor_class.remote(preset, options, threads) for _ in range(min(count, len(todo)))]
        pool = ActorPool(actors)
        for job in todo:
            pool.submit(lambda actor, job: actor.run.remote(job), job)
        for job in todo:
            try:
                result = pool.get_next_unordered()
            except RayError as error:  # a worker that died (out of memory, node lost): that job failed
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                result = JobResult(job, "failed", f"worker lost: {first_line}")
            results.append(result)
            if on_result:
                on_result(result)
    finally:
        if started_here:
            ray.shutdown()
    return results


def summary(results: Iterable[JobResult]) -> dict[str, int]:
    counts = {"done": 0, "skipped": 0, "failed": 0, "interrupted": 0}
    for result in results:
        counts[result.status] += 1
    return counts


def summary_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in counts.items() if count or status != "interrupted")
