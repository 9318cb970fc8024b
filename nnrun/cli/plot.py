"""`nnrun plot ...`: figures that need no run folder. `nnrun plot activations` draws every
activation function nnrun offers next to its derivative, computed with NumPy (no
TensorFlow: the command starts in well under a second)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nnrun.cli.options import ImageOpt, config_argument

app = typer.Typer(
    help="Figures that need no run folder, e.g. the activation functions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Curve = Callable[[Any], Any]


def activation_curves(alpha: float = 0.01) -> dict[str, tuple[Curve, Curve, str]]:
    """name -> (f, f', note) with NumPy, one entry per name in nnrun.spec.activations."""
    import numpy as np

    def sigmoid(x: Any) -> Any:
        return 1.0 / (1.0 + np.exp(-x))

    def softmax_first(x: Any) -> Any:
        # Softmax is a vector function: show the probability of the first of the
        # logits (x, 0, 1) as x varies; its derivative is p(1 - p).
        logits = np.stack([x, np.zeros_like(x), np.ones_like(x)])
        e = np.exp(logits - logits.max(axis=0))
        return e[0] / e.sum(axis=0)

    return {
        "linear": (lambda x: x, lambda x: np.ones_like(x), "f(x) = x"),
        "step": (
            lambda x: (x > 0).astype(float),
            lambda x: np.zeros_like(x),
            "true derivative 0 (undefined at 0);\ntraining uses the straight-through\nestimate f'(x) = 1 (dotted)",
        ),
        "sigmoid": (sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), "f' peaks at 0.25"),
        "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, "zero-centred; f' peaks at 1"),
        "relu": (lambda x: np.maximum(0.0, x), lambda x: (x > 0).astype(float), "f' = 0 for x < 0 (dead units)"),
        "leaky_relu": (
            lambda x: np.where(x > 0, x, alpha * x),
            lambda x: np.where(x > 0, 1.0, alpha),
            f"alpha = {alpha:g}",
        ),
        "softmax": (
            softmax_first,
            lambda x: softmax_first(x) * (1 - softmax_first(x)),
            "p of logit x among (x, 0, 1);\nf' = p (1 - p)",
        ),
    }


def activations_figure(alpha: float = 0.01, limit: float = 5.0) -> Any:
    """The classic comparison: one panel per activation (f solid, f' dashed), plus all f together."""
    import numpy as np

    from nnrun.plots import pyplot

    plt = pyplot()
    x = np.linspace(-limit, limit, 801)
    curves = activation_curves(alpha)
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), dpi=100)
    for ax, (name, (f, df, note)) in zip(axes.flat, curves.items(), strict=False):
        fx, dfx = f(x), df(x)
        if name == "step":
            # Break the lines at the jump instead of drawing a vertical segment.
            fx = np.where(np.isclose(x, 0), np.nan, fx)
        ax.plot(x, fx, lw=2, label="f(x)")
        ax.plot(x, dfx, lw=2, ls="--", label="f'(x)")
        if name == "step":
            ax.plot(x, np.ones_like(x), lw=2, ls=":", color="tab:green", label="straight-through f'")
            ax.set_ylim(-0.15, 1.6)
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.text(0.03, 0.97, note, transform=ax.transAxes, va="top", fontsize=8, color="dimgray")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    together = axes.flat[len(curves)]
    for name, (f, _, _) in curves.items():
        together.plot(x, f(x), lw=1.5, label=name)
    together.set_ylim(-1.5, 2.5)
    together.set_title("all functions")
    together.set_xlabel("x")
    together.grid(True, alpha=0.3)
    together.legend(fontsize=8, loc="upper left")
    fig.suptitle("Activation functions (solid) and their derivatives (dashed)")
    fig.tight_layout()
    return fig


def _image(output: Path) -> Path:
    """`--output` checked before any work: a picture's name, in a folder that can be written."""
    from nnrun.errors import NnrunError
    from nnrun.output import check_output

    if output.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise NnrunError(f"expected a .png, .pdf or .svg file. Received: {output}")
    return check_output(output, "--output")


def _write(fig: Any, output: Path) -> None:
    """Save the figure to `output` atomically, close it, and say where it went."""
    from nnrun.cli.common import console
    from nnrun.output import write_output
    from nnrun.plots import pyplot

    try:
        write_output(output, lambda tmp: fig.savefig(tmp, format=output.suffix.lower().lstrip(".")))
    finally:
        pyplot().close(fig)
    console().print(f"wrote {output}")


@app.command("activations")
def activations(
    output: ImageOpt = Path("activations.png"),
    alpha: Annotated[float, typer.Option("--alpha", help="leaky_relu's negative slope.")] = 0.01,
) -> None:
    """One figure of every activation function and its derivative."""
    from nnrun.errors import NnrunError

    output = _image(output)
    if not alpha >= 0:
        raise NnrunError(f"expected alpha >= 0. Received: alpha={alpha}")
    _write(activations_figure(alpha), output)


@app.command("augmentation")
def augmentation(
    config: Annotated[Path, config_argument("A config with augmentation layers (random_flip, ...).")],
    output: ImageOpt = Path("augmentation.png"),
    samples: Annotated[int, typer.Option("--samples", help="How many training images to show.", min=1, max=32)] = 8,
) -> None:
    """The same training images before and after the config's augmentation layers."""
    from nnrun.errors import NnrunError
    from nnrun.experiment import prepare_experiment
    from nnrun.inspect import augmentation as aug
    from nnrun.tf_import import import_tensorflow, pause_collector

    pause_collector()
    output = _image(output)
    prepared = prepare_experiment(config)
    why = aug.problem(prepared.spec, prepared.data)
    if why is not None:
        raise NnrunError(f"{config}: nothing to show: {why}")
    import_tensorflow()
    _write(aug.figure(prepared.spec, prepared.data, samples), output)
