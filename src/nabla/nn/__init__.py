"""Neural-network building blocks: modules, layers, losses, initialisation, regularisation."""

from nabla.nn import functional, init, registry, utils
from nabla.nn.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from nabla.nn.container import ModuleDict, ModuleList, ParameterList, Sequential, from_spec
from nabla.nn.layers import BatchNorm1d, Dropout, Flatten, Identity, Linear
from nabla.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from nabla.nn.models import (
    MLP,
    ClassifierMixin,
    LogisticRegression,
    classification_loss,
    probabilities,
)
from nabla.nn.module import MODULE_REGISTRY, Module, Parameter, RemovableHandle
from nabla.nn.normalization import LayerNorm
from nabla.nn.registry import (
    ACTIVATIONS,
    Activation,
    ActivationError,
    OnnxOp,
    activation_of,
    get_activation,
    register_activation,
    unregister_activation,
)
from nabla.nn.regularization import l1_penalty, l2_penalty
from nabla.nn.sparse import Embedding

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "MLP",
    "MODULE_REGISTRY",
    "Activation",
    "ActivationError",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "ClassifierMixin",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "Hardtanh",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "LogisticRegression",
    "MSELoss",
    "Mish",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "OnnxOp",
    "Parameter",
    "ParameterList",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "activation_of",
    "classification_loss",
    "from_spec",
    "functional",
    "get_activation",
    "init",
    "l1_penalty",
    "l2_penalty",
    "probabilities",
    "register_activation",
    "registry",
    "unregister_activation",
    "utils",
]
