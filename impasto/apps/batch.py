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
import fnmatch
import glob
import json
import os
import signal
import socket
import tempfile
import time
import warnings
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from ..config.choices import INIT_KINDS
from ..errors import ImpastoError, ImpastoWarning, Interrupted, OptionError, OutputError, display_path
from ..files import path_kind, same_file

# The batch-wide option that names a trained model (impasto batch --model): the workers paint with it.
TRAINED_MODEL = "trained_model"
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
    warnings: list[str] = field(default_factory=list)  # impasto's own warnings while it ran, one line each


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
    jobs = [BatchJob(photo, group, out_dir / output_name(photo, group, suffix))
            for photo in photos for group in groups]
    check_not_among_inputs(out_dir, [*contents, *styles], jobs)
    return jobs


def check_not_among_inputs(out_dir: Path, sources: Sequence[str], jobs: Sequence[BatchJob]) -> None:
    """The output folder may not be a folder the photos or styles are read from, and no result may match a
    pattern they are read with: a rerun would take the batch's own results for new inputs."""
    for source in sources:
        if any(char in source for char in "*?["):
            folder, pattern = os.path.split(source)
            for job in jobs:
                if _matches(job.output, folder, pattern):
                    raise OptionError(f"output {display_path(job.output)} matches the input pattern "
                                      f"{display_path(source)}: a rerun would paint the results as new inputs; "
                                      f"choose another output folder with -o")
        elif Path(source).is_dir() and same_file(source, out_dir):
            raise OptionError(f"output folder {display_path(out_dir)} is the input folder {display_path(source)}: "
                              f"a rerun would paint the results as new inputs; choose another folder with -o")


def _matches(output: Path, folder: str, pattern: str) -> bool:
    if glob.has_magic(folder):
        return fnmatch.fnmatchcase(os.path.abspath(output), os.path.abspath(os.path.join(folder, pattern)))
    return fnmatch.fnmatchcase(output.name, pattern) and same_file(output.parent, folder or ".")


def _cell(value: str):
    """A CSV cell as a typed option value: numbers, JSON lists and booleans (a spreadsheet's TRUE and FALSE
    too); comma lists of numbers."""
    text = value.strip()
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
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


def _csv_rows(text: str, path: Path) -> list[dict]:
    """A CSV's rows as dicts of typed cells; the delimiter is the header's (a spreadsheet set to a language
    that writes decimal commas separates cells with ``;``); rows with no cell filled are left out."""
    header = text.lstrip().split("\n", 1)[0]
    delimiter = "," if "," in header else ";" if ";" in header else "\t" if "\t" in header else ","
    try:
        rows = [{key.strip(): _cell(value) for key, value in row.items()
                 if key and isinstance(value, str) and value.strip()}
                for row in csv.DictReader(text.splitlines(), delimiter=delimiter)]
    except csv.Error as error:
        raise OptionError(f"jobs file {display_path(path)} is not a readable CSV: {error}") from None
    return [row for row in rows if row]


def jobs_from_file(path: Path, out_dir: Path, suffix: str = ".png") -> list[BatchJob]:
    """Jobs from a CSV (a header row) or a JSON list of objects: ``content``, ``style`` (several separated by
    ``;`` in CSV, a list in JSON), optional ``output`` (a name inside the output folder) and any option by
    its Python name (``size``, ``style_weight``, ``preserve_colors``, ``preset``...). Relative image paths
    (photos, styles, an ``init`` image, a ``weights`` file) are taken from the jobs file's folder. A file
    with no job, or an output outside the output folder, is refused before anything is painted."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
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
        rows = _csv_rows(text, path)
    else:
        raise OptionError(f"jobs file {display_path(path)} must end in .csv or .json")
    if not rows:
        raise OptionError(f"jobs file {display_path(path)} holds no job (a CSV needs a header row and a row per "
                          f"job, a JSON file a list of objects)")
    jobs = []
    for number, row in enumerate(rows, start=1):
        row = {key: value for key, value in row.items() if value is not None}  # JSON null: not given
        content, style = row.pop("content", None), row.pop("style", row.pop("styles", None))
        if not content or not style:
            raise OptionError(f"job {number} in {display_path(path)} needs a content and a style")
        styles = style if isinstance(style, list) else [part.strip() for part in str(style).split(";")]
        styles = [str(_resolve(path.parent, str(item))) for item in styles if str(item).strip()]
        content = str(_resolve(path.parent, str(content)))
        if isinstance(row.get("init"), str) and row["init"] not in INIT_KINDS:
            row["init"] = str(_resolve(path.parent, row["init"]))
        if isinstance(row.get("weights"), str):
            row["weights"] = str(_resolve(path.parent, row["weights"]))
        output = row.pop("output", None)
        if output not in (None, ""):
            _check_output_name(str(output), number, path)
        target = out_dir / (str(output) if output not in (None, "") else output_name(content, styles, suffix))
        jobs.append(BatchJob(content, styles, target, row))
    return jobs


def _check_output_name(output: str, number: int, path: Path) -> None:
    """A jobs file names its outputs inside the output folder: no absolute path, no way up with ``..``."""
    if "\0" in output:
        raise OptionError(f"job {number} in {display_path(path)}: output {display_path(output)} contains a NUL "
                          f"character")
    name = Path(output)
    if name.is_absolute() or name.drive or ".." in name.parts or name.name in ("", "."):
        raise OptionError(f"job {number} in {display_path(path)}: output {display_path(output)} is outside the "
                          f"output folder; a jobs file names its outputs inside it (photo.png, sub/photo.png), "
                          f"and -o chooses the folder")


def _resolve(folder: Path, item: str) -> Path:
    path = Path(item).expanduser()
    return path if path.is_absolute() else folder / path


def _real(path) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _exists(path: Path) -> bool:
    """Whether a file is there; a path the system cannot even ask about is not (its job then fails on it)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def check_outputs(jobs: Sequence[BatchJob]) -> None:
    """Two jobs may not write one file, no job may write over an input of the batch (a photo or a style),
    and every output needs a format impasto writes."""
    inputs: dict[str, str] = {}
    for number, job in enumerate(jobs, start=1):
        for role, source in (("photo", job.content), *(("style", style) for style in job.styles)):
            inputs.setdefault(_real(source), f"job {number}'s {role}")
    seen: dict[str, int] = {}
    for number, job in enumerate(jobs, start=1):
        if job.output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise OptionError(f"job {number}'s output {display_path(job.output)} needs one of "
                              f"{', '.join(OUTPUT_SUFFIXES)}")
        key = _real(job.output)
        if key in inputs:
            raise OptionError(f"job {number}'s output {display_path(job.output)} is an input of the batch "
                              f"({inputs[key]}); give it another name")
        if key in seen:
            raise OptionError(f"jobs {seen[key]} and {number} would both write {display_path(job.output)}")
        seen[key] = number


def prepare_output_folder(folder: Path) -> None:
    """Make the output folder (and its parents) and check that files can be written in it, before any job
    runs: what the system says otherwise is an ``OutputError`` in one line."""
    kind = path_kind(folder, "output folder", OutputError)
    if kind not in ("dir", "missing"):
        raise OutputError(f"output folder {display_path(folder)} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=".impasto.", suffix=".probe", dir=folder):
            pass
    except OSError as error:
        raise OutputError(f"cannot write in the output folder {display_path(folder)} "
                          f"({error.strerror or error})") from None


# -- running ----------------------------------------------------------------------------------------------

class Worker:
    """What one process keeps between jobs: the networks (one per model and weights asked for, usually one)
    and a style cache per network."""

    def __init__(self, preset: str, options: dict, threads: int = 0,
                 setup: Optional[Callable[[], None]] = None):
        from ..config.options import resolve_options

        if setup is not None:
            setup()
        if threads:
            import torch

            torch.set_num_threads(threads)

        self.preset = preset
        # A trained model (impasto batch --model) paints every job in one pass; no VGG is loaded then.
        self.options = dict(options)
        trained_model = self.options.pop(TRAINED_MODEL, None)
        resolved = resolve_options(preset, **self.options)  # the batch-wide options are checked once, here
        self.networks: dict[tuple, tuple] = {}
        self.painter = None
        if trained_model is not None:
            from ..engine.instant import InstantPainter

            self.painter = InstantPainter(trained_model, resolved.device, resolved.precision)
        else:
            self._network(resolved.weights, resolved.model)

    def _network(self, weights: Optional[str], model: str) -> tuple:
        """The loaded network for ``weights`` and ``model`` and the style cache of its targets."""
        from ..engine import load_network

        key = (weights, model)
        if key not in self.networks:
            self.networks[key] = (load_network(weights, model), OrderedDict())
        return self.networks[key]

    @property
    def style_cache(self) -> OrderedDict:
        """The style cache of the batch-wide network."""
        return next(iter(self.networks.values()))[1]

    def run(self, job: BatchJob, callback: Optional[Callable] = None) -> JobResult:
        heard: list[str] = []
        with warnings.catch_warnings():
            # impasto's own warnings go back with the result (the command prints them, whichever process or
            # machine ran the job); others are shown as they were.
            warnings.simplefilter("always", ImpastoWarning)
            shown = warnings.showwarning

            def show(message, category, *rest):
                if issubclass(category, ImpastoWarning):
                    heard.append(str(message))
                else:
                    shown(message, category, *rest)

            warnings.showwarning = show
            result = self._run(job, callback)
        result.worker = f"{socket.gethostname()}:{os.getpid()}"
        result.warnings = heard
        return result

    def run_on_ray(self, job: BatchJob) -> JobResult:
        """``run`` in a Ray actor: ``ray.cancel`` of the job interrupts it (Ray only flags a regular actor's
        running task as cancelled; the flag is read after every iteration)."""
        import ray

        context = ray.get_runtime_context()

        def check(progress) -> None:  # noqa: ARG001 - stylize's callback signature
            if context.is_canceled():
                raise KeyboardInterrupt

        return self.run(job, check)

    def _culprit(self, preset: str, options: dict) -> Optional[str]:
        """``name = value: `` of the job's first option that cannot be taken alone, to name it in the message."""
        from ..config.options import resolve_options

        for name, value in options.items():
            if name == "preset":
                continue
            try:
                resolve_options(preset, **{**self.options, name: value})
            except (TypeError, ValueError):
                return f"{name} = {value!r}: "
            except ImpastoError:
                pass
        return None

    def _run(self, job: BatchJob, callback: Optional[Callable] = None) -> JobResult:
        from ..api import paint_with_model, stylize
        from ..config.options import resolve_options

        if _exists(job.output):
            return JobResult(job, "skipped", "exists")
        start = time.perf_counter()

        def failed(message: str) -> JobResult:
            return JobResult(job, "failed", message, time.perf_counter() - start)

        options = {**self.options, **job.options}
        preset = str(options.pop("preset", None) or self.preset)  # a jobs file's preset column
        running = job.output.with_name(f".{job.output.stem}.running{job.output.suffix}")
        try:
            resolved = resolve_options(preset, **options)
            job.output.parent.mkdir(parents=True, exist_ok=True)
            if self.painter is not None:
                paint_with_model(job.content, self.painter, output=running, size=resolved.size,
                                 preserve_colors=resolved.preserve_colors, tile=resolved.tile,
                                 max_input_pixels=resolved.max_input_pixels)
            else:
                network, style_cache = self._network(resolved.weights, resolved.model)
                stylize(job.content, job.styles, preset=preset, output=running, network=network,
                        style_cache=style_cache, callback=callback, **options)
            os.replace(running, job.output)
        except Interrupted:
            if running.exists():
                os.replace(running, job.partial)
            return JobResult(job, "interrupted", f"best image so far in {display_path(job.partial)}",
                             time.perf_counter() - start)
        except ImpastoError as error:
            running.unlink(missing_ok=True)
            return failed(str(error))
        except OSError as error:  # the output's folder cannot be made, the result cannot be renamed
            running.unlink(missing_ok=True)
            return failed(f"cannot write {display_path(job.output)} ({error.strerror or error})")
        except (TypeError, ValueError) as error:  # an option value (a jobs file's cell) stylize cannot take
            running.unlink(missing_ok=True)
            return failed(f"bad option: {self._culprit(preset, job.options) or ''}{_one_line(error)}")
        job.partial.unlink(missing_ok=True)  # a finished result replaces an earlier interrupted attempt
        return JobResult(job, "done", "", time.perf_counter() - start)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# -- worker processes and their signals ------------------------------------------------------------------
#
# Ctrl-C in a terminal reaches every process of the group; SIGTERM may reach only the main one, which then
# passes a SIGINT on to each worker. A worker turns the first of these into KeyboardInterrupt only while a
# job is painting (stylize then keeps the best image, saved as the job's .partial file); at any other time
# (starting up, loading the network, waiting for a job) it notes it and starts no further job. The workers
# are started with the two signals blocked, so that one arriving before their handler is in place waits for it.

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_SECONDS = 60.0  # how long the main process waits for interrupted workers to save their best images


class _Stop:
    asked = False  # a stop signal arrived: start no further job
    painting = False  # a job is running: the first stop signal interrupts it
    raised = False


def _stop_signal(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    _Stop.asked = True
    if _Stop.painting and not _Stop.raised:
        _Stop.raised = True
        raise KeyboardInterrupt


def _catch_stop_signals() -> None:
    """In a worker process: the stop signals handled as above, then let through any that were held."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


_worker: Optional[Worker] = None


def _start_worker(preset: str, options: dict, threads: int, setup: Optional[Callable[[], None]] = None) -> None:
    """A pool process: its share of the cores, its own network."""
    global _worker
    _catch_stop_signals()
    _worker = Worker(preset, options, threads, setup)


def _run_in_worker(job: BatchJob) -> Optional[JobResult]:
    """One job in a pool process; None when the batch was stopped before it began."""
    if _Stop.asked:
        return None
    _Stop.painting = True
    try:
        return _worker.run(job)
    except KeyboardInterrupt:
        return JobResult(job, "interrupted", "interrupted before it started")
    finally:
        _Stop.painting = False


def run_batch(jobs: Sequence[BatchJob], preset: str, options: dict, workers: int = 1,
              on_result: Optional[Callable[[JobResult], None]] = None,
              worker_setup: Optional[Callable[[], None]] = None) -> list[JobResult]:
    """Run ``jobs``: in this process (``workers`` 1) or in that many processes sharing the cores.

    ``worker_setup`` (a picklable function) is called first in each worker process (the command sets its
    warnings there). On Ctrl-C (KeyboardInterrupt here) every worker stops its job, keeping the best image
    as the job's ``.partial`` file, and the results so far are returned."""
    check_outputs(jobs)
    todo = [job for job in jobs if not _exists(job.output)]
    results = [JobResult(job, "skipped", "exists") for job in jobs if _exists(job.output)]
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
    return _run_in_processes(todo, preset, options, workers, results, on_result, worker_setup)


def _run_in_processes(todo: list[BatchJob], preset: str, options: dict, workers: int, results: list[JobResult],
                      on_result: Optional[Callable[[JobResult], None]],
                      worker_setup: Optional[Callable[[], None]]) -> list[JobResult]:
    threads = max(1, (os.cpu_count() or 1) // workers)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # inherited by the workers as they start
    try:
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                   initargs=(preset, options, threads, worker_setup))
        futures = {pool.submit(_run_in_worker, job): job for job in todo}
        processes = list(pool._processes.values())  # noqa: SLF001 - the workers, to pass a stop signal on
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def take(future: Future) -> None:
        try:
            result = future.result()
        except BaseException as error:  # noqa: BLE001 - a worker lost (killed, out of memory): its job failed
            result = JobResult(futures[future], "failed", f"worker lost: {_one_line(error)}")
        if result is None:  # stopped before it began: not reported, as a cancelled job
            return
        results.append(result)
        if on_result:
            on_result(result)

    pending: set = set(futures)
    stopped = False
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                take(future)
            if any(result.status == "interrupted" for result in results):
                for future in pending:
                    future.cancel()
    except KeyboardInterrupt:
        stopped = True
        _stop_workers(processes, pending, take)
        if not any(result.status == "interrupted" for result in results):
            results.append(JobResult(todo[0], "interrupted", "batch interrupted"))
    finally:
        manager = pool._executor_manager_thread  # noqa: SLF001 - joined last, so that its queues are released
        pool.shutdown(wait=not stopped, cancel_futures=True)
        for process in processes:
            process.join(timeout=10 if stopped else None)
            if process.is_alive():
                process.kill()
                process.join()
        if manager is not None:
            manager.join(timeout=10)
    return results


def _stop_workers(processes: list, pending: set, take: Callable[[Future], None]) -> None:
    """Pass the stop on to every worker (a terminal's Ctrl-C reached them too; a SIGTERM to this process did
    not), cancel the jobs not started and wait a while for the running ones to save their best images."""
    for process in processes:
        if process.is_alive() and process.pid:
            try:
                os.kill(process.pid, signal.SIGINT)
            except OSError:
                pass
    for future in pending:
        future.cancel()
    running = {future for future in pending if not future.cancelled()}
    try:
        wait(running, timeout=STOP_SECONDS)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the best images
        pass
    for future in running:
        if future.done():
            take(future)


def run_batch_on_ray(jobs: Sequence[BatchJob], preset: str, options: dict, address: Optional[str] = None,
                     workers: int = 0, on_result: Optional[Callable[[JobResult], None]] = None,
                     worker_setup: Optional[Callable[[], None]] = None) -> list[JobResult]:
    """Run ``jobs`` on a Ray cluster: one actor per worker holding the network and a style cache (Ray's
    pattern for batch inference), jobs handed to whichever actor is free.

    ``address`` None starts a local cluster on this machine's cores; otherwise it is passed to ``ray.init``
    (``auto``, ``HOST:PORT`` or ``ray://HOST:10001``). ``workers`` 0 gives one single-threaded actor per CPU
    of the cluster. Actors read the photos and write the results at the jobs' paths, so on several machines
    those paths must be on a shared file system; skip, resume and failure rules are those of ``run_batch``.
    On Ctrl-C each actor's running job is interrupted (``ray.cancel``, which raises KeyboardInterrupt in it)
    and keeps its best image as the ``.partial`` file.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    check_outputs(jobs)
    # Actors run in a folder of Ray's choosing: they get the paths as this process means them.
    jobs = [replace(job, content=os.path.abspath(job.content), styles=[os.path.abspath(style) for style in job.styles],
                    output=job.output.absolute()) for job in jobs]
    results = [JobResult(job, "skipped", "exists") for job in jobs if _exists(job.output)]
    for result in results:
        if on_result:
            on_result(result)
    todo = [job for job in jobs if not _exists(job.output)]
    if not todo:
        return results
    started_here = _start_ray(ray, address)
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = workers or cpus
        threads = max(1, cpus // count)
        actor_class = ray.remote(num_cpus=threads)(Worker)
        actors = [actor_class.remote(preset, options, threads, worker_setup) for _ in range(min(count, len(todo)))]
        _RayJobs(ray, todo, results, on_result).run(actors)
    finally:
        if started_here:
            ray.shutdown()
    return results


def _start_ray(ray, address: Optional[str]) -> bool:
    """Start or join a cluster unless this process already has one; True when started here. Ray puts its
    own signal handlers in (SIGTERM: the driver exits, nothing saved): ours are put back."""
    if ray.is_initialized():
        return False
    handlers = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    for sig, handler in handlers.items():
        if handler is not None:
            try:
                signal.signal(sig, handler)
            except ValueError:  # not the main thread: signals are not this thread's to handle
                pass
    return True


class _RayJobs:
    """Hands ``todo`` to Ray actors, one job each at a time, collecting ``results``; on Ctrl-C cancels the
    running jobs (each keeps its best image as its ``.partial`` file) and waits for them a while."""

    def __init__(self, ray, todo: list[BatchJob], results: list[JobResult],
                 on_result: Optional[Callable[[JobResult], None]]):
        self.ray, self.todo, self.results, self.on_result = ray, todo, results, on_result
        self.queue = list(reversed(todo))
        self.running: dict = {}  # the object reference of each running job: (job, actor)
        self.stopping = False

    def hand_out(self, actor) -> None:
        if self.queue:
            job = self.queue.pop()
            self.running[actor.run_on_ray.remote(job)] = (job, actor)

    def take(self, reference) -> None:
        from ray.exceptions import RayError

        job, actor = self.running.pop(reference)
        try:
            result = self.ray.get(reference)
        except RayError as error:  # a worker that died (out of memory, node lost), or a cancelled job
            if _exists(job.partial) and self.stopping:
                result = JobResult(job, "interrupted", f"best image so far in {display_path(job.partial)}")
            else:
                result = JobResult(job, "failed", f"worker lost: {_one_line(error)}")
        self.results.append(result)
        if self.on_result:
            self.on_result(result)
        if result.status != "interrupted":
            self.hand_out(actor)

    def run(self, actors: list) -> None:
        for actor in actors:
            self.hand_out(actor)
        try:
            while self.running:
                finished, _ = self.ray.wait(list(self.running), num_returns=1)
                self.take(finished[0])
                if any(result.status == "interrupted" for result in self.results):
                    self.queue.clear()
        except KeyboardInterrupt:
            self.stop()

    def stop(self) -> None:
        self.stopping = True
        self.queue.clear()
        for reference in self.running:
            try:
                self.ray.cancel(reference)  # KeyboardInterrupt in the actor's job: it saves its best image
            except Exception:  # noqa: BLE001 - already finished
                pass
        deadline = time.monotonic() + STOP_SECONDS
        try:
            while self.running and time.monotonic() < deadline:
                finished, _ = self.ray.wait(list(self.running), num_returns=1, timeout=deadline - time.monotonic())
                if finished:
                    self.take(finished[0])
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the best images
            pass
        if not any(result.status == "interrupted" for result in self.results):
            self.results.append(JobResult(self.todo[0], "interrupted", "batch interrupted"))


def summary(results: Iterable[JobResult]) -> dict[str, int]:
    counts = {"done": 0, "skipped": 0, "failed": 0, "interrupted": 0}
    for result in results:
        counts[result.status] += 1
    return counts


def summary_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in counts.items() if count or status != "interrupted")
