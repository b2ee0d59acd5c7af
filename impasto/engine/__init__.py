"""The run: a ``Stylizer`` paints one image scale by scale (``impasto.engine.stylizer``)."""
from .stylizer import Progress, Stylizer, load_network, pick_device

__all__ = ["Stylizer", "Progress", "load_network", "pick_device"]
