"""pipeline.train.losses against direct transcriptions: the paper's MSE (pipeline.model.loss_fn),
cross-entropy with soft targets written out, and TET_loss of the TET repository, step by step."""

import pytest
import torch
import torch.nn.functional as F

from pipeline.model import loss_fn
from pipeline.train.losses import training_loss, uses_logits


def soft_targets(b=6, k=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(b, k, generator=g)
    return t / t.sum(1, keepdim=True)


def test_mse_with_one_hot_targets_is_the_papers_loss():
    rate = torch.rand(6, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.equal(training_loss("mse", rate, None, F.one_hot(y, 4).float()), loss_fn(rate, y, 4))


def test_ce_of_the_mean_logits_with_soft_targets_written_out():
    steps, t = torch.randn(5, 6, 4, generator=torch.Generator().manual_seed(2)), soft_targets()
    expected = -(t * torch.log_softmax(steps.mean(0), 1)).sum(1).mean()
    rate = torch.rand(6, 4)
    assert training_loss("ce", rate, steps, t).item() == pytest.approx(expected.item(), rel=1e-6)


def tet_loss_as_published(outputs, targets, means, lamb):
    """TET_loss (functions.py L39-51): outputs (B, T, K), a loop over t, (1 - lamb) L_TET + lamb L_MSE."""
    T = outputs.size(1)
    loss_es = 0
    for t in range(T):
        loss_es += -(targets * torch.log_softmax(outputs[:, t, ...], 1)).sum(1).mean()
    loss_es = loss_es / T
    loss_mmd = ((outputs - means) ** 2).mean()
    return (1 - lamb) * loss_es + lamb * loss_mmd


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5])
def test_tet_is_the_published_loss(lam):
    steps = torch.randn(5, 6, 4, generator=torch.Generator().manual_seed(3))     # (T, B, K)
    t = soft_targets()
    expected = tet_loss_as_published(steps.transpose(0, 1), t, 1.0, lam)
    rate = torch.rand(6, 4, requires_grad=True)
    loss = training_loss("tet", rate, steps, t, lam)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    loss.backward()                              # the rate is in the graph (DDP), with a zero gradient
    assert torch.equal(rate.grad, torch.zeros_like(rate))
    assert uses_logits("tet") and uses_logits("ce") and not uses_logits("mse")


def test_the_logits_are_the_last_spiking_layers_input_averaged_over_the_votes():
    from pipeline.model import SpikingConvNet
    torch.manual_seed(0)
    net = SpikingConvNet(in_channels=2, input_size=(16, 16), channels=4, blocks=2, hidden=8, classes=3, votes=2,
                         dropout=0.0, dropout_hidden=0.0, backend="eager").eval()
    seen = []
    net.layers[-1].register_forward_hook(lambda module, inputs, output: seen.append(inputs[0]))
    x = torch.poisson(torch.full((2, 4, 2, 16, 16), 2.0))
    rate, logits = net(x, currents=True)
    assert torch.equal(rate, net(x))
    current = seen[0]                                            # (T, B, classes * votes)
    assert logits.shape == (4, 2, 3)
    assert torch.equal(logits, (current[..., 0::2] + current[..., 1::2]) / 2)   # class k: units 2k, 2k+1
