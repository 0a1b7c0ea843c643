"""Data: datasets, mini-batch loading, splits, scaling and loaders for files and built-ins.

NumPy only; scikit-learn is imported lazily by :func:`load_builtin` alone.
"""

from nabla.data.builtin import BUILTIN_DATASETS, load_builtin
from nabla.data.columns import ColumnChoice, ColumnOptions, Preprocessing, choose_columns
from nabla.data.csv_loader import load_csv, load_csv_features
from nabla.data.dataset import Dataset, TensorDataset
from nabla.data.idx import load_idx, read_idx
from nabla.data.loader import DataLoader, default_collate
from nabla.data.preprocessing import StandardScaler
from nabla.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from nabla.data.sources import load_data, load_npz
from nabla.data.split import DatasetSplit, split_dataset, stratified_split
from nabla.data.subsets import ConcatDataset, Subset, random_split
from nabla.data.table import MISSING_TOKENS, Table, read_table
from nabla.data.tabular import TabularData, check_classification_target

__all__ = [
    "BUILTIN_DATASETS",
    "MISSING_TOKENS",
    "BatchSampler",
    "ColumnChoice",
    "ColumnOptions",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetSplit",
    "Preprocessing",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StandardScaler",
    "Subset",
    "SubsetRandomSampler",
    "Table",
    "TabularData",
    "TensorDataset",
    "WeightedRandomSampler",
    "check_classification_target",
    "choose_columns",
    "default_collate",
    "load_builtin",
    "load_csv",
    "load_csv_features",
    "load_data",
    "load_idx",
    "load_npz",
    "random_split",
    "read_idx",
    "read_table",
    "split_dataset",
    "stratified_split",
]
