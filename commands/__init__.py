"""Instrument commands: finding them in command folders, describing and validating calls.

- ``validate``: pure checks of a call against a command's description;
- ``describe``: the subprocess that imports command files and prints their descriptions;
- ``library``: the IOC side (asyncio): keeps the descriptions current, checks calls,
  asks for estimates;
- ``loader``: the job side: imports a command fresh and returns what to call.

Instrument code is imported only in subprocesses, never in the IOC process.
"""
