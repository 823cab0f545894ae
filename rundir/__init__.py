"""Run directories on disk (the README's 'Results on disk'), shared by `simulate` and `neural`, one concern a module:

- `files`: the format (atomic writes, JSON, CSV tables) and `is_finished`;
- `provenance`: versions, command line, time and compute seconds recorded in every summary.json;
- `owner`: `RunDir`, the one owner of a directory (lock, recorded configuration or identity, cleanup);
- `cores`: sharing the CPU between runs; `progress`: progress bars and log lines.

runs/<package>/<experiment>/<run-name>/{config.json, metrics.csv, checkpoint.*, summary.json}; a directory with a
summary.json is finished and is not overwritten unless asked.
"""
from rundir.files import (KILL_AT_ENV, TMP_SUFFIX, append_csv, atomic_write_bytes, atomic_write_text,  # noqa: F401
                          check_file_target, is_finished, read_object,
                          read_csv, read_json, read_rows, to_jsonable, write_csv, write_json)
from rundir.provenance import (PACKAGES, SCHEMA_VERSION, compute_seconds, environment, provenance, stamped,  # noqa: F401
                               toolkit_version, write_sweep_summary)

__version__ = toolkit_version()
from rundir.owner import OWNED_FILES, RunDir, owned_files  # noqa: F401
