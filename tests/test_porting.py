"""Porting from PyTorch: typical training scripts run on nabla after changing their imports.

Each script below is written once; ``{imports}`` becomes PyTorch's import lines or nabla's,
and nothing else differs (``torch.save``/``torch.load`` of a state dict write and read
safetensors under nabla). Both runs are subprocesses (DataLoader workers, fresh global state)
and must reach the same held-out accuracy within noise. The guide's table (docs/porting-from-pytorch.md) is checked
name by name.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "porting-from-pytorch.md"

TORCH_IMPORTS = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import Dataset, DataLoader, TensorDataset, random_split"""

NABLA_IMPORTS = """\
import nabla as torch
import nabla.nn as nn
import nabla.nn.functional as F
import nabla.optim as optim
from nabla.optim.lr_scheduler import StepLR
from nabla.data import Dataset, DataLoader, TensorDataset, random_split"""

TABULAR_SCRIPT = """\
{imports}
import json
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer

torch.manual_seed(0)
device = "cpu"
state_path = sys.argv[1]


class TabularDataset(Dataset):
    def __init__(self, x, y):
        self.x = torch.tensor(x, dtype=torch.float32)
        self.y = torch.tensor(y).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class Net(nn.Module):
    def __init__(self, n_in, hidden, n_out, p=0.1):
        super().__init__()
        sizes = [n_in] + hidden
        self.blocks = nn.ModuleList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            self.blocks.append(nn.Linear(a, b))
            self.blocks.append(nn.LayerNorm(b))
            self.blocks.append(nn.GELU())
            self.blocks.append(nn.Dropout(p))
        self.head = nn.Linear(sizes[-1], n_out)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)


raw = load_breast_cancer()
features = (raw.data - raw.data.mean(0)) / raw.data.std(0)
data = TabularDataset(features.astype(np.float32), raw.target)
n_test = len(data) // 5
train_set, test_set = random_split(data, [len(data) - n_test, n_test])
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, num_workers=2)
test_loader = DataLoader(test_set, batch_size=64)

model = Net(features.shape[1], [64, 32], 2).to(device)
epochs = 10
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=1e-2, epochs=epochs, steps_per_epoch=len(train_loader)
)
criterion = nn.CrossEntropyLoss()

for epoch in range(epochs):
    model.train()
    total, seen = 0.0, 0
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item() * x.size(0)
        seen += x.size(0)


def evaluate(net):
    net.eval()
    correct, count = 0, 0
    with torch.inference_mode():
        for x, y in test_loader:
            out = net(x.to(device))
            _, pred = out.max(1)
            correct += (pred == y.to(device)).sum().item()
            count += y.size(0)
    return correct / count


accuracy = evaluate(model)
torch.save(model.state_dict(), state_path)
state = torch.load(state_path)
restored = Net(features.shape[1], [64, 32], 2).to(device)
restored.load_state_dict(state)
print(json.dumps({{
    "accuracy": accuracy,
    "restored": evaluate(restored),
    "train_loss": total / seen,
    "n_test": n_test,
}}))
"""


CNN_SCRIPT = """\
{imports}
import json
import sys

import numpy as np
from sklearn.datasets import load_digits

torch.manual_seed(0)
device = "cuda" if torch.cuda.is_available() else "cpu"
state_path = sys.argv[1]


class Digits(Dataset):
    def __init__(self):
        raw = load_digits()
        self.images = torch.from_numpy((raw.images / 16.0).astype(np.float32)).unsqueeze(1)
        self.labels = torch.tensor(raw.target, dtype=torch.long)

    def __len__(self):
        return self.labels.size(0)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]


class SmallCNN(nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.dropout = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 2 * 2, n_classes)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.fc(self.dropout(x))


data = Digits()
n_test = len(data) // 5
train_set, test_set = random_split(data, [len(data) - n_test, n_test])
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = DataLoader(test_set, batch_size=256)

model = SmallCNN().to(device)
epochs = 8
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=1e-2, epochs=epochs, steps_per_epoch=len(train_loader)
)
criterion = nn.CrossEntropyLoss()

for epoch in range(epochs):
    model.train()
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
        optimizer.step()
        scheduler.step()


def evaluate(net):
    net.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in test_loader:
            _, pred = net(images.to(device)).max(1)
            correct += (pred == labels.to(device)).sum().item()
    return correct / len(test_set)


accuracy = evaluate(model)
torch.save(model.state_dict(), state_path)
restored = SmallCNN().to(device)
restored.load_state_dict(torch.load(state_path, map_location=device))
print(json.dumps({{"accuracy": accuracy, "restored": evaluate(restored), "n_test": n_test}}))
"""


MNIST_EXAMPLE_SCRIPT = """\
{imports}
import json
import sys

import numpy as np
from sklearn.datasets import load_digits


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(1600, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    return test_loss, correct / len(test_loader.dataset)


torch.manual_seed(1)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
digits = load_digits()
images = np.zeros((len(digits.images), 1, 14, 14), dtype=np.float32)
images[:, 0, 3:11, 3:11] = digits.images / 16.0
images = (images - 0.1307) / 0.3081
train_set = TensorDataset(torch.tensor(images[:1400]), torch.tensor(digits.target[:1400]))
test_set = TensorDataset(torch.tensor(images[1400:]), torch.tensor(digits.target[1400:]))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = DataLoader(test_set, batch_size=1000)
model = Net().to(device)
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
for epoch in range(1, 5):
    train(model, device, train_loader, optimizer, epoch)
    test_loss, accuracy = test(model, device, test_loader)
    scheduler.step()
torch.save(model.state_dict(), sys.argv[1])
print(json.dumps({{"accuracy": accuracy, "loss": test_loss, "n_test": len(test_set)}}))
"""


# PyTorch's tutorial "Learning PyTorch with Examples": a cubic fit of sin by nn.Sequential with
# hand-written updates under no_grad, then by a custom autograd.Function (Legendre P3)
EXAMPLES_SCRIPT = """\
{imports}
import json
import math

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-6
for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
linear_layer = model[0]
fit_loss = loss.item()


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
for t in range(2000):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(json.dumps({{"fit_loss": fit_loss, "legendre": [a.item(), b.item(), c.item(), d.item()],
                  "legendre_loss": loss.item()}}))
"""


def _run(tmp_path: Path, name: str, script_text: str, imports: str) -> dict[str, float]:
    script = tmp_path / f"{name}_script.py"
    script.write_text(script_text.format(imports=imports))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / f"{name}_weights")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize(
    "script",
    [TABULAR_SCRIPT, CNN_SCRIPT, MNIST_EXAMPLE_SCRIPT, EXAMPLES_SCRIPT],
    ids=["tabular", "cnn", "mnist-example", "examples-tutorial"],
)
def test_the_two_scripts_differ_only_in_their_imports(script: str) -> None:
    torch_src = script.format(imports=TORCH_IMPORTS)
    nabla_src = script.format(imports=NABLA_IMPORTS)
    differing = [
        (a, b)
        for a, b in zip(torch_src.splitlines(), nabla_src.splitlines(), strict=True)
        if a != b
    ]
    assert [a for a, _ in differing] == TORCH_IMPORTS.splitlines()


def test_tabular_script_ports_by_changing_imports(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    ported = _run(tmp_path, "nabla", TABULAR_SCRIPT, NABLA_IMPORTS)
    assert ported["n_test"] == 113
    assert ported["accuracy"] >= 0.9
    # The saved and reloaded weights predict exactly as the trained model.
    assert ported["restored"] == ported["accuracy"]
    pytest.importorskip("torch")
    reference = _run(tmp_path, "torch", TABULAR_SCRIPT, TORCH_IMPORTS)
    assert reference["n_test"] == ported["n_test"]
    assert reference["accuracy"] >= 0.9
    assert reference["restored"] == reference["accuracy"]
    assert abs(ported["accuracy"] - reference["accuracy"]) <= 0.05


def test_cnn_script_ports_by_changing_imports(tmp_path: Path) -> None:
    """Conv2d, BatchNorm2d, MaxPool2d, Dropout, AdamW + OneCycleLR, clip_grad_norm_, a Dataset
    subclass, random_split, state_dict save/load and ``_, pred = out.max(1)`` on digits."""
    pytest.importorskip("sklearn")
    ported = _run(tmp_path, "nabla", CNN_SCRIPT, NABLA_IMPORTS)
    assert ported["n_test"] == 359
    assert ported["accuracy"] >= 0.95
    assert ported["restored"] == ported["accuracy"]
    pytest.importorskip("torch")
    reference = _run(tmp_path, "torch", CNN_SCRIPT, TORCH_IMPORTS)
    assert reference["accuracy"] >= 0.95
    assert reference["restored"] == reference["accuracy"]
    assert abs(ported["accuracy"] - reference["accuracy"]) <= 0.03


def test_pytorch_mnist_example_ports_by_changing_imports(tmp_path: Path) -> None:
    """PyTorch's examples/mnist/main.py (Adadelta + StepLR, log_softmax + nll_loss,
    ``pred.eq(target.view_as(pred)).sum().item()``), on the digits drawn at 14 × 14."""
    pytest.importorskip("sklearn")
    ported = _run(tmp_path, "nabla", MNIST_EXAMPLE_SCRIPT, NABLA_IMPORTS)
    assert ported["n_test"] == 397
    assert ported["accuracy"] >= 0.9
    pytest.importorskip("torch")
    reference = _run(tmp_path, "torch", MNIST_EXAMPLE_SCRIPT, TORCH_IMPORTS)
    assert reference["accuracy"] >= 0.9
    assert abs(ported["accuracy"] - reference["accuracy"]) <= 0.04


def test_pytorch_examples_tutorial_ports_by_changing_imports(tmp_path: Path) -> None:
    """The tutorial's cubic fit of sin and its custom autograd.Function: from the same start
    the Legendre fit follows PyTorch's trajectory (float32 round-off apart)."""
    ported = _run(tmp_path, "nabla", EXAMPLES_SCRIPT, NABLA_IMPORTS)
    pytest.importorskip("torch")
    reference = _run(tmp_path, "torch", EXAMPLES_SCRIPT, TORCH_IMPORTS)
    assert ported["legendre"] == pytest.approx(reference["legendre"], rel=1e-3, abs=1e-6)
    assert ported["legendre_loss"] == pytest.approx(reference["legendre_loss"], rel=1e-3)
    # the linear fit starts from each library's own random weights: both fit sin well
    assert ported["fit_loss"] < 50 and reference["fit_loss"] < 50


def _guide_rows() -> list[tuple[str, str]]:
    """(PyTorch name, nabla name) of every table row in the guide whose cells are `code`."""
    rows: list[tuple[str, str]] = []
    for line in GUIDE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 2:
            continue
        torch_cell, nabla_cell = cells[0], cells[1]
        names = re.findall(r"`([^`]+)`", nabla_cell)
        if torch_cell.startswith("`") and names:
            rows.extend((torch_cell, name) for name in names)
    return rows


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of `dotted`, then follow attributes."""
    path = dotted.split("(")[0].strip()
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_nabla_name_in_the_guide_resolves() -> None:
    rows = _guide_rows()
    assert len(rows) > 100  # the table was parsed, not skipped
    missing = []
    for _, name in rows:
        if not name.startswith(("nabla.", "nb.")):
            continue
        try:
            _resolve(name.replace("nb.", "nabla.", 1) if name.startswith("nb.") else name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert missing == []


def test_every_torch_name_in_the_guide_resolves() -> None:
    pytest.importorskip("torch")
    missing = []
    for torch_name, _ in _guide_rows():
        for name in re.findall(r"`([^`]+)`", torch_name):
            if name.startswith("torch."):
                try:
                    _resolve(name)
                except (ImportError, AttributeError):
                    missing.append(name)
    assert missing == []
