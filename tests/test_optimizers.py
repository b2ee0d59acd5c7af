import math

import pytest
import torch

from impasto.errors import NumericalError
from impasto.engine.optimizers import AdamMoments, adam, lbfgs
from impasto.net.weights import CAFFE

TARGET = torch.full((1, 3, 4, 4), 0.25)


def squared_distance(rgb):
    return {"fit": (rgb - TARGET).square().sum(), "nudge": 0.0 * rgb.sum()}


def test_adam_reports_every_step_and_moves_towards_the_minimum():
    steps = []
    start = torch.full((1, 3, 4, 4), 0.9)
    result = adam(start, squared_distance, 40, lambda step: steps.append(step) and False, lambda i: 0.2)
    assert [step.iteration for step in steps] == list(range(1, 41))
    assert set(steps[0].terms) == {"fit", "nudge"} and math.isclose(steps[0].total, 48 * 0.65**2, rel_tol=1e-5)
    assert steps[-1].total < 0.2 * steps[0].total and (result - TARGET).abs().max() < 0.15


def test_adam_moments_step_exactly_as_torch_optim_adam_does():
    torch.manual_seed(0)
    start = torch.randn(1, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    ours, theirs = start.clone().requires_grad_(True), start.clone().requires_grad_(True)
    moments, reference = AdamMoments(ours), torch.optim.Adam([theirs], lr=0.3)
    for lr in (0.3, 0.3, 0.1, 0.05, 0.05):
        for param in (ours, theirs):
            param.grad = None
            (param.sin() * torch.arange(param.numel()).reshape(param.shape)).sum().backward()
        moments.step(lr)
        reference.param_groups[0]["lr"] = lr
        reference.step()
        assert torch.equal(ours, theirs)
    assert ours.is_leaf and ours.requires_grad and not torch.equal(ours, start)
    assert moments.steps.item() == 5


def test_a_callback_returning_true_stops_the_scale():
    seen = []
    adam(torch.rand(1, 3, 4, 4), squared_distance, 50, lambda step: seen.append(step.iteration) or len(seen) == 3,
         lambda i: 0.05)
    assert seen == [1, 2, 3]
    seen.clear()
    lbfgs(torch.rand(1, 3, 4, 4), squared_distance, 50, lambda step: seen.append(step.iteration) or len(seen) == 2,
          CAFFE)
    assert seen == [1, 2]


def test_lbfgs_in_network_units_returns_its_best_iterate():
    totals = []
    result = lbfgs(torch.full((1, 3, 4, 4), 0.9), squared_distance, 20, lambda s: totals.append(s.total) and False,
                   CAFFE, history_size=10, line_search="strong_wolfe")
    assert len(totals) <= 20 and min(totals) < 1e-6
    assert torch.allclose(result, TARGET, atol=1e-3)


def test_a_loss_that_is_never_finite_is_an_error_and_a_later_nan_rolls_back():
    with pytest.raises(NumericalError, match="first iteration at scale 1"):
        adam(torch.rand(1, 3, 4, 4), lambda rgb: {"x": rgb.sum() * math.inf}, 5, lambda s: False, lambda i: 0.1,
             " at scale 1")
    calls = []

    def sometimes_nan(rgb):
        calls.append(1)
        value = (rgb - TARGET).square().sum()
        return {"fit": value * math.nan if len(calls) == 3 else value}

    steps = []
    with pytest.warns(UserWarning, match="rolled back"):
        adam(torch.full((1, 3, 4, 4), 0.9), sometimes_nan, 6, lambda s: steps.append(s) and False, lambda i: 0.05)
    # The NaN evaluation is not reported; the others are, and all are finite.
    assert len(steps) == 5 and all(math.isfinite(step.total) for step in steps)


def test_lbfgs_never_evaluates_past_its_budget():
    for line_search in ("strong_wolfe", None):
        for budget in (1, 4, 7):
            seen = []
            lbfgs(torch.rand(1, 3, 4, 4), squared_distance, budget,
                  lambda s, seen=seen: seen.append(s.iteration) and False, CAFFE, line_search=line_search)
            assert seen == list(range(1, len(seen) + 1)) and len(seen) <= budget


def test_lbfgs_restarts_spend_the_same_budget_in_calls():
    seen = []
    lbfgs(torch.full((1, 3, 4, 4), 0.9), squared_distance, 40, lambda s: seen.append(s.total) and False,
          CAFFE, line_search="strong_wolfe", restart=10)
    # Each call starts a fresh history from where the last one ended: the descent goes on across calls.
    assert len(seen) <= 40 and min(seen) < 1e-3 * seen[0]
    counted = []
    lbfgs(torch.rand(1, 3, 4, 4), lambda rgb: {"x": (rgb - TARGET).abs().sum()}, 12,
          lambda s: counted.append(s.iteration) and False, CAFFE, line_search=None, restart=5)
    assert counted == list(range(1, 13))  # 5 + 5 + 2 evaluations, numbered through


def test_the_registry_runs_every_optimizer_the_options_offer():
    from impasto.config.choices import OPTIMIZERS as OFFERED
    from impasto.engine.optimizers import OPTIMIZERS

    assert tuple(OPTIMIZERS) == OFFERED
