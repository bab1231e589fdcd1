"""mdaug: augment radar micro-Doppler spectrogram datasets with generative models."""

from mdaug.errors import MdaugError

__version__ = "0.1.0"
__all__ = ["MdaugError", "__version__"]
