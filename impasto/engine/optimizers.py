"""The per-scale optimizers: functions that move an image to lower an objective, reporting every step.

Each takes the starting RGB image (0..1), an objective (image -> named loss terms), an iteration count and a
per-step callback, and returns an RGB image. The callback gets a ``Step`` for every finite evaluation and
returns True to stop early. What a run keeps (history, best image, progress) is the caller's business.

``OPTIMIZERS`` is the registry the engine runs a scale with: one ``run_<name>(rgb, objective, on_step,
scale)`` per name of ``impasto.config.choices.OPTIMIZERS``, reading what it needs from the ``ScaleRun``. A new
optimizer is one function here, one entry in the registry and one name in the choices.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

import torch
from torch.optim.adam import adam as adam_update

from ..config.options import Options
from ..errors import ImpastoWarning, NumericalError
from ..loss.objective import scalars
from ..loss.terms import total_loss
from ..net.weights import InputNormalization
from .schedule import Stage, learning_rate

Objective = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]

# Adam moves the image in ImageNet-normalized RGB whatever the network: D2L's learning rates are defined in
# these units, and Adam's step size is in the units of the variable it moves.
ADAM_UNITS = InputNormalization("imagenet", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), scale=1.0,
                                bgr=False)
MAX_NUMERIC_RETRIES = 3


@dataclass
class Step:
    """One finite evaluation: its 1-based number, the weighted terms, their total, the step size, the image."""

    iteration: int
    terms: dict[str, float]
    total: float
    lr: float
    rgb: torch.Tensor  # the evaluated image, RGB 0..1 (detached)


StepCallback = Callable[[Step], bool]


class AdamMoments:
    """Adam's state for one image, stepped by PyTorch's functional Adam (``torch.optim.adam.adam``), with
    ``torch.optim.Adam``'s defaults (betas 0.9 and 0.999, eps 1e-8): the same arithmetic, bit for bit.

    Why not the class: its first ``add_param_group`` and ``step`` import ``torch._dynamo`` (about 1 s on
    this 2-core CPU, half a VGG-19 pass at 512 px), a fixed cost that was a sixth of a ``--quality draft``
    run. The functional form does not import it.
    """

    def __init__(self, param: torch.Tensor) -> None:
        self.param = param
        self.exp_avg = torch.zeros_like(param, memory_format=torch.preserve_format)
        self.exp_avg_sq = torch.zeros_like(param, memory_format=torch.preserve_format)
        self.steps = torch.tensor(0.0)  # a tensor, as torch.optim.Adam keeps it on the CPU

    def step(self, lr: float) -> None:
        """Move ``param`` one Adam step along its ``.grad``."""
        with torch.no_grad():
            adam_update([self.param], [self.param.grad], [self.exp_avg], [self.exp_avg_sq], [], [self.steps],
                        amsgrad=False, beta1=0.9, beta2=0.999, lr=lr, weight_decay=0.0, eps=1e-8, maximize=False)


def _evaluate(objective: Objective, rgb: torch.Tensor, first: bool,
              where: str) -> tuple[torch.Tensor, dict[str, float], float]:
    """(total, terms as numbers, total as a number); a loss that is not finite from the start is an error."""
    terms = objective(rgb)
    total = total_loss(terms)
    value = total.item()
    if first and not math.isfinite(value):
        raise NumericalError(f"the loss is {value} from the first iteration{where}: the loss weights are too "
                             f"large for 32-bit floats (lower the style or content weight)")
    return total, scalars(terms), value


def adam(rgb: torch.Tensor, objective: Objective, iterations: int, on_step: StepCallback,
         learning_rate: Callable[[int], float], where: str = "", clamp: bool = True) -> torch.Tensor:
    """Adam with the step size ``learning_rate(iteration index)``; with ``clamp`` pixels are kept
    displayable (0..1) after each step (D2L's recipe does not clamp).

    A non-finite loss rolls back to the best iterate and halves the step, a few times at most. ``where``
    ("at scale 2") goes into messages.
    """
    param = ADAM_UNITS.preprocess(rgb).requires_grad_(True)
    moments = AdamMoments(param)
    low, high = ADAM_UNITS.preprocess(torch.zeros_like(param)), ADAM_UNITS.preprocess(torch.ones_like(param))
    best: Optional[tuple[float, torch.Tensor]] = None
    step_scale, failures = 1.0, 0
    for iteration in range(1, iterations + 1):
        lr = learning_rate(iteration - 1) * step_scale
        param.grad = None
        current = ADAM_UNITS.postprocess(param)
        total, terms, value = _evaluate(objective, current, best is None, where)
        if not math.isfinite(value):
            failures += 1
            with torch.no_grad():
                param.copy_(best[1])
            if failures > MAX_NUMERIC_RETRIES:
                warnings.warn(f"the loss kept becoming NaN/inf{where}; stopping with the best image", ImpastoWarning)
                break
            step_scale *= 0.5
            moments = AdamMoments(param)
            warnings.warn(f"the loss became NaN/inf{where}, iteration {iteration}; rolled back and halved the step",
                          ImpastoWarning)
            continue
        total.backward()
        if best is None or value < best[0]:
            best = (value, param.detach().clone())
        if on_step(Step(iteration, terms, value, lr, current.detach())):
            break
        moments.step(lr)
        if clamp:
            with torch.no_grad():
                # Keep every pixel a displayable color; out-of-range values would be clipped at the end anyway.
                param.copy_(torch.maximum(torch.minimum(param, high), low))
    return ADAM_UNITS.postprocess(param.detach())


def lbfgs(rgb: torch.Tensor, objective: Objective, iterations: int, on_step: StepCallback,
          units: InputNormalization, history_size: int = 50, line_search: Optional[str] = "strong_wolfe",
          where: str = "", restart: int = 0) -> torch.Tensor:
    """L-BFGS; one iteration is one evaluation, as in the Keras blog and jcjohnson/neural-style, and never more
    evaluations than ``iterations``.

    The image moves in ``units`` (the network's own input units, e.g. Caffe's 0..255 BGR minus the mean), as
    in every L-BFGS recipe: without a line search the step lengths depend on them. Returns the best iterate
    (L-BFGS may end on a probe that is worse). ``restart`` > 0 runs it as calls of that many evaluations, each
    starting a fresh history from where the last ended (the Keras blog's repeated ``fmin_l_bfgs_b(maxfun=20)``).
    """
    param = units.preprocess(rgb).contiguous().requires_grad_(True)
    best: Optional[tuple[float, torch.Tensor]] = None
    evaluations, budget = 0, 0

    def closure() -> torch.Tensor:
        nonlocal evaluations, best
        if evaluations >= budget:
            # torch checks max_eval only between its iterations, and its line search can evaluate past it.
            raise _CallDone
        optimizer.zero_grad(set_to_none=True)
        current = units.postprocess(param)
        total, terms, value = _evaluate(objective, current, best is None, where)
        if not math.isfinite(value):
            warnings.warn(f"the loss became NaN/inf{where}; stopping with the best image", ImpastoWarning)
            raise _Stop
        total.backward()
        # The network runs channels_last; L-BFGS flattens the gradient with view(), which needs NCHW.
        param.grad = param.grad.contiguous()
        evaluations += 1
        if best is None or value < best[0]:
            best = (value, current.detach().clone())
        if on_step(Step(evaluations, terms, value, 1.0, current.detach())):
            raise _Stop
        return total

    call = restart or iterations
    while evaluations < iterations:
        budget = min(iterations, evaluations + call)
        optimizer = torch.optim.LBFGS([param], lr=1.0, max_iter=budget - evaluations,
                                      max_eval=budget - evaluations, history_size=history_size,
                                      tolerance_grad=0.0, tolerance_change=0.0, line_search_fn=line_search)
        try:
            optimizer.step(closure)
        except _CallDone:
            pass
        except _Stop:
            break
        if evaluations < budget:
            break  # torch ended the call early (converged): more calls would change nothing
    return best[1] if best is not None else units.postprocess(param.detach())


class _Stop(Exception):
    """Raised inside the L-BFGS closure to end the scale early."""


class _CallDone(Exception):
    """Raised inside the L-BFGS closure when one call's evaluation budget is spent."""


# -- the registry -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScaleRun:
    """What an optimizer needs to know about the scale (or tile) it runs: the options, the stage (its
    iterations and step-size schedule), the network's input units and where it is, for messages."""

    options: Options
    stage: Stage
    network_units: InputNormalization
    where: str  # " at scale 2" or " at scale 4, tile 3/6"


OptimizerRun = Callable[[torch.Tensor, Objective, StepCallback, ScaleRun], torch.Tensor]


def run_adam(rgb: torch.Tensor, objective: Objective, on_step: StepCallback, scale: ScaleRun) -> torch.Tensor:
    schedule = lambda index: learning_rate(scale.options, scale.stage, index)  # noqa: E731
    return adam(rgb, objective, scale.stage.iterations, on_step, schedule, scale.where,
                clamp=scale.options.clamp_pixels)


def run_lbfgs(rgb: torch.Tensor, objective: Objective, on_step: StepCallback, scale: ScaleRun) -> torch.Tensor:
    options = scale.options
    return lbfgs(rgb, objective, scale.stage.iterations, on_step, scale.network_units, options.lbfgs_history,
                 None if options.line_search == "none" else options.line_search, scale.where,
                 restart=options.lbfgs_restart)


OPTIMIZERS: dict[str, OptimizerRun] = {"adam": run_adam, "lbfgs": run_lbfgs}
