"""``ingestkit inspect``: how one file would be processed, without storing anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingestkit_core.cli.app import (
    ConfigOption,
    JsonOption,
    app,
    configure_logging,
    fail_usage,
    load,
    print_error,
)
from ingestkit_core.cli.render import print_json, print_report
from ingestkit_core.errors import IngestkitError
from ingestkit_core.registry import processor_for, processors


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="One file.", exists=True, dir_okay=False)],
    config_file: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show how a file would be processed: its processor and how each page or sheet is classified."""
    configure_logging(as_json)
    config = load(config_file)
    processor = processor_for(file)
    if processor is None:
        fail_usage(f"no installed processor handles {file} (installed: {', '.join(sorted(processors()))})")
    try:
        report = processor.inspect(file, config.options_for(processor.name))
    except IngestkitError as exc:
        if as_json:
            print_json(
                {
                    "path": str(file),
                    "processor": processor.name,
                    "error": {"code": exc.code.value, "message": exc.message},
                }
            )
        else:
            print_error(exc)
        raise typer.Exit(1) from None
    document = {"path": str(file), "processor": processor.name, **report}
    if as_json:
        print_json(document)
        return
    print_report(document)
