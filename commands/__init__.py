"""The command-line entry points (grok-theory, grok-simulate, grok-neural, grok-figures): the only modules that
compose computing (theory, simulate, neural) with drawing (figures). Each is thin: it parses, calls importable
functions and prints."""
