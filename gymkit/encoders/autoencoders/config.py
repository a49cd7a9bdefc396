"""AutoencoderConfig: the settings of ``gymkit pretrain`` (``--set key=value``).

It reuses :class:`gymkit.config.AgentConfig`'s machinery (``param`` declarations, range and
choice checks, one-line errors naming the closest key) although no agent owns it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gymkit.config import AgentConfig, param
from gymkit.errors import ConfigError

#: The book's autoencoders (chapter 15), in the order it presents them.
KINDS = ("linear", "stacked", "denoising", "sparse", "variational")


@dataclass(frozen=True)
class AutoencoderConfig(AgentConfig):
    """Hyperparameters of an autoencoder and of its training.

    ``0``/``None`` defaults are resolved from the observations: ``codings`` is half the
    inputs (rounded up) for vectors and 512 for images (the width of the book's
    ``q_network`` dense layer, so the pretrained encoder has the shape of ``book-cnn``);
    ``hidden_sizes`` is one layer halfway between the inputs and the codings for a dense
    stack (the book's narrowing sandwich) and ``()`` after a conv stack.
    """

    kind: str = param("stacked", "autoencoder kind (chapter 15)", choices=KINDS)
    codings: int = param(0, "units of the coding layer (0: auto, see the class docstring)", low=0)
    architecture: str = param(
        "auto", "dense layers, or conv layers for images (auto: conv for 2-D+ observations)",
        choices=("auto", "dense", "conv"))
    hidden_sizes: tuple[int, ...] | None = param(
        None, "dense hidden layers between the inputs (or the conv stack) and the codings", low=1)
    activation: str | None = param(None, "hidden activation (default: elu dense, as the book; relu conv)")
    conv_n_maps: tuple[int, ...] = param((32, 64, 64), "conv feature maps (the book's q_network)", low=1)
    conv_kernel_sizes: tuple[int, ...] = param((8, 4, 3), "conv kernel sizes", low=1)
    conv_strides: tuple[int, ...] = param((4, 2, 1), "conv strides", low=1)
    standardize: bool = param(
        True, "vector inputs: subtract the mean and divide by the std of the collected observations "
              "inside the encoder (images are divided by 255 instead)")
    tied_weights: bool = param(False, "decoder dense kernels are the encoder's transposed (W_{N-L+1} = W_L^T)")
    greedy: bool = param(False, "train one shallow autoencoder at a time (the book's Figure 15-4)")
    noise: str = param("gaussian", "denoising: gaussian noise added, or dropout of inputs",
                       choices=("gaussian", "dropout"))
    noise_stddev: float = param(0.1, "denoising: std of the gaussian noise (in the scaled inputs' units)",
                                low=0.0, low_open=True)
    dropout_rate: float = param(0.3, "denoising: fraction of inputs dropped (the book's keep_prob 0.7)",
                                low=0.0, high=1.0, low_open=True, high_open=True)
    sparsity_target: float = param(0.1, "sparse: target mean activation p of each coding",
                                   low=0.0, high=1.0, low_open=True, high_open=True)
    sparsity_weight: float = param(0.2, "sparse: weight of the KL sparsity loss", low=0.0)
    reconstruction_loss: str = param(
        "auto", "mse, or cross_entropy (sigmoid outputs; uint8 inputs only); auto: cross_entropy for "
                "uint8 images (except kind=linear), else mse", choices=("auto", "mse", "cross_entropy"))
    l2_reg: float = param(0.0, "l2 penalty on the kernels (the book's l2_reg; tied kernels counted once)",
                          low=0.0)
    learning_rate: float = param(0.001, "Adam learning rate", low=0.0, low_open=True)
    batch_size: int = param(64, "observations per gradient step", low=1)
    epochs: int = param(500, "the most passes over the training observations (per phase when greedy); "
                             "early stopping (patience) usually ends training sooner", low=1)
    patience: int = param(20, "stop after this many epochs without a better validation MSE and restore "
                              "the best epoch's weights (0: off, train all epochs)", low=0)
    min_improvement: float = param(0.001, "a validation MSE counts as better when it is below the best "
                                          "so far by this fraction of it", low=0.0, high=1.0, high_open=True)
    reduce_lr: float = param(0.5, "multiply the learning rate by this after every patience/2 epochs "
                                  "without improvement (Keras's ReduceLROnPlateau; 0: off)",
                             low=0.0, high=1.0, high_open=True)
    validation: float | None = param(
        None, "fraction of the training observations (a seeded random sample) set aside to decide early "
              "stopping; 0 watches the training observations' MSE instead (default: 0 for kind=linear, "
              "PCA with nothing to overfit, where a small sample's noise would stop it early; else 0.1)",
                              low=0.0, high=1.0, high_open=True)
    holdout: float = param(0.1, "fraction of the observations held out (the last ones collected) "
                                "to measure the reconstruction error", low=0.0, high=1.0, high_open=True)

    def check(self) -> None:
        if self.kind == "linear" and self.hidden_sizes:
            raise ConfigError(
                f"kind=linear has no hidden layers, got hidden_sizes={list(self.hidden_sizes)}: "
                "use kind=stacked for a deep autoencoder")
        if self.kind == "variational" and self.greedy:
            raise ConfigError("greedy layer-wise training is not defined for kind=variational: "
                              "drop greedy=true or use kind=stacked")
        if not len(self.conv_n_maps) == len(self.conv_kernel_sizes) == len(self.conv_strides):
            raise ConfigError("conv_n_maps, conv_kernel_sizes and conv_strides need one entry per "
                              "conv layer: give lists of the same length")
