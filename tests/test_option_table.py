"""The option table (impasto.config.option_table) and the command lines generated from it: every setting has its
flag, choices and ranges come from config, and the commands still offer what they offered."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import fields

import pytest

from impasto.cli.common import add_run_options
from impasto.cli.main import build_parser
from impasto.config import choices
from impasto.config.layers import MODELS
from impasto.config.limits import DEFAULT_MAX_INPUT_PIXELS, FLOAT_RANGES, INT_RANGES
from impasto.config.option_table import FIELDS_WITHOUT_FLAG, OPTION_TABLE, RUN_GROUPS, Kind, spec_named
from impasto.config.options import Options, resolve_options
from impasto.config.presets import PRESETS, QUALITY_LEVELS
from impasto.errors import OptionError

# ``impasto --help``'s flags at f612f12, before the parser was generated from the table; since then the VGG
# architecture's flag is --network, --model names a trained model (impasto train), and --normalize-gradients is new.
FLAGS_BEFORE = [
    "-h", "--help", "--demo", "-o", "--output", "--model", "--preset", "--quality", "--size", "--scales", "--min-size",
    "--iterations", "--iterations-aspect", "--style-size", "--style-shape", "--style-scale", "--max-input-pixels",
    "--style-octaves",
    "--style-blend", "--tile", "--tile-overlap", "--preserve-colors", "--style-mask", "--protect", "--network",
    "--weights",
    "--pooling", "--content-layers", "--style-layers", "--content-weight", "--style-weight", "--style-balance",
    "--tv-weight", "--normalize-gradients", "--no-normalize-gradients", "--content-loss", "--style-norm",
    "--style-loss", "--tv-kind", "--tv-beta", "--init",
    "--init-palette", "--seed", "--optimizer", "--line-search", "--lbfgs-restart", "--lbfgs-history", "--lr",
    "--lr-decay", "--lr-decay-every", "--clamp-pixels", "--no-clamp-pixels", "--stage-handoff", "--resample",
    "--loss-units", "--device", "--precision", "--bit-depth", "--keep-profile", "--keep-gps", "--print", "--dpi",
    "--plot", "--history", "--log-every", "--side-by-side", "--save-every",
    "--snapshots", "--timelapse", "--timelapse-every", "-q", "--quiet", "--version",
]


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "impasto", *args], capture_output=True, text=True, timeout=120)


def actions_by_flag(parser) -> dict:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def test_every_options_field_has_a_flag_or_a_reason_not_to():
    flagged = {spec.name for spec in OPTION_TABLE}
    field_names = {field.name for field in fields(Options)}
    assert field_names - flagged == set(FIELDS_WITHOUT_FLAG)
    assert not flagged & set(FIELDS_WITHOUT_FLAG)
    assert all(reason.strip() for reason in FIELDS_WITHOUT_FLAG.values())
    # The table's rows are unique in flag and in destination.
    assert len({spec.flag for spec in OPTION_TABLE}) == len({spec.name for spec in OPTION_TABLE}) == len(OPTION_TABLE)


def test_every_ranged_row_has_its_range_in_limits_and_every_choice_row_has_choices():
    for spec in OPTION_TABLE:
        if spec.kind in (Kind.INT, Kind.INT_LIST):
            assert spec.name in INT_RANGES, spec
        if spec.kind is Kind.BOUNDED_NUMBER:
            assert spec.name in FLOAT_RANGES, spec
        assert bool(spec.choices) == (spec.kind is Kind.CHOICE), spec


@pytest.mark.parametrize("flag, expected", [
    ("--style-loss", choices.STYLE_STATISTICS), ("--resample", choices.RESAMPLE_FILTERS),
    ("--device", choices.DEVICES), ("--precision", choices.PRECISIONS),
    ("--style-norm", choices.STYLE_NORMALIZATION_CHOICES),
    ("--content-loss", choices.CONTENT_REDUCTIONS), ("--preserve-colors", choices.PRESERVE_COLORS),
    ("--network", MODELS), ("--preset", tuple(PRESETS)), ("--quality", tuple(QUALITY_LEVELS)),
])
def test_the_generated_parser_offers_the_config_choices(flag, expected):
    parser = build_parser()
    assert tuple(actions_by_flag(parser)[flag].choices) == expected


def test_the_run_options_are_the_same_for_every_command_that_paints():
    import argparse

    parser = argparse.ArgumentParser()
    add_run_options(parser)
    generated = {flag: action.dest for flag, action in actions_by_flag(parser).items() if flag not in ("-h", "--help")}
    assert generated == {flag: spec.name for spec in OPTION_TABLE if spec.group in RUN_GROUPS
                         for flag in ([spec.flag, f"--no-{spec.flag[2:]}"] if spec.kind is Kind.TOGGLE
                                      else [spec.flag])}
    assert generated["--content-loss"] == "content_reduction" and generated["--style-mask"] == "style_masks"


def test_help_texts_render_ranges_and_the_pillow_default_from_limits():
    assert spec_named("size").help_text == "output long side in pixels (aspect ratio kept; 32 to 65,536)"
    assert spec_named("style_scale").help_text.endswith("instead of --style-size (0.05 to 8)")
    assert spec_named("max_input_pixels").help_text == (
        f"refuse input images larger than this (decompression-bomb guard; default {DEFAULT_MAX_INPUT_PIXELS}; "
        "1 to 1,099,511,627,776)")
    assert spec_named("frame_iterations").help_text == "iterations of each frame after the first (default 6; " \
                                                      "1 to 1,000,000)"
    assert all("{" not in (spec.help_text or "") for spec in OPTION_TABLE)


def test_an_out_of_range_size_is_refused_by_the_parser_and_by_the_api_alike():
    result = command("a.png", "b.png", "-o", "out.png", "--size", "10")
    assert result.returncode == 2
    assert result.stderr == ("impasto: error: argument --size: must be from 32 to 65,536, got '10' "
                             "(see impasto --help)\n")
    with pytest.raises(OptionError) as caught:
        resolve_options(size=10)
    assert str(caught.value) == "size must be an integer from 32 to 65,536, got 10"


@pytest.mark.parametrize("argv, message", [
    (["--style-scale", "100"], "argument --style-scale: must be from 0.05 to 8, got '100'"),
    (["--style-scale", "-1"], "argument --style-scale: must be a finite number >= 0, got '-1'"),
    (["--style-weight", "nan"], "argument --style-weight: must be a finite number >= 0, got 'nan'"),
    (["--style-weight", "heavy"], "argument --style-weight: expected a number, got 'heavy'"),
    (["--iterations", "5,0"], "argument --iterations: must be from 1 to 1,000,000, got '0'"),
    (["--seed", "x" * 40], f"argument --seed: expected an integer, got {'x' * 27 + '...'!r}"),
    (["--style-blend", "1,a"], "argument --style-blend: expected comma-separated numbers, got '1,a'"),
])
def test_parse_time_messages_are_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["a.png", "b.png", "-o", "out.png", *argv])
    assert caught.value.code == 2
    assert capsys.readouterr().err == f"impasto: error: {message} (see impasto --help)\n"


def test_impasto_help_lists_every_flag_it_listed_before():
    parser = build_parser()
    assert [flag for action in parser._actions for flag in action.option_strings] == FLAGS_BEFORE
    shown = command("--help")
    assert shown.returncode == 0
    for flag in FLAGS_BEFORE:
        assert flag in shown.stdout, flag


def test_the_video_and_batch_commands_take_the_run_options_and_their_own(capsys):
    from impasto.cli.main import main

    for sub, own in (("video", ["--temporal-weight", "--frame-iterations", "--flow", "--max-frames", "--resume"]),
                     ("batch", ["--jobs", "--output-dir", "--workers", "--ray"])):
        with pytest.raises(SystemExit):
            main([sub, "--help"])
        text = capsys.readouterr().out
        for flag in own + ["--style-loss", "--resample", "--device", "--clamp-pixels", "--tile-overlap"]:
            assert flag in text, (sub, flag)
        assert "--timelapse-every" not in text and "--log-every" not in text
