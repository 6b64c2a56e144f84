"""SlowFast-R50/101 in PyTorch under PySlowFast's module and parameter names, computing what the C++
model (reference/model/) computes. The weights-exchange tests load PySlowFast-format files into it
and out of it, so that a name, a shape or a step that differs from the C++ model fails there.

Written for those tests from the architecture (Feichtenhofer et al., ICCV 2019, as PySlowFast lays
it out), not taken from PySlowFast: only what the state dict and the evaluation forward need. The
head returns logits in evaluation too, as the C++ model's does (PySlowFast's adds a softmax).
"""
import torch
from torch import nn

# Temporal kernels per pathway (slow, fast): PySlowFast's basis for SlowFast.
STEM_TEMPORAL_KERNELS = (1, 5)
RESIDUAL_TEMPORAL_KERNELS = ((1, 3), (1, 3), (3, 3), (3, 3))
# res2..res5; the stem's convolution and its max-pooling each halve H and W as well.
RESIDUAL_SPATIAL_STRIDES = (1, 2, 2, 2)
BLOCKS_PER_STAGE = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


def conv3d(in_channels, out_channels, kernel, stride=(1, 1, 1), padding=(0, 0, 0), groups=1):
    return nn.Conv3d(in_channels, out_channels, kernel, stride, padding, groups=groups, bias=False)


def slow_pathway(fast, alpha):
    """The slow pathway's frames of a fast clip (N, C, T, H, W): PySlowFast's pack_pathway_output
    takes linspace(0, T - 1, T // alpha) in float32 and truncates."""
    frames = fast.shape[2]
    indices = torch.linspace(0, frames - 1, frames // alpha, dtype=torch.float32).long()
    return fast.index_select(2, indices)


class ResNetBasicStem(nn.Module):
    def __init__(self, in_channels, out_channels, temporal_kernel, eps):
        super().__init__()
        self.conv = conv3d(in_channels, out_channels, (temporal_kernel, 7, 7), (1, 2, 2),
                           (temporal_kernel // 2, 3, 3))
        self.bn = nn.BatchNorm3d(out_channels, eps=eps)
        self.pool_layer = nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))

    def forward(self, x):
        return self.pool_layer(torch.relu(self.bn(self.conv(x))))


class VideoModelStem(nn.Module):
    def __init__(self, in_channels, widths, eps):
        super().__init__()
        for pathway, (width, kernel) in enumerate(zip(widths, STEM_TEMPORAL_KERNELS)):
            self.add_module("pathway%d_stem" % pathway,
                            ResNetBasicStem(in_channels, width, kernel, eps))

    def forward(self, x):
        return [self.pathway0_stem(x[0]), self.pathway1_stem(x[1])]


class FuseFastToSlow(nn.Module):
    def __init__(self, fast_channels, ratio, kernel, alpha, eps):
        super().__init__()
        self.conv_f2s = conv3d(fast_channels, fast_channels * ratio, (kernel, 1, 1), (alpha, 1, 1),
                               (kernel // 2, 0, 0))
        self.bn = nn.BatchNorm3d(fast_channels * ratio, eps=eps)

    def forward(self, x):
        fused = torch.relu(self.bn(self.conv_f2s(x[1])))
        return [torch.cat([x[0], fused], 1), x[1]]


class BottleneckTransform(nn.Module):
    def __init__(self, in_channels, out_channels, inner, temporal_kernel, stride, groups, eps):
        super().__init__()
        t = temporal_kernel
        self.a = conv3d(in_channels, inner, (t, 1, 1), padding=(t // 2, 0, 0))
        self.a_bn = nn.BatchNorm3d(inner, eps=eps)
        self.b = conv3d(inner, inner, (1, 3, 3), (1, stride, stride), (0, 1, 1), groups)
        self.b_bn = nn.BatchNorm3d(inner, eps=eps)
        self.c = conv3d(inner, out_channels, (1, 1, 1))
        self.c_bn = nn.BatchNorm3d(out_channels, eps=eps)

    def forward(self, x):
        x = torch.relu(self.a_bn(self.a(x)))
        x = torch.relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class ResBlock(nn.Module):
    def __init__(self, in_channels, out_channels, inner, temporal_kernel, stride, groups, eps):
        super().__init__()
        self.branch1 = None
        if in_channels != out_channels or stride != 1:
            self.branch1 = conv3d(in_channels, out_channels, (1, 1, 1), (1, stride, stride))
            self.branch1_bn = nn.BatchNorm3d(out_channels, eps=eps)
        self.branch2 = BottleneckTransform(in_channels, out_channels, inner, temporal_kernel,
                                           stride, groups, eps)

    def forward(self, x):
        shortcut = x if self.branch1 is None else self.branch1_bn(self.branch1(x))
        return torch.relu(self.branch2(x) + shortcut)


class ResStage(nn.Module):
    """Blocks of both pathways, registered slow first (pathway0_res0, ...), then fast."""

    def __init__(self, in_channels, out_channels, inner, temporal_kernels, temporal_blocks, blocks,
                 stride, groups, eps):
        super().__init__()
        self.blocks = blocks
        for p in range(2):
            for i in range(blocks):
                kernel = temporal_kernels[p] if i < temporal_blocks[p] else 1
                self.add_module("pathway%d_res%d" % (p, i), ResBlock(
                    in_channels[p] if i == 0 else out_channels[p], out_channels[p], inner[p],
                    kernel, stride if i == 0 else 1, groups, eps))

    def forward(self, x):
        out = []
        for p in range(2):
            y = x[p]
            for i in range(self.blocks):
                y = getattr(self, "pathway%d_res%d" % (p, i))(y)
            out.append(y)
        return out


class ResNetBasicHead(nn.Module):
    def __init__(self, channels, num_classes, dropout_rate):
        super().__init__()
        if dropout_rate > 0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(channels, num_classes)

    def forward(self, x):
        pooled = torch.cat([x[0].mean((2, 3, 4)), x[1].mean((2, 3, 4))], 1)
        if hasattr(self, "dropout"):
            pooled = self.dropout(pooled)
        return self.projection(pooled)


class SlowFast(nn.Module):
    """`options`: the C++ model's slowfast_options fields by name (depth, num_groups,
    width_per_group, alpha, beta_inv, fusion_conv_channel_ratio, fusion_kernel_size, num_classes,
    dropout_rate, batch_norm_epsilon, input_channels, blocks_with_temporal_kernel)."""

    def __init__(self, options):
        super().__init__()
        o = options
        eps, alpha, ratio = o["batch_norm_epsilon"], o["alpha"], o["fusion_conv_channel_ratio"]
        width, beta_inv = o["width_per_group"], o["beta_inv"]
        inner = o["num_groups"] * width

        def fuse(fast_channels):
            return FuseFastToSlow(fast_channels, ratio, o["fusion_kernel_size"], alpha, eps)

        self.s1 = VideoModelStem(o["input_channels"], (width, width // beta_inv), eps)
        self.s1_fuse = fuse(width // beta_inv)
        in_channels = (width + width // beta_inv * ratio, width // beta_inv)
        for i, blocks in enumerate(BLOCKS_PER_STAGE[o["depth"]]):
            scale = 2 ** i
            out = (4 * scale * width, 4 * scale * width // beta_inv)
            self.add_module("s%d" % (i + 2), ResStage(
                in_channels, out, (scale * inner, scale * inner // beta_inv),
                RESIDUAL_TEMPORAL_KERNELS[i], o["blocks_with_temporal_kernel"][i], blocks,
                RESIDUAL_SPATIAL_STRIDES[i], o["num_groups"], eps))
            if i < 3:
                self.add_module("s%d_fuse" % (i + 2), fuse(out[1]))
                in_channels = (out[0] + out[1] * ratio, out[1])
        self.head = ResNetBasicHead(out[0] + out[1], o["num_classes"], o["dropout_rate"])

    def forward(self, x):
        """x: [slow, fast], as PySlowFast's models take them."""
        x = self.s1_fuse(self.s1(x))
        x = self.s2_fuse(self.s2(x))
        x = self.s3_fuse(self.s3(x))
        x = self.s4_fuse(self.s4(x))
        return self.head(self.s5(x))
