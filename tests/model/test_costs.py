"""Firing rates, synaptic operations and energy (pipeline.model.costs) against counts done by
hand on a tiny network with fixed weights, whose spikes follow from the PLIF equations.

The network: 2x4x4 frames, T = 2 -> Conv3x3(2->1) + BN -> LIF(tau 2) -> pool 2 -> Flatten ->
Linear(4->2) -> LIF -> Linear(2->2) -> LIF (one vote per class). With k = sigmoid(0) = 1/2 a
neuron fires on the first step its input is 2 (v = 2/2 = 1 >= 1) and resets to 0."""

import pytest
import torch

from pipeline.model.costs import PJ_PER_AC, PJ_PER_MAC, CostMeter, accumulates, sparse_macs
from pipeline.model.network import SpikingConvNet


def tiny(pooling: str) -> SpikingConvNet:
    net = SpikingConvNet(in_channels=2, input_size=(4, 4), channels=1, blocks=1, hidden=2, classes=2,
                         votes=1, neuron="lif", pooling=pooling, dropout=0.0, dropout_hidden=0.0,
                         backend="eager")
    conv_bn, fc1, fc2 = net.layers[0], net.layers[5].body[0], net.layers[7].body[0]
    with torch.no_grad():
        conv_bn.conv.weight.zero_()
        conv_bn.conv.weight[0, 0, 1, 1] = 1.0            # the conv copies polarity channel 0
        conv_bn.bn.eps = 0.0                              # eval BN: (x - 0) / sqrt(1) * 1 + 0 = x
        fc1.weight.copy_(torch.tensor([[2.0, 0, 0, 0], [0, 0, 0, 2.0]]))
        fc2.weight.copy_(torch.tensor([[2.0, 0], [0, 0]]))
    return net.eval()


def frames() -> torch.Tensor:
    """Sample 0: step 0 two events at (0,0) [corner] and two at (1,1) [interior] in channel 0,
    one at (0,1) [edge] in channel 1; step 1 two at (3,3) [corner]. Sample 1: no event."""
    x = torch.zeros(2, 2, 2, 4, 4)                       # (B, T, C, H, W)
    x[0, 0, 0, 0, 0] = 2
    x[0, 0, 0, 1, 1] = 2
    x[0, 0, 1, 0, 1] = 1
    x[0, 1, 0, 3, 3] = 2
    return x


# by hand, for the batch of 2 (per sample: halve the sums)
# conv_1 fan-out (3x3, padding 1, 4x4, one output channel): corner 4, edge 6, interior 9
CONV_ACS = 2 * 4 + 2 * 9 + 1 * 6 + 2 * 4              # 40: every event, channel 1's too
# spiking_1 fires at (0,0), (1,1) on step 0 and (3,3) on step 1: 3 spikes, 16 neurons x 2 steps x 2
# max-pool: step 0's two spikes share a window -> one input; step 1 one -> fc_1 sees 2, 2 synapses each
FC1_ACS_MAX = 2 * 2
# average pool: each spike still drives its 2 synapses: 3 spikes
FC1_ACS_AVG = 3 * 2
# max: fc_1 sees [1,0,0,0] then [0,0,0,1] -> [2,0] then [0,2]: spiking_2 fires neuron 0, then 1
# fc_2 sees [1,0] then [0,1]: 2 spikes x 2 synapses; spiking_3 fires once ([2,0] then [0,0])
FC2_ACS = 2 * 2
ANN_MACS = {"conv_1": 1 * 4 * 4 * 2 * 9, "fc_1": 4 * 2, "fc_2": 2 * 2}


def measure(pooling: str) -> tuple[dict, torch.Tensor]:
    net = tiny(pooling)
    with CostMeter(net) as meter, torch.no_grad():
        rate = net(frames())
    return meter.summary(), rate


def test_max_pooling_network_counted_by_hand():
    s, rate = measure("max")
    assert s["firing_rate"] == pytest.approx({"spiking_1": 3 / 64, "spiking_2": 2 / 8, "spiking_3": 1 / 8})
    assert s["accumulates"] == pytest.approx({"conv_1": CONV_ACS / 2, "fc_1": FC1_ACS_MAX / 2, "fc_2": FC2_ACS / 2})
    assert s["macs"] == {}
    assert s["ann_macs"] == ANN_MACS
    acs = (CONV_ACS + FC1_ACS_MAX + FC2_ACS) / 2
    assert s["synaptic_ops_per_sample"] == pytest.approx(acs)
    assert s["ann_macs_per_sample"] == sum(ANN_MACS.values())
    assert s["energy_uJ"] == pytest.approx(acs * 0.9e-6)
    assert s["ann_energy_uJ"] == pytest.approx(300 * 4.6e-6)
    assert s["ann_to_snn_energy"] == pytest.approx(300 * 4.6 / (acs * 0.9))
    # the network's own output agrees with the spikes assumed above: class 0 fired once in 2 steps
    assert rate[0].tolist() == [0.5, 0.0] and rate[1].tolist() == [0.0, 0.0]


def test_average_pooling_counts_each_spike_through_the_pool():
    s, _ = measure("avg")
    assert s["accumulates"]["fc_1"] == pytest.approx(FC1_ACS_AVG / 2)
    assert s["accumulates"]["conv_1"] == pytest.approx(CONV_ACS / 2)
    assert s["firing_rate"]["spiking_1"] == pytest.approx(3 / 64)


def test_the_meter_removes_its_hooks_and_counts_nothing_after():
    net = tiny("max")
    with CostMeter(net) as meter, torch.no_grad():
        net(frames())
    with torch.no_grad():
        net(frames())
    assert meter.samples == 2
    assert not net._forward_pre_hooks and not any(m._forward_hooks for m in net.modules())


def test_an_image_encoder_is_multiply_accumulates_once_per_sample():
    net = SpikingConvNet(in_channels=1, input_size=(4, 4), channels=3, blocks=1, hidden=2, classes=2, votes=1,
                         dropout=0.0, dropout_hidden=0.0, image_steps=5, backend="eager").eval()
    with CostMeter(net) as meter, torch.no_grad():
        net(torch.full((3, 1, 4, 4), 255.0))
    s = meter.summary()
    encoder = 3 * 4 * 4 * 1 * 9                            # C_out H W C_in kh kw, not x T
    assert s["macs"] == {"conv_1": encoder} and s["macs_per_sample"] == encoder
    assert set(s["accumulates"]) == {"fc_1", "fc_2"}
    assert s["ann_macs"] == {"conv_1": encoder, "fc_1": 12 * 2, "fc_2": 2 * 2}
    assert s["energy_uJ"] == pytest.approx((PJ_PER_MAC * encoder + PJ_PER_AC * s["synaptic_ops_per_sample"]) * 1e-6)


def test_accumulates_of_a_single_conv_against_a_loop_over_synapses():
    """The fan-out formula against a direct count: for each output position and channel, the
    events in its window (any input channel)."""
    conv = torch.nn.Conv2d(3, 4, 3, padding=1, bias=False)
    x = torch.randint(0, 3, (2, 3, 5, 6)).float()
    direct = 0.0
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(5):
        for j in range(6):
            direct += 4 * float(padded[:, :, i:i + 3, j:j + 3].sum())
    assert accumulates(conv, x) == direct


def test_a_layer_it_cannot_count_is_refused_by_name():
    net = tiny("max")
    net.layers[2] = torch.nn.Identity()
    with pytest.raises(ValueError, match=r"layer 2 \(Identity\)"):
        CostMeter(net)


def test_counts_under_autocast_are_exact():
    """Evaluate scores under the autocast training used (bf16 on GPUs), and the hooks run inside
    it: the counting convolution must not run in bf16, which holds integers exactly only up to
    256 (autocast leaves float64, the counting's type, alone). CPU autocast casts convolutions
    as CUDA's does, so this runs the GPU path's arithmetic here."""
    net = tiny("max")
    x = torch.zeros(2, 2, 2, 4, 4)                        # sums such as 101 + 203 + 57 need 9+ bits
    x[0, 0, 0, 0, 0], x[0, 0, 0, 1, 1], x[0, 0, 1, 0, 1], x[0, 1, 0, 3, 3] = 101, 203, 57, 131
    with CostMeter(net) as meter, torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        net(x)
    # corner 4, interior 9, edge 6, corner 4 synapses per event; per sample of the batch of 2
    assert meter.summary()["accumulates"]["conv_1"] == (101 * 4 + 203 * 9 + 57 * 6 + 131 * 4) / 2


# --- real-valued frames (a voxel grid, Bina-Rep): the first layer is MACs over non-zero inputs ---


def test_sparse_macs_are_the_non_zero_inputs_times_their_fan_out():
    """k non-zero inputs of any value or sign, each driving C_out synapses of a 1x1 conv (and
    of a Linear: out_features): k x fan-out multiply-accumulates."""
    conv = torch.nn.Conv2d(2, 5, 1, bias=False)
    x = torch.zeros(3, 2, 4, 4)
    x[0, 0, 1, 2], x[0, 1, 3, 3], x[2, 0, 0, 0] = -0.75, 1e-3, 2.5        # k = 3
    assert sparse_macs(conv, x) == 3 * 5
    assert sparse_macs(torch.nn.Linear(32, 7, bias=False), x.flatten(1)) == 3 * 7


# the frames of frames() with real values: 4 non-zero inputs, two of them negative
REAL = {(0, 0, 0, 0, 0): -0.5, (0, 0, 0, 1, 1): 2.0, (0, 0, 1, 0, 1): 0.25, (0, 1, 0, 3, 3): -3.0}
# conv_1's fan-outs (3x3, padding 1, 4x4, 1 output channel): corner 4, interior 9, edge 6, corner 4
REAL_MACS = 4 + 9 + 6 + 4                              # 23 for the batch of 2


def real_frames() -> torch.Tensor:
    x = torch.zeros(2, 2, 2, 4, 4)
    for where, v in REAL.items():
        x[where] = v
    return x


def test_real_valued_input_counts_the_first_layer_as_macs_over_its_non_zero_inputs():
    net = tiny("max")
    with CostMeter(net, real_input=True) as meter, torch.no_grad():
        net(real_frames())
    s = meter.summary()
    assert s["macs"] == {"conv_1": REAL_MACS / 2} and s["macs_per_sample"] == REAL_MACS / 2
    assert set(s["accumulates"]) == {"fc_1", "fc_2"}           # the layers after it: spikes, as before
    # spiking_1 fires at (1,1) only (2.0 / 2 = 1): one window through the max-pool, 2 synapses of fc_1
    assert s["accumulates"]["fc_1"] == 2 / 2
    assert s["ann_macs"] == ANN_MACS                            # the ANN is dense either way
    expected_pj = PJ_PER_MAC * REAL_MACS / 2 + PJ_PER_AC * s["synaptic_ops_per_sample"]
    assert s["energy_uJ"] == pytest.approx(expected_pj * 1e-6)
    # counted as events instead, the signed values would cancel: sum(x * fan-out), not a count
    with CostMeter(net) as meter, torch.no_grad():
        net(real_frames())
    assert meter.summary()["accumulates"]["conv_1"] == (-0.5 * 4 + 2.0 * 9 + 0.25 * 6 - 3.0 * 4) / 2


def test_real_input_leaves_an_image_encoder_dense():
    net = SpikingConvNet(in_channels=1, input_size=(4, 4), channels=3, blocks=1, hidden=2, classes=2, votes=1,
                         dropout=0.0, dropout_hidden=0.0, image_steps=5, backend="eager").eval()
    with CostMeter(net, real_input=True) as meter, torch.no_grad():
        net(torch.zeros(2, 1, 4, 4))
    s = meter.summary()
    assert s["macs"] == {"conv_1": 3 * 4 * 4 * 1 * 9} and set(s["accumulates"]) == {"fc_1", "fc_2"}
