"""Training of victim graph classifiers.

Adam on cross-entropy, mini-batches of graphs, early stopping on validation accuracy (ties
broken by lower validation loss); the weights of the best validation epoch are kept.
Everything is seeded: the same (dataset, arch, seed, hyper-parameters) gives the same model
on the same machine.

Mini-batches are the ones PyG's ``DataLoader(shuffle=True, generator=seeded)`` would give (each
epoch a ``randperm`` of the training graphs, cut into ``batch_size`` chunks), but they are cut
out of the training set collated once (:class:`cama.replicate.GraphSlicer`) instead of being
re-collated from ``Data`` objects every step, which cost a fifth of an NCI1 epoch.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Batch

from cama.data import GraphDataset
from cama.progress import progress_bar
from cama.replicate import GraphSlicer
from cama.splits import stratified_split

from .models import GraphClassifier, VictimConfig


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 0.01
    weight_decay: float = 0.0
    epochs: int = 150
    patience: int = 40
    batch_size: int = 64
    hidden: int = 64
    num_layers: int = 3
    dropout: float = 0.5
    #: the victim's defence (victims.defenses), normalised: "", "guard:0.1", "adv:cama-node@0.1";
    #: absent from the dict when "" (undefended victims keep their keys)
    defense: str = ""

    def to_dict(self) -> dict:
        out = asdict(self)
        if not out["defense"]:
            del out["defense"]
        return out


@torch.no_grad()
def accuracy(model: torch.nn.Module, batch: Batch) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) of ``model`` on a collated batch."""
    model.eval()
    logits = model(batch.x, batch.edge_index, batch.batch)
    loss = F.cross_entropy(logits, batch.y).item()
    return (logits.argmax(-1) == batch.y).float().mean().item(), loss


def set_seed(seed: int) -> None:
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def shuffled_batches(num_graphs: int, batch_size: int, generator: torch.Generator, device: torch.device
                     ) -> list[Tensor]:
    """One epoch of shuffled mini-batch indices, drawn as a seeded ``DataLoader(shuffle=True)``
    draws them: its iterator first draws a worker base seed, its ``RandomSampler`` then one
    permutation, and a second, unused one when it is exhausted. Batches and the generator's
    state therefore match the ``DataLoader``'s, epoch after epoch."""
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    perm = torch.randperm(num_graphs, generator=generator)
    torch.randperm(num_graphs, generator=generator)
    return list(perm.to(device).split(batch_size))


def train_model(model: torch.nn.Module, dataset: GraphDataset, split: dict[str, Tensor], cfg: TrainConfig,
                seed: int, device: torch.device, progress: bool = True, desc: str = "train") -> dict:
    """Train ``model`` in place; returns ``{'val_acc', 'test_acc', 'epochs', 'seconds'}``."""
    set_seed(seed)
    model.to(device)
    train = GraphSlicer(Batch.from_data_list(dataset[split["train"]]).to(device))
    val = Batch.from_data_list(dataset[split["val"]]).to(device)
    test = Batch.from_data_list(dataset[split["test"]]).to(device)
    shuffle = torch.Generator().manual_seed(seed)
    adversary = None
    if cfg.defense.startswith("adv"):
        from .defenses import AdversarialTraining

        adversary = AdversarialTraining(cfg.defense, dataset.featurizer)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=15)
    best = (-1.0, float("inf"))
    best_state, since_best, epoch = None, 0, 0
    start = time.perf_counter()
    with progress_bar(cfg.epochs, desc, enabled=progress) as advance:
        for epoch in range(1, cfg.epochs + 1):
            model.train()
            for ids in shuffled_batches(train.batch.num_graphs, cfg.batch_size, shuffle, device):
                b = train.select(ids)
                opt.zero_grad()
                loss = F.cross_entropy(model(b.x, b.edge_index, b.batch), b.y)
                if adversary is not None:  # mean of the clean and the adversarial loss
                    a = adversary.perturb(model, b, seed=seed * 100_003 + epoch)
                    loss = (loss + F.cross_entropy(model(a.x, a.edge_index, a.batch), a.y)) / 2
                loss.backward()
                opt.step()
            val_acc, val_loss = accuracy(model, val)
            sched.step(val_acc)
            # keep the weights of the best (val acc, then lower val loss) epoch; patience counts
            # epochs without a higher val accuracy
            since_best = 0 if val_acc > best[0] else since_best + 1
            if (val_acc, -val_loss) > (best[0], -best[1]):
                best = (val_acc, val_loss)
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            advance(val_acc=f"{val_acc:.3f}", best=f"{best[0]:.3f}")
            if since_best >= cfg.patience:
                break
    model.load_state_dict(best_state)
    test_acc, _ = accuracy(model, test)
    return {"val_acc": best[0], "test_acc": test_acc, "epochs": epoch, "seconds": time.perf_counter() - start}


def build_victim(arch: str, dataset: GraphDataset, cfg: TrainConfig) -> GraphClassifier:
    from .defenses import guard_threshold

    guard = guard_threshold(cfg.defense)
    return GraphClassifier(VictimConfig(arch=arch, in_channels=dataset.num_features, num_classes=dataset.num_classes,
                                        hidden=cfg.hidden, num_layers=cfg.num_layers, dropout=cfg.dropout, guard=guard))


def default_split(dataset: GraphDataset, seed: int) -> dict[str, Tensor]:
    return stratified_split(dataset.y, seed=seed)

