"""The command-line entry points (grok-theory, grok-simulate, grok-neural, grok-figures): the only modules that
compose computing (theory, simulate, neural) with drawing (figures). Each is thin: it parses, calls importable
functions and prints."""
from rundir.provenance import toolkit_version as _toolkit_version

__version__ = _toolkit_version()
