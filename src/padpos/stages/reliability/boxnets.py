"""The nets of the behavioural metric comparison (docs/protocols.md section 6c): [KAY20]'s
Red-Green net at a chosen width, one per (regime, seed), trained on the box task, and
what each one does (its accuracies and behavioural gap)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from padpos.padding import conv2d

# regime -> (padding scheme, per-side pad of every 3 x 3 conv, training split of the box task)
REGIMES: dict[str, tuple[str, int, str]] = {
    "uses": ("zeros", 1, "positional"),  # padded; position predicts the class: it reads it
    "ignores": ("zeros", 1, "neutral"),  # padded; position is useless for the task
    "content_only": ("circular", 1, "positional"),  # cannot read absolute position (exact)
    "boundary_only": ("valid", 0, "positional"),  # reads the map boundary, has no padding
}
ROLES = {"uses": "positive", "ignores": "negative", "content_only": "control", "boundary_only": "control"}


def check_regime(regime: str) -> str:
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; allowed: {', '.join(REGIMES)}")
    return regime


class BoxNet(nn.Module):
    """Four bias-free 3 x 3 convs (3->w s1, w->w s2, w->2w s2, 2w->2w s2), each followed by
    a ReLU (the feature taps ``conv1..conv4``), global max pooling, linear 2w->2: the
    Red-Green net of [KAY20] at width w (theirs: 32), with a padding scheme and pad."""

    LAYERS = ("conv1", "conv2", "conv3", "conv4")

    def __init__(self, width: int, scheme: str, pad: int):
        super().__init__()
        chans = (3, width, width, 2 * width, 2 * width)
        for i, stride in enumerate((1, 2, 2, 2)):
            conv = conv2d(chans[i], chans[i + 1], 3, stride=stride, padding=pad, bias=False, scheme=scheme)
            setattr(self, self.LAYERS[i], nn.Sequential(conv, nn.ReLU()))
        self.fc = nn.Linear(chans[-1], 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.LAYERS:
            x = getattr(self, name)(x)
        return self.fc(torch.amax(x, dim=(-2, -1)))


def build(regime: str, width: int, seed: int) -> BoxNet:
    scheme, pad, _ = REGIMES[check_regime(regime)]
    torch.manual_seed(int(seed))
    return BoxNet(int(width), scheme, pad)


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Accuracy (%) in eval mode."""
    net.eval()
    correct = sum(int((net(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
                  for i in range(0, len(y), batch_size))  # fmt: skip
    return 100.0 * correct / len(y)


def train(net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, lr: float,
          seed: int) -> nn.Module:  # fmt: skip
    """Adam, ``epochs`` passes over (x, y) in an order shuffled per epoch by ``seed``."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    order = torch.Generator().manual_seed(int(seed))
    net.train()
    for _ in range(int(epochs)):
        perm = torch.randperm(len(y), generator=order)
        for i in range(0, len(y), batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(net(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return net.eval()


def behaviour(net: nn.Module, data: dict) -> dict:
    """What the trained net does: validation accuracy (its own split), accuracy on the
    similar and dissimilar test sets, and the gap between them (points)."""
    similar, dissimilar = accuracy(net, *data["similar"]), accuracy(net, *data["dissimilar"])
    return {"val_accuracy": accuracy(net, *data["val"]), "similar": similar, "dissimilar": dissimilar,
            "gap": similar - dissimilar}  # fmt: skip
