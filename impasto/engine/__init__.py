"""The run: ``Stylizer`` (a facade, ``impasto.engine.stylizer``) over the run's collaborators: ``inputs``,
``device``, ``plan``, ``targets``, ``objectives``, ``start``, ``optimizers``, ``recorder`` and ``tiles``."""
from .device import Placement, pick_device
from .plan import RunPlan
from .recorder import Progress
from .stylizer import Stylizer, load_network

__all__ = ["Stylizer", "Progress", "RunPlan", "Placement", "load_network", "pick_device"]
