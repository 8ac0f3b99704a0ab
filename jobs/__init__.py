"""Jobs: the pure core (specs, queue, state machine, manager) and the runner adapter."""
