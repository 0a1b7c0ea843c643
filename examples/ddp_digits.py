"""Data-parallel training of an MLP on the digits, one process or many.

    python examples/ddp_digits.py                 # one process
    mpiexec -n 2 python examples/ddp_digits.py    # two ranks: the same weights, to round-off

Every step trains on a global batch of 48 rows; each of the N ranks takes 48/N of them (no
padding, no duplicated rows), the gradients of the whole global batch come back to every rank
by one allreduce per step, and the held-out accuracy is summed exactly over the ranks, so
N = 1, 2, 3 print the same accuracy. Rank 0 alone prints.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

import nabla as nb
import nabla.distributed as dist
from nabla import nn
from nabla.data import DataLoader, TensorDataset

dist.init()  # MPI under mpiexec, else a world of one
rank, ranks = dist.rank(), dist.world_size()

digits = load_digits()
x = (digits.data / 16.0).astype(np.float32)
order = np.random.default_rng(0).permutation(len(x))  # the same split on every rank
train, test = order[:1400], order[1400:]
train_set = TensorDataset(nb.tensor(x[train]), nb.tensor(digits.target[train]))

nb.manual_seed(0)  # the same start everywhere (DistributedDataParallel also sends rank 0's)
model = dist.DistributedDataParallel(
    nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
)
optimizer = nb.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0, batch_size=48 // ranks)
loader = DataLoader(train_set, batch_sampler=dist.DistributedBatchSampler(sampler))
loss_fn = nn.CrossEntropyLoss()

for _epoch in range(20):  # each pass over the sampler is the next epoch's permutation
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()  # the gradients of the whole global batch, on every rank
        optimizer.step()

model.eval()
mine = test[rank::ranks]  # each rank scores its share of the test rows
with nb.no_grad():
    predicted = model(nb.tensor(x[mine])).data.argmax(axis=1)
total = dist.reduce_sums(
    {"correct": int((predicted == digits.target[mine]).sum()), "rows": len(mine)}
)
if rank == 0:
    print(f"{ranks} rank(s): held-out accuracy {total['correct'] / total['rows']:.4f}")
