"""The ``cama`` command line: one small module per command, each a thin layer over the Python API."""
from __future__ import annotations

import warnings

import click

from ..errors import CamaError

warnings.filterwarnings("ignore", message=".*contrib.*experimental.*")


class CamaGroup(click.Group):
    """Turns a :class:`CamaError` into one message on stderr and exit status 2, and Ctrl-C into
    one line and status 130 (as a shell reports SIGINT), in every command."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CamaError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted; records written before the interrupt are kept (each is whole).", err=True)
            ctx.exit(130)


@click.group(cls=CamaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cama")
def cli():
    """cama: Graph-CAM adversarial attacks and a robustness benchmark for GNN graph classifiers.

    \b
    Examples:
      cama datasets --data-root ../shared/data/TU
      cama train -d MUTAG,PROTEINS -m all --seed 0,1,2
      cama cv -d MUTAG -m gcn,gin --table results/     # protocol v2: 10-fold CV, model selection
      cama attack -d PROTEINS -m gin -a cama-node -b 0.05,0.1,0.2 --seed 0
      cama explain -d MUTAG -m gcn --graph 7 --method gradcam --out fig.png
      cama evaluate --model examples/custom_model.py:build_model -d MUTAG --name my-gnn
    """


def _register() -> None:
    from . import attack, bench, evaluate, inspect, train

    for command in (inspect.datasets, inspect.list_attacks, train.train, train.cv, train.cv_merge, attack.attack, evaluate.evaluate,
                    bench.bench, bench.leaderboard, inspect.explain):
        cli.add_command(command)


_register()


def main() -> None:
    from ..runtime import tune_allocator

    tune_allocator()
    cli(prog_name="cama")


if __name__ == "__main__":
    main()
