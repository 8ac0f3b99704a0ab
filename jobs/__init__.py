"""Jobs: the pure core: specs, queue, state machine, manager, estimates, and the job API.

Imports nothing of the project but itself, and no I/O (no asyncio, sockets,
subprocesses or SQL): see README, Architecture."""
