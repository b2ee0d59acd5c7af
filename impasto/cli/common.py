"""What the parsers of every ``impasto`` command share: exit codes, one-line usage errors, the argparse types and
flags generated from the option table (``impasto.config.option_table``), and the step from parsed arguments
to ``Options`` values.

A value is checked while the arguments are parsed, before PyTorch loads, by the same functions the Python
API uses (``impasto.config.checks``); a failure is worded here as argparse words it ("argument --size: must
be from 32 to 65,536, got '10'").
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any, Protocol, TypeVar

from ..config.checks import check_bounded_number, check_int, check_number
from ..config.limits import range_text
from ..config.option_table import RUN_GROUPS, Kind, OptionSpec, specs_in
from ..config.options import Options
from ..config.presets import DEFAULT_PRESET
from ..errors import ImpastoError, ImpastoWarning, Interrupted, OptionError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (and exit code 2), not argparse's usage block."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(f"{text[:27]}...")


# What a value failed, as argparse shows it after "argument --flag: " and before ", got '...'".
NOT_A_FINITE_NUMBER = "must be a finite number >= 0"


def _argument_type(name: str, convert: Callable[[str], Any], expected: str,
                   *checks: tuple[Callable[[str, Any], None], str]) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the text (failing: "expected <expected>"), then run each config check on
    the value, each failure worded as its own message (the check's own message is the Python API's)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {_shown(text)}") from None
        for check, failure in checks:
            try:
                check(name, value)
            except OptionError:
                raise argparse.ArgumentTypeError(f"{failure}, got {_shown(text)}") from None
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def int_in_range(name: str) -> Callable[[str], int]:
    """An argparse type: an integer within the range ``limits.INT_RANGES[name]``."""
    return _argument_type(name, int, "an integer", (check_int, f"must be from {range_text(name)}"))


def int_list_in_range(name: str) -> Callable[[str], int | list[int]]:
    """An integer or a comma-separated list of them (one per scale), each within the range of ``name``."""
    one = int_in_range(name)

    def parse(text: str) -> int | list[int]:
        values = [one(part) for part in text.split(",")]
        return values[0] if len(values) == 1 else values

    parse.__name__ = name
    return parse


def int_choice(name: str) -> Callable[[str], int]:
    return _argument_type(name, int, "an integer")


def finite_number(name: str) -> Callable[[str], float]:
    """An argparse type: a finite number >= 0 (weights, rates, exponents)."""
    return _argument_type(name, float, "a number", (check_number, NOT_A_FINITE_NUMBER))


def number_in_range(name: str) -> Callable[[str], float]:
    """An argparse type: a finite number within the range ``limits.FLOAT_RANGES[name]``."""
    return _argument_type(name, float, "a number", (check_number, NOT_A_FINITE_NUMBER),
                          (check_bounded_number, f"must be from {range_text(name)}"))


def number_list(text: str) -> list[float]:
    """An argparse type: comma-separated numbers (checked with the run's other options)."""
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


# The argparse type of each kind of row that is checked while parsing (the function is given the row's name,
# which is also its key in limits), and the argparse action of each kind that is not a plain value.
_CHECKED_TYPES = {Kind.INT: int_in_range, Kind.INT_LIST: int_list_in_range, Kind.NUMBER: finite_number,
                  Kind.BOUNDED_NUMBER: number_in_range}
_ACTIONS = {Kind.REPEATED_TEXT: "append", Kind.TOGGLE: argparse.BooleanOptionalAction, Kind.SWITCH: "store_true"}


def _parsing(spec: OptionSpec) -> dict[str, Any]:
    """The ``add_argument`` keywords that make a flag of the row's kind."""
    if spec.kind in _CHECKED_TYPES:
        return {"type": _CHECKED_TYPES[spec.kind](spec.name)}
    if spec.kind is Kind.NUMBER_LIST:
        return {"type": number_list}
    if spec.kind is Kind.CHOICE:
        # Numeric choices (--bit-depth 8|16) are compared as numbers, not as the text typed.
        numeric = all(isinstance(choice, int) for choice in spec.choices)
        return {"choices": spec.choices, **({"type": int_choice(spec.name)} if numeric else {})}
    if spec.kind in _ACTIONS:
        return {"action": _ACTIONS[spec.kind]}
    return {}  # Kind.TEXT: taken as it is


def add_option(container: argparse._ActionsContainer, spec: OptionSpec) -> argparse.Action:
    """The flag of one table row."""
    keywords = _parsing(spec)
    if spec.metavar is not None:
        keywords["metavar"] = spec.metavar
    if spec.default is not None:  # otherwise argparse's own default: None, or False for a switch
        keywords["default"] = spec.default
    return container.add_argument(spec.flag, dest=spec.name, help=spec.help_text, **keywords)


def add_options(parser: argparse.ArgumentParser, groups: Iterable[str | None]) -> dict[str | None, Any]:
    """The table's flags of ``groups``, in table order, each section made on its first flag; returns the
    sections by title (None: the parser itself) so that a command can add flags of its own to one."""
    sections: dict[str | None, Any] = {None: parser}
    for spec in specs_in(tuple(groups)):
        if spec.group not in sections:
            sections[spec.group] = parser.add_argument_group(spec.group)
        add_option(sections[spec.group], spec)
    return sections


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a painting (recipe, size, controls, network, losses, optimizer): shared by the single
    run, ``impasto batch`` and ``impasto video``, named after ``Options`` fields so that they pass straight
    through."""
    add_options(parser, RUN_GROUPS)


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``Options`` values given on the command line, as keywords for ``impasto.stylize``: every field the
    parser has a flag for, but the preset (an argument of its own); unset flags (None) are left out so that
    the preset's values hold."""
    return {field.name: getattr(args, field.name) for field in fields(Options)
            if field.name != "preset" and getattr(args, field.name, None) is not None}


# What painting with a trained model (--model) takes of a still's options: its style, loss weights and schedule
# are trained in.
MODEL_OPTIONS = ("size", "preserve_colors", "tile", "device", "precision", "max_input_pixels", "keep_profile",
                 "keep_gps", "dpi")


def refuse_still_options(parser: argparse.ArgumentParser, args: argparse.Namespace, others: Iterable[str] = (),
                         allowed: Iterable[str] = MODEL_OPTIONS) -> None:
    """With --model, a usage error for the first still's option given (or other setting in ``others``) that
    a trained model has no use for."""
    given = [name for name in options_from_args(args) if name not in allowed]
    given += [name for name in others if getattr(args, name, None)]
    if args.preset != DEFAULT_PRESET:
        given.append("preset")
    if given:
        parser.error(f"--{given[0].replace('_', '-')} does not apply to a trained model (its style and recipe are "
                     f"trained in); with --model give {', '.join('--' + n.replace('_', '-') for n in allowed)}")


def refuse_size_with_print(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--print sets the size (from the print and its DPI): a usage error beside --size."""
    if getattr(args, "print_size", None) is not None and args.size is not None:
        parser.error("give --size (pixels) or --print (a print size at --dpi), not both")


def one_line_warnings(prog: str = "impasto") -> None:
    """impasto's own warnings (a tiny photo upscaled, an animated painting...) as one line each on stderr,
    ``PROG: warning: ...``, not Python's two lines (file:line, then the source line); library warnings
    (PyTorch internals) are not the user's concern and are not shown. As the still command does."""
    warnings.simplefilter("ignore")
    warnings.simplefilter("always", ImpastoWarning)
    warnings.showwarning = lambda message, *_: print(f"{prog}: warning: {message}", file=sys.stderr)


Result = TypeVar("Result")


class Closable(Protocol):
    def close(self) -> None: ...


def run_to_the_end(prog: str, bar: Closable, work: Callable[[], Result], interrupted: Callable[[Interrupted], str],
                   job: str) -> tuple[int, Result | None]:
    """Run a command's ``work`` and end it the one way every command ends: the progress ``bar`` closed, then
    at most one line on stderr (``prog: ...``) and an exit code with the result (None unless it finished).

    ``interrupted`` words an interrupt that saved something (``Interrupted.saved``); one before the ``job``
    ("painting", "training") started saved nothing.
    """
    try:
        result = work()
    except Interrupted as stopped:
        code, line, result = EXIT_INTERRUPTED, interrupted(stopped), None
    except KeyboardInterrupt:
        code, line, result = EXIT_INTERRUPTED, f"interrupted before {job} started; nothing written", None
    except ImpastoError as error:
        code, line, result = EXIT_ERROR, f"error: {error}", None
    else:
        code, line = 0, None
    bar.close()  # before the line, which would otherwise print over the bar
    if line is not None:
        print(f"{prog}: {line}", file=sys.stderr)
    return code, result
