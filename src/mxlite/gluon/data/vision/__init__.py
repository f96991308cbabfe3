"""``gluon.data.vision``: image datasets read from local files, and transforms."""

from . import transforms
from .datasets import CIFAR10, MNIST, FashionMNIST

__all__ = ["CIFAR10", "MNIST", "FashionMNIST", "transforms"]
