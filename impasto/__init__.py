"""impasto: neural style transfer (Gatys, Ecker & Bethge) that runs offline on a laptop CPU."""
from .api import stylize
from .engine import Progress, Stylizer, load_network
from .errors import ImageInputError, ImpastoError, Interrupted, OptionError, OutputError, WeightsError
from .options import Options, resolve_options
from .presets import PRESETS
from .weights import load_weights

__version__ = "0.1.0"

__all__ = [
    "stylize", "Stylizer", "Progress", "load_network", "Options", "resolve_options", "PRESETS", "load_weights",
    "ImpastoError", "ImageInputError", "Interrupted", "OptionError", "OutputError", "WeightsError", "__version__",
]
