"""``gluon.data``: datasets, samplers and the DataLoader."""

from . import vision
from .dataloader import DataLoader, default_batchify_fn, default_mp_batchify_fn
from .dataset import ArrayDataset, Dataset, RecordFileDataset, SimpleDataset
from .sampler import BatchSampler, FilterSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "ArrayDataset", "BatchSampler", "DataLoader", "Dataset", "FilterSampler", "RandomSampler",
    "RecordFileDataset", "Sampler", "SequentialSampler", "SimpleDataset", "default_batchify_fn",
    "default_mp_batchify_fn", "vision",
]
