"""``impasto batch``: the command line over ``impasto.apps.batch`` (jobs, workers, Ray), with a progress bar
over the jobs and a one-line summary."""
from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..apps.batch import (TRAINED_MODEL, BatchJob, JobResult, check_outputs, jobs_from_file, jobs_from_images,
                          prepare_output_folder, run_batch, run_batch_on_ray, summary, summary_line)
from ..errors import ImpastoError, OptionError, display_path
from ..config.option_table import OUTPUT_FILE
from .common import (EXIT_ERROR, EXIT_INTERRUPTED, OneLineParser, add_options, add_run_options, one_line_warnings,
                     options_from_args, refuse_size_with_print, refuse_still_options)

MAX_WORKERS = 4096


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="impasto batch",
        description="Paint many photos: every photo x every style, or a CSV/JSON list of jobs. Existing "
                    "outputs are skipped, so rerunning an interrupted batch resumes it.")
    parser.add_argument("contents", nargs="*", metavar="CONTENT",
                        help="photos: files, folders or glob patterns ('photos/*.jpg')")
    parser.add_argument("-s", "--style", dest="styles", action="append", default=[], metavar="STYLE",
                        help="a style image, folder or pattern (repeat for more styles)")
    parser.add_argument("--model", dest="trained_model", metavar="NAME.pt",
                        help="paint every photo in one pass with a model trained by impasto train, instead of "
                             "--style (--size, --preserve-colors, --tile, --device apply)")
    parser.add_argument("--jobs", type=Path, help="a .csv or .json list of jobs (columns/keys: content, style, "
                                                  "output, and any option by its Python name)")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, help="folder for the results")
    parser.add_argument("--format", default="png", choices=["png", "jpg", "webp", "tif"],
                        help="output format (--bit-depth 16: png or tif)")
    parser.add_argument("--blend-styles", action="store_true",
                        help="paint each photo once with all the styles blended (default: once per style)")
    parser.add_argument("--workers", type=int,
                        help="processes, each with its own network and an equal share of the cores (default 1; "
                             "with --ray: actors, default one per CPU of the cluster)")
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run the jobs on a Ray cluster (pip install 'impasto[ray]'): --ray alone starts one on "
                             "this machine; --ray auto / HOST:PORT / ray://HOST:10001 joins a running one "
                             "(--workers: actors; default one per CPU)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_run_options(parser)
    add_options(parser, (OUTPUT_FILE,))
    return parser


def _check_usage(parser: OneLineParser, args: argparse.Namespace) -> None:
    """What argparse cannot say alone: the combinations of arguments a batch refuses (exits 2)."""
    refuse_size_with_print(parser, args)
    if args.bit_depth == 16 and args.format not in ("png", "tif"):
        parser.error(f"--bit-depth 16 needs --format png or tif ({args.format} holds 8 bits per channel)")
    if args.style_masks:
        parser.error("style masks belong to one photo each: they cannot be given for a whole batch")
    if args.trained_model is not None:
        if args.jobs or args.styles:
            parser.error("--model paints photos in the model's style: give photos, and no --style or --jobs")
        if not args.contents:
            parser.error("give the photos to paint with --model")
        refuse_still_options(parser, args, ("blend_styles",))
        return
    if args.jobs and (args.contents or args.styles):
        parser.error("give either --jobs or photos with --style, not both")
    if not args.jobs and (not args.contents or not args.styles):
        parser.error("give photos and at least one --style (or --jobs FILE)")
    if args.workers is not None and not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"workers must be from 1 to {MAX_WORKERS:,}, got {args.workers}")


def _jobs(args: argparse.Namespace) -> list[BatchJob]:
    """The jobs the arguments name, checked before any runs (an OptionError otherwise)."""
    suffix = f".{args.format}"
    jobs = (jobs_from_file(args.jobs, args.output_dir, suffix) if args.jobs
            else jobs_from_images(args.contents, [args.trained_model] if args.trained_model else args.styles,
                                  args.output_dir, suffix, args.blend_styles))
    check_outputs(jobs)
    prepare_output_folder(args.output_dir)  # made now: a folder that cannot be is one line, before any job
    return jobs


def _run(args: argparse.Namespace, jobs: list[BatchJob], options: dict,
         report: Callable[[JobResult], None]) -> list[JobResult]:
    """Run the jobs here or on Ray; ``report`` hears of each result as it comes."""
    setup = functools.partial(one_line_warnings, "impasto")  # in each worker process or actor too
    if args.ray:
        try:
            import ray  # noqa: F401 - only checking that it is there
        except ImportError:
            raise OptionError("--ray needs Ray: pip install 'impasto[ray]'") from None
        address = None if args.ray == "local" else args.ray
        return run_batch_on_ray(jobs, args.preset, options, address, args.workers or 0, on_result=report,
                                worker_setup=setup)
    return run_batch(jobs, args.preset, options, args.workers or 1, on_result=report, worker_setup=setup)


def main(argv: Sequence[str] | None = None) -> int:
    """``impasto batch CONTENT... -s STYLE... -o FOLDER [options]`` or ``impasto batch --jobs FILE -o FOLDER``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_usage(parser, args)
    options = options_from_args(args)
    if args.trained_model is not None:
        options[TRAINED_MODEL] = args.trained_model
    one_line_warnings("impasto")
    try:
        jobs = _jobs(args)
    except ImpastoError as error:
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_ERROR

    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="job", file=sys.stderr, disable=True if args.quiet else None,
               dynamic_ncols=True)
    seen: list[JobResult] = []

    def report(result: JobResult) -> None:
        seen.append(result)
        for warning in result.warnings:
            bar.write(f"impasto: warning: {display_path(result.job.output.name)}: {warning}", file=sys.stderr)
        if result.status in ("failed", "interrupted"):
            bar.write(f"impasto: {result.status}: {display_path(result.job.output.name)}: {result.message}",
                      file=sys.stderr)
        bar.update(1)
        bar.set_postfix_str(summary_line(summary(seen)), refresh=False)

    try:
        results = _run(args, jobs, options, report)
    except KeyboardInterrupt:
        results = seen + [JobResult(jobs[0], "interrupted", "batch interrupted")]
    except ImpastoError as error:
        bar.close()
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_ERROR
    bar.close()
    counts = summary(results)
    print(f"impasto batch: {summary_line(counts)}", file=sys.stderr)
    if counts["interrupted"]:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if counts["failed"] else 0
