"""The `khabar` command: a thin shell over the Python API.

Each sub-command lives in its own module of this package and is imported only
when it is run, so `khabar --help` stays fast and one broken command cannot
take the others down.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from khabar.errors import KhabarError

# command name -> (module, attribute); modules are imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("khabar.cli.ingest", "ingest"),
    "show": ("khabar.cli.ingest", "show"),
    "stats": ("khabar.cli.ingest", "stats"),
    "dups": ("khabar.cli.dups", "dups"),
    "reuse": ("khabar.cli.reuse", "reuse"),
    "stories": ("khabar.cli.stories", "stories"),
    "report": ("khabar.cli.report", "report"),
    "run": ("khabar.cli.run", "run"),
    "eval": ("khabar.cli.evaluate", "evaluate"),
    "serve": ("khabar.cli.serve", "serve"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._load(name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                return None
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="khabar")
def cli() -> None:
    """khabar: copies, reused passages and stories in collections of Arabic news."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: user mistakes become one line on stderr and a non-zero exit."""
    try:
        cli.main(args=argv, prog_name="khabar", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as exc:
        # `khabar` or `khabar eval` alone: the help is what was asked for
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # one line, as for every other mistake, naming the command's help
        where = exc.ctx.command_path if exc.ctx is not None else "khabar"
        message = " ".join(exc.format_message().split())
        click.echo(f"khabar: error: {message} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"khabar: error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except KhabarError as exc:
        click.echo(f"khabar: error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        # an output path that cannot be written, a full disk: the system's one-line reason
        # (KHABAR_DEBUG=1 shows the traceback, for bug reports)
        if os.environ.get("KHABAR_DEBUG"):
            raise
        where = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc)
        click.echo(f"khabar: error: {where}: {reason}" if where else f"khabar: error: {reason}",
                   err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
