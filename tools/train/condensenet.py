"""CondenseNet with learned group convolutions (Huang et al., CVPR 2018), written for this
project from the paper. Module names and buffers follow the official code's state_dict layout
(features.init_conv, features.denseblock_B.denselayer_L.conv_1.{norm,conv,_mask,_count,_stage},
conv_2.{norm,conv}, features.norm_last, classifier) so that cnm-convert reads our checkpoints
through exactly the path a user's official checkpoint takes."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LearnedGroupConv(nn.Module):
    """BN-ReLU-1x1 conv whose weight is masked; during the condensing stages (first half of
    training) each of the G groups drops the input channels with the smallest L1 norm of its
    weight columns, in C-1 steps of in/C channels, until it keeps in/C of them."""

    progress = 0.0  # set by the training loop: epochs done / total epochs

    def __init__(self, in_channels, out_channels, groups, condense_factor):
        super().__init__()
        assert in_channels % groups == 0 and in_channels % condense_factor == 0 and out_channels % groups == 0
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.condense_factor = groups, condense_factor
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.register_buffer("_count", torch.zeros(1))
        self.register_buffer("_stage", torch.zeros(1))
        self.register_buffer("_mask", torch.ones(out_channels, in_channels, 1, 1))

    def stage_for(self, progress):
        """Condensing stage for a training progress in [0, 1]: stages 0..C-2 share the first
        half of training equally; C-1 is the optimisation stage."""
        c = self.condense_factor
        for i in range(c - 1):
            if progress * 2 < (i + 1) / (c - 1):
                return i
        return c - 1

    def forward(self, x):
        if self.training:
            self._maybe_condense()
        x = F.relu(self.norm(x))
        return F.conv2d(x, self.conv.weight * self._mask)

    @torch.no_grad()
    def _maybe_condense(self):
        stage = self.stage_for(LearnedGroupConv.progress)
        if stage <= int(self._stage.item()):
            return
        self._stage.fill_(stage)
        delta = self.in_channels // self.condense_factor
        g, d_out = self.groups, self.out_channels // self.groups
        # group i owns output rows i, i+G, i+2G, ...
        w = (self.conv.weight * self._mask).abs().squeeze(-1).squeeze(-1)
        w = w.view(d_out, g, self.in_channels).transpose(0, 1)  # [G, d_out, in]
        count = int(self._count.item())
        for i in range(g):
            col = w[i].sum(0)  # L1 norm of each input column within group i
            order = col.sort()[1]  # dropped columns already have norm 0 and sort first
            for d in order[count:count + delta].tolist():
                self._mask[i::g, d, :, :] = 0
        self._count.fill_(count + delta)

    def lasso_loss(self):
        """Group-lasso over (group, input channel): sum of L2 norms of weight columns."""
        if int(self._stage.item()) >= self.condense_factor - 1:
            return self.conv.weight.new_zeros(())
        w = (self.conv.weight * self._mask).squeeze(-1).squeeze(-1).pow(2)
        w = w.view(self.out_channels // self.groups, self.groups, self.in_channels)
        return w.sum(0).clamp(min=1e-6).sqrt().sum()


class Conv(nn.Sequential):
    def __init__(self, cin, cout, k, padding=0, groups=1):
        super().__init__()
        self.add_module("norm", nn.BatchNorm2d(cin))
        self.add_module("relu", nn.ReLU(inplace=True))
        self.add_module("conv", nn.Conv2d(cin, cout, k, padding=padding, groups=groups, bias=False))


class DenseLayer(nn.Module):
    def __init__(self, cin, growth, bottleneck, g1, g3, c):
        super().__init__()
        self.conv_1 = LearnedGroupConv(cin, bottleneck * growth, g1, c)
        self.conv_2 = Conv(bottleneck * growth, growth, 3, padding=1, groups=g3)

    def forward(self, x):
        return torch.cat([x, self.conv_2(self.conv_1(x))], 1)


class CondenseNet(nn.Module):
    def __init__(self, stages, growth, bottleneck=4, group_1x1=4, group_3x3=4, condense_factor=4,
                 num_classes=10, stem_stride=1):
        super().__init__()
        self.features = nn.Sequential()
        c = 2 * growth[0]
        self.features.add_module("init_conv", nn.Conv2d(3, c, 3, stride=stem_stride, padding=1, bias=False))
        for b, (n, k) in enumerate(zip(stages, growth)):
            block = nn.Sequential()
            for l in range(n):
                block.add_module(f"denselayer_{l + 1}", DenseLayer(c, k, bottleneck, group_1x1, group_3x3, condense_factor))
                c += k
            self.features.add_module(f"denseblock_{b + 1}", block)
            if b != len(stages) - 1:
                self.features.add_module(f"transition_{b + 1}", nn.AvgPool2d(2))
        self.features.add_module("norm_last", nn.BatchNorm2d(c))
        self.features.add_module("relu_last", nn.ReLU(inplace=True))
        self.features.add_module("pool_last", nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))

    def learned_convs(self):
        return [m for m in self.modules() if isinstance(m, LearnedGroupConv)]


def from_recipe(recipe):
    """The model a train.py recipe (its arguments as a dict, as checkpoints keep them) describes."""
    return CondenseNet([int(s) for s in recipe["stages"].split(",")], [int(s) for s in recipe["growth"].split(",")],
                       group_1x1=recipe["groups"], group_3x3=recipe["groups"], condense_factor=recipe["condense_factor"])
