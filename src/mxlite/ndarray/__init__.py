"""``mx.nd``: NDArray and the functions over it."""

from . import random
from .ndarray import *  # noqa: F403
from .ndarray import NDArray, infer_reshape

# legacy flat names for random draws
random_uniform = random.uniform
random_normal = random.normal
random_randint = random.randint
